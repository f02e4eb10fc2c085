"""`workbench gaps` and `workbench health`: JSON, table and CSV shapes, scope by name."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reconcile.models import (
    Connection,
    ConnectionEvent,
    ErrorClass,
    EventKind,
    LineCategory,
    Settlement,
    SettlementBatch,
    SettlementLine,
    SettlementStatus,
)
from tests.workbench.conftest import World
from workbench.cli import run

DAY = timedelta(days=1)


def seeded(world: World) -> Connection:
    """Amazon US with settlements every 14 days, one period missing while it was revoked."""
    now = world.clock.now()
    shop = Connection(
        id="amz-us", workspace_id=world.workspace_id, provider="amazon", name="Amazon US",
        kind="channel", created_at=now - 100 * DAY,
    )  # fmt: skip
    world.store.add_connection(shop, ("settlements",))
    starts = [now - 70 * DAY, now - 56 * DAY, now - 28 * DAY, now - 14 * DAY]
    batches = [
        SettlementBatch(
            Settlement(
                connection_id=shop.id, provider_settlement_id=f"S{n}", period_start=start,
                period_end=start + 14 * DAY, currency="USD", net=Decimal("120.50"),
                status=SettlementStatus.CLOSED,
            ),
            (SettlementLine(category=LineCategory.SALE, amount=Decimal("120.50")),),
        )
        for n, start in enumerate(starts)
    ]  # fmt: skip
    world.store.save_window(shop.id, "settlements", batches, cursor=None)
    for kind, ago in [(EventKind.REVOKED, 45), (EventKind.RECONNECTED, 30)]:
        error = ErrorClass.AUTH if kind is EventKind.REVOKED else None
        world.store.record_event(
            ConnectionEvent(connection_id=shop.id, at=now - ago * DAY, kind=kind,
                            error_class=error, detail="grant revoked" if error else "")
        )  # fmt: skip
    return shop


def invoke(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = run(list(args), app=world.app(tmp_path / "wb.duckdb"))
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return json.loads(out) if "json" in args else out


def test_gaps_as_json_carry_the_contract_keys_and_the_estimate_per_currency(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(world)

    (hole,) = invoke(world, tmp_path, capsys, "gaps", "--workspace", "Acme Ltd", "--format", "json")

    now = world.clock.now()
    assert hole == {
        "id": hole["id"],
        "kind": "coverage",
        "workspace": "Acme Ltd",
        "connection": "Amazon US",
        "start": (now - 42 * DAY).isoformat(),
        "end": (now - 28 * DAY).isoformat(),
        "cause": "disconnected 2026-09-18 09:30 to 2026-10-03 09:30 (auth: grant revoked)",
        "recoverable": True,
        "expected_settlements": 1,
        "manual_step": None,
        "estimate": {"USD": "120.50"},
        "settlement_id": None,
        "detail": hole["detail"],
    }
    assert hole["id"].startswith("gap_") and len(hole["id"]) == 20
    again = invoke(world, tmp_path, capsys, "gaps", "--format", "json")
    assert [g["id"] for g in again] == [hole["id"]]


def test_gaps_as_a_table_and_csv_show_the_estimate_as_currency_and_amount(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(world)

    table = invoke(world, tmp_path, capsys, "gaps")
    csv = invoke(world, tmp_path, capsys, "gaps", "--connection", "Amazon US", "--format", "csv")

    assert table.splitlines()[0].split()[:3] == ["id", "kind", "workspace"]
    assert "USD 120.50" in table and "coverage" in table
    assert csv.splitlines()[0].startswith("id,kind,workspace,connection,start,end,cause,")
    assert "USD 120.50" in csv.splitlines()[1]


def test_health_as_json_lists_each_interval_in_order(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = seeded(world)

    rows = invoke(world, tmp_path, capsys, "health", "--connection", shop.name, "--format", "json")

    now = world.clock.now()
    assert [(r["state"], r["start"], r["end"], r["reason"]) for r in rows] == [
        ("connected", (now - 100 * DAY).isoformat(), (now - 45 * DAY).isoformat(), None),
        ("disconnected", (now - 45 * DAY).isoformat(), (now - 30 * DAY).isoformat(),
         "auth: grant revoked"),
        ("connected", (now - 30 * DAY).isoformat(), now.isoformat(), None),
    ]  # fmt: skip
    assert set(rows[0]) >= {"connection", "state", "start", "end", "reason", "flapping"}
    assert rows[0]["connection"] == "Amazon US" and rows[0]["flapping"] is False


def test_an_unknown_connection_is_a_one_line_user_error(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["gaps", "--connection", "Nope"], app=world.app(tmp_path / "wb.duckdb"))

    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
