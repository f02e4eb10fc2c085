"""How Xero answers and what it expects: error classification, rate-limit headers, helpers.

`classify` maps Xero's own error shapes onto the connector error tree (ledger-apis.md §A.8),
`remaining_observer` keeps the client's buckets in step with `X-*Limit-Remaining` (§A.6), and the
small helpers build the idempotency keys, `where` clauses and timestamps Xero reads.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2

from connectors.base import body_excerpt, decode_json, request_id, retry_after
from connectors.errors import AuthExpired, AuthRevoked, ConfigError, ConnectorError, RateLimited
from connectors.ratelimit import RateLimiter
from connectors.redact import redact_url
from connectors.xero_wire import ErrorBody

PROVIDER = "xero"
IDEMPOTENCY_KEY_MAX = 128
CONCURRENT_LIMIT = 5
CONCURRENT_BACKOFF = 1.0
DAY_SECONDS = 86_400.0

_TENANT_SEMAPHORES: dict[str, threading.BoundedSemaphore] = {}
_TENANT_SEMAPHORES_GUARD = threading.Lock()


class XeroValidationError(ConfigError):
    """Xero refused the content of a request (400 `ValidationException`).

    `elements` holds the messages of each rejected element in request order; create calls turn
    them into per-item problems instead of raising.
    """

    def __init__(
        self, message: str, *, elements: list[list[str]], status: int, request_id: str | None
    ) -> None:
        self.elements = elements
        super().__init__(PROVIDER, message, status=status, request_id=request_id)


def tenant_semaphore(tenant_id: str) -> threading.BoundedSemaphore:
    """The one semaphore of a tenant: Xero allows 5 calls in progress per tenant and app."""
    with _TENANT_SEMAPHORES_GUARD:
        return _TENANT_SEMAPHORES.setdefault(
            tenant_id, threading.BoundedSemaphore(CONCURRENT_LIMIT)
        )


def remaining_observer(limiter: RateLimiter) -> Callable[[httpx2.Response], None]:
    """Lower the client's buckets to what Xero says is left (`X-MinLimit-Remaining` ...)."""

    def observe(response: httpx2.Response) -> None:
        for header, bucket in (("x-minlimit-remaining", "minute"), ("x-daylimit-remaining", "day")):
            value = response.headers.get(header, "").strip()
            if value.isdigit():
                limiter.observe_remaining(bucket, int(value))

    return observe


def classify(response: httpx2.Response) -> ConnectorError | None:
    """Xero's own error shapes; None leaves the status-based default in charge."""
    status = response.status_code
    if status == 429:
        return _throttled(response)
    if status in (401, 403):
        return _auth_error(response)
    if status == 400:
        return _rejected(response)
    if status == 413:
        return ConfigError(
            PROVIDER,
            "the request is larger than Xero's 3.5 MB limit; send fewer items per request",
            status=status,
            request_id=request_id(response),
        )
    return None


def _throttled(response: httpx2.Response) -> RateLimited:
    problem = response.headers.get("x-rate-limit-problem", "").strip().lower()
    hinted = retry_after(response)
    wait: float | None
    if problem.startswith("day"):
        limit, wait = "daily", hinted if hinted is not None else DAY_SECONDS
    elif problem.startswith("con"):
        limit, wait = "concurrent-call", hinted if hinted is not None else CONCURRENT_BACKOFF
    elif problem.startswith("app"):
        limit, wait = "app-wide minute", hinted
    else:
        limit, wait = "minute", hinted
    where = f"{response.request.method} {redact_url(response.request.url.path)}"
    return RateLimited(
        PROVIDER,
        f"Xero's {limit} limit was reached ({where})",
        retry_after=wait,
        request_id=request_id(response),
    )


def _auth_error(response: httpx2.Response) -> ConnectorError:
    detail = str(_json_field(response, "Detail") or "")
    rid = request_id(response)
    if response.status_code == 403:
        return AuthRevoked(
            PROVIDER,
            "the tenant is no longer connected; reconnect Xero",
            status=403,
            request_id=rid,
        )
    if detail.startswith("AuthorizationUnsuccessful"):
        return AuthRevoked(
            PROVIDER,
            "the grant lacks a scope this call needs; reconnect Xero and grant the scopes asked",
            status=401,
            request_id=rid,
        )
    reason = "expired" if detail.startswith("TokenExpired") else "was refused"
    return AuthExpired(
        PROVIDER,
        f"the access token {reason} even after a refresh; reconnect Xero",
        status=401,
        request_id=rid,
    )


def _rejected(response: httpx2.Response) -> ConnectorError:
    try:
        body = ErrorBody.model_validate(decode_json(response.content))
    except ValueError:
        return ConfigError(
            PROVIDER,
            f"Xero rejected the request ({body_excerpt(response)})",
            status=400,
            request_id=request_id(response),
        )
    elements = body.element_messages()
    messages = [message for element in elements for message in element if message]
    text = "; ".join(dict.fromkeys(messages)) or body.message or "no reason given"
    if body.type == "ValidationException":
        return XeroValidationError(
            f"Xero rejected the request: {text}",
            elements=elements,
            status=400,
            request_id=request_id(response),
        )
    return ConfigError(
        PROVIDER,
        f"Xero rejected the request ({body.type or 'error'}): {text}",
        status=400,
        request_id=request_id(response),
    )


def _json_field(response: httpx2.Response, name: str) -> Any:
    try:
        body = decode_json(response.content)
    except ValueError:
        return None
    return body.get(name) if isinstance(body, dict) else None


def batch_key(key: str, batch: int) -> str:
    """The idempotency key of the `batch`-th request (0-based) of one logical create.

    The first batch keeps `key`; later ones append `:2`, `:3`, ... Past 128 characters the
    base is shortened with a digest of the whole key, so distinct keys stay distinct.
    """
    suffix = "" if batch == 0 else f":{batch + 1}"
    if len(key) + len(suffix) <= IDEMPOTENCY_KEY_MAX:
        return key + suffix
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    keep = IDEMPOTENCY_KEY_MAX - len(suffix) - len(digest) - 1
    return f"{key[:keep]}~{digest}{suffix}"


def where_equals(field: str, value: str) -> str:
    """A `where` clause `Field=="value"` with quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}=="{escaped}"'


def if_modified_since(moment: datetime) -> str:
    """The `If-Modified-Since` value Xero reads: an ISO 8601 UTC timestamp."""
    if moment.tzinfo is None:
        raise ValueError("modified_since must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_key(key: str) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValueError(f"an Idempotency-Key has 1 to {IDEMPOTENCY_KEY_MAX} characters")


def check_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a Xero id (a GUID)") from None
