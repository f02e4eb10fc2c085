"""Connect and reconnect: all or nothing.

A new connection is stored only after its credentials were proven to work (an access token
was obtained and, for a ledger, its organisation found). If anything fails on the way, the
secrets written for it are removed again and the database is untouched. A failed reconnect
puts the previous token set back.
"""

from __future__ import annotations

import secrets as random_ids
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors import amazon, xero
from connectors.oauth import save_token_set, store_initial_token, stored_token_set
from connectors.registry import Provider, provider
from reconcile.models import Connection, ConnectionEvent, EventKind
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


def amazon_config(region: str, marketplaces: list[str]) -> dict[str, Any]:
    """Validated Amazon settings: the region and its marketplaces (country codes)."""
    chosen = amazon.marketplaces_for(region, marketplaces)
    return {"marketplaces": [m.country for m in chosen]}


def connect(
    app: AppContext,
    provider_name: str,
    *,
    workspace_ref: str,
    name: str,
    region: str | None,
    settings: dict[str, Any],
    endpoints: Endpoints,
    credentials: Credentials,
) -> Connection:
    """Create a working connection or nothing at all."""
    info = provider(provider_name)
    workspace = app.store.workspace(workspace_ref)
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
    rt.secrets.set(connection.id, CLIENT_SECRET, credentials.client_secret)
    store_initial_token(rt.secrets, connection.id, credentials.refresh_token)
    try:
        rt.token_source(connection, record=False).token()
        connection = _onboard(rt, info, connection)
        app.store.add_connection(connection, info.feeds, grant_expires_at=_grant_expiry(rt, info))
    except BaseException:
        rt.secrets.delete_connection(connection.id)
        raise
    _event(rt, connection, EventKind.CONNECTED, f"connected to {info.title}")
    return connection


def reconnect(
    app: AppContext, connection_ref: str, workspace_ref: str | None, refresh_token: str
) -> Connection:
    """Replace a connection's grant with a new one, proven to work before it is kept."""
    workspace_id = app.store.workspace(workspace_ref).id if workspace_ref else None
    connection = app.store.connection(connection_ref, workspace_id)
    info = provider(connection.provider)
    rt = app.runtime()
    previous = stored_token_set(rt.secrets, connection.id)
    store_initial_token(rt.secrets, connection.id, refresh_token)
    try:
        rt.token_source(connection, record=False).token()
    except BaseException:
        if previous is not None:
            save_token_set(rt.secrets, connection.id, previous)
        raise
    expiry = _grant_expiry(rt, info)
    if expiry is not None:
        app.store.set_grant_expiry(connection.id, expiry)
    _event(rt, connection, EventKind.RECONNECTED, "reconnected with a new grant")
    return connection


def _grant_expiry(rt: Runtime, info: Provider) -> datetime | None:
    return rt.clock.now() + info.grant_lifetime if info.grant_lifetime else None


def _onboard(rt: Runtime, info: Provider, connection: Connection) -> Connection:
    """Provider steps between a working token and a usable connection."""
    if info.name != "xero":
        return connection
    with rt.client(connection) as ledger:
        tenants = ledger.tenants()
    tenant = xero.choose_tenant(tenants, connection.config.get("tenant"))
    config = {**connection.config, "tenant_id": tenant.tenant_id, "tenant_name": tenant.tenant_name}
    return connection.model_copy(update={"config": config})


def _event(rt: Runtime, connection: Connection, kind: EventKind, detail: str) -> None:
    rt.store.record_event(
        ConnectionEvent(connection_id=connection.id, at=rt.clock.now(), kind=kind, detail=detail)
    )
