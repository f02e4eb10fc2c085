"""The authorization request the sandboxes' consent page answers: who asks, and what was decided.

Plain OAuth 2.0 names the client `client_id`, wants `response_type=code` and calls the callback's
code `code`; a `ConsentDialect` describes a provider that names them otherwise (Amazon's Seller
Central consent: `application_id`, no `response_type`, `spapi_oauth_code` and
`selling_partner_id`). Problems that must not redirect (an unknown client, a bad redirect URI,
an unreadable request) come back as messages for an error page; problems the client should hear
about raise `OAuthError`, which the endpoint sends back to `redirect_uri`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx2

from connectors.sandbox.oauth_wire import OAuthError, form_fields

DECISION_FIELDS = ("decision", "account")


@dataclass(frozen=True)
class ConsentDialect:
    """How a provider's consent request and callback name things (plain OAuth 2.0 by default).

    `applications` maps the public id the consent URL carries to the OAuth client whose
    credentials later redeem the code (Amazon: an SP-API application id to its LWA client);
    empty means the URL carries the client id itself.
    """

    client_param: str = "client_id"
    client_label: str = "Client ID"
    code_param: str = "code"
    account_param: str | None = None  # the callback names the granted account (Amazon)
    response_type: bool = True  # the request must say response_type=code
    applications: Mapping[str, str] = field(default_factory=dict)


OAUTH = ConsentDialect()


@dataclass(frozen=True)
class Target:
    """Where an authorization request comes from and where its answer goes."""

    client_id: str  # the OAuth client the code is bound to
    public_id: str  # what the consent URL called it
    redirect_uri: str


def request_params(request: httpx2.Request) -> dict[str, str] | str:
    """The request's parameters (the query of a GET, the form of a POST), else the problem."""
    if request.method == "GET":
        return dict(request.url.params.items())
    try:
        return form_fields(request)
    except OAuthError as error:
        return error.description


def consent_target(
    params: Mapping[str, str], dialect: ConsentDialect, clients: Mapping[str, str]
) -> Target | str:
    """The registered client and redirect URI of a request, else why it cannot be answered."""
    public = params.get(dialect.client_param, "")
    client_id = dialect.applications.get(public) if dialect.applications else public
    if client_id is None or client_id not in clients:
        return f"unknown {dialect.client_param} {public!r}"
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://", "https://")):
        return "redirect_uri is missing or not an http(s) URL"
    return Target(client_id, public, redirect_uri)


def check_request(params: Mapping[str, str], dialect: ConsentDialect) -> None:
    """Raise `OAuthError` for a request the client must hear is wrong (RFC 6749 4.1.2.1)."""
    if dialect.response_type and params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    if "code_challenge" in params and params.get("code_challenge_method") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")


def asked(params: Mapping[str, str]) -> dict[str, str]:
    """The original request's parameters, without the page's own decision fields."""
    return {k: v for k, v in params.items() if k not in DECISION_FIELDS}


def decided_account(form: Mapping[str, str], choices: Sequence[str], declined: bool) -> str:
    """The account the user granted; `access_denied` when they said no (or `declined`)."""
    decision = form.get("decision")
    if decision not in ("allow", "deny"):
        raise OAuthError("invalid_request", "decision must be allow or deny")
    if decision == "deny" or declined:
        raise OAuthError("access_denied", "the resource owner declined consent")
    account = form.get("account", choices[0])
    if account not in choices:
        raise OAuthError("invalid_request", "the chosen account is not offered")
    return account
