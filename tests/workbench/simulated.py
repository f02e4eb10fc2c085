"""The real CLI, in-process on a simulated clock, against the sandboxes served on 127.0.0.1.

For stories that span weeks (a disconnect, the settlements it hid, the reconnect): the CLI and
the sandbox server share one `SimulatedClock`, every request still crosses the loopback socket.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2

from connectors.clock import SimulatedClock
from connectors.sandbox.amazon import AmazonSandbox
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.xero import CLIENT_ID as XERO_CLIENT_ID
from connectors.sandbox.xero import CLIENT_SECRET as XERO_CLIENT_SECRET
from connectors.sandbox.xero import XeroSandbox
from tests.workbench.conftest import START
from tests.workbench.loopback import AMAZON_CLIENT_ID, AMAZON_CLIENT_SECRET
from workbench.cli import run
from workbench.context import AppContext
from workbench.settings import Settings


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str


@dataclass
class SimCli:
    """Runs `workbench` commands in this process; the clock moves only when told to."""

    app: AppContext
    clock: SimulatedClock
    url: str
    printed: list[str] = field(default_factory=list)

    def __call__(self, *args: str, expect: int = 0, **env: str) -> Done:
        out, err = io.StringIO(), io.StringIO()
        with _environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(list(args), app=self.app)
        done = Done(code, out.getvalue(), err.getvalue())
        self.printed += [done.stdout, done.stderr]
        assert code == expect, (args, done)
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--format", "json").stdout)

    def control(self, sandbox: str, action: str, **payload: Any) -> Any:
        response = httpx2.post(f"{self.url}/_sandbox/{sandbox}/{action}", json=payload)
        response.raise_for_status()
        return response.json()["result"]

    def advance(self, days: float) -> None:
        self.clock.advance(timedelta(days=days))

    def connect_both(self) -> None:
        """A workspace with Amazon US and Xero connected to the sandboxes."""
        self("init")
        self("workspace", "add", "Acme Ltd", "--currency", "USD")
        amazon = self.control("amazon", "issue_refresh_token")["refresh_token"]
        self(
            *("connect", "amazon", "--workspace", "Acme Ltd", "--name", "Amazon US"),
            *("--region", "na", "--marketplace", "US", "--client-id", AMAZON_CLIENT_ID),
            *("--client-secret-env", "AMZ_SECRET", "--refresh-token-env", "AMZ_TOKEN"),
            *("--api-base-url", self.url, "--token-url", f"{self.url}/auth/o2/token"),
            AMZ_SECRET=AMAZON_CLIENT_SECRET,
            AMZ_TOKEN=amazon,
        )
        xero = self.control("xero", "issue_refresh_token")["refresh_token"]
        self(
            *("connect", "xero", "--workspace", "Acme Ltd", "--name", "Xero"),
            *("--client-id", XERO_CLIENT_ID, "--client-secret-env", "XERO_SECRET"),
            *("--refresh-token-env", "XERO_TOKEN", "--api-base-url", self.url),
            *("--token-url", f"{self.url}/connect/token"),
            *("--authorize-url", f"{self.url}/identity/connect/authorize"),
            XERO_SECRET=XERO_CLIENT_SECRET,
            XERO_TOKEN=xero,
        )


def simulated(tmp_path: Path) -> Iterator[SimCli]:
    """A sandbox server and an in-process CLI sharing one simulated clock; both stop after."""
    clock = SimulatedClock(START)
    server = SandboxServer([AmazonSandbox(clock), XeroSandbox(clock)], 0).start()
    settings = Settings(db=tmp_path / "wb.duckdb", home=tmp_path / "home", keyring="file")
    try:
        yield SimCli(AppContext(settings, clock=clock), clock, server.url)
    finally:
        server.stop()


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
