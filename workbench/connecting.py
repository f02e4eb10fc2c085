"""Connect and reconnect: all or nothing.

A new connection is stored only after its credentials were proven to work (an access token
was obtained and the provider's onboarding, such as finding the Xero organisation, passed).
If anything fails on the way, the secrets written for it are removed again and the database
is untouched. A reconnect swaps the grant under the connection's refresh lock, proves it, and
checks it reaches the same account (for Xero, the same organisation); otherwise the previous
grant is put back.
"""

from __future__ import annotations

import secrets as random_ids
from dataclasses import dataclass
from datetime import datetime

from connectors.errors import ConfigError
from connectors.oauth import save_token_set, store_initial_token, stored_token_set
from connectors.registry import Provider, provider
from reconcile.errors import NotFound
from reconcile.models import Connection, EventKind
from workbench.context import AppContext
from workbench.runtime import Runtime

CLIENT_SECRET = "client_secret"


@dataclass(frozen=True, repr=False)
class Credentials:
    """What the user hands over once; it goes to the keyring and nowhere else."""

    client_id: str
    client_secret: str
    refresh_token: str


@dataclass(frozen=True)
class Endpoints:
    """Overrides of the provider's production URLs (a sandbox, a local server)."""

    api_base_url: str | None = None
    token_url: str | None = None
    authorize_url: str | None = None

    def config(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def new_connection_id(provider_name: str) -> str:
    return f"{provider_name}-{random_ids.token_hex(4)}"


def connect(
    app: AppContext,
    provider_name: str,
    *,
    workspace_ref: str,
    name: str,
    region: str | None,
    settings: dict[str, object],
    endpoints: Endpoints,
    credentials: Credentials,
) -> Connection:
    """Create a working connection or nothing at all."""
    info = provider(provider_name)
    workspace = app.store.workspace(workspace_ref)
    _check_name_free(app, workspace.id, name)
    rt = app.runtime()
    connection = Connection(
        id=new_connection_id(info.name),
        workspace_id=workspace.id,
        provider=info.name,
        name=name,
        kind=info.kind,
        region=region,
        created_at=rt.clock.now(),
        config={**settings, **endpoints.config(), "client_id": credentials.client_id},
    )
    try:
        rt.secrets.set(connection.id, CLIENT_SECRET, credentials.client_secret)
        store_initial_token(rt.secrets, connection.id, credentials.refresh_token)
        rt.token_source(connection, record=False).token()
        connection = _onboard(rt, info, connection)
        app.store.add_connection(connection, info.feeds, grant_expires_at=_expiry(rt, info))
    except BaseException:
        rt.secrets.delete_connection(connection.id)
        raise
    rt.record_event(connection, EventKind.CONNECTED, detail=f"connected to {info.title}")
    return connection


def reconnect(
    app: AppContext, connection_ref: str, workspace_ref: str | None, refresh_token: str
) -> Connection:
    """Replace a connection's grant with a new one, proven to work before it is kept."""
    connection = find_connection(app, connection_ref, workspace_ref)
    info = provider(connection.provider)
    rt = app.runtime()
    previous = stored_token_set(rt.secrets, connection.id)
    rt.token_source(connection).replace_grant(refresh_token)
    # The account check needs API calls with the new grant, so it runs after the swap and
    # outside the refresh lock; a grant for another account must not stay, so it is undone.
    try:
        _onboard(rt, info, connection)
    except BaseException:
        if previous is not None:
            save_token_set(rt.secrets, connection.id, previous)
        raise
    expiry = _expiry(rt, info)
    if expiry is not None:
        app.store.set_grant_expiry(connection.id, expiry)
    rt.record_event(connection, EventKind.RECONNECTED, detail="reconnected with a new grant")
    return connection


def find_connection(app: AppContext, connection_ref: str, workspace_ref: str | None) -> Connection:
    """The connection the user named (id or name), within a workspace when one is given."""
    workspace_id = app.store.workspace(workspace_ref).id if workspace_ref else None
    return app.store.connection(connection_ref, workspace_id)


def _check_name_free(app: AppContext, workspace_id: str, name: str) -> None:
    try:
        app.store.connection(name, workspace_id)
    except NotFound:
        return
    raise ConfigError(
        "workbench",
        f"this workspace already has a connection named {name!r}: "
        "choose another --name, or `workbench reconnect` that one",
    )


def _expiry(rt: Runtime, info: Provider) -> datetime | None:
    return rt.clock.now() + info.grant_lifetime if info.grant_lifetime else None


def _onboard(rt: Runtime, info: Provider, connection: Connection) -> Connection:
    """The provider's own step between a working token and a usable connection."""
    if info.onboard is None:
        return connection
    with rt.client(connection, record=False) as client:
        return info.onboard(client, connection)
