"""A settlement Amazon lists with events missing (still being posted) is stored short and held."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from connectors.xero import PROVIDER
from reconcile.posting import HoldReason
from tests.workbench.conftest import World
from workbench.connecting import Credentials, Endpoints, connect
from workbench.posting_plans import plan_workspace
from workbench.sync import sync_connection


def test_a_group_whose_events_fall_short_of_its_total_is_stored_short_and_held(
    world: World, tmp_path: Path
) -> None:
    now = world.clock.now()
    world.amazon.hide("seller", now - timedelta(days=400), now - timedelta(days=60))
    connection = world.amazon_connection()
    closed = [g for g in world.amazon.groups() if g["status"] == "Closed" and not g["hidden"]]
    target = closed[-1]
    held = world.amazon.withhold_events("seller", target["id"], 3)

    [result] = sync_connection(world.rt, connection)

    assert result.ok, result.error
    settlements = world.store.settlements(world.workspace_id)
    [row] = settlements.filter(settlements["provider_settlement_id"] == target["id"]).to_dicts()
    lines = world.store.settlement_lines(row["id"])
    assert row["net"] == Decimal(target["total"])  # OriginalTotal still counts the withheld
    assert row["line_count"] == target["lines"] - held["lines"] == lines.height
    assert sum(lines["amount"]) == row["net"] - Decimal(held["amount"])
    others = settlements.filter(settlements["provider_settlement_id"] != target["id"])
    for other in others.to_dicts():
        assert sum(world.store.settlement_lines(other["id"])["amount"]) == other["net"]

    ledger = world.xero.issue_refresh_token("seller")
    connect(
        world.app(tmp_path / "wb.duckdb"),
        PROVIDER,
        workspace_ref="Acme Ltd",
        name="Xero",
        region=None,
        settings={},
        endpoints=Endpoints(),
        credentials=Credentials(world.xero.client_id, world.xero.client_secret, ledger),
    )
    [on_hold] = plan_workspace(world.rt, world.workspace_id).held
    assert on_hold.plan.provider_settlement_id == target["id"]
    assert on_hold.plan.hold is not None
    assert on_hold.plan.hold.reason is HoldReason.LINES_MISSING
    assert on_hold.plan.hold.difference == Decimal(held["amount"])
