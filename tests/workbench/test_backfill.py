from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from connectors.sandbox.amazon import DEFAULT_SELLER
from reconcile.models import ErrorClass
from tests.workbench.conftest import World
from workbench.backfill import BackfillRefused, Window, backfill
from workbench.sync import sync_connection


def stored(world: World) -> dict[str, Decimal]:
    frame = world.store.settlements(world.workspace_id)
    return dict(zip(frame["provider_settlement_id"], frame["net"], strict=True))


def truth(world: World) -> dict[str, Decimal]:
    return {g["id"]: Decimal(g["total"]) for g in world.amazon.groups()}


def hidden_window(world: World, days_ago: int, days: int) -> Window:
    now = world.clock.now()
    return Window(now - timedelta(days=days_ago), now - timedelta(days=days_ago - days))


def test_backfill_fetches_what_a_sync_missed_and_leaves_the_cursor_alone(world: World) -> None:
    connection = world.amazon_connection()
    window = hidden_window(world, 200, 60)
    hidden = world.amazon.hide(DEFAULT_SELLER, window.start, window.end)
    sync_connection(world.rt, connection)
    cursor = world.store.cursor(connection.id, "settlements")
    assert hidden >= 3 and len(stored(world)) == len(truth(world)) - hidden
    world.amazon.restore(DEFAULT_SELLER, window.start, window.end)

    result = backfill(world.rt, connection, window)

    assert result.ok, result.error
    assert result.inserted == hidden
    assert stored(world) == truth(world)
    assert world.store.cursor(connection.id, "settlements") == cursor
    lines = world.store.settlements(world.workspace_id)["line_count"].sum()
    assert lines == sum(g["lines"] for g in world.amazon.groups())


def test_backfill_records_started_and_finished_events_with_counts(world: World) -> None:
    connection = world.amazon_connection()
    window = hidden_window(world, 120, 40)
    hidden = world.amazon.hide(DEFAULT_SELLER, window.start, window.end)
    sync_connection(world.rt, connection)
    world.amazon.restore(DEFAULT_SELLER, window.start, window.end)

    backfill(world.rt, connection, Window(window.start, window.end, "gap_0123456789abcdef"))

    events = world.store.events(connection.id)
    kinds = events["kind"].to_list()
    assert kinds[-2:] == ["backfill_started", "backfill_finished"]
    finished = events.row(-1, named=True)
    assert json.loads(finished["counts"])["inserted"] == hidden
    assert "gap_0123456789abcdef" in finished["detail"]
    assert finished["error_class"] is None


def test_a_second_backfill_of_the_same_window_changes_nothing(world: World) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    window = hidden_window(world, 300, 100)

    again = backfill(world.rt, connection, window)

    assert again.ok
    assert again.fetched > 0
    assert (again.inserted, again.updated) == (0, 0)
    assert stored(world) == truth(world)


def test_a_year_long_backfill_is_cut_into_windows_the_api_accepts(world: World) -> None:
    connection = world.amazon_connection()
    window = hidden_window(world, 363, 360)

    result = backfill(world.rt, connection, window)

    assert result.ok, result.error  # the sandbox refuses a group window over 180 days
    assert result.windows >= 3
    assert len(stored(world)) > 20


def test_backfill_with_a_revoked_grant_fails_disconnects_and_stores_nothing(
    world: World,
) -> None:
    connection = world.amazon_connection()
    world.amazon.revoke()

    result = backfill(world.rt, connection, hidden_window(world, 100, 30))

    assert result.error_class is ErrorClass.AUTH
    assert stored(world) == {}
    kinds = world.store.events(connection.id)["kind"].to_list()
    assert kinds[-3:] == ["backfill_finished", "sync_failed", "revoked"]
    status = world.store.connection_status(world.workspace_id, as_of=world.clock.now())
    assert status["status"].to_list() == ["disconnected"]


@pytest.mark.parametrize(
    ("days_ago", "days", "message"),
    [
        (800, 30, "no longer returns data older than 730 days"),
        (-5, 3, "has not happened yet"),
        (10, 0, "--until must be after --since"),
    ],
)
def test_a_backfill_the_api_cannot_serve_is_refused_with_what_to_do(
    world: World, days_ago: int, days: int, message: str
) -> None:
    connection = world.amazon_connection()

    with pytest.raises(BackfillRefused, match=message):
        backfill(world.rt, connection, hidden_window(world, days_ago, days))

    assert world.store.events(connection.id).is_empty()
