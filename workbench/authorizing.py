"""The app's consent flows: connect a new channel or ledger, or reconnect one, in the browser.

The app sends the user to the provider's consent page with a fresh `state`; the provider
sends them back to the app with a code, which is traded for a grant and handed to
`workbench.connecting` (all or nothing). What is in flight (the state, the PKCE verifier, a
new connection's client secret) lives only in this process's memory and expires: a wizard
abandoned half way leaves nothing behind, on disk or in the database.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors import authorize
from connectors.oauth import TokenSet
from connectors.oauth_flow import AuthorizationFailed, PendingAuthorization
from connectors.registry import provider
from reconcile.models import Connection
from workbench.connecting import CLIENT_SECRET, Credentials, Endpoints, connect, reconnect
from workbench.context import AppContext

LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True, repr=False)
class NewConnection:
    """What the connect wizard collected before sending the user to the provider."""

    provider: str
    workspace_id: str
    name: str
    region: str | None
    settings: dict[str, Any]
    endpoints: Endpoints
    client_id: str
    client_secret: str


@dataclass(frozen=True, repr=False)
class _InFlight:
    pending: PendingAuthorization
    started: datetime
    connection_id: str | None = None  # a reconnect
    new: NewConnection | None = None  # a connect


@dataclass
class Authorizations:
    """The consent flows in flight in this process, by `state`; each lives `LIFETIME`."""

    _flows: dict[str, _InFlight] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def begin_reconnect(self, app: AppContext, connection: Connection, redirect_uri: str) -> str:
        """The consent URL that renews `connection`'s grant."""
        pending = authorize.begin(connection.config, connection.provider, redirect_uri)
        return self._keep(app, _InFlight(pending, app.clock.now(), connection_id=connection.id))

    def begin_connect(self, app: AppContext, new: NewConnection, redirect_uri: str) -> str:
        """The consent URL for a connection not stored yet (nothing is stored until it works)."""
        config = {**new.settings, **new.endpoints.config(), "client_id": new.client_id}
        pending = authorize.begin(config, new.provider, redirect_uri)
        return self._keep(app, _InFlight(pending, app.clock.now(), new=new))

    def is_callback(self, params: Mapping[str, str]) -> bool:
        """Whether these query parameters come back from a consent page."""
        return "state" in params and any(k in params for k in ("code", "spapi_oauth_code", "error"))

    def complete(self, app: AppContext, params: Mapping[str, str]) -> Connection:
        """Finish the flow the callback belongs to; `AuthorizationFailed` says what to do."""
        flow = self._take(app, params.get("state", ""))
        if flow.connection_id is not None:
            return self._reconnect(app, flow, params)
        assert flow.new is not None
        return self._connect(app, flow.new, flow.pending, params)

    def _keep(self, app: AppContext, flow: _InFlight) -> str:
        with self._lock:
            self._expire(app.clock.now())
            self._flows[flow.pending.state] = flow
        return flow.pending.url

    def _take(self, app: AppContext, state: str) -> _InFlight:
        with self._lock:
            self._expire(app.clock.now())
            flow = self._flows.pop(state, None)
        if flow is None:
            raise AuthorizationFailed(
                "workbench",
                "this consent answer does not belong to a connection being set up here (it "
                "expired after 15 minutes, or the app restarted): start again",
            )
        return flow

    def _expire(self, now: datetime) -> None:
        for state in [s for s, f in self._flows.items() if now - f.started > LIFETIME]:
            del self._flows[state]

    def _reconnect(self, app: AppContext, flow: _InFlight, params: Mapping[str, str]) -> Connection:
        assert flow.connection_id is not None
        connection = app.store.connection(flow.connection_id)
        rt = app.runtime()
        secret = rt.secrets.get(connection.id, CLIENT_SECRET)
        if secret is None:
            raise AuthorizationFailed(
                connection.provider,
                f"{connection.name} has lost its client secret: remove it and connect again",
            )
        token = self._exchange(
            app, flow.pending, params, connection.config, connection.provider, secret
        )
        return reconnect(app, connection.id, None, token_refresh(token, connection.provider))

    def _connect(
        self,
        app: AppContext,
        new: NewConnection,
        pending: PendingAuthorization,
        params: Mapping[str, str],
    ) -> Connection:
        config = {**new.endpoints.config(), "client_id": new.client_id}
        token = self._exchange(app, pending, params, config, new.provider, new.client_secret)
        credentials = Credentials(
            new.client_id, new.client_secret, token_refresh(token, new.provider)
        )
        return connect(
            app,
            new.provider,
            workspace_ref=new.workspace_id,
            name=new.name,
            region=new.region,
            settings=new.settings,
            endpoints=new.endpoints,
            credentials=credentials,
        )

    @staticmethod
    def _exchange(
        app: AppContext,
        pending: PendingAuthorization,
        params: Mapping[str, str],
        config: Mapping[str, Any],
        provider_name: str,
        client_secret: str,
    ) -> TokenSet:
        rt = app.runtime()
        info = provider(provider_name)
        return authorize.complete(
            pending,
            params,
            provider_name=provider_name,
            token_url=str(config.get("token_url") or info.token_url),
            client_id=str(config["client_id"]),
            client_secret=client_secret,
            transport=rt.transport,
            clock=rt.clock,
        )


def token_refresh(token: TokenSet, provider_name: str) -> str:
    """The refresh token of a granted token set; a grant without one cannot be kept."""
    if token.refresh_token is None:
        raise AuthorizationFailed(
            provider_name, "the provider granted no refresh token: ask for offline access"
        )
    return str(token.refresh_token.get_secret_value())
