"""Client-side rate limiting: token buckets built from each provider's documented rates."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from connectors.clock import Clock


@dataclass(frozen=True)
class Rate:
    """A documented usage plan: `per_second` sustained, `burst` requests at once."""

    per_second: float
    burst: int

    @classmethod
    def per_minute(cls, calls: int) -> Rate:
        return cls(calls / 60.0, calls)

    @classmethod
    def per_day(cls, calls: int) -> Rate:
        return cls(calls / 86_400.0, calls)


class TokenBucket:
    """One bucket: starts full, refills at `rate.per_second`, holds at most `rate.burst`."""

    def __init__(self, rate: Rate, clock: Clock) -> None:
        if rate.per_second <= 0 or rate.burst < 1:
            raise ValueError(f"invalid rate {rate}")
        self.rate = rate
        self._clock = clock
        self._tokens = float(rate.burst)
        self._stamp = clock.now().timestamp()

    def _refill(self) -> None:
        now = self._clock.now().timestamp()
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(float(self.rate.burst), self._tokens + elapsed * self.rate.per_second)
        self._stamp = now

    def wait_time(self) -> float:
        """Seconds until one request may go."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate.per_second

    def take(self) -> None:
        self._refill()
        self._tokens -= 1

    def drain(self, remaining: int) -> None:
        """Trust the provider's own count (`X-MinLimit-Remaining` and the like)."""
        self._refill()
        self._tokens = min(self._tokens, float(remaining))


class RateLimiter:
    """Buckets per operation plus shared buckets that every call spends from."""

    def __init__(
        self,
        clock: Clock,
        *,
        operations: Mapping[str, Rate] | None = None,
        shared: Mapping[str, Rate] | None = None,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._operations = {op: TokenBucket(r, clock) for op, r in (operations or {}).items()}
        self._shared = {name: TokenBucket(r, clock) for name, r in (shared or {}).items()}

    def _buckets(self, operation: str) -> list[TokenBucket]:
        own = self._operations.get(operation)
        return [*self._shared.values(), *([own] if own else [])]

    def acquire(self, operation: str) -> float:
        """Block (on the injected clock) until `operation` may be called; return seconds waited."""
        waited = 0.0
        with self._lock:
            buckets = self._buckets(operation)
            while (delay := max((b.wait_time() for b in buckets), default=0.0)) > 0:
                self._clock.sleep(delay)
                waited += delay
            for bucket in buckets:
                bucket.take()
        return waited

    def observe_remaining(self, bucket: str, remaining: int) -> None:
        """Lower a shared bucket to what the provider says is left."""
        with self._lock:
            if bucket in self._shared:
                self._shared[bucket].drain(remaining)
