"""Injectable time: the real clock, and a simulated one whose `sleep` only moves time forward."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What every component that waits or stamps time takes as an argument."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` (a simulated clock advances instead)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class SimulatedClock:
    """A clock for simulated histories and benchmarks: sleeping advances it instantly."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(timedelta(seconds=seconds))
            self.slept += seconds

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


class ClockHandedOver(ValueError):
    """Time was moved on a clock that already follows the system time."""


class HandoverClock(SimulatedClock):
    """Simulated time until `follow_system()`, the wall clock from then on.

    A demo builds months of history on simulated time, then hands the same sandboxes and
    runtime over to real time so a running app can keep using them. After the hand-over
    `sleep` really sleeps and `advance` / `set` raise `ClockHandedOver`. Time never runs
    backwards: if the simulation ran ahead of the wall clock, `now()` holds at the hand-over
    instant until the wall clock catches up.
    """

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._system: SystemClock | None = None
        self._floor = self._now

    @property
    def follows_system(self) -> bool:
        """Whether the hand-over has happened."""
        return self._system is not None

    def follow_system(self) -> None:
        """Hand over to the system clock (once; a second call changes nothing)."""
        with self._lock:
            if self._system is None:
                self._floor = self._now
                self._system = SystemClock()

    def now(self) -> datetime:
        system = self._system
        if system is None:
            return super().now()
        return max(system.now(), self._floor)

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            system = self._system
            if system is None:
                self._now += timedelta(seconds=seconds)
                self.slept += seconds
                return
        system.sleep(seconds)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._check_simulated("advance")
            self._now += delta

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._check_simulated("set")
            self._now = moment.astimezone(UTC)

    def _check_simulated(self, action: str) -> None:
        if self._system is not None:
            raise ClockHandedOver(
                f"cannot {action} the clock: it follows the system time since the hand-over"
            )
