"""What the sandbox Xero meters: rate limits per tenant and the `Idempotency-Key` cache.

Limits (ledger-apis.md §A.6): 60 calls in any minute, 5,000 in any 24 hours and 5 in progress
per tenant, 10,000 a minute across the app; every answer carries the `X-*Limit-Remaining`
headers and a breach is a 429 naming the limit in `X-Rate-Limit-Problem`. The idempotency cache
(§A.4) keeps each answer for a TTL on the sandbox clock: a replay gets the same answer, a
different request under the same key a 400, and after the TTL the key is simply new.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.clock import Clock

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Verdict:
    """Whether a call may proceed; if not, which limit it hit and when to come back."""

    problem: str | None = None  # "minute", "day", "concurrent", "appminute"
    retry_after: int | None = None


@dataclass
class _Tenant:
    minute: deque[datetime] = field(default_factory=deque)
    day: deque[datetime] = field(default_factory=deque)
    in_flight: int = 0


class Limits:
    """Sliding-window call counts per tenant and app, and the calls in progress."""

    def __init__(
        self,
        clock: Clock,
        *,
        per_minute: int = 60,
        per_day: int = 5000,
        concurrent: int = 5,
        app_per_minute: int = 10_000,
        enforce: bool = True,
    ) -> None:
        self._clock = clock
        self.per_minute = per_minute
        self.per_day = per_day
        self.concurrent = concurrent
        self.app_per_minute = app_per_minute
        self.enforce = enforce
        self._tenants: dict[str, _Tenant] = {}
        self._app: deque[datetime] = deque()
        self.max_in_flight = 0

    def enter(self, tenant_id: str) -> Verdict:
        """Admit a call (counting it and marking it in progress) or say which limit forbids it."""
        now = self._clock.now()
        usage = self._usage(tenant_id, now)
        if self.enforce:
            verdict = self._breach(usage, now)
            if verdict is not None:
                return verdict
        usage.minute.append(now)
        usage.day.append(now)
        self._app.append(now)
        usage.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, usage.in_flight)
        return Verdict()

    def leave(self, tenant_id: str) -> None:
        """A call admitted by `enter` finished."""
        usage = self._tenants[tenant_id]
        usage.in_flight = max(0, usage.in_flight - 1)

    def headers(self, tenant_id: str) -> dict[str, str]:
        """The remaining-calls headers Xero puts on every answer (all left when not enforced)."""
        now = self._clock.now()
        usage = self._usage(tenant_id, now)
        used = (len(usage.day), len(usage.minute), len(self._app)) if self.enforce else (0, 0, 0)
        return {
            "X-DayLimit-Remaining": str(max(0, self.per_day - used[0])),
            "X-MinLimit-Remaining": str(max(0, self.per_minute - used[1])),
            "X-AppMinLimit-Remaining": str(max(0, self.app_per_minute - used[2])),
        }

    def spend(self, tenant_id: str, calls: int) -> None:
        """Count `calls` made now against the daily limit (a tenant busy with other apps' work)."""
        now = self._clock.now()
        self._usage(tenant_id, now).day.extend([now] * calls)

    def _usage(self, tenant_id: str, now: datetime) -> _Tenant:
        usage = self._tenants.setdefault(tenant_id, _Tenant())
        _prune(usage.minute, now - MINUTE)
        _prune(usage.day, now - DAY)
        _prune(self._app, now - MINUTE)
        return usage

    def _breach(self, usage: _Tenant, now: datetime) -> Verdict | None:
        if usage.in_flight >= self.concurrent:
            return Verdict("concurrent")
        if len(usage.day) >= self.per_day:
            return Verdict("day", _seconds_until(usage.day[0] + DAY, now))
        if len(usage.minute) >= self.per_minute:
            return Verdict("minute", _seconds_until(usage.minute[0] + MINUTE, now))
        if len(self._app) >= self.app_per_minute:
            return Verdict("appminute", _seconds_until(self._app[0] + MINUTE, now))
        return None


def _prune(window: deque[datetime], cutoff: datetime) -> None:
    while window and window[0] <= cutoff:
        window.popleft()


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


@dataclass(frozen=True)
class Cached:
    """An answer kept under an idempotency key."""

    fingerprint: str
    status: int
    content: bytes
    headers: Mapping[str, str]
    stored_at: datetime


class Conflict:
    """The key was used for a different request within the TTL."""


CONFLICT = Conflict()


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What identifies a request for idempotency: method, URL and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyCache:
    """Answers kept per (tenant, key) for `ttl` on the sandbox clock."""

    def __init__(self, clock: Clock, ttl: timedelta) -> None:
        self._clock = clock
        self.ttl = ttl
        self._entries: dict[tuple[str, str], Cached] = {}

    def lookup(self, tenant_id: str, key: str, print_: str) -> Cached | Conflict | None:
        """The cached answer, CONFLICT for a different request, None when the key is new."""
        entry = self._entries.get((tenant_id, key))
        if entry is None or self._clock.now() - entry.stored_at >= self.ttl:
            return None
        return entry if entry.fingerprint == print_ else CONFLICT

    def store(
        self,
        tenant_id: str,
        key: str,
        print_: str,
        status: int,
        content: bytes,
        headers: Mapping[str, str],
    ) -> None:
        self._entries[(tenant_id, key)] = Cached(
            print_, status, content, dict(headers), self._clock.now()
        )
