"""The OAuth 2.0 authorization-code flow with PKCE: the consent URL, then the code exchange.

`begin_authorization` makes the URL to send the user to, with a fresh `state` and (by default)
an S256 code challenge; `complete_authorization` checks the callback against them and trades
the code for a token set at the token endpoint, with the same error mapping as a refresh.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx2
from authlib.integrations.httpx_client import OAuth2Client

from connectors.clock import Clock
from connectors.errors import AuthRevoked
from connectors.oauth import AuthMethod, TokenEndpoint, TokenSet, token_set


class AuthorizationFailed(AuthRevoked):
    """The consent flow did not complete (declined, state mismatch, no code): start again."""


@dataclass(frozen=True)
class PendingAuthorization:
    """An authorization in flight: where to send the user, and what checks the callback."""

    url: str
    state: str
    code_verifier: str | None = field(repr=False)
    redirect_uri: str


def begin_authorization(
    authorize_url: str,
    client_id: str,
    redirect_uri: str,
    scope: str,
    *,
    pkce: bool = True,
    extra_params: Mapping[str, str] | None = None,
) -> PendingAuthorization:
    """The consent URL (with `state` and, by default, a PKCE S256 challenge) to send the user to."""
    verifier = random.token_urlsafe(64) if pkce else None
    state = random.token_urlsafe(24)
    method = "S256" if pkce else None
    with OAuth2Client(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope or None,
        code_challenge_method=method,
    ) as client:
        url, _ = client.create_authorization_url(
            authorize_url, state=state, code_verifier=verifier, **dict(extra_params or {})
        )
    return PendingAuthorization(str(url), state, verifier, redirect_uri)


def complete_authorization(
    pending: PendingAuthorization,
    callback_url_or_params: str | Mapping[str, str],
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    auth_method: AuthMethod,
    transport: httpx2.BaseTransport | None,
    clock: Clock,
    provider: str = "oauth",
    timeout: float = 30.0,
) -> TokenSet:
    """Check the callback (state, error, code) and exchange the code for a token set."""
    params = _callback_params(callback_url_or_params)
    if not random.compare_digest(params.get("state", "").encode(), pending.state.encode()):
        raise AuthorizationFailed(
            provider,
            "the callback does not belong to this authorization "
            "(state mismatch); start connecting again",
        )
    error = params.get("error")
    if error == "access_denied":
        raise AuthorizationFailed(provider, "consent was declined; connect again and approve")
    if error:
        refused = f"the provider refused the authorization: {error[:100]}"
        raise AuthorizationFailed(provider, refused)
    code = params.get("code")
    if not code:
        raise AuthorizationFailed(provider, "the callback carries no authorization code")
    endpoint = TokenEndpoint(provider, token_url, client_id, auth_method, transport, timeout)
    grant = {"grant_type": "authorization_code", "code": code}
    grant["redirect_uri"] = pending.redirect_uri
    if pending.code_verifier:
        grant["code_verifier"] = pending.code_verifier
    started = clock.now()
    body = endpoint.grant(client_secret, grant)
    return token_set(provider, body, started, previous=None)


def _callback_params(value: str | Mapping[str, str]) -> dict[str, str]:
    if not isinstance(value, str):
        return dict(value)
    query = urlsplit(value).query if "?" in value or "://" in value else value
    return dict(parse_qsl(query, keep_blank_values=True))
