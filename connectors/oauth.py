"""OAuth 2.0 on authlib: stored token sets, refreshing token sources, the token endpoint.

A connection's token set is ONE keyring entry ("token", JSON), so a rotated refresh token is
persisted atomically with its access token. Refreshes are serialised per connection, across
threads (a lock) and processes (`flock` on `<lock_dir>/<connection_id>.lock`); inside the lock
the token set is re-read first, so two refreshes can never spend one rotating refresh token.
Token endpoint failures map onto the connector error tree; no message carries a token or secret.
The authorization-code flow that obtains the first token set is in `connectors.oauth_flow`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx2
from authlib.integrations.httpx_client import OAuth2Client
from keyring.errors import KeyringError
from pydantic import BaseModel, ConfigDict, SecretStr

from connectors.base import retry_after
from connectors.clock import Clock
from connectors.errors import (
    AuthRevoked,
    ConfigError,
    ConnectorError,
    RateLimited,
    UnexpectedPayload,
    UpstreamUnavailable,
)
from connectors.redact import redact_text
from connectors.secrets import SecretStore
from reconcile.models import UtcDatetime

log = logging.getLogger(__name__)

TOKEN_NAME = "token"
EXPIRY_MARGIN = timedelta(seconds=60)
AuthMethod = Literal["client_secret_post", "client_secret_basic"]
_TRANSIENT_ERRORS = {"server_error", "temporarily_unavailable"}
_PUBLIC_PARAMS = {"grant_type", "redirect_uri"}


class TokenSet(BaseModel):
    """An access token with its expiry and the refresh token that renews it."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr | None = None
    refresh_token: SecretStr
    expires_at: UtcDatetime | None = None
    token_type: str = "bearer"
    scope: str | None = None
    refresh_expires_at: UtcDatetime | None = None

    def usable(self, now: datetime, margin: timedelta = EXPIRY_MARGIN) -> bool:
        """True when the access token exists and lives longer than `margin` from `now`."""
        return (
            self.access_token is not None
            and self.expires_at is not None
            and now < self.expires_at - margin
        )

    def to_store(self) -> dict[str, Any]:
        """The JSON-ready form kept in the keyring (reveals the secrets: keyring only)."""
        data = self.model_dump(mode="json")
        data["access_token"] = _reveal(self.access_token)
        data["refresh_token"] = self.refresh_token.get_secret_value()
        return data


def _reveal(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _access(tokens: TokenSet) -> str:
    assert tokens.access_token is not None  # usable() and token_set() guarantee one
    return tokens.access_token.get_secret_value()


def stored_token_set(secrets: SecretStore, connection_id: str) -> TokenSet | None:
    """The connection's stored token set, or None; ValueError when the entry is not one."""
    raw = secrets.get(connection_id, TOKEN_NAME)
    return None if raw is None else TokenSet.model_validate_json(raw)


def save_token_set(secrets: SecretStore, connection_id: str, tokens: TokenSet) -> None:
    """Persist the whole token set as one keyring entry."""
    secrets.set_json(connection_id, TOKEN_NAME, tokens.to_store())


def store_initial_token(
    secrets: SecretStore,
    connection_id: str,
    refresh_token: str,
    *,
    refresh_expires_at: datetime | None = None,
) -> None:
    """Save a refresh token obtained elsewhere (Seller Central), replacing any stored set."""
    tokens = TokenSet(refresh_token=SecretStr(refresh_token), refresh_expires_at=refresh_expires_at)
    save_token_set(secrets, connection_id, tokens)


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(connection_id: str) -> threading.Lock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(connection_id, threading.Lock())


class RefreshingTokenSource:
    """A `connectors.base.TokenSource`: a valid access token, refreshed (serialised) when due."""

    def __init__(
        self,
        provider: str,
        connection_id: str,
        secrets: SecretStore,
        *,
        token_url: str,
        client_id: str,
        client_secret_name: str = "client_secret",  # noqa: S107 (an entry name, not a secret)
        auth_method: AuthMethod,
        transport: httpx2.BaseTransport | None,
        clock: Clock,
        lock_dir: Path,
        on_refresh: Callable[[TokenSet], None] | None = None,
        timeout: float = 30.0,
        refresh_lifetime: timedelta | None = None,
    ) -> None:
        if not connection_id or "/" in connection_id or connection_id.startswith("."):
            raise ValueError("a connection id must be a plain file name")
        self.provider = provider
        self.connection_id = connection_id
        self._secrets = secrets
        self._endpoint = TokenEndpoint(
            provider, token_url, client_id, auth_method, transport, timeout
        )
        self._client_secret_name = client_secret_name
        self._clock = clock
        self._lock_path = lock_dir / f"{connection_id}.lock"
        self._on_refresh = on_refresh
        self._refresh_lifetime = refresh_lifetime
        self._cached: TokenSet | None = None
        self._rejected: str | None = None

    def token(self) -> str:
        """A valid access token; refreshes when missing or within 60 s of expiry."""
        cached = self._cached
        if cached is not None and cached.usable(self._clock.now()):
            return _access(cached)
        refreshed, tokens = self._renew()
        if refreshed and self._on_refresh is not None:
            self._on_refresh(tokens)
        return _access(tokens)

    def invalidate(self) -> None:
        """The server rejected the current access token: refresh on the next `token()`."""
        cached = self._cached
        self._rejected = _reveal(cached.access_token) if cached is not None else None
        self._cached = None

    def _renew(self) -> tuple[bool, TokenSet]:
        try:
            return self._renew_locked()
        except KeyringError as error:  # the keyring's messages name files and keys, not values
            raise ConfigError(self.provider, f"the secret store failed: {error}") from None

    def _renew_locked(self) -> tuple[bool, TokenSet]:
        with _thread_lock(self.connection_id), self._process_lock():
            current = self._load()
            if (
                current.usable(self._clock.now())
                and _reveal(current.access_token) != self._rejected
            ):
                self._cached = current
                return False, current
            tokens = self._refresh(current)
            save_token_set(self._secrets, self.connection_id, tokens)
            self._cached, self._rejected = tokens, None
        log.info(
            "%s: refreshed the access token of connection %s", self.provider, self.connection_id
        )
        return True, tokens

    def replace_grant(self, refresh_token: str) -> None:
        """Swap in a new refresh token, proven by one refresh; on any failure keep the old grant.

        Runs under the same thread and process locks as a refresh, so a sync in another process
        never sees a half-replaced grant. When the refresh fails, the previous entry is put back
        exactly (or removed when there was none) and the error is raised.
        """
        try:
            self._replace_locked(refresh_token)
        except KeyringError as error:
            raise ConfigError(self.provider, f"the secret store failed: {error}") from None
        log.info("%s: replaced the grant of connection %s", self.provider, self.connection_id)

    def _replace_locked(self, refresh_token: str) -> None:
        with _thread_lock(self.connection_id), self._process_lock():
            previous = self._secrets.get(self.connection_id, TOKEN_NAME)
            try:
                store_initial_token(self._secrets, self.connection_id, refresh_token)
                tokens = self._refresh(self._load())
                save_token_set(self._secrets, self.connection_id, tokens)
            except BaseException:
                self._put_back(previous)
                raise
            self._cached, self._rejected = tokens, None

    def _put_back(self, previous: str | None) -> None:
        if previous is None:
            self._secrets.delete(self.connection_id, TOKEN_NAME)
        else:
            self._secrets.set(self.connection_id, TOKEN_NAME, previous)

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _load(self) -> TokenSet:
        try:
            tokens = stored_token_set(self._secrets, self.connection_id)
        except ValueError:  # pydantic's ValidationError: not JSON, or not a token set
            tokens = None
        if tokens is None:
            raise AuthRevoked(
                self.provider, "no usable token is stored for this connection; reconnect"
            )
        return tokens

    def _refresh(self, current: TokenSet) -> TokenSet:
        secret = self._secrets.get(self.connection_id, self._client_secret_name)
        if secret is None:
            raise ConfigError(
                self.provider,
                "no client secret is stored for this connection; run `workbench connect` again",
            )
        started = self._clock.now()
        try:
            refresh = current.refresh_token.get_secret_value()
            body = self._endpoint.grant(
                secret, {"grant_type": "refresh_token", "refresh_token": refresh}
            )
        except ConnectorError as error:
            log.warning(
                "%s: token refresh for connection %s failed (%s): %s",
                self.provider,
                self.connection_id,
                error.error_class,
                error.message,
            )
            raise
        tokens = token_set(self.provider, body, started, previous=current)
        if tokens.refresh_expires_at is None and self._refresh_lifetime is not None:
            tokens = tokens.model_copy(
                update={"refresh_expires_at": started + self._refresh_lifetime}
            )
        return tokens


@dataclass(frozen=True)
class TokenEndpoint:
    """One token endpoint and the client that authenticates to it."""

    provider: str
    url: str
    client_id: str
    auth_method: AuthMethod
    transport: httpx2.BaseTransport | None
    timeout: float

    def grant(self, client_secret: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The token response to a grant request; failures mapped, known secrets scrubbed."""
        known = (client_secret, *(v for k, v in params.items() if k not in _PUBLIC_PARAMS))
        client = OAuth2Client(
            client_id=self.client_id,
            client_secret=client_secret,
            token_endpoint_auth_method=self.auth_method,
            transport=self.transport,
            timeout=self.timeout,
        )
        client.register_compliance_hook(
            "access_token_response", _response_check(self.provider, known)
        )
        try:
            with client:
                return dict(client.fetch_token(self.url, **params))
        except httpx2.TimeoutException:
            raise UpstreamUnavailable(self.provider, "the token endpoint timed out") from None
        except httpx2.TransportError as error:
            message = f"the token endpoint is unreachable ({type(error).__name__})"
            raise UpstreamUnavailable(self.provider, message) from None
        except ConnectorError:
            raise
        except Exception as error:  # authlib's own parse errors: the hook let a bad body through
            message = redact_text(f"the token response was not understood: {error}", known)
            raise UnexpectedPayload(self.provider, message) from None


def _response_check(
    provider: str, known: tuple[str, ...]
) -> Callable[[httpx2.Response], httpx2.Response]:
    """An authlib compliance hook that maps every failed token response onto our errors."""

    def check(response: httpx2.Response) -> httpx2.Response:
        status = response.status_code
        if status == 429:
            after = retry_after(response)
            raise RateLimited(provider, "the token endpoint throttled us", retry_after=after)
        if status >= 500:
            raise UpstreamUnavailable(provider, "the token endpoint failed", status=status)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("content-type", "no content type")
            raise UnexpectedPayload(
                provider,
                f"the token endpoint answered with a non-JSON body ({kind})",
                status=status,
            )
        if "error" in body or status >= 400:
            raise _token_error(provider, status, body, known)
        return response

    return check


def _token_error(
    provider: str, status: int, body: Mapping[str, Any], known: tuple[str, ...]
) -> ConnectorError:
    code = str(body.get("error", f"HTTP {status}"))
    detail = body.get("error_description")
    suffix = redact_text(f": {code}" + (f" ({detail})" if detail else ""), known)[:300]
    if code == "invalid_grant":
        return AuthRevoked(
            provider, "the grant was revoked or expired; reconnect" + suffix, status=status
        )
    if code in _TRANSIENT_ERRORS:
        return UpstreamUnavailable(provider, "the token endpoint failed" + suffix, status=status)
    if code == "invalid_client" or status == 401:
        return ConfigError(
            provider,
            "the client id or secret was rejected (wrong or rotated); "
            "update them and reconnect" + suffix,
            status=status,
        )
    return ConfigError(provider, "the token request was refused" + suffix, status=status)


def token_set(
    provider: str, body: Mapping[str, Any], started: datetime, *, previous: TokenSet | None
) -> TokenSet:
    """A TokenSet from a token response; `previous` keeps a refresh token the server omitted."""
    access = body.get("access_token")
    refresh = body.get("refresh_token") or (
        previous.refresh_token.get_secret_value() if previous is not None else None
    )
    if not isinstance(access, str) or not access:
        raise UnexpectedPayload(provider, "the token response has no access_token")
    if not isinstance(refresh, str) or not refresh:
        raise ConfigError(
            provider,
            "the token response has no refresh_token; request offline "
            "access (Xero: scope offline_access)",
        )
    expires_in = _seconds(provider, body.get("expires_in", 3600))
    refresh_in = body.get("refresh_token_expires_in", body.get("x_refresh_token_expires_in"))
    refresh_expires_at = (
        started + timedelta(seconds=_seconds(provider, refresh_in))
        if (refresh_in is not None)
        else (previous.refresh_expires_at if previous else None)
    )
    return TokenSet(
        access_token=SecretStr(access),
        refresh_token=SecretStr(refresh),
        expires_at=started + timedelta(seconds=expires_in),
        token_type=str(body.get("token_type", "bearer")),
        scope=str(body["scope"]) if body.get("scope") else None,
        refresh_expires_at=refresh_expires_at,
    )


def _seconds(provider: str, value: object) -> int:
    try:
        seconds = int(str(value))
    except ValueError:
        raise UnexpectedPayload(provider, "the token response has a malformed lifetime") from None
    if seconds < 0:
        raise UnexpectedPayload(provider, "the token response has a negative lifetime")
    return seconds
