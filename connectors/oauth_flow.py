"""The OAuth 2.0 authorization-code flow with PKCE: the consent URL, then the code exchange.

`begin_authorization` makes the URL to send the user to, with a fresh `state` and (by default)
an S256 code challenge; `complete_authorization` checks the callback against them and trades
the code for a token set at the token endpoint, with the same error mapping as a refresh. A
`ConsentStyle` describes a provider whose consent URL or callback is not plain OAuth 2.0.
`connectors.authorize` drives both for a registered provider.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx2
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from connectors.clock import Clock
from connectors.errors import AuthRevoked
from connectors.oauth import AuthMethod, TokenEndpoint, TokenSet, token_set


class AuthorizationFailed(AuthRevoked):
    """The consent flow did not complete (declined, state mismatch, no code): start again."""


@dataclass(frozen=True)
class ConsentStyle:
    """A provider's consent request and callback, where they differ from plain OAuth 2.0.

    The defaults are RFC 6749 with PKCE: `client_id` and `response_type=code` in the URL, `code`
    in the callback. Amazon's Seller Central consent names its SP-API application
    (`application_id`, read from the connection's config key `application_id`), sends no
    `response_type` and no PKCE, and calls back with `spapi_oauth_code` and `selling_partner_id`.
    """

    scope: str = ""
    pkce: bool = True
    client_key: str = "client_id"  # the connection-config key of the id the URL carries
    client_prefix: str = ""  # that id always starts so (catches a wrong id in the config)
    client_param: str = "client_id"
    response_type: bool = True
    code_param: str = "code"
    account_param: str | None = None  # the callback names the account that consented
    draft_params: Mapping[str, str] = field(default_factory=dict)  # config `draft_app: true`
    regional_urls: Mapping[str, str] = field(default_factory=dict)  # by config `region`
    # without a `region`, the first of the config's `marketplaces` decides it (Amazon)
    marketplace_regions: Mapping[str, str] = field(default_factory=dict)


OAUTH = ConsentStyle()


@dataclass(frozen=True)
class PendingAuthorization:
    """An authorization in flight: where to send the user, and what checks the callback.

    Keep it in process memory only (it holds the PKCE verifier): never write it to disk or to
    the database. Its repr leaves the verifier out.
    """

    url: str
    state: str
    code_verifier: str | None = field(repr=False)
    redirect_uri: str
    provider: str = "oauth"
    code_param: str = "code"
    account_param: str | None = None
    account: str | None = None  # the account the callback must name (a reconnect), if known


def begin_authorization(
    authorize_url: str,
    client_id: str,
    redirect_uri: str,
    scope: str,
    *,
    pkce: bool = True,
    extra_params: Mapping[str, str] | None = None,
    style: ConsentStyle = OAUTH,
    provider: str = "oauth",
    account: str | None = None,
) -> PendingAuthorization:
    """The consent URL (with `state` and, by default, a PKCE S256 challenge) to send the user to.

    `style` names the URL's and the callback's parameters; `account`, when given, is the
    account the callback must come back for (Amazon: the selling partner being reconnected).
    """
    verifier = random.token_urlsafe(64) if pkce else None
    state = random.token_urlsafe(24)
    params = [("response_type", "code")] if style.response_type else []
    params += [(style.client_param, client_id), ("redirect_uri", redirect_uri)]
    params += [("scope", scope)] if scope else []
    params.append(("state", state))
    if verifier is not None:
        params += [
            ("code_challenge", create_s256_code_challenge(verifier)),
            ("code_challenge_method", "S256"),
        ]
    params += list((extra_params or {}).items())
    url = add_params_to_uri(authorize_url, params)
    return PendingAuthorization(
        url=str(url),
        state=state,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        provider=provider,
        code_param=style.code_param,
        account_param=style.account_param,
        account=account,
    )


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
    """Check the callback (state, error, account, code) and exchange the code for a token set."""
    code = callback_code(pending, _callback_params(callback_url_or_params), provider)
    endpoint = TokenEndpoint(provider, token_url, client_id, auth_method, transport, timeout)
    grant = {"grant_type": "authorization_code", "code": code}
    grant["redirect_uri"] = pending.redirect_uri
    if pending.code_verifier:
        grant["code_verifier"] = pending.code_verifier
    started = clock.now()
    try:
        body = endpoint.grant(client_secret, grant)
    except AuthRevoked as error:
        detail = error.message.partition(": ")[2] or "invalid_grant"
        raise AuthorizationFailed(
            provider,
            f"the authorization code was refused ({detail}); a code works once and only for "
            "a few minutes: start connecting again",
            status=error.status,
        ) from None
    return token_set(provider, body, started, previous=None)


def callback_code(pending: PendingAuthorization, params: Mapping[str, str], provider: str) -> str:
    """The authorization code of a callback that belongs to `pending`; `AuthorizationFailed`."""
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
        raise AuthorizationFailed(provider, refused + "; start connecting again")
    _check_account(pending, params, provider)
    code = params.get(pending.code_param)
    if not code:
        raise AuthorizationFailed(provider, "the callback carries no authorization code")
    return code


def granted_account(
    pending: PendingAuthorization, callback_url_or_params: str | Mapping[str, str]
) -> str | None:
    """The account a callback says consented (Amazon's `selling_partner_id`), when it says."""
    if pending.account_param is None:
        return None
    return _callback_params(callback_url_or_params).get(pending.account_param) or None


def _check_account(pending: PendingAuthorization, params: Mapping[str, str], provider: str) -> None:
    if pending.account is None or pending.account_param is None:
        return
    granted = params.get(pending.account_param, "")
    if granted != pending.account:
        raise AuthorizationFailed(
            provider,
            f"consent was given for account {granted[:60]!r}, but this connection is "
            f"{pending.account!r}: sign in as {pending.account!r} and reconnect",
        )


def _callback_params(value: str | Mapping[str, str]) -> dict[str, str]:
    if not isinstance(value, str):
        return dict(value)
    query = urlsplit(value).query if "?" in value or "://" in value else value
    return dict(parse_qsl(query, keep_blank_values=True))
