"""Every provider the workbench knows, and what it takes to talk to each.

Adding a provider is one module (endpoints, pagination, mapping, `connect()`), its sandbox, its
tests, and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from connectors import amazon, amazon_consent, xero
from connectors.errors import ConfigError
from connectors.oauth import AuthMethod
from connectors.oauth_flow import ConsentStyle
from reconcile.models import Connection, LedgerEntry, SettlementBatch


class SettlementSource(Protocol):
    """What a channel client offers: the settlements started in a window, lines included."""

    def settlements(self, start: datetime, end: datetime) -> Iterator[SettlementBatch]: ...


class LedgerSource(Protocol):
    """What a ledger client offers for sync: the entries this app created, changed since."""

    def ledger_entries(self, modified_since: datetime | None) -> Iterator[LedgerEntry]: ...


@dataclass(frozen=True)
class Provider:
    """What the orchestration needs to know about a provider, without knowing the provider."""

    name: str
    title: str
    kind: Literal["channel", "ledger"]
    feeds: tuple[str, ...]
    token_url: str
    authorize_url: str | None
    auth_method: AuthMethod
    rotates_refresh_token: bool
    connect: Callable[..., Any]
    lookback: timedelta  # how far a sync re-reads behind its cursor
    sync_window: timedelta  # the slice of time fetched and committed as one unit
    horizon: timedelta  # how far back the API still returns data
    grant_lifetime: timedelta | None  # a forced re-authorisation, when the provider has one
    latency: timedelta  # how far behind now the provider's data is complete
    # run with a connected client before a connection is stored or reconnected; returns it
    # ready to use (Xero: bound to its organisation)
    onboard: Callable[[Any, Connection], Connection] | None
    # the interactive consent (`connectors.authorize`), None when the provider has none;
    # `authorize_url` is its default URL, `consent.regional_urls` a region's own
    consent: ConsentStyle | None = None


PROVIDERS: dict[str, Provider] = {
    "amazon": Provider(
        name="amazon",
        title="Amazon Seller Central (SP-API)",
        kind="channel",
        feeds=amazon.FEEDS,
        token_url=amazon.LWA_TOKEN_URL,
        authorize_url=amazon_consent.CONSENT_URL,  # NA; EU and FE by the config's region
        auth_method="client_secret_post",
        rotates_refresh_token=False,
        connect=amazon.connect,
        lookback=amazon.LOOKBACK,
        sync_window=timedelta(days=90),  # 9 commits for 2 years; Amazon allows 180
        horizon=amazon.HORIZON,
        grant_lifetime=timedelta(days=365),
        latency=amazon.REQUEST_DELAY,  # StartedBefore must be two minutes in the past
        onboard=None,
        consent=amazon_consent.STYLE,
    ),
    "xero": Provider(
        name="xero",
        title="Xero",
        kind="ledger",
        feeds=xero.FEEDS,
        token_url=xero.TOKEN_URL,
        authorize_url=xero.AUTHORIZE_URL,
        auth_method="client_secret_basic",
        rotates_refresh_token=True,
        connect=xero.connect,
        lookback=timedelta(minutes=10),
        sync_window=timedelta(days=3650),
        horizon=timedelta(days=3650),
        grant_lifetime=None,
        latency=timedelta(0),
        onboard=xero.onboard,
        consent=ConsentStyle(scope=" ".join(xero.SCOPES)),
    ),
}


def provider(name: str) -> Provider:
    """The provider called `name`; a clear error naming the known ones otherwise."""
    try:
        return PROVIDERS[name.lower()]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(name, f"unknown provider {name!r}; choose one of: {known}") from None
