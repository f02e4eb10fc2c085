"""The HTTP layer every provider shares: timeouts, rate limits, retries, errors, pagination.

A provider module owns its endpoints, its pagination strategy, its row mapping and a
`connect()` factory; everything about *how* a request is sent lives here, once.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import random
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, Self

import httpx2

from connectors.clock import Clock
from connectors.errors import (
    AuthExpired,
    AuthRevoked,
    ConfigError,
    ConnectorError,
    RateLimited,
    UnexpectedPayload,
    UpstreamUnavailable,
)
from connectors.pagination import Paginator, Params
from connectors.ratelimit import RateLimiter
from connectors.redact import redact_text, redact_url

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
REQUEST_ID_HEADERS = (
    "x-amzn-requestid",
    "xero-correlation-id",
    "x-request-id",
    "x-correlation-id",
    "request-id",
    "intuit_tid",
)
USER_AGENT = "ReconciliationWorkbench/0.1 (Language=Python)"


class TokenSource(Protocol):
    """Hands out a valid access token; told when the provider rejected one."""

    def token(self) -> str: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True)
class TokenAuth:
    """How a provider wants the access token: `Authorization: Bearer x`, `x-amz-access-token: x`."""

    source: TokenSource
    header: str = "Authorization"
    prefix: str = "Bearer "

    def headers(self) -> dict[str, str]:
        return {self.header: f"{self.prefix}{self.source.token()}"}


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for 429, 5xx and network failures: exponential backoff with jitter.

    A `Retry-After` longer than `max_wait` is not waited for in-line: it is raised as
    `RateLimited` so the caller can record it and come back later (Xero's daily limit).
    """

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_wait: float = 300.0

    def backoff(self, attempt: int, jitter: float) -> float:
        return min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1)) * (0.5 + jitter / 2)


ErrorHook = Callable[[httpx2.Response], ConnectorError | None]
Decoder = Callable[[bytes], Any]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_json(content: bytes) -> Any:
    """JSON with every non-integer number as an exact `Decimal`; `NaN` and `Infinity` refused."""
    return json.loads(content, parse_float=Decimal, parse_constant=_no_constant)


def make_http(
    base_url: str,
    transport: httpx2.BaseTransport | None = None,
    timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
) -> httpx2.Client:
    """An httpx2 client with explicit timeouts; `transport` swaps in a sandbox or a mock."""
    return httpx2.Client(
        base_url=base_url,
        transport=transport,
        timeout=timeout,
        headers={"user-agent": USER_AGENT},
        follow_redirects=False,
    )


def request_id(response: httpx2.Response) -> str | None:
    return next((response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), None)


def retry_after(response: httpx2.Response) -> float | None:
    """Seconds from a `Retry-After` header given as seconds or as an HTTP date.

    None for anything else: a header the server garbled is no hint, never a crash.
    """
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_between(response.headers.get("date"), value)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_between(start: str | None, end: str) -> float | None:
    """Seconds from HTTP date `start` to HTTP date `end`; None when either does not parse."""
    sent, until = _http_date(start), _http_date(end)
    if sent is None or until is None:
        return None
    return max(0.0, (until - sent).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware datetime; a zone-less one (`-0000`) is UTC."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def body_excerpt(response: httpx2.Response, limit: int = 300) -> str:
    text = response.content[:limit].decode("utf-8", "replace").replace("\n", " ").strip()
    return redact_text(text)


def default_error(provider: str, response: httpx2.Response) -> ConnectorError:
    """The error for a non-2xx response, classified by status."""
    status = response.status_code
    rid = request_id(response)
    where = f"{response.request.method} {redact_url(str(response.request.url))}"
    detail = f"{where}: {body_excerpt(response)}"
    if status == 401:
        return AuthExpired(
            provider, f"access token refused ({detail})", status=status, request_id=rid
        )
    if status == 403:
        return AuthRevoked(provider, f"access denied ({detail})", status=status, request_id=rid)
    if status == 429:
        return RateLimited(
            provider, f"rate limited ({where})", retry_after=retry_after(response), request_id=rid
        )
    if status >= 500 or status == 408:
        return UpstreamUnavailable(
            provider, f"provider unavailable ({detail})", status=status, request_id=rid
        )
    if status == 404:
        return ConfigError(
            provider, f"not found: check the API base URL ({detail})", status=status, request_id=rid
        )
    return ConfigError(provider, f"request rejected ({detail})", status=status, request_id=rid)


def is_retryable(error: ConnectorError) -> bool:
    return isinstance(error, RateLimited | UpstreamUnavailable)


class ApiClient:
    """Retry, rate limit, pagination and error mapping shared by every provider."""

    def __init__(
        self,
        provider: str,
        http: httpx2.Client,
        *,
        limiter: RateLimiter,
        clock: Clock,
        auth: TokenAuth | None = None,
        retry: RetryPolicy | None = None,
        classify: ErrorHook | None = None,
        observe: Callable[[httpx2.Response], None] | None = None,
        on_retry: Callable[[ConnectorError, float], None] | None = None,
        jitter: Callable[[], float] = random.random,
        concurrency: threading.BoundedSemaphore | None = None,
        refresh_on: Collection[int] = (401,),
    ) -> None:
        self.provider = provider
        self.http = http
        self.limiter = limiter
        self.clock = clock
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self._classify = classify
        self._observe = observe
        self._on_retry = on_retry
        self._jitter = jitter
        self._in_flight = concurrency or contextlib.nullcontext()
        self._refresh_on = frozenset(refresh_on)
        self.calls = 0

    def _attempt(
        self,
        method: str,
        path: str,
        operation: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        body: Any,
    ) -> httpx2.Response | httpx2.TransportError:
        """One exchange, rate limited: the response (observed), or the network failure."""
        self.limiter.acquire(operation)
        all_headers = {**(self.auth.headers() if self.auth else {}), **(headers or {})}
        request = self.http.build_request(
            method, path, params=params, headers=all_headers, json=body
        )
        self.calls += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s %s", self.provider, method, redact_url(str(request.url)))
        try:
            with self._in_flight:
                response = self.http.send(request)
        except httpx2.TransportError as exc:
            return exc
        if self._observe:
            self._observe(response)
        return response

    def _error_for(self, response: httpx2.Response) -> ConnectorError:
        custom = self._classify(response) if self._classify else None
        return custom or default_error(self.provider, response)

    def _refused_token(self, outcome: httpx2.Response | httpx2.TransportError) -> bool:
        return isinstance(outcome, httpx2.Response) and outcome.status_code in self._refresh_on

    def _decide(
        self, method: str, path: str, outcome: httpx2.Response | httpx2.TransportError, attempt: int
    ) -> httpx2.Response | tuple[ConnectorError, float]:
        """What one attempt's outcome means: the response to return, or (error, delay) to retry.

        Raises the classified error when it is not worth retrying, and `RateLimited` when the
        wait the provider asks for is longer than the policy allows.
        """
        if isinstance(outcome, httpx2.TransportError):
            failure = f"{type(outcome).__name__} on {method} {redact_url(path)}"
            return UpstreamUnavailable(self.provider, failure), self._backoff(attempt)
        if outcome.is_success:
            return outcome
        error = self._error_for(outcome)
        if not is_retryable(error):
            raise error
        hinted = error.retry_after if isinstance(error, RateLimited) else None
        delay = hinted if hinted is not None else self._backoff(attempt)
        if delay > self.retry.max_wait:
            raise RateLimited(
                self.provider,
                f"{error.message}; retry after {delay:.0f} s",
                retry_after=delay,
                status=error.status,
                request_id=error.request_id,
            )
        return error, delay

    def _backoff(self, attempt: int) -> float:
        return self.retry.backoff(attempt, self._jitter())

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        """Send one request; retry what is transient; raise the classified error otherwise."""
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(method, path, operation, params, headers, json)
            if self.auth is not None and not refreshed and self._refused_token(outcome):
                self.auth.source.invalidate()
                refreshed = True
                continue
            decision = self._decide(method, path, outcome, attempt)
            if isinstance(decision, httpx2.Response):
                return decision
            error, delay = decision
            if attempt >= self.retry.attempts:
                raise error
            if self._on_retry:
                self._on_retry(error, delay)
            self.clock.sleep(delay)

    def json(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        decode: Decoder = decode_json,
    ) -> Any:
        """The decoded body of a successful request; a body that does not decode is a data error."""
        response = self.request(
            method, path, operation=operation, params=params, json=json, headers=headers
        )
        return self.decode(response, decode)

    def decode(self, response: httpx2.Response, decode: Decoder = decode_json) -> Any:
        try:
            return decode(response.content)
        except ValueError as exc:  # json.JSONDecodeError and pydantic.ValidationError alike
            raise UnexpectedPayload(
                self.provider,
                f"the response to {response.request.method} {redact_url(response.request.url.path)}"
                f" is not the documented JSON: {type(exc).__name__}",
                status=response.status_code,
                request_id=request_id(response),
                raw=redact_text(response.content.decode("utf-8", "replace")),
            ) from None

    def paginate(
        self,
        path: str,
        params: Params,
        pages: Paginator,
        *,
        operation: str,
        decode: Decoder = decode_json,
        headers: Mapping[str, str] | None = None,
        check: Callable[[Any, httpx2.Response], None] | None = None,
    ) -> Iterator[Any]:
        """Every item of every page; `check` validates each page (an envelope's `errors`)."""
        seen: set[tuple[tuple[str, str], ...]] = set()
        next_params: Params | None = params
        while next_params is not None:
            key = tuple(sorted(next_params.items()))
            if key in seen:
                raise UnexpectedPayload(
                    self.provider,
                    f"the provider repeated a page token on {path} (stopped: endless loop)",
                )
            seen.add(key)
            response = self.request(
                "GET", path, operation=operation, params=next_params, headers=headers
            )
            page = self.decode(response, decode)
            if check:
                check(page, response)
            yield from pages.items(page)
            next_params = pages.next_params(page, response, next_params)


class ProviderClient:
    """What every provider client shares: its `ApiClient`, closed when the client is done."""

    api: ApiClient

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.api.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
