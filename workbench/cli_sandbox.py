"""`workbench sandbox serve`: the provider fakes on 127.0.0.1, for scripts, demos and support."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click


@click.group()
def sandbox() -> None:
    """Local fakes of the provider APIs that follow the official contracts."""


@sandbox.command("serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--rate-limits/--no-rate-limits",
    default=True,
    show_default=True,
    help="Enforce the providers' documented rate limits.",
)
def serve(port: int, rate_limits: bool) -> None:
    """Serve the Amazon and Xero sandboxes until interrupted (Ctrl-C or SIGTERM)."""
    # imported here: the fakes are not needed by any other command's start-up
    from connectors.clock import SystemClock
    from connectors.sandbox.amazon import AmazonSandbox
    from connectors.sandbox.server import SandboxServer
    from connectors.sandbox.xero import XeroSandbox

    clock = SystemClock()
    amazon = AmazonSandbox(clock, enforce_rate_limits=rate_limits)
    xero = XeroSandbox(clock, enforce_rate_limits=rate_limits)
    server = SandboxServer([amazon, xero], port).start()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"sandbox serving on {server.url}", nl=True)
    click.echo(
        f"  amazon: api {server.url}  token {server.url}/auth/o2/token  "
        f"client id {amazon.client_id}"
    )
    click.echo(
        f"  xero:   api {server.url}  token {server.url}/connect/token  client id {xero.client_id}"
    )
    click.echo(f"  grants: POST {server.url}/_sandbox/<amazon|xero>/issue_refresh_token")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        server.stop()
