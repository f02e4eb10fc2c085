from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from reconcile.models import ErrorClass
from reconcile.rows import SaveCounts
from tests.workbench.conftest import World
from workbench.sync import sync_connection, windows

EVENTS = "/finances/v0/financialEventGroups/"


def stored(world: World) -> dict[str, Decimal]:
    frame = world.store.settlements(world.workspace_id)
    return dict(zip(frame["provider_settlement_id"], frame["net"], strict=True))


def truth(world: World) -> dict[str, Decimal]:
    return {g["id"]: Decimal(g["total"]) for g in world.amazon.groups() if not g["hidden"]}


def status(world: World) -> dict[str, str]:
    frame = world.store.connection_status(world.workspace_id, as_of=world.clock.now())
    return dict(zip(frame["name"], frame["status"], strict=True))


def test_windows_cover_the_span_without_overlap() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cuts = list(windows(start, start + timedelta(days=65), timedelta(days=30)))
    assert [(b - a).days for a, b in cuts] == [30, 30, 5]
    assert cuts[0][0] == start
    assert all(cuts[i][1] == cuts[i + 1][0] for i in range(len(cuts) - 1))


def test_first_sync_stores_exactly_the_sandbox_settlements_to_the_cent(world: World) -> None:
    connection = world.amazon_connection()

    [result] = sync_connection(world.rt, connection)

    assert result.ok, result.error
    assert stored(world) == truth(world)
    lines = world.store.settlements(world.workspace_id)["line_count"].sum()
    assert lines == sum(g["lines"] for g in world.amazon.groups())


def test_a_second_sync_overlaps_its_look_back_and_duplicates_nothing(world: World) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    before = world.store.settlements(world.workspace_id)

    [again] = sync_connection(world.rt, connection)

    assert again.ok
    assert again.fetched >= 1  # the look-back re-read at least the open settlement
    assert again.inserted == 0
    assert world.store.settlements(world.workspace_id).height == before.height


def test_an_open_settlement_is_re_read_until_it_closes(world: World) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    [open_id] = [g["id"] for g in world.amazon.groups() if g["status"] == "Open"]

    world.clock.advance(timedelta(days=15))
    [result] = sync_connection(world.rt, connection)

    assert result.ok
    frame = world.store.settlements(world.workspace_id)
    closed = frame.filter(frame["provider_settlement_id"] == open_id)
    assert closed["status"].to_list() == ["closed"]
    assert stored(world) == truth(world)


def test_a_revoked_grant_disconnects_with_reason_auth_and_stores_nothing(world: World) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    count = world.store.settlements(world.workspace_id).height
    world.amazon.revoke()
    world.clock.advance(timedelta(days=30))  # new settlements exist at Amazon by now

    [result] = sync_connection(world.rt, connection)

    assert result.error is not None
    assert result.error.error_class is ErrorClass.AUTH
    assert status(world)["Amazon US"] == "disconnected"
    assert world.store.settlements(world.workspace_id).height == count
    kinds = world.store.events(connection.id)["kind"].to_list()
    assert kinds[-3:] == ["sync_started", "sync_failed", "revoked"]


def test_transient_failures_never_disconnect(world: World) -> None:
    connection = world.amazon_connection()
    world.amazon.add_fault("503", path_prefix="/finances", times=-1)

    [result] = sync_connection(world.rt, connection)

    assert result.error is not None
    assert result.error.error_class is ErrorClass.TRANSIENT
    assert status(world)["Amazon US"] == "degraded"
    world.amazon.clear_faults()
    [recovered] = sync_connection(world.rt, connection)
    assert recovered.ok
    assert status(world)["Amazon US"] == "connected"


def test_429s_are_retried_honouring_retry_after_and_recorded(world: World) -> None:
    connection = world.amazon_connection()
    world.amazon.add_fault("429", path_prefix="/finances", times=2, retry_after=7)
    before = world.clock.now()

    [result] = sync_connection(world.rt, connection)

    assert result.ok
    assert result.retries == 2
    assert world.clock.now() - before >= timedelta(seconds=14)
    events = world.store.events(connection.id)
    assert "rate_limited" in events["kind"].to_list()
    assert status(world)["Amazon US"] == "connected"


@pytest.mark.parametrize("fault", ["malformed", "html", "errors_body", "repeat_token"])
def test_a_broken_page_fails_its_window_and_stores_nothing_of_it(world: World, fault: str) -> None:
    connection = world.amazon_connection()
    groups = world.amazon.groups()
    victim = groups[len(groups) // 2]
    prefix = f"{EVENTS}{victim['id']}" if fault != "repeat_token" else EVENTS.rstrip("/")
    world.amazon.add_fault(fault, path_prefix=prefix, times=-1, status=200)

    [result] = sync_connection(world.rt, connection)

    assert result.error is not None
    assert result.error.error_class is ErrorClass.DATA
    kept = stored(world)
    assert victim["id"] not in kept
    assert all(g["start"] < victim["start"] for g in groups if g["id"] in kept)
    cursor = world.store.cursor(connection.id, "settlements")
    assert cursor is None or cursor <= victim["start"]
    world.amazon.clear_faults()
    [healed] = sync_connection(world.rt, connection)
    assert healed.ok
    assert stored(world) == truth(world)


def test_a_failure_after_stored_windows_reports_what_was_stored(world: World) -> None:
    connection = world.amazon_connection()
    groups = world.amazon.groups()
    last = groups[-2]
    world.amazon.add_fault("malformed", path_prefix=f"{EVENTS}{last['id']}", times=-1)

    [result] = sync_connection(world.rt, connection)

    assert result.error is not None
    assert result.inserted == len(stored(world)) > 0
    failed = world.store.events(connection.id).filter(pl.col("kind") == "sync_failed")
    assert json.loads(failed["counts"][0])["inserted"] == result.inserted


def test_an_unexpected_error_is_recorded_and_the_next_connection_still_syncs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = world.amazon_connection("Amazon Broken")
    healthy = world.amazon_connection("Amazon US")
    original = world.store.save_window

    def exploding_save(connection_id: str, *args: Any, **kwargs: Any) -> SaveCounts:
        if connection_id == broken.id:
            raise ZeroDivisionError("boom")
        return original(connection_id, *args, **kwargs)

    monkeypatch.setattr(world.store, "save_window", exploding_save)
    results = [r for c in (broken, healthy) for r in sync_connection(world.rt, c)]

    assert isinstance(results[0].error, ZeroDivisionError)
    assert results[1].ok
    detail = world.store.events(broken.id).filter(pl.col("kind") == "sync_failed")["detail"]
    assert detail[0] == "internal error: ZeroDivisionError: boom"
    assert status(world)["Amazon Broken"] == "degraded"


def test_the_cursor_stops_where_the_provider_can_already_serve(world: World) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    cursor = world.store.cursor(connection.id, "settlements")
    assert cursor is not None
    assert cursor <= world.clock.now() - timedelta(minutes=2)


def test_two_syncs_of_one_connection_take_turns(world: World) -> None:
    connection = world.amazon_connection()
    said: list[str] = []
    with world.rt.sync_lock(connection):
        waiting = threading.Thread(
            target=sync_connection, args=(world.rt, connection), kwargs={"progress": said.append}
        )
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # blocked behind the lock we hold
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    assert said[0] == "Amazon US: waiting for another sync of it to finish"
