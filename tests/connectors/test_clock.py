"""The hand-over clock: simulated time for building history, then the wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors.clock import ClockHandedOver, HandoverClock

YEAR_AGO = datetime.now(UTC) - timedelta(days=365)


def test_before_the_hand_over_it_is_a_simulated_clock() -> None:
    clock = HandoverClock(YEAR_AGO)
    started = time.monotonic()
    clock.sleep(3600)
    clock.advance(timedelta(days=1))
    assert clock.now() == YEAR_AGO + timedelta(days=1, hours=1)
    assert clock.slept == 3600
    assert time.monotonic() - started < 1
    assert not clock.follows_system


def test_after_the_hand_over_it_tells_and_sleeps_real_time() -> None:
    clock = HandoverClock(YEAR_AGO)
    clock.follow_system()
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC
    started = time.monotonic()
    clock.sleep(0.05)
    assert time.monotonic() - started >= 0.05
    assert clock.slept == 0
    assert clock.follows_system


def test_after_the_hand_over_time_can_no_longer_be_moved() -> None:
    clock = HandoverClock(YEAR_AGO)
    clock.follow_system()
    clock.follow_system()  # a second hand-over changes nothing
    with pytest.raises(ClockHandedOver, match="follows the system time"):
        clock.advance(timedelta(days=1))
    with pytest.raises(ClockHandedOver, match="cannot set"):
        clock.set(YEAR_AGO)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_simulation_ahead_of_the_wall_clock_holds_still_instead_of_running_backwards() -> None:
    ahead = datetime.now(UTC) + timedelta(hours=2)
    clock = HandoverClock(ahead)
    clock.follow_system()
    assert clock.now() == ahead
    time.sleep(0.01)
    assert clock.now() == ahead
