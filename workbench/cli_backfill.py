"""`workbench backfill`: fetch what a gap left, by gap id or by an explicit window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import click

from reconcile.models import Connection
from workbench.backfill import BackfillRefused, Window, backfill, gap_window
from workbench.cli_common import UserError, pass_app
from workbench.commands import failure_advice, workspace_id
from workbench.context import AppContext


@click.command("backfill")
@click.option("--gap", "gap_id", default=None, help="A gap id from `workbench gaps`.")
@click.option("--connection", "connection_ref", default=None, help="A channel connection.")
@click.option("--since", default=None, help="Window start: YYYY-MM-DD (UTC) or ISO 8601.")
@click.option("--until", default=None, help="Window end, inclusive for a date; ISO 8601 exact.")
@click.option("--workspace", "workspace_ref", default=None, help="Where to look the names up.")
@pass_app
def backfill_command(
    app: AppContext,
    gap_id: str | None,
    connection_ref: str | None,
    since: str | None,
    until: str | None,
    workspace_ref: str | None,
) -> None:
    """Fetch exactly the missing windows again (the cursor does not move); exit 1 on failure."""
    if gap_id and (connection_ref or since or until):
        raise click.UsageError("give either --gap, or --connection with --since and --until")
    if gap_id:
        connection, window = _gap_window(app, gap_id, workspace_ref)
    elif connection_ref and since and until:
        connection = app.store.connection(connection_ref, workspace_id(app, workspace_ref))
        window = Window(_instant(since, "--since"), _instant(until, "--until", end=True))
    else:
        raise click.UsageError("give either --gap, or --connection with --since and --until")
    click.echo(f"backfilling {connection.name}: {window.label()}", err=True)
    try:
        result = backfill(
            app.runtime(), connection, window, progress=lambda line: click.echo(line, err=True)
        )
    except BackfillRefused as refused:
        raise UserError(str(refused)) from refused
    if not result.ok:
        raise UserError(f"{connection.name}: {failure_advice(result)}")
    click.echo(
        f"{connection.name}: {result.fetched} fetched, {result.inserted} new, "
        f"{result.updated} updated, {result.lines} lines"
    )


def _gap_window(
    app: AppContext, gap_id: str, workspace_ref: str | None
) -> tuple[Connection, Window]:
    """The connection and window of a gap, looked up in one workspace or in all of them."""
    ws = workspace_id(app, workspace_ref)
    scopes = [ws] if ws else [workspace.id for workspace in app.store.workspaces()]
    try:
        return gap_window(app.store, scopes, gap_id, app.clock.now())
    except BackfillRefused as refused:
        raise UserError(str(refused)) from refused


def _instant(text: str, option: str, *, end: bool = False) -> datetime:
    """A date (midnight UTC; the next midnight for an inclusive end) or an aware ISO instant."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) == 10:
        moment = datetime.combine(day, time(), tzinfo=UTC)
        return moment + timedelta(days=1) if end else moment
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        message = f"{text!r} is not YYYY-MM-DD or ISO 8601"
        raise click.BadParameter(message, param_hint=option) from exc
    if moment.tzinfo is None:
        raise click.BadParameter(
            f"{text!r} has no time zone: add Z or +00:00, or give a date", param_hint=option
        )
    return moment.astimezone(UTC)
