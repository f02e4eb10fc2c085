"""The real CLI in subprocesses against `workbench sandbox serve` on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from connectors.sandbox.xero import CLIENT_ID as XERO_CLIENT_ID
from connectors.sandbox.xero import CLIENT_SECRET as XERO_CLIENT_SECRET

AMAZON_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
AMAZON_CLIENT_SECRET = "sandbox-client-secret"


@dataclass
class Cli:
    """Runs `python -m workbench` with its own database and home; keeps every byte it printed."""

    env: dict[str, str]
    url: str
    printed: list[str] = field(default_factory=list)

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, expect: int = 0
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "workbench", *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=120,
        )
        self.printed += [done.stdout, done.stderr]
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--format", "json").stdout)

    def control(self, sandbox: str, action: str, **payload: Any) -> Any:
        response = httpx2.post(f"{self.url}/_sandbox/{sandbox}/{action}", json=payload)
        response.raise_for_status()
        return response.json()["result"]


def serve(tmp_path: Path, *options: str) -> Generator[Cli, None, None]:
    """A sandbox server (`sandbox serve` plus `options`) and a CLI bound to a fresh database
    and home; both stop after."""
    env = {
        **os.environ,
        "WORKBENCH_DB": str(tmp_path / "wb.duckdb"),
        "WORKBENCH_HOME": str(tmp_path / "home"),
        "WORKBENCH_KEYRING": "file",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("WORKBENCH_SECRET_KEY", None)  # `workbench init` makes the 0600 key file
    server = subprocess.Popen(
        [sys.executable, "-m", "workbench", "sandbox", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:")
        yield Cli(env, url)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()


def connect_amazon(
    cli: Cli, *extra: str, env: dict[str, str] | None = None, expect: int = 0
) -> str:
    """`workbench connect amazon` against the sandbox with a fresh grant; its stderr."""
    token = cli.control("amazon", "issue_refresh_token")["refresh_token"]
    done = cli(
        "connect",
        "amazon",
        "--workspace",
        "Acme Ltd",
        "--name",
        "Amazon US",
        "--client-id",
        AMAZON_CLIENT_ID,
        "--client-secret-env",
        "AMZ_SECRET",
        "--refresh-token-env",
        "AMZ_TOKEN",
        "--api-base-url",
        cli.url,
        "--token-url",
        f"{cli.url}/auth/o2/token",
        *extra,
        env={"AMZ_SECRET": AMAZON_CLIENT_SECRET, "AMZ_TOKEN": token, **(env or {})},
        expect=expect,
    )
    return done.stderr


def connect_both(cli: Cli) -> None:
    """A workspace with Amazon US and Xero connected to the sandbox."""
    cli("init")
    cli("workspace", "add", "Acme Ltd", "--currency", "USD")
    connect_amazon(cli, "--region", "na", "--marketplace", "US")
    xero_token = cli.control("xero", "issue_refresh_token")["refresh_token"]
    cli(
        "connect",
        "xero",
        "--workspace",
        "Acme Ltd",
        "--name",
        "Xero",
        "--client-id",
        XERO_CLIENT_ID,
        "--client-secret-env",
        "XERO_SECRET",
        "--refresh-token-env",
        "XERO_TOKEN",
        "--api-base-url",
        cli.url,
        "--token-url",
        f"{cli.url}/connect/token",
        "--authorize-url",
        f"{cli.url}/identity/connect/authorize",
        env={"XERO_SECRET": XERO_CLIENT_SECRET, "XERO_TOKEN": xero_token},
    )
