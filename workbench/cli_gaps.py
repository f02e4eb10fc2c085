"""`workbench gaps`, `health` and `cadence`: what is missing, how each connection has fared,
and how often each one should settle."""

from __future__ import annotations

import click

from workbench import gap_commands
from workbench.cli_common import format_option, pass_app
from workbench.context import AppContext
from workbench.output import Format, records, render

workspace_option = click.option(
    "--workspace", "workspace_ref", default=None, help="Only this workspace."
)
connection_option = click.option(
    "--connection", "connection_ref", default=None, help="Only this connection."
)


@click.command()
@workspace_option
@connection_option
@format_option
@pass_app
def gaps(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None, fmt: Format
) -> None:
    """Missing settlements, unposted or mismatched postings, duplicates: one row per gap."""
    found = gap_commands.gaps(app, workspace_ref, connection_ref)
    rows = gap_commands.gap_rows(found, fmt)
    click.echo(render(rows, gap_commands.GAP_COLUMNS, fmt))


@click.command()
@workspace_option
@connection_option
@format_option
@pass_app
def health(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None, fmt: Format
) -> None:
    """Each connection's health over time: connected, degraded, expiring, disconnected, paused."""
    found = gap_commands.health(app, workspace_ref, connection_ref)
    rows = gap_commands.health_rows(found)
    click.echo(render(rows, gap_commands.HEALTH_COLUMNS, fmt))


@click.command()
@workspace_option
@connection_option
@format_option
@pass_app
def cadence(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None, fmt: Format
) -> None:
    """How often each channel settles: from the provider, the history, or the default."""
    found = gap_commands.cadence(app, workspace_ref, connection_ref)
    rows = records(found, gap_commands.CADENCE_COLUMNS) if found.height else []
    click.echo(render(rows, gap_commands.CADENCE_COLUMNS, fmt))
