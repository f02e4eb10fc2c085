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

from workbench import connecting
from workbench.connecting import Credentials, Endpoints
from workbench.context import AppContext

pass_app = click.make_pass_decorator(AppContext)


def secret_from(env_name: str | None, what: str, option: str) -> str:
    """The secret in environment variable `env_name`, or asked for without echo."""
    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise click.ClickException(
                f"environment variable {env_name} (from {option}) is not set or empty: "
                f"export it first, e.g. `read -s {env_name} && export {env_name}`"
            )
        return value
    if not sys.stdin.isatty():
        raise click.ClickException(f"no {what} given: pass {option} NAME_OF_ENV_VAR")
    return str(click.prompt(f"{what}", hide_input=True))


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options every provider's connect command takes."""
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
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def credentials(
    app: AppContext,
    workspace_ref: str,
    client_id: str,
    client_secret_env: str | None,
    refresh_token_env: str | None,
) -> Credentials:
    """The secrets to connect with, asked for only once the workspace is known to exist."""
    app.store.workspace(workspace_ref)
    return Credentials(
        client_id=client_id,
        client_secret=secret_from(client_secret_env, "client secret", "--client-secret-env"),
        refresh_token=secret_from(refresh_token_env, "refresh token", "--refresh-token-env"),
    )


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
    app: AppContext,
    workspace_ref: str,
    name: str,
    client_id: str,
    client_secret_env: str | None,
    refresh_token_env: str | None,
    api_base_url: str | None,
    token_url: str | None,
    region: str,
    marketplaces: tuple[str, ...],
) -> None:
    """Amazon Seller Central through the Selling Partner API (Login with Amazon)."""
    settings = connecting.amazon_config(region.lower(), list(marketplaces))
    created = connecting.connect(
        app,
        "amazon",
        workspace_ref=workspace_ref,
        name=name,
        region=region.lower(),
        settings=settings,
        endpoints=Endpoints(api_base_url, token_url),
        credentials=credentials(
            app, workspace_ref, client_id, client_secret_env, refresh_token_env
        ),
    )
    click.echo(
        f"connected {created.id} ({created.name}, amazon {region.lower()}: "
        f"{', '.join(settings['marketplaces'])})"
    )


@connect.command("xero")
@common_options
@click.option("--authorize-url", metavar="URL", help="Full authorize endpoint URL.")
@click.option(
    "--tenant",
    default=None,
    help="Xero organisation name or tenant id (needed when the grant has several).",
)
@pass_app
def connect_xero(
    app: AppContext,
    workspace_ref: str,
    name: str,
    client_id: str,
    client_secret_env: str | None,
    refresh_token_env: str | None,
    api_base_url: str | None,
    token_url: str | None,
    authorize_url: str | None,
    tenant: str | None,
) -> None:
    """A Xero organisation (the ledger)."""
    created = connecting.connect(
        app,
        "xero",
        workspace_ref=workspace_ref,
        name=name,
        region=None,
        settings={"tenant": tenant} if tenant else {},
        endpoints=Endpoints(api_base_url, token_url, authorize_url),
        credentials=credentials(
            app, workspace_ref, client_id, client_secret_env, refresh_token_env
        ),
    )
    click.echo(
        f"connected {created.id} ({created.name}, xero: {created.config.get('tenant_name')})"
    )


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
    """Restore a broken connection with a new grant; the next sync backfills the gap."""
    token = secret_from(refresh_token_env, "refresh token", "--refresh-token-env")
    restored = connecting.reconnect(app, connection_ref, workspace_ref, token)
    click.echo(f"reconnected {restored.id} ({restored.name})")
