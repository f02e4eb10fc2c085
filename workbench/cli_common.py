"""What every command module of the CLI shares."""

from __future__ import annotations

import click

from workbench.context import AppContext
from workbench.output import FORMATS

pass_app = click.make_pass_decorator(AppContext)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)


class UserError(click.ClickException):
    """A mistake the user can fix; shown as one line, exit code 1."""
