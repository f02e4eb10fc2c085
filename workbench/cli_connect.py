"""`workbench connect <provider>` and `workbench reconnect`.

Secrets come from environment variables named on the command line, or from a hidden prompt;
never from a literal argument (it would land in the shell history and the process list).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from connectors import amazon
from workbench import connecting
from workbench.cli_common import UserError, pass_app
from workbench.connecting import Credentials, Endpoints
from workbench.context import AppContext


def secret_from(env_name: str | None, what: str, option: str) -> str:
    """The secret in environment variable `env_name`, or asked for without echo."""
    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise UserError(
                f"environment variable {env_name} (from {option}) is not set or "
                f"empty: export it first, e.g. `read -s {env_name} && export "
                f"{env_name}`"
            )
        return value
    if not sys.stdin.isatty():
        raise UserError(f"no {what} given: pass {option} NAME_OF_ENV_VAR")
    return str(click.prompt(what.capitalize(), hide_input=True))


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options every provider's connect command takes (DESIGN.md section 8)."""
    decorators = [
        click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name."),
        click.option("--name", required=True, help="A name for this connection."),
        click.option("--client-id", required=True, help="The app's OAuth client id."),
        click.option(
            "--client-secret-env",
            metavar="VAR",
            help="Environment variable holding the client secret.",
        ),
        click.option(
            "--refresh-token-env",
            metavar="VAR",
            help="Environment variable holding a refresh token from the provider.",
        ),
        click.option(
            "--api-base-url",
            metavar="URL",
            help="Replace the production scheme and host (sandbox, local server).",
        ),
        click.option("--token-url", metavar="URL", help="Full token endpoint URL."),
        click.option(
            "--authorize-url",
            metavar="URL",
            help="Full consent page URL (used by the app's connect wizard).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _connect(
    app: AppContext,
    provider_name: str,
    options: dict[str, Any],
    *,
    region: str | None,
    settings: dict[str, Any],
) -> None:
    app.store.workspace(options["workspace_ref"])  # a wrong workspace fails before any prompt
    credentials = Credentials(
        client_id=options["client_id"],
        client_secret=secret_from(
            options["client_secret_env"], "client secret", "--client-secret-env"
        ),
        refresh_token=secret_from(
            options["refresh_token_env"], "refresh token", "--refresh-token-env"
        ),
    )
    endpoints = Endpoints(options["api_base_url"], options["token_url"], options["authorize_url"])
    created = connecting.connect(
        app,
        provider_name,
        workspace_ref=options["workspace_ref"],
        name=options["name"],
        region=region,
        settings=settings,
        endpoints=endpoints,
        credentials=credentials,
    )
    account = created.config.get("tenant_name") or ", ".join(created.config.get("marketplaces", []))
    click.echo(f"connected {created.id} ({created.name}, {provider_name}: {account})")


class ProviderGroup(click.Group):
    """`connect PROVIDER`: an unknown provider is one clear line listing the known ones."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in self.commands and not name.startswith("-"):
            known = ", ".join(sorted(self.commands))
            raise click.UsageError(f"unknown provider {name!r}; choose one of: {known}", ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=ProviderGroup)
def connect() -> None:
    """Connect a sales channel or a ledger."""


@connect.command("amazon")
@common_options
@click.option("--region", required=True, help="SP-API region: na, eu or fe.")
@click.option(
    "--marketplace",
    "marketplaces",
    multiple=True,
    required=True,
    help="Marketplace country code or id (repeatable), e.g. US, UK, DE.",
)
@pass_app
def connect_amazon(
    app: AppContext, /, region: str, marketplaces: tuple[str, ...], **options: Any
) -> None:
    """Amazon Seller Central through the Selling Partner API (Login with Amazon)."""
    settings = amazon.config_for(region.lower(), list(marketplaces))
    _connect(app, "amazon", options, region=region.lower(), settings=settings)


@connect.command("xero")
@common_options
@click.option(
    "--tenant",
    default=None,
    help="Xero organisation name or tenant id (needed when the grant has several).",
)
@pass_app
def connect_xero(app: AppContext, /, tenant: str | None, **options: Any) -> None:
    """A Xero organisation (the ledger)."""
    _connect(app, "xero", options, region=None, settings={"tenant": tenant} if tenant else {})


@click.command()
@click.argument("connection_ref", metavar="CONNECTION")
@click.option("--workspace", "workspace_ref", default=None, help="Workspace id or name.")
@click.option(
    "--refresh-token-env", metavar="VAR", help="Environment variable holding the new refresh token."
)
@pass_app
def reconnect(
    app: AppContext, connection_ref: str, workspace_ref: str | None, refresh_token_env: str | None
) -> None:
    """Restore a broken connection with a new grant; the next sync catches up."""
    connection = connecting.find_connection(app, connection_ref, workspace_ref)
    token = secret_from(refresh_token_env, "refresh token", "--refresh-token-env")
    restored = connecting.reconnect(app, connection.id, None, token)
    click.echo(f"reconnected {restored.id} ({restored.name})")
