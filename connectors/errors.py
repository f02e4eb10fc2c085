"""One error tree for every provider.

Each error carries its class (`auth`, `transient`, `data`, `config`), which decides what the
workbench does with it: only `auth` disconnects a connection; `transient` is retried and never
disconnects; `data` keeps the (redacted) raw payload for support; `config` names the setting to fix.
Messages never contain secrets: callers pass already-redacted text.
"""

from __future__ import annotations

from typing import ClassVar

from reconcile.models import ErrorClass

RAW_LIMIT = 65_536


class ConnectorError(Exception):
    """A failed call to a provider, with the provider, HTTP status and request id when known."""

    error_class: ClassVar[ErrorClass] = ErrorClass.DATA

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        raw: str | None = None,
    ) -> None:
        self.provider = provider
        self.message = message
        self.status = status
        self.request_id = request_id
        self.raw = raw[:RAW_LIMIT] if raw is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [f"HTTP {self.status}"] if self.status is not None else []
        if self.request_id:
            where.append(f"request {self.request_id}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.provider}: {self.message}{suffix}"


class AuthExpired(ConnectorError):
    """The grant expired (token or re-authorisation lapsed): the user must reconnect."""

    error_class = ErrorClass.AUTH


class AuthRevoked(ConnectorError):
    """The grant was revoked or the refresh token is no longer valid: the user must reconnect."""

    error_class = ErrorClass.AUTH


class RateLimited(ConnectorError):
    """The provider throttled us longer than we are willing to wait in-line."""

    error_class = ErrorClass.TRANSIENT

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        request_id: str | None = None,
        raw: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(provider, message, status=status, request_id=request_id, raw=raw)


class UpstreamUnavailable(ConnectorError):
    """5xx, timeouts and network failures that outlived the retries."""

    error_class = ErrorClass.TRANSIENT


class UnexpectedPayload(ConnectorError):
    """The provider answered with something that does not follow its contract."""

    error_class = ErrorClass.DATA


class ConfigError(ConnectorError):
    """A setting is wrong (unknown region or marketplace, bad base URL, rejected request)."""

    error_class = ErrorClass.CONFIG
