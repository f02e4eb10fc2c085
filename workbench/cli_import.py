"""`workbench import FILE --connection C`: fill from a settlement report file (Amazon V2 flat file).

The work is `reconcile.imports`; this prints what it did: one line per settlement (imported,
updated, unchanged, or matched an API settlement with the totals compared), or every problem,
one per line, and exit code 1 with nothing imported.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconcile import imports
from workbench import commands
from workbench.cli_common import UserError, pass_app
from workbench.context import AppContext

MAX_PRINTED_PROBLEMS = 50


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--connection", "connection_ref", required=True, help="Connection id or name.")
@click.option("--workspace", "workspace_ref", default=None, help="Workspace of the connection.")
@pass_app
def import_file(
    app: AppContext, file: Path, connection_ref: str, workspace_ref: str | None
) -> None:
    """Import a settlement report file (Amazon V2 flat file, .txt/.tsv or gzip): all or nothing."""
    workspace = commands.workspace_id(app, workspace_ref)
    connection = app.store.connection(connection_ref, workspace)
    result = imports.import_file(app.store, connection, file, now=app.clock.now())
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not result.ok:
        for problem in result.problems[:MAX_PRINTED_PROBLEMS]:
            click.echo(f"{file.name}: {problem}", err=True)
        hidden = len(result.problems) - MAX_PRINTED_PROBLEMS
        if hidden > 0:
            click.echo(f"{file.name}: ... {hidden} more problems not shown", err=True)
        raise UserError(f"{result.summary()} ({len(result.problems)} problems)")
    for outcome in result.outcomes:
        click.echo(outcome.describe())
    click.echo(result.summary())
