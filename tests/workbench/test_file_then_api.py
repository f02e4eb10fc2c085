"""A settlement imported from its report first and synced from the API later is stored once."""

from __future__ import annotations

from datetime import timedelta

from connectors.sandbox.amazon import DEFAULT_SELLER
from reconcile.imports import import_settlement_file
from tests.workbench.conftest import World
from workbench.backfill import Window, backfill
from workbench.sync import sync_connection


def test_a_filed_settlement_is_stored_once_when_a_backfill_brings_it_from_the_api(
    world: World,
) -> None:
    connection = world.amazon_connection()
    now = world.clock.now()
    world.amazon.hide(DEFAULT_SELLER, now - timedelta(days=60), now - timedelta(days=30))
    assert sync_connection(world.rt, connection)[0].ok
    hidden = [g for g in world.amazon.groups() if g["hidden"]]
    for group in hidden:
        report = world.amazon.control("settlement_report", {"group_id": group["id"]})
        result = import_settlement_file(
            world.store, connection, report.encode(), name=f"{group['id']}.txt", now=now
        )
        assert result.ok, result.summary()
    window = Window(now - timedelta(days=61), now - timedelta(days=29))

    world.amazon.restore(DEFAULT_SELLER, window.start, window.end)
    again = backfill(world.rt, connection, window)

    assert again.ok, again.error

    frame = world.store.settlements(world.workspace_id)
    assert frame.height == len(world.amazon.groups())
    assert sorted(frame["source"].to_list()).count("file") == len(hidden)
    assert again.inserted == 0
