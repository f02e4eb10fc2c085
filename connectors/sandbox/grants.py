"""A fake OAuth 2.0 authorization server (RFC 6749, PKCE per RFC 7636, revocation per RFC 7009).

The Amazon (Login with Amazon) and Xero sandboxes share it. It works in-process: each endpoint is
a function from `httpx2.Request` to `httpx2.Response`, so it plugs into `httpx2.MockTransport`
or a loopback HTTP server. Time comes from an injected clock, so lifetimes (access tokens,
5-minute codes, rotation grace, idle expiry of refresh tokens) play out on a simulated clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import parse_qs, unquote, urlencode

import httpx2

from connectors.clock import Clock

CODE_LIFETIME = timedelta(minutes=5)
FORM_TYPE = "application/x-www-form-urlencoded"
ClientAuth = Literal["post", "basic", "either"]
DenialReason = Literal["missing", "expired", "invalid", "revoked"]


class AccessDenied(Exception):
    """An access token was refused; `reason` says why (never the token itself)."""

    def __init__(self, reason: DenialReason) -> None:
        self.reason: DenialReason = reason
        super().__init__(f"access token {reason}")


class _OAuthError(Exception):
    """An RFC 6749 error response, raised inside the endpoints and turned into JSON."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(error)


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
    """Authorization and token endpoints with scenario controls (revoke, expire, fail)."""

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
        self._lock = threading.RLock()
        self._refresh: dict[str, _RefreshToken] = {}
        self._access: dict[str, _AccessToken] = {}
        self._codes: dict[str, _Code] = {}
        self._failures: list[int] = []
        self.refresh_grants = 0
        self.issued: list[str] = []  # every token ever handed out, for leak checks in tests
        self.deny_consent = False
        self.consent_subject = "seller"

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

    # ---- endpoints -----------------------------------------------------------------------

    def authorize(self, request: httpx2.Request) -> httpx2.Response:
        """GET authorization endpoint: auto-consent, then 302 back to the client with a code."""
        params = dict(request.url.params.items())
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id not in self._clients:
            return _error_page(f"unknown client_id {client_id!r}")
        if not redirect_uri.startswith(("http://", "https://")):
            return _error_page("redirect_uri is missing or not an http(s) URL")
        state = params.get("state")
        try:
            code = self._authorization_code(params)
        except _OAuthError as error:
            return _redirect(redirect_uri, _with_state(_error_fields(error), state))
        return _redirect(redirect_uri, _with_state({"code": code}, state))

    def token(self, request: httpx2.Request) -> httpx2.Response:
        """POST token endpoint: `authorization_code` and `refresh_token` grants."""
        try:
            with self._lock:
                if self._failures:
                    status = self._failures.pop(0)
                    return httpx2.Response(status, json={"error": "server_error"})
                form = _form(request)
                client_id = self._authenticate(request, form)
                return _json(200, self._grant_tokens(form, client_id))
        except _OAuthError as error:
            return _error_response(error, request)

    def revoke(self, request: httpx2.Request) -> httpx2.Response:
        """POST revocation endpoint: `token=<refresh or access token>` kills its whole grant."""
        try:
            with self._lock:
                form = _form(request)
                self._authenticate(request, form)
                token = form.get("token")
                if not token:
                    raise _OAuthError("invalid_request", "token is required")
                found = self._refresh.get(token) or self._access.get(token)
                if found is not None:
                    found.grant.revoked = True
                return httpx2.Response(200)
        except _OAuthError as error:
            return _error_response(error, request)

    # ---- internals -----------------------------------------------------------------------

    def _authorization_code(self, params: Mapping[str, str]) -> str:
        if params.get("response_type") != "code":
            raise _OAuthError("unsupported_response_type", "only response_type=code is supported")
        if self.deny_consent:
            raise _OAuthError("access_denied", "the resource owner declined consent")
        challenge = params.get("code_challenge")
        if challenge is not None and params.get("code_challenge_method") != "S256":
            raise _OAuthError("invalid_request", "code_challenge_method must be S256")
        scope = self._granted_scope(params.get("scope"))
        with self._lock:
            grant = _Grant(self.consent_subject, params["client_id"], scope)
            code = secrets.token_urlsafe(24)
            expires_at = self._clock.now() + CODE_LIFETIME
            self._codes[code] = _Code(grant, params["redirect_uri"], challenge, expires_at)
            return code

    def _granted_scope(self, requested: str | None) -> str:
        if requested is None:
            return self._scopes
        allowed = set(self._scopes.split())
        if allowed and not set(requested.split()) <= allowed:
            raise _OAuthError("invalid_scope", "a requested scope is not offered")
        return requested

    def _authenticate(self, request: httpx2.Request, form: Mapping[str, str]) -> str:
        basic = _basic_credentials(request)
        posted = "client_secret" in form
        if basic is not None and posted:
            raise _OAuthError("invalid_request", "use one client authentication method, not two")
        if basic is not None and self._client_auth == "post":
            raise _OAuthError("invalid_client", "use client_secret_post", 401)
        if posted and self._client_auth == "basic":
            raise _OAuthError("invalid_client", "use client_secret_basic", 401)
        if basic is not None:
            client_id, secret = basic
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        expected = self._clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, secret):
            raise _OAuthError("invalid_client", "client authentication failed", 401)
        return client_id

    def _grant_tokens(self, form: Mapping[str, str], client_id: str) -> dict[str, object]:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant, refresh = self._redeem_code(form, client_id)
        elif grant_type == "refresh_token":
            grant, refresh = self._redeem_refresh(form, client_id)
            self.refresh_grants += 1
        elif grant_type is None:
            raise _OAuthError("invalid_request", "grant_type is required")
        else:
            raise _OAuthError("unsupported_grant_type", f"grant_type {grant_type} is unsupported")
        return self._token_body(grant, refresh)

    def _redeem_code(self, form: Mapping[str, str], client_id: str) -> tuple[_Grant, str]:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.grant.client_id != client_id:
            raise _OAuthError("invalid_grant", "the authorization code is invalid")
        if code.used:
            code.grant.revoked = True  # RFC 6749 4.1.2: a replayed code revokes what it issued
            raise _OAuthError("invalid_grant", "the authorization code was already used")
        code.used = True
        if self._clock.now() >= code.expires_at:
            raise _OAuthError("invalid_grant", "the authorization code expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise _OAuthError("invalid_grant", "redirect_uri does not match the authorization")
        _verify_pkce(code.challenge, form.get("code_verifier"))
        return code.grant, self._new_refresh(code.grant)

    def _redeem_refresh(self, form: Mapping[str, str], client_id: str) -> tuple[_Grant, str]:
        value = form.get("refresh_token")
        if not value:
            raise _OAuthError("invalid_request", "refresh_token is required")
        record = self._refresh.get(value)
        now = self._clock.now()
        if record is None or record.grant.client_id not in (None, client_id):
            raise _OAuthError("invalid_grant", "the refresh token is invalid")
        if record.grant.revoked:
            raise _OAuthError("invalid_grant", "the refresh token was revoked")
        if self._idle_ttl is not None and now - record.last_used >= self._idle_ttl:
            raise _OAuthError("invalid_grant", "the refresh token expired unused")
        if record.superseded_at is not None and now >= record.superseded_at + self._grace:
            raise _OAuthError("invalid_grant", "the refresh token was already used")
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
            raise _OAuthError("invalid_scope", "a refresh cannot widen the granted scope")

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


def _verify_pkce(challenge: str | None, verifier: str | None) -> None:
    if challenge is None:
        if verifier is not None:
            raise _OAuthError("invalid_grant", "code_verifier sent but no code_challenge was")
        return
    if not verifier:
        raise _OAuthError("invalid_grant", "code_verifier is required")
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not secrets.compare_digest(computed, challenge):
        raise _OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def _form(request: httpx2.Request) -> dict[str, str]:
    if request.method != "POST":
        raise _OAuthError("invalid_request", "use POST")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise _OAuthError("invalid_request", f"the body must be {FORM_TYPE}")
    try:
        parsed = parse_qs(request.read().decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as error:
        raise _OAuthError("invalid_request", "the body is not UTF-8") from error
    if any(len(values) > 1 for values in parsed.values()):
        raise _OAuthError("invalid_request", "a parameter was sent more than once")
    return {key: values[0] for key, values in parsed.items()}


def _basic_credentials(request: httpx2.Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise _OAuthError("invalid_client", "malformed Basic credentials", 401) from error
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _OAuthError("invalid_client", "malformed Basic credentials", 401)
    return unquote(client_id), unquote(secret)


def _json(status: int, body: Mapping[str, object]) -> httpx2.Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return httpx2.Response(status, json=dict(body), headers=headers)


def _error_fields(error: _OAuthError) -> dict[str, str]:
    fields = {"error": error.error}
    if error.description:
        fields["error_description"] = error.description
    return fields


def _error_response(error: _OAuthError, request: httpx2.Request) -> httpx2.Response:
    response = _json(error.status, _error_fields(error))
    if error.status == 401 and _has_basic(request):
        response.headers["WWW-Authenticate"] = 'Basic realm="sandbox"'
    return response


def _has_basic(request: httpx2.Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("basic ")


def _with_state(fields: dict[str, str], state: str | None) -> dict[str, str]:
    return {**fields, "state": state} if state is not None else fields


def _redirect(redirect_uri: str, fields: Mapping[str, str]) -> httpx2.Response:
    separator = "&" if "?" in redirect_uri else "?"
    return httpx2.Response(302, headers={"Location": redirect_uri + separator + urlencode(fields)})


def _error_page(message: str) -> httpx2.Response:
    return httpx2.Response(400, json={"error": "invalid_request", "error_description": message})
