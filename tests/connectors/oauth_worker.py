"""A second process for test_oauth: asks for a token from a shared encrypted keyring file.

Usage: python oauth_worker.py SECRETS_FILE PASSPHRASE LOCK_DIR CONNECTION CLIENT_ID TOKEN_URL GO
Waits for the file GO to appear (so both workers start together), then prints the access token.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from connectors.clock import SystemClock
from connectors.oauth import RefreshingTokenSource
from connectors.secrets import EncryptedFileKeyring, SecretStore


def main(argv: list[str]) -> None:
    """Wait for the start signal, then fetch one access token and print it."""
    secrets_file, passphrase, lock_dir, connection, client_id, token_url, go_file = argv
    store = SecretStore(EncryptedFileKeyring(Path(secrets_file), passphrase=passphrase))
    source = RefreshingTokenSource(
        "xero",
        connection,
        store,
        token_url=token_url,
        client_id=client_id,
        auth_method="client_secret_basic",
        transport=None,
        clock=SystemClock(),
        lock_dir=Path(lock_dir),
        timeout=10.0,
    )
    deadline = time.monotonic() + 20
    while not Path(go_file).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no start signal")
        time.sleep(0.005)
    print(source.token())


if __name__ == "__main__":
    main(sys.argv[1:])
