"""End to end on loopback: the real CLI in subprocesses against `workbench sandbox serve`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.workbench.loopback import AMAZON_CLIENT_SECRET, XERO_CLIENT_SECRET, Cli, connect_both


def settlements(cli: Cli) -> dict[str, Decimal]:
    rows = cli.json("settlements", "--connection", "Amazon US")
    ids = [row["settlement_id"] for row in rows]
    assert len(ids) == len(set(ids)), "a settlement is listed twice"
    return {row["settlement_id"]: Decimal(row["net"]) for row in rows}


def status(cli: Cli, name: str) -> dict[str, Any]:
    return next(row for row in cli.json("connections") if row["name"] == name)


def test_sync_revoke_reconnect_and_retries_end_to_end(cli: Cli) -> None:
    connect_both(cli)
    cli("sync")
    truth = {g["id"]: Decimal(g["total"]) for g in cli.control("amazon", "groups")}
    assert settlements(cli) == truth  # exactly the sandbox's settlements, to the cent

    cli.control("amazon", "revoke")
    failed = cli("sync", expect=1)
    assert len(failed.stderr.strip().splitlines()) == 1
    assert "reconnect" in failed.stderr
    amazon = status(cli, "Amazon US")
    assert amazon["status"] == "disconnected"
    assert amazon["status_reason"].startswith("auth")
    assert status(cli, "Xero")["status"] == "connected"
    assert settlements(cli) == truth  # nothing new stored

    new_token = cli.control("amazon", "issue_refresh_token")["refresh_token"]
    cli("reconnect", "Amazon US", "--refresh-token-env", "NEW_TOKEN", env={"NEW_TOKEN": new_token})
    cli("sync")
    assert status(cli, "Amazon US")["status"] == "connected"
    assert settlements(cli) == truth  # resumed, nothing duplicated

    cli.control("amazon", "add_fault", kind="429", path_prefix="/finances", times=2, retry_after=1)
    cli.control("amazon", "add_fault", kind="500", path_prefix="/finances", times=1)
    done = cli("-vv", "sync", "--connection", "Amazon US")  # debug logs land in the leak check
    assert "3 retries" in done.stdout
    assert "DEBUG connectors.base" in done.stderr
    assert status(cli, "Amazon US")["status"] == "connected"
    kinds = [e["kind"] for e in cli.json("events", "--connection", "Amazon US")]
    assert kinds[-2:] == ["rate_limited", "sync_succeeded"]
    assert settlements(cli) == truth

    assert_no_secret_leaked(cli)


def assert_no_secret_leaked(cli: Cli) -> None:
    """No token or client secret in the database file, in anything printed, or in the events."""
    secrets = [AMAZON_CLIENT_SECRET, XERO_CLIENT_SECRET]
    secrets += cli.control("amazon", "issued_tokens") + cli.control("xero", "issued_tokens")
    assert len(secrets) > 6
    db = Path(cli.env["WORKBENCH_DB"])
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    printed = "\n".join(cli.printed)
    for secret in secrets:
        assert secret.encode() not in stored, "a secret reached the database file"
        assert secret not in printed, "a secret reached the CLI output"
    home = Path(cli.env["WORKBENCH_HOME"])
    vault = (home / "secrets.bin").read_bytes()
    assert all(secret.encode() not in vault for secret in secrets), "the keyring file is plain"
    assert oct((home / "secret.key").stat().st_mode & 0o777) == "0o600"
