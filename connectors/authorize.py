"""Interactive consent for any registered provider: where to send the user, and the way back.

The app calls `begin` with a connection's config (or the wizard's settings) and its callback
URL, sends the user to `pending.url`, and keeps the `PendingAuthorization` in process memory
(never on disk or in the database: it holds the PKCE verifier). When the provider redirects
back, `complete` checks the callback against it and trades the code for a token set.

What differs between providers is data on `connectors.registry.Provider.consent`
(`oauth_flow.ConsentStyle`): Xero is OAuth 2.0 with PKCE S256 and its scopes; Amazon sends the
seller to Seller Central's consent page with the SP-API `application_id` and calls back with
`spapi_oauth_code` and `selling_partner_id`, exchanged without PKCE.

Config keys read by `begin`: `authorize_url` (an override: a sandbox, a local server), the
style's client key (`client_id`; Amazon: `application_id`), `region` or else the first of
`marketplaces` (Amazon: picks the Seller Central host), and `draft_app` (Amazon: a draft app
needs `version=beta`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from connectors.clock import Clock
from connectors.errors import ConfigError
from connectors.oauth import TokenSet
from connectors.oauth_flow import (
    AuthorizationFailed,
    ConsentStyle,
    PendingAuthorization,
    begin_authorization,
    complete_authorization,
    granted_account,
)
from connectors.registry import Provider, provider

__all__ = [
    "AuthorizationFailed",
    "PendingAuthorization",
    "authorize_url",
    "begin",
    "complete",
    "granted_account",
]


def begin(
    connection_config: Mapping[str, Any],
    provider_name: str,
    redirect_uri: str,
    *,
    account: str | None = None,
) -> PendingAuthorization:
    """Start a consent: `pending.url` is where to send the user, the rest checks the callback.

    `account`, when given, is the account the consent must be for (a reconnect of Amazon
    seller `account`); a callback for another one fails in `complete`.
    """
    info = provider(provider_name)
    style = _style(info)
    extra = dict(style.draft_params) if connection_config.get("draft_app") else {}
    return begin_authorization(
        authorize_url(connection_config, provider_name),
        _client(connection_config, style, info.name),
        redirect_uri,
        style.scope,
        pkce=style.pkce,
        extra_params=extra,
        style=style,
        provider=info.name,
        account=account,
    )


def complete(
    pending: PendingAuthorization,
    callback_params: Mapping[str, str] | str,
    *,
    provider_name: str,
    token_url: str | None = None,
    client_id: str,
    client_secret: str,
    transport: httpx2.BaseTransport | None,
    clock: Clock,
) -> TokenSet:
    """Check the callback (state, error, account) and exchange its code for a token set.

    `callback_params` is the callback's query (a mapping, or the full callback URL);
    `token_url` defaults to the provider's production token endpoint. Every way the consent
    can fail raises `AuthorizationFailed` with what to do next.
    """
    info = provider(provider_name)
    if pending.provider != info.name:
        raise AuthorizationFailed(
            info.name,
            f"this callback belongs to a {pending.provider} authorization: start connecting again",
        )
    return complete_authorization(
        pending,
        callback_params,
        token_url=token_url or info.token_url,
        client_id=client_id,
        client_secret=client_secret,
        auth_method=info.auth_method,
        transport=transport,
        clock=clock,
        provider=info.name,
    )


def authorize_url(connection_config: Mapping[str, Any], provider_name: str) -> str:
    """The consent page: the config's `authorize_url`, else the region's, else the default."""
    info = provider(provider_name)
    style = _style(info)
    override = connection_config.get("authorize_url")
    if override:
        return str(override)
    if not style.regional_urls:
        assert info.authorize_url is not None  # _style refuses a provider without one
        return info.authorize_url
    region = _region(connection_config, style, info.name)
    try:
        return style.regional_urls[region]
    except KeyError:
        known = ", ".join(style.regional_urls)
        raise ConfigError(info.name, f"unknown region {region!r}; choose {known}") from None


def _style(info: Provider) -> ConsentStyle:
    if info.consent is None or info.authorize_url is None:
        raise ConfigError(
            info.name,
            f"{info.title} has no consent page: connect it with a key or refresh token",
        )
    return info.consent


def _client(config: Mapping[str, Any], style: ConsentStyle, provider_name: str) -> str:
    value = str(config.get(style.client_key) or "").strip()
    if not value or not value.startswith(style.client_prefix):
        shape = f" (it starts with {style.client_prefix})" if style.client_prefix else ""
        raise ConfigError(
            provider_name,
            f"the connection needs its {style.client_key}{shape} to ask for consent; "
            "set it and start again",
        )
    return value


def _region(config: Mapping[str, Any], style: ConsentStyle, provider_name: str) -> str:
    region = str(config.get("region") or "").strip().lower()
    if region:
        return region
    codes = config.get("marketplaces") or []
    codes = [codes] if isinstance(codes, str) else list(codes)
    first = str(codes[0]).strip() if codes else ""
    found = style.marketplace_regions.get(first.upper()) or style.marketplace_regions.get(first)
    if found is None:
        known = ", ".join(style.regional_urls)
        raise ConfigError(provider_name, f"choose the connection's region ({known}) to connect")
    return found
