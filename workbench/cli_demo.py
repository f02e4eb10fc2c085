"""`workbench demo` and `workbench app`: open the app, on the demo when there is nothing real.

The demo's sandboxes live in this process (they serve on 127.0.0.1 while the app runs) and the
app is Streamlit in a child process, pointed at the demo's own database and secrets file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from workbench import demo as demo_workspace
from workbench.cli_common import UserError, pass_app
from workbench.context import AppContext

APP_ENTRY = Path(__file__).with_name("app.py")


@click.command("demo")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Build it here (default: <home>/demo/workbench.duckdb).",
)
@click.option("--build-only", is_flag=True, help="Build the database and exit (for notebooks).")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--sandbox-port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Where the sandboxes listen (0: any free port).",
)
@pass_app
def demo(app: AppContext, db: Path | None, build_only: bool, port: int, sandbox_port: int) -> None:
    """Build the demo workspace (a year of the real code against the sandboxes) and open it."""
    run_demo(app, db=db, build_only=build_only, port=port, sandbox_port=sandbox_port)


@click.command("app")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on (the app holds client data: keep it local).",
)
@pass_app
def open_app(app: AppContext, port: int, address: str) -> None:
    """Open the workbench in the browser (Streamlit); the demo when nothing is connected yet."""
    if not app.store.connections():
        click.echo("no connections yet: opening the demo workspace", err=True)
        run_demo(app, db=None, build_only=False, port=port, sandbox_port=0, address=address)
        return
    env = {"WORKBENCH_DB": str(app.settings.db.resolve())}
    raise SystemExit(streamlit(address, port, env))


def run_demo(
    app: AppContext,
    *,
    db: Path | None,
    build_only: bool,
    port: int,
    sandbox_port: int,
    address: str = "127.0.0.1",
) -> None:
    home = demo_workspace.default_home(app.settings)
    click.echo("building the demo workspace: a year of syncs and postings...", err=True)
    try:
        built = demo_workspace.build(
            home, db=db, port=sandbox_port, progress=lambda line: click.echo(f"  {line}", err=True)
        )
    except demo_workspace.DemoRefused as refused:
        raise UserError(str(refused)) from refused
    try:
        click.echo(f"demo database: {built.settings.db}")
        for line in built.story:
            click.echo(f"- {line}")
        if build_only:
            return
        code = streamlit(address, port, built.environ())
    finally:
        built.stop()
    raise SystemExit(code)


def streamlit(address: str, port: int, env: dict[str, str]) -> int:
    """Run the app in Streamlit until it is stopped; its exit code."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_ENTRY),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.headless",
        "true",
    ]
    click.echo(f"workbench app on http://{address}:{port} (Ctrl-C stops it)")
    return subprocess.call(command, env={**os.environ, **env})
