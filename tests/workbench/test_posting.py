"""Posting to the in-process Xero sandbox: exactly once across retries, failures and voids."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.xero import PROVIDER
from reconcile import outbox
from reconcile.accounts import set_account
from reconcile.models import (
    Connection,
    LineCategory,
    Settlement,
    SettlementBatch,
    SettlementLine,
    SettlementStatus,
)
from reconcile.posting import HoldReason
from reconcile.references import settlement_of
from reconcile.rows import settlement_id
from tests.workbench.conftest import World
from workbench.cli import run
from workbench.connecting import Credentials, Endpoints, connect
from workbench.posting import post_workspace
from workbench.posting_plans import PostRun
from workbench.sync import sync_connection
from workbench.unposting import unpost


def connect_xero(world: World, tmp_path: Path) -> Connection:
    token = world.xero.issue_refresh_token("seller")
    return connect(
        world.app(tmp_path / "wb.duckdb"),
        PROVIDER,
        workspace_ref="Acme Ltd",
        name="Xero",
        region=None,
        settings={},
        endpoints=Endpoints(),
        credentials=Credentials(world.xero.client_id, world.xero.client_secret, token),
    )


@pytest.fixture
def synced(world: World, tmp_path: Path) -> World:
    """Amazon synced (its last 100 days: seven fortnightly settlements) and Xero connected."""
    now = world.clock.now()
    world.amazon.hide("seller", now - timedelta(days=400), now - timedelta(days=100))
    [result] = sync_connection(world.rt, world.amazon_connection())
    assert result.ok, result.error
    connect_xero(world, tmp_path)
    return world


def post(world: World, settlement: str | None = None) -> PostRun:
    return post_workspace(world.rt, world.workspace_id, settlement=settlement)


def live_by_reference(world: World) -> Counter[str]:
    """How many live (not voided) invoices and bills the sandbox holds per workbench reference."""
    return Counter(
        ref
        for invoice in world.xero.invoices()
        if invoice["status"] not in ("VOIDED", "DELETED")
        and settlement_of(ref := invoice["reference"] or invoice["number"])
    )


def live_settlements(world: World) -> set[str]:
    return {str(settlement_of(ref)) for ref in live_by_reference(world)}


def signed_totals(world: World) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for invoice in world.xero.invoices():
        ref = invoice["reference"] or invoice["number"]
        if invoice["status"] in ("VOIDED", "DELETED") or not settlement_of(ref):
            continue
        sign = 1 if invoice["type"] == "ACCREC" else -1
        sid = str(settlement_of(ref))
        totals[sid] = totals.get(sid, Decimal(0)) + sign * Decimal(invoice["total"])
    return totals


def states(world: World) -> dict[str, str]:
    frame = world.store.settlements(world.workspace_id)
    return dict(zip(frame["id"], frame["posting_status"], strict=True))


def closed_nets(world: World) -> dict[str, Decimal]:
    frame = world.store.settlements(world.workspace_id)
    closed = frame.filter(frame["status"] == "closed")
    return dict(zip(closed["id"], closed["net"], strict=True))


def add_settlement(
    world: World,
    provider_id: str,
    lines: list[tuple[str, str, datetime]],
    *,
    start: datetime,
    end: datetime,
    net: str | None = None,
) -> str:
    """Store a closed settlement of the world's Amazon connection with these lines."""
    connection = world.store.connections(world.workspace_id)[0]
    items = tuple(
        SettlementLine(LineCategory(c), Decimal(a), c, posted_at=at) for c, a, at in lines
    )
    total = sum((line.amount for line in items), Decimal(0))
    settlement = Settlement(
        connection_id=connection.id,
        provider_settlement_id=provider_id,
        period_start=start,
        period_end=end,
        deposit_date=end.date() + timedelta(days=1),
        currency="USD",
        net=Decimal(net) if net is not None else total,
        status=SettlementStatus.CLOSED,
    )
    world.store.save_window(
        connection.id, "settlements", [SettlementBatch(settlement, items)], cursor=None
    )
    return settlement_id(connection.id, provider_id)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


# -- the tests ----------------------------------------------------------------------------------


def test_sync_then_post_posts_every_closed_settlement_once_with_its_net(synced: World) -> None:
    run_ = post(synced)

    nets = closed_nets(synced)
    assert run_.count("posted") == len(nets) > 4
    assert set(live_by_reference(synced).values()) == {1}
    assert live_settlements(synced) == set(nets)
    assert signed_totals(synced) == nets
    assert {states(synced)[sid] for sid in nets} == {"posted"}
    paid = [i for i in synced.xero.invoices() if Decimal(i["total"]) > 0]
    assert all(i["status"] == "PAID" for i in paid), "every non-zero entry is paid into clearing"


def test_a_second_post_sends_nothing(synced: World) -> None:
    post(synced)
    calls = synced.xero.stats()["calls"]

    again = post(synced)

    assert again.outcomes == [] and again.ready == []
    assert synced.xero.stats()["calls"] == calls


def test_post_writes_what_it_read_back_into_ledger_entries(synced: World) -> None:
    post(synced)
    ledger = next(c for c in synced.store.connections(synced.workspace_id) if c.kind == "ledger")
    entries = synced.store.ledger_entries(ledger.id)
    truth = {i["id"]: i for i in synced.xero.invoices()}
    assert entries.height == len(truth)
    for row in entries.rows(named=True):
        held = truth[row["object_id"]]
        assert (row["object_type"], row["total"], row["status"]) == (
            held["type"],
            Decimal(held["total"]),
            held["status"],
        )
        assert settlement_of(row["reference"]) is not None
        assert row["date"] == date.fromisoformat(held["date"])


def test_a_settlement_spanning_a_month_end_is_split_into_parts_that_sum_to_the_net(
    synced: World,
) -> None:
    sid = add_settlement(
        synced,
        "SPLIT-1",
        [
            ("sale", "100.00", at("2026-09-28T10:00:00")),
            ("fee", "-15.00", at("2026-09-29T10:00:00")),
            ("sale", "50.00", at("2026-10-02T10:00:00")),
            ("refund", "-5.00", at("2026-10-03T10:00:00")),
        ],
        start=at("2026-09-26T00:00:00"),
        end=at("2026-10-10T00:00:00"),
    )

    post(synced, "SPLIT-1")

    parts = sorted(
        (i for i in synced.xero.invoices() if settlement_of(i["reference"]) == sid),
        key=lambda i: i["reference"],
    )
    assert [i["reference"] for i in parts] == [f"RW {sid} 1/2", f"RW {sid} 2/2"]
    assert [i["date"] for i in parts] == ["2026-09-30", "2026-10-09"]
    assert [Decimal(i["total"]) for i in parts] == [Decimal(0), Decimal("130.00")]
    first, second = (part["line_items"] for part in parts)
    assert first[-1]["description"] == "Carried forward to 2026-10-09"
    assert Decimal(first[-1]["line_amount"]) == Decimal("-85.00")
    assert second[0]["description"] == "Brought forward from 2026-09-30"
    assert {x["account_code"] for x in (first[-1], second[0])} == {"630"}
    assert parts[1]["status"] == "PAID"


def test_a_negative_settlement_is_posted_as_a_bill_with_positive_amounts(synced: World) -> None:
    sid = add_settlement(
        synced,
        "NEG-1",
        [
            ("sale", "20.00", at("2026-10-12T10:00:00")),
            ("fee", "-70.50", at("2026-10-13T10:00:00")),
        ],
        start=at("2026-10-11T00:00:00"),
        end=at("2026-10-20T00:00:00"),
    )

    [outcome] = post(synced, "NEG-1").outcomes

    assert outcome.state == "posted", outcome.message
    [bill] = [i for i in synced.xero.invoices() if settlement_of(i["number"]) == sid]
    assert (bill["type"], bill["total"], bill["status"]) == ("ACCPAY", "50.50", "PAID")
    assert [x["line_amount"] for x in bill["line_items"]] == ["-20.00", "70.50"]
    assert signed_totals(synced)[sid] == Decimal("-50.50")


def test_a_settlement_whose_lines_miss_part_of_the_net_is_on_hold_and_not_sent(
    synced: World,
) -> None:
    sid = add_settlement(
        synced,
        "SHORT-1",
        [("sale", "10.00", at("2026-10-12T10:00:00"))],
        start=at("2026-10-11T00:00:00"),
        end=at("2026-10-20T00:00:00"),
        net="25.00",
    )

    run_ = post(synced)

    [held] = run_.held
    assert held.plan.settlement_id == sid
    assert held.plan.hold is not None
    assert held.plan.hold.reason is HoldReason.LINES_MISSING
    assert held.plan.hold.difference == Decimal("15.00")
    assert sid not in live_settlements(synced)
    assert states(synced)[sid] == "unposted"


def test_unpost_voids_and_a_plain_post_does_not_post_it_again_but_naming_it_does(
    synced: World,
) -> None:
    post(synced)
    sid = next(iter(closed_nets(synced)))

    done = unpost(synced.rt, sid)

    assert done.voided and all(o["status"] == "VOIDED" for o in done.voided)
    assert sid not in live_settlements(synced)
    assert states(synced)[sid] == "voided"
    assert post(synced).outcomes == []
    assert sid not in live_settlements(synced)

    [again] = post(synced, sid).outcomes

    assert again.state == "posted"
    assert sid in live_settlements(synced)
    assert set(live_by_reference(synced).values()) == {1}
    with synced.store.read() as con:
        attempts = outbox.postings(con, sid)
        actions = outbox.history(con, sid)["action"].to_list()
    assert [a.state for a in attempts] == ["voided", "posted"]
    assert attempts[0].idempotency_key != attempts[1].idempotency_key
    assert actions == ["post_started", "posted", "unposted", "post_started", "posted"]


def test_a_refused_posting_fails_with_xeros_message_and_the_others_go_on(
    synced: World, tmp_path: Path
) -> None:
    with synced.store.read() as con:  # 429 is not a payments-enabled account
        set_account(con, synced.workspace_id, "amazon", "clearing", "429", at=synced.clock.now())

    run_ = post(synced)

    assert run_.count("failed") == len(run_.outcomes) > 1
    assert all("Account type is invalid" in o.message for o in run_.outcomes)
    with synced.store.read() as con:
        set_account(con, synced.workspace_id, "amazon", "clearing", "630", at=synced.clock.now())
    again = post(synced)
    assert again.count("posted") == len(again.outcomes) == len(run_.outcomes)
    assert set(live_by_reference(synced).values()) == {1}  # the invoices made then were adopted


def test_a_lost_response_is_replayed_by_the_idempotency_key(synced: World) -> None:
    synced.xero.lose_responses(1)  # the first create is done by Xero, its answer lost

    run_ = post(synced)

    assert run_.count("posted") == len(closed_nets(synced))
    assert synced.xero.stats()["idempotent_replays"] >= 1
    assert set(live_by_reference(synced).values()) == {1}


def test_after_the_idempotency_ttl_a_half_done_posting_is_finished_by_find_before_create(
    synced: World,
) -> None:
    synced.xero.lose_responses(6)  # the create succeeds; every retry's answer is lost too
    first = post(synced)
    assert [o.state for o in first.outcomes] == ["interrupted"]
    [sid] = [o.settlement_id for o in first.outcomes]
    assert sid in live_settlements(synced)
    assert states(synced)[sid] == "sending"

    synced.xero.set_idempotency_ttl(0)  # Xero has forgotten the key
    second = post(synced)

    assert second.count("posted") == len(closed_nets(synced))
    assert set(live_by_reference(synced).values()) == {1}
    assert live_settlements(synced) == set(closed_nets(synced))
    assert signed_totals(synced) == closed_nets(synced)


def test_without_find_before_create_the_expired_key_would_duplicate(synced: World) -> None:
    """The sandbox really forgets keys: the guard above is what keeps postings single."""
    synced.xero.set_idempotency_ttl(0)
    synced.xero.lose_responses(1)

    post(synced)

    assert max(live_by_reference(synced).values()) == 2  # the in-line retry made a second one


def test_post_dry_run_prints_the_bodies_and_the_holds_and_sends_nothing(
    synced: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_settlement(
        synced,
        "SHORT-2",
        [("sale", "10.00", at("2026-10-12T10:00:00"))],
        start=at("2026-10-11T00:00:00"),
        end=at("2026-10-20T00:00:00"),
        net="9.00",
    )
    app = synced.app(tmp_path / "wb.duckdb")
    calls = synced.xero.stats()["calls"]

    code = run(["post", "--dry-run", "--format", "json"], app=app)

    rows: list[dict[str, Any]] = __import__("json").loads(capsys.readouterr().out)
    assert code == 0
    assert synced.xero.stats()["calls"] == calls
    held = [r for r in rows if r["state"] == "on_hold"]
    assert [(r["settlement"], r["reason"], r["difference"]) for r in held] == [
        ("SHORT-2", "lines_missing", "-1.00")
    ]
    ready = [r for r in rows if r["state"] == "ready"]
    assert len(ready) == len(closed_nets(synced)) - 1
    body = ready[0]["invoices"][0]
    assert body["Type"] == "ACCREC" and body["Reference"].startswith("RW stl_")
    assert ready[0]["payments"][0]["Account"] == {"Code": "630"}
    assert states(synced)[ready[0]["settlement_id"]] == "unposted"


def test_the_cli_posts_then_reports_nothing_more_to_do(
    synced: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = synced.app(tmp_path / "wb.duckdb")

    assert run(["post"], app=app) == 0
    first = capsys.readouterr().out.splitlines()
    assert run(["post"], app=app) == 0
    second = capsys.readouterr().out.splitlines()

    assert len(first) == len(closed_nets(synced)) + 1
    assert first[-1].startswith(f"{len(closed_nets(synced))} posted, 0 failed, 0 on hold")
    assert second == ["0 posted, 0 failed, 0 on hold"]


def test_unpost_asks_first_and_accounts_can_be_listed_and_set(
    synced: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = synced.app(tmp_path / "wb.duckdb")
    run(["post"], app=app)
    sid = next(iter(closed_nets(synced)))
    capsys.readouterr()

    assert run(["unpost", sid], app=app) == 1  # no terminal to confirm on: aborted
    assert states(synced)[sid] == "posted"
    assert run(["unpost", sid, "--yes"], app=app) == 0
    assert states(synced)[sid] == "voided"

    assert run(["accounts", "set", "fee", "310", "--provider", "amazon"], app=app) == 0
    assert run(["accounts", "set", "fees", "310", "--provider", "amazon"], app=app) == 1
    capsys.readouterr()
    assert run(["accounts", "--format", "json"], app=app) == 0
    rows = __import__("json").loads(capsys.readouterr().out)
    fee = next(r for r in rows if r["category"] == "fee")
    assert (fee["account_code"], fee["source"]) == ("310", "workspace")
    assert {r["category"] for r in rows} >= {"sale", "clearing"}
