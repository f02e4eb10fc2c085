"""The `workbench` command line (contract: DESIGN.md section 8).

Exit codes: 0 success; 1 a user error, with a one-line message on stderr; 2 a usage error.
Secrets never come as literal arguments: only as names of environment variables, or a prompt.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from connectors.errors import ConnectorError
from connectors.redact import install_log_redaction
from connectors.secrets import SecretsError
from reconcile.errors import StoreError
from workbench import commands
from workbench.cli_common import UserError, format_option, pass_app
from workbench.context import AppContext
from workbench.output import Format, records, render

log = logging.getLogger(__name__)

CONNECTION_COLUMNS = (
    "id",
    "workspace",
    "name",
    "provider",
    "status",
    "status_reason",
    "last_sync_at",
)
SETTLEMENT_COLUMNS = (
    "id",
    "connection",
    "provider",
    "settlement_id",
    "period_start",
    "period_end",
    "deposit_date",
    "currency",
    "gross",
    "fees",
    "refunds",
    "reserves",
    "net",
    "status",
    "source",
    "posting_status",
)
EVENT_COLUMNS = (
    "connection",
    "at",
    "kind",
    "feed",
    "error_class",
    "http_status",
    "request_id",
    "detail",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DuckDB file (default data/workbench.duckdb; env WORKBENCH_DB).",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug) to stderr.")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, verbose: int) -> None:
    """Reconciliation Workbench: marketplace settlements and the books, kept in step."""
    level = {0: logging.CRITICAL, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    install_log_redaction()
    if not isinstance(ctx.obj, AppContext):  # tests and the app may hand in their own context
        ctx.obj = AppContext.create(db)


@cli.command()
@pass_app
def init(app: AppContext) -> None:
    """Create the database, the workbench home and the secrets key."""
    for line in commands.init(app):
        click.echo(line)


@cli.group()
def workspace() -> None:
    """Workspaces: one per business (a client of an accountant)."""


@workspace.command("add")
@click.argument("name")
@click.option("--currency", default="GBP", show_default=True, help="Base currency (ISO 4217).")
@pass_app
def workspace_add(app: AppContext, name: str, currency: str) -> None:
    """Add a workspace."""
    created = app.store.add_workspace(name, currency.upper())
    click.echo(f"workspace {created.id} ({created.name}, {created.base_currency})")


@workspace.command("list")
@format_option
@pass_app
def workspace_list(app: AppContext, fmt: Format) -> None:
    """List the workspaces."""
    rows = [
        {"id": w.id, "name": w.name, "base_currency": w.base_currency}
        for w in app.store.workspaces()
    ]
    click.echo(render(rows, ("id", "name", "base_currency"), fmt))


@cli.command()
@click.option("--workspace", "workspace_ref", default=None, help="Only this workspace.")
@format_option
@pass_app
def connections(app: AppContext, workspace_ref: str | None, fmt: Format) -> None:
    """Connections with their status (derived from their events)."""
    frame = commands.connection_status(app, workspace_ref)
    click.echo(render(records(frame, CONNECTION_COLUMNS), CONNECTION_COLUMNS, fmt))


@cli.command()
@click.option("--workspace", "workspace_ref", default=None, help="Only this workspace.")
@click.option("--connection", "connection_ref", default=None, help="Only this connection.")
@pass_app
def sync(app: AppContext, workspace_ref: str | None, connection_ref: str | None) -> None:
    """Fetch what is new from each connection; exit 1 if any connection failed."""
    failures = []
    for result in commands.sync(
        app, workspace_ref, connection_ref, progress=lambda line: click.echo(line, err=True)
    ):
        name = f"{result.connection.name} ({result.feed})"
        if result.ok:
            retries = f", {result.retries} retries" if result.retries else ""
            click.echo(
                f"{name}: {result.fetched} fetched, {result.inserted} new, "
                f"{result.updated} updated, {result.lines} lines{retries}"
            )
        else:
            failures.append(f"{name}: {commands.failure_advice(result)}")
    if failures:
        raise UserError("; ".join(failures))


@cli.command()
@click.option("--workspace", "workspace_ref", default=None, help="Only this workspace.")
@click.option("--connection", "connection_ref", default=None, help="Only this connection.")
@format_option
@pass_app
def settlements(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None, fmt: Format
) -> None:
    """Settlements as the providers reported them."""
    frame = commands.settlements(app, workspace_ref, connection_ref)
    click.echo(render(records(frame, SETTLEMENT_COLUMNS), SETTLEMENT_COLUMNS, fmt))


@cli.command()
@click.option("--workspace", "workspace_ref", default=None, help="Only this workspace.")
@click.option("--connection", "connection_ref", default=None, help="Only this connection.")
@format_option
@pass_app
def events(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None, fmt: Format
) -> None:
    """Connection events: syncs, failures with their class, refreshes, reconnects."""
    frame = commands.events(app, workspace_ref, connection_ref)
    click.echo(render(records(frame, EVENT_COLUMNS), EVENT_COLUMNS, fmt))


def _register_subcommands() -> None:
    from workbench import (
        cli_backfill,
        cli_connect,
        cli_demo,
        cli_gaps,
        cli_import,
        cli_post,
        cli_sandbox,
    )

    cli.add_command(cli_connect.connect)
    cli.add_command(cli_connect.reconnect)
    cli.add_command(cli_gaps.gaps)
    cli.add_command(cli_gaps.health)
    cli.add_command(cli_gaps.cadence)
    cli.add_command(cli_backfill.backfill_command)
    cli.add_command(cli_import.import_file)
    cli_post.register(cli)
    cli.add_command(cli_sandbox.sandbox)
    cli.add_command(cli_demo.demo)
    cli.add_command(cli_demo.open_app)


_register_subcommands()


def run(argv: Sequence[str] | None = None, *, app: AppContext | None = None) -> int:
    """Run the CLI; return its exit code (0 ok, 1 user error, 2 usage error).

    `app` replaces the context the CLI would build from the environment (its clock, store and
    runtime): how tests run the real commands on a simulated clock.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        click.echo(cli.get_help(click.Context(cli, info_name="workbench")), err=True)
        return 2
    try:
        cli.main(args=args, prog_name="workbench", standalone_mode=False, obj=app)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "workbench"
        return _fail(f"{exc.format_message()} (see '{where} --help')", 2)
    except click.ClickException as exc:
        return _fail(exc.format_message(), 1)
    except (ConnectorError, StoreError, SecretsError) as exc:
        return _fail(str(exc), 1)
    except click.Abort:
        return _fail("aborted", 1)
    except Exception as exc:  # the last resort: one line, the traceback only with -vv
        log.debug("unexpected error", exc_info=True)
        return _fail(f"unexpected {type(exc).__name__}: {exc} (rerun with -vv for details)", 1)
    return 0


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    return code


def main() -> Any:
    """Console entry point."""
    sys.exit(run())
