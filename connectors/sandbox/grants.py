"""A fake OAuth 2.0 authorization server (RFC 6749, PKCE per RFC 7636, revocation per RFC 7009).

The Amazon (Login with Amazon) and Xero sandboxes share it. It works in-process: each endpoint is
a function from `httpx2.Request` to `httpx2.Response`, so it plugs into `httpx2.MockTransport`
or a loopback HTTP server. Time comes from an injected clock, so lifetimes (access tokens,
5-minute codes, rotation grace, idle expiry of refresh tokens) play out on a simulated clock.

The authorization endpoint shows a real consent page (`consent_page`): a browser, or a test,
GETs it and POSTs the decision. A `ConsentDialect` describes a provider whose consent URL and
callback differ from plain OAuth 2.0 (Amazon's `application_id` and `spapi_oauth_code`).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import httpx2

from connectors.clock import Clock
from connectors.sandbox.consent import (
    OAUTH,
    ConsentDialect,
    Target,
    asked,
    check_request,
    consent_target,
    decided_account,
    request_params,
)
from connectors.sandbox.consent_page import Consent, consent_response, error_page
from connectors.sandbox.oauth_wire import (
    OAuthError,
    basic_credentials,
    error_fields,
    error_response,
    form_fields,
    json_response,
    redirect,
    verify_pkce,
    with_state,
)

CODE_LIFETIME = timedelta(minutes=5)
ClientAuth = Literal["post", "basic", "either"]
DenialReason = Literal["missing", "expired", "invalid", "revoked"]


class AccessDenied(Exception):
    """An access token was refused; `reason` says why (never the token itself)."""

    def __init__(self, reason: DenialReason) -> None:
        self.reason: DenialReason = reason
        super().__init__(f"access token {reason}")


@dataclass
class _Grant:
    subject: str
    client_id: str | None  # None: any registered client may use it
    scope: str
    revoked: bool = False


@dataclass
class _RefreshToken:
    grant: _Grant
    last_used: datetime
    superseded_at: datetime | None = None


@dataclass
class _AccessToken:
    grant: _Grant
    expires_at: datetime


@dataclass
class _Code:
    grant: _Grant
    redirect_uri: str
    challenge: str | None
    expires_at: datetime
    used: bool = False


class GrantServer:
    """Authorization and token endpoints with scenario controls (revoke, expire, fail).

    Consent: `consent_subject` is the account granted by default (the first choice on the page)
    and `accounts` lists further choices. While `deny_consent` is set, every decision posted
    from the page counts as declined, whichever button was pressed: scripted tests and the
    browser walk can simulate a user who says no without driving the Deny button. `on_consent`
    is told the subject of every code issued (the Xero sandbox connects its organisations).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        clients: Mapping[str, str],
        access_ttl: timedelta,
        rotate_refresh: bool,
        refresh_grace: timedelta = timedelta(0),
        refresh_idle_ttl: timedelta | None = None,
        client_auth: ClientAuth = "either",
        scopes: str = "",
        access_prefix: str = "",
        refresh_prefix: str = "",
        title: str = "OAuth sandbox",
        client_names: Mapping[str, str] | None = None,
        permissions: Sequence[str] = (),
        account_label: str = "Account",
    ) -> None:
        self._clock = clock
        self._clients = dict(clients)
        self._access_ttl = access_ttl
        self._rotate = rotate_refresh
        self._grace = refresh_grace
        self._idle_ttl = refresh_idle_ttl
        self._client_auth: ClientAuth = client_auth
        self._scopes = scopes
        self._access_prefix = access_prefix
        self._refresh_prefix = refresh_prefix
        self._title = title
        self._client_names = dict(client_names or {})
        self._permissions = tuple(permissions)
        self._account_label = account_label
        self._lock = threading.RLock()
        self._refresh: dict[str, _RefreshToken] = {}
        self._access: dict[str, _AccessToken] = {}
        self._codes: dict[str, _Code] = {}
        self._failures: list[int] = []
        self.refresh_grants = 0
        self.issued: list[str] = []  # every token ever handed out, for leak checks in tests
        self.deny_consent = False
        self.consent_subject = "seller"
        self.accounts: list[str] = []
        self.consent_note = ""
        self.on_consent: Callable[[str], None] | None = None

    # ---- scenario controls -------------------------------------------------------------

    def issue_refresh_token(self, subject: str = "seller", *, client_id: str | None = None) -> str:
        """A fresh grant's refresh token, as Seller Central self-authorisation hands out."""
        if client_id is not None and client_id not in self._clients:
            raise ValueError(f"unknown client {client_id!r}")
        with self._lock:
            grant = _Grant(subject=subject, client_id=client_id, scope=self._scopes)
            return self._new_refresh(grant)

    def revoke_all(self, subject: str | None = None) -> None:
        """Revoke every grant (of `subject`, when given): its tokens stop working."""
        with self._lock:
            for grant in self._grants():
                if subject is None or grant.subject == subject:
                    grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expire now."""
        with self._lock:
            now = self._clock.now()
            for access in self._access.values():
                access.expires_at = min(access.expires_at, now)

    def fail_token_requests(self, count: int, status: int = 503) -> None:
        """Answer the next `count` token requests with `status` (a provider outage)."""
        with self._lock:
            self._failures.extend([status] * count)

    def access_subject(self, token: str | None) -> str:
        """The subject of a valid access token, else raise `AccessDenied` with the reason."""
        if not token:
            raise AccessDenied("missing")
        with self._lock:
            access = self._access.get(token)
            if access is None:
                raise AccessDenied("invalid")
            if access.grant.revoked:
                raise AccessDenied("revoked")
            if self._clock.now() >= access.expires_at:
                raise AccessDenied("expired")
            return access.grant.subject

    def choices(self) -> list[str]:
        """The accounts a consent can grant, `consent_subject` (the default) first."""
        return [self.consent_subject, *(a for a in self.accounts if a != self.consent_subject)]

    # ---- endpoints -----------------------------------------------------------------------

    def authorize(
        self, request: httpx2.Request, dialect: ConsentDialect = OAUTH
    ) -> httpx2.Response:
        """The authorization endpoint: GET shows the consent page, POST carries the decision.

        GET checks the request and renders the page: who asks, for which scopes, and the
        account to grant (radio buttons when there are several). The page's form POSTs the
        original parameters back with `decision=allow|deny` and `account`: allow issues a code
        for that account and 302s to `redirect_uri` with the code and `state`; deny sends
        `error=access_denied`. An unknown client or a bad `redirect_uri` gets an error page,
        never a redirect.
        """
        if request.method not in ("GET", "POST"):
            return error_page(self._title, f"{request.method} is not allowed: use GET", 405)
        params = request_params(request)
        if isinstance(params, str):
            return error_page(self._title, params)
        target = consent_target(params, dialect, self._clients)
        if isinstance(target, str):
            return error_page(self._title, target)
        original = asked(params)
        try:
            check_request(original, dialect)
            scope = self._granted_scope(original.get("scope"))
            if request.method == "GET":
                return consent_response(self._consent(request, original, dialect, target, scope))
            subject = decided_account(params, self.choices(), self.deny_consent)
            code = self._new_code(subject, target, original.get("code_challenge"), scope)
        except OAuthError as error:
            fields = with_state(error_fields(error), params.get("state"))
            return redirect(target.redirect_uri, fields)
        fields = with_state({dialect.code_param: code}, params.get("state"))
        if dialect.account_param:
            fields[dialect.account_param] = subject
        return redirect(target.redirect_uri, fields)

    def token(self, request: httpx2.Request) -> httpx2.Response:
        """POST token endpoint: `authorization_code` and `refresh_token` grants."""
        try:
            with self._lock:
                if self._failures:
                    status = self._failures.pop(0)
                    return httpx2.Response(status, json={"error": "server_error"})
                form = form_fields(request)
                client_id = self._authenticate(request, form)
                return json_response(200, self._grant_tokens(form, client_id))
        except OAuthError as error:
            return error_response(error, request)

    def revoke(self, request: httpx2.Request) -> httpx2.Response:
        """POST revocation endpoint: `token=<refresh or access token>` kills its whole grant."""
        try:
            with self._lock:
                form = form_fields(request)
                self._authenticate(request, form)
                token = form.get("token")
                if not token:
                    raise OAuthError("invalid_request", "token is required")
                found = self._refresh.get(token) or self._access.get(token)
                if found is not None:
                    found.grant.revoked = True
                return httpx2.Response(200)
        except OAuthError as error:
            return error_response(error, request)

    # ---- consent -------------------------------------------------------------------------

    def _consent(
        self,
        request: httpx2.Request,
        params: Mapping[str, str],
        dialect: ConsentDialect,
        target: Target,
        scope: str,
    ) -> Consent:
        return Consent(
            action=request.url.path,
            provider=self._title,
            app=self._client_names.get(target.client_id, target.public_id),
            client_label=dialect.client_label,
            client_id=target.public_id,
            permissions=scope.split() or self._permissions or ("Access your account's data",),
            account_label=self._account_label,
            accounts=self.choices(),
            note=self.consent_note,
            hidden=params,
        )

    def _new_code(self, subject: str, target: Target, challenge: str | None, scope: str) -> str:
        with self._lock:
            grant = _Grant(subject, target.client_id, scope)
            code = secrets.token_urlsafe(24)
            expires_at = self._clock.now() + CODE_LIFETIME
            self._codes[code] = _Code(grant, target.redirect_uri, challenge, expires_at)
        if self.on_consent is not None:
            self.on_consent(subject)
        return code

    # ---- tokens --------------------------------------------------------------------------

    def _granted_scope(self, requested: str | None) -> str:
        if requested is None:
            return self._scopes
        allowed = set(self._scopes.split())
        if allowed and not set(requested.split()) <= allowed:
            raise OAuthError("invalid_scope", "a requested scope is not offered")
        return requested

    def _authenticate(self, request: httpx2.Request, form: Mapping[str, str]) -> str:
        basic = basic_credentials(request)
        posted = "client_secret" in form
        if basic is not None and posted:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        if basic is not None and self._client_auth == "post":
            raise OAuthError("invalid_client", "use client_secret_post", 401)
        if posted and self._client_auth == "basic":
            raise OAuthError("invalid_client", "use client_secret_basic", 401)
        if basic is not None:
            client_id, secret = basic
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        expected = self._clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, secret):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return client_id

    def _grant_tokens(self, form: Mapping[str, str], client_id: str) -> dict[str, object]:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant, refresh = self._redeem_code(form, client_id)
        elif grant_type == "refresh_token":
            grant, refresh = self._redeem_refresh(form, client_id)
            self.refresh_grants += 1
        elif grant_type is None:
            raise OAuthError("invalid_request", "grant_type is required")
        else:
            raise OAuthError("unsupported_grant_type", f"grant_type {grant_type} is unsupported")
        return self._token_body(grant, refresh)

    def _redeem_code(self, form: Mapping[str, str], client_id: str) -> tuple[_Grant, str]:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.grant.client_id != client_id:
            raise OAuthError("invalid_grant", "the authorization code is invalid")
        if code.used:
            code.grant.revoked = True  # RFC 6749 4.1.2: a replayed code revokes what it issued
            raise OAuthError("invalid_grant", "the authorization code was already used")
        code.used = True
        if self._clock.now() >= code.expires_at:
            raise OAuthError("invalid_grant", "the authorization code expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization")
        verify_pkce(code.challenge, form.get("code_verifier"))
        return code.grant, self._new_refresh(code.grant)

    def _redeem_refresh(self, form: Mapping[str, str], client_id: str) -> tuple[_Grant, str]:
        value = form.get("refresh_token")
        if not value:
            raise OAuthError("invalid_request", "refresh_token is required")
        record = self._refresh.get(value)
        now = self._clock.now()
        if record is None or record.grant.client_id not in (None, client_id):
            raise OAuthError("invalid_grant", "the refresh token is invalid")
        if record.grant.revoked:
            raise OAuthError("invalid_grant", "the refresh token was revoked")
        if self._idle_ttl is not None and now - record.last_used >= self._idle_ttl:
            raise OAuthError("invalid_grant", "the refresh token expired unused")
        if record.superseded_at is not None and now >= record.superseded_at + self._grace:
            raise OAuthError("invalid_grant", "the refresh token was already used")
        self._check_scope(form.get("scope"), record.grant)
        if not self._rotate:
            record.last_used = now
            return record.grant, value
        if record.superseded_at is None:
            record.superseded_at = now
        return record.grant, self._new_refresh(record.grant)

    @staticmethod
    def _check_scope(requested: str | None, grant: _Grant) -> None:
        if requested and not set(requested.split()) <= set(grant.scope.split()):
            raise OAuthError("invalid_scope", "a refresh cannot widen the granted scope")

    def _token_body(self, grant: _Grant, refresh: str) -> dict[str, object]:
        access = self._access_prefix + secrets.token_urlsafe(32)
        self._access[access] = _AccessToken(grant, self._clock.now() + self._access_ttl)
        self.issued.append(access)
        body: dict[str, object] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self._access_ttl.total_seconds()),
            "refresh_token": refresh,
        }
        if grant.scope:
            body["scope"] = grant.scope
        return body

    def _new_refresh(self, grant: _Grant) -> str:
        value = self._refresh_prefix + secrets.token_urlsafe(48)
        self._refresh[value] = _RefreshToken(grant, last_used=self._clock.now())
        self.issued.append(value)
        return value

    def _grants(self) -> list[_Grant]:
        found = [record.grant for record in self._refresh.values()]
        found += [access.grant for access in self._access.values()]
        found += [code.grant for code in self._codes.values()]
        return found
