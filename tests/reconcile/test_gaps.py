"""Gap detection: each kind, its window, cause, estimate, recoverability, and stable ids."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.gaps import GAP_COLUMNS, _money, find_gaps, gap
from reconcile.models import (
    Connection,
    ConnectionEvent,
    ErrorClass,
    EventKind,
    LedgerEntry,
    LineCategory,
    Settlement,
    SettlementBatch,
    SettlementLine,
    SettlementStatus,
)
from reconcile.money import format_amount
from reconcile.providers import PROVIDER_RULES
from reconcile.references import settlement_reference
from reconcile.rows import settlement_id
from reconcile.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
WS = "acme-ltd"


# -- seeding, next to the assertions ---------------------------------------------------------


def channel(
    id_: str = "amz-1", name: str = "Amazon US", provider: str = "amazon", **extra: Any
) -> Connection:
    fields = {"workspace_id": WS, "kind": "channel", "created_at": T0, **extra}
    return Connection.model_validate({**fields, "id": id_, "name": name, "provider": provider})


def make_store(*connections: Connection, ledger: bool = True) -> Store:
    store = Store(":memory:", clock=lambda: T0)
    store.add_workspace("Acme Ltd", "USD")
    for connection in connections or (channel(),):
        store.add_connection(connection, ["settlements"])
    if ledger:
        xero = channel("xero-1", "Xero", "xero", kind="ledger")
        store.add_connection(xero, ["ledger_entries"])
    return store


def settle(
    store: Store,
    starts: Sequence[float],
    *,
    connection_id: str = "amz-1",
    length: float = 14,
    net: str = "100.00",
    currency: str = "USD",
    status: SettlementStatus = SettlementStatus.CLOSED,
) -> list[str]:
    """Settlements starting `starts` days after T0, `length` days long; their store ids."""
    batches = []
    for start in starts:
        begin = T0 + start * DAY
        closed = status is SettlementStatus.CLOSED
        settlement = Settlement(
            connection_id=connection_id,
            provider_settlement_id=f"S{start:g}-{currency}",
            period_start=begin,
            period_end=begin + length * DAY if closed else None,
            currency=currency,
            net=Decimal(net),
            status=status,
        )
        line = SettlementLine(category=LineCategory.SALE, amount=Decimal(net))
        batches.append(SettlementBatch(settlement, (line,)))
    store.save_window(connection_id, "settlements", batches, cursor=None)
    return [settlement_id(connection_id, b.settlement.provider_settlement_id) for b in batches]


def entry(
    object_id: str,
    reference: str,
    total: str,
    day: int,
    *,
    object_type: str = "ACCREC",
    status: str = "AUTHORISED",
    currency: str = "USD",
) -> LedgerEntry:
    return LedgerEntry(
        connection_id="xero-1",
        object_id=object_id,
        object_type=object_type,
        reference=reference,
        currency=currency,
        total=Decimal(total),
        status=status,
        date=date(2024, 1, 1) + timedelta(days=day),
    )


def book(store: Store, *entries: LedgerEntry) -> None:
    store.save_ledger_entries("xero-1", "ledger_entries", list(entries), cursor=None)


def happen(
    store: Store, kind: EventKind, day: float, connection_id: str = "amz-1", **extra: Any
) -> None:
    fields = {"connection_id": connection_id, "at": T0 + day * DAY, "kind": kind, **extra}
    store.record_event(ConnectionEvent.model_validate(fields))


def gaps_of(store: Store, as_of: datetime, **options: Any) -> pl.DataFrame:
    with store.read() as con:
        return find_gaps(con, WS, as_of, **options)


def of_kind(found: pl.DataFrame, kind: str) -> list[dict[str, Any]]:
    return found.filter(pl.col("kind") == kind).to_dicts()


def usd(amount: str) -> list[dict[str, Any]]:
    return [{"currency": "USD", "amount": Decimal(amount)}]


# -- coverage ------------------------------------------------------------------------------------


def test_a_hole_between_settlements_is_a_coverage_gap_with_its_window_and_estimate() -> None:
    store = make_store(ledger=False)
    settle(store, [0, 14, 28, 70, 84], net="100.00")

    (hole,) = of_kind(gaps_of(store, T0 + 100 * DAY), "coverage")

    assert (hole["start"], hole["end"]) == (T0 + 42 * DAY, T0 + 70 * DAY)
    assert hole["expected_settlements"] == 2
    assert hole["estimate"] == usd("200.00")
    assert hole["cause"] == "unknown" and hole["cause_windows"] == []
    assert hole["recoverable"] is True and hole["manual_step"] is None
    assert hole["connection"] == "Amazon US" and hole["provider"] == "amazon"
    assert hole["detail"] == (
        "No settlement covers 2024-02-12 to 2024-03-11 (28 days, between settlements S28-USD "
        "and S70-USD): about 2 missing."
    )


def test_a_hole_within_the_tolerance_is_no_gap_and_overlapping_periods_open_none() -> None:
    store = make_store(ledger=False)
    settle(store, [0, 15, 30])  # 1 day between each: Amazon tolerates 1 day
    settle(store, [44], length=30)  # covers until day 74 ...
    settle(store, [50, 74])  # ... so the short one inside it opens no hole

    assert gaps_of(store, T0 + 90 * DAY).is_empty()


def test_the_cause_names_each_overlapping_disconnect_and_ongoing_ones_say_since() -> None:
    store = make_store(ledger=False)
    settle(store, [0, 14, 56])
    happen(store, EventKind.CONNECTED, 0)
    happen(store, EventKind.REVOKED, 30, error_class=ErrorClass.AUTH, detail="grant revoked")
    happen(store, EventKind.RECONNECTED, 40)
    happen(store, EventKind.SYNC_FAILED, 45, error_class=ErrorClass.AUTH, feed="settlements")
    happen(store, EventKind.SYNC_FAILED, 50, error_class=ErrorClass.TRANSIENT, feed="settlements")

    found = gaps_of(store, T0 + 60 * DAY)
    (hole,) = of_kind(found, "coverage")

    assert hole["cause"] == (
        "disconnected 2024-01-31 00:00 to 2024-02-10 00:00 (auth: grant revoked); "
        "disconnected since 2024-02-15 00:00 (auth: sync failed)"
    )
    assert hole["cause_windows"] == [
        {"start": T0 + 30 * DAY, "end": T0 + 40 * DAY, "reason": "auth: grant revoked"},
        {"start": T0 + 45 * DAY, "end": T0 + 60 * DAY, "reason": "auth: sync failed"},
    ]


# -- overdue -------------------------------------------------------------------------------------


def test_a_stall_longer_than_cadence_and_grace_is_overdue_from_the_latest_settlement() -> None:
    store = make_store(ledger=False)
    settle(store, [0, 14, 28])
    settle(store, [42], status=SettlementStatus.OPEN)
    assert of_kind(gaps_of(store, T0 + 59 * DAY), "overdue") == []  # 17 days: within grace

    (stall,) = of_kind(gaps_of(store, T0 + 73 * DAY), "overdue")

    assert (stall["start"], stall["end"]) == (T0 + 42 * DAY, T0 + 73 * DAY)
    assert stall["expected_settlements"] == 2  # floor(31 / 14)
    assert stall["estimate"] == usd("200.00")
    assert stall["detail"] == (
        "No settlement since 2024-02-12 (31 days), longer than the history cadence of 14 days "
        "plus 3 days of grace: the connection may have stalled."
    )


def test_a_connection_that_never_settled_is_overdue_from_when_it_was_added() -> None:
    store = make_store(ledger=False)

    (stall,) = gaps_of(store, T0 + 18 * DAY).to_dicts()

    assert stall["kind"] == "overdue" and stall["start"] == T0
    assert stall["expected_settlements"] == 1 and stall["estimate"] == []
    assert stall["detail"].startswith("No settlement since the connection was added on 2024-01-01")
    assert gaps_of(store, T0 + 17 * DAY).is_empty()


# -- recoverable, manual step --------------------------------------------------------------------


def test_recoverable_ends_exactly_at_the_provider_horizon_then_a_manual_step_is_given() -> None:
    store = make_store(channel(name="Amazon US (old)"), ledger=False)
    settle(store, [0, 28])
    horizon = T0 + 14 * DAY + 730 * DAY  # the hole starts on day 14

    (edge,) = of_kind(gaps_of(store, horizon), "coverage")
    (past,) = of_kind(gaps_of(store, horizon + timedelta(microseconds=1)), "coverage")

    assert edge["recoverable"] is True and edge["manual_step"] is None
    assert past["recoverable"] is False
    assert past["manual_step"] == (
        "Amazon keeps settlement reports for 90 days and no longer offers the one for "
        "2024-01-15 to 2024-01-29: contact Seller Support for that settlement statement, then "
        "run: workbench import FILE --connection 'Amazon US (old)'"
    )


def test_a_window_still_within_the_report_retention_gets_the_download_step() -> None:
    shorter = tuple(
        replace(r, horizon=30 * DAY) if r.provider == "amazon" else r for r in PROVIDER_RULES
    )
    store = make_store(channel(name="Amazon's US"), ledger=False)
    settle(store, [0, 28])

    (hole,) = of_kind(gaps_of(store, T0 + 60 * DAY, rules=shorter), "coverage")

    assert hole["recoverable"] is False
    assert hole["manual_step"] == (
        "Request the settlement report for 2024-01-15 to 2024-01-29 in Seller Central (Reports "
        "> Payments > All statements), download it, then run: workbench import FILE "
        "--connection 'Amazon'\"'\"'s US'"
    )


# -- ledger side ---------------------------------------------------------------------------------


def test_closed_settlements_no_live_entry_names_are_unposted_only_with_a_ledger() -> None:
    store = make_store()
    first, second, third = settle(store, [0, 14, 28], net="250.5")
    settle(store, [42], status=SettlementStatus.OPEN)
    book(
        store,
        entry("i1", settlement_reference(first), "250.50", 16),
        entry("i2", settlement_reference(second), "250.50", 30, status="VOIDED"),
    )

    unposted = of_kind(gaps_of(store, T0 + 45 * DAY), "unposted")

    assert [g["settlement_id"] for g in unposted] == [second, third]
    assert unposted[0]["estimate"] == usd("250.50")
    assert unposted[0]["recoverable"] is None and unposted[0]["expected_settlements"] is None
    assert unposted[0]["detail"] == (
        "Settlement S14-USD (USD 250.50 net, 2024-01-15 to 2024-01-29) is not in the ledger: "
        "review and post it with workbench post."
    )
    assert of_kind(gaps_of(make_store(ledger=False), T0), "unposted") == []


def test_a_settlement_whose_posting_was_voided_is_reported_as_voided_on_purpose() -> None:
    store = make_store()
    (sid,) = settle(store, [0])
    with store.transaction() as con:
        con.execute(
            "INSERT INTO postings VALUES ('p1', $sid, 'xero-1', 'k1', $ref, 'voided', '[]', "
            "NULL, NULL, $at, $at)",
            {"sid": sid, "ref": settlement_reference(sid), "at": T0},
        )

    (unposted,) = of_kind(gaps_of(store, T0 + 15 * DAY), "unposted")

    assert "voided on purpose" in unposted["detail"]


def test_entries_whose_distinct_references_do_not_sum_to_the_net_are_a_mismatch() -> None:
    store = make_store()
    split, short, billed, foreign = settle(store, [0, 14, 28, 42], net="100.00")
    book(
        store,
        entry("a1", settlement_reference(split, 1, 2), "60.00", 1),
        entry("a2", settlement_reference(split, 2, 2), "40.00", 1),
        entry("b1", settlement_reference(short), "90.00", 15),
        entry("c1", settlement_reference(billed), "110.00", 29),
        entry("c2", settlement_reference(billed), "110.00", 29),  # a duplicate: counted once
        entry("c3", "RW " + billed + " 2/2", "10.00", 29, object_type="ACCPAY"),
        entry("d1", settlement_reference(foreign), "100.00", 43, currency="GBP"),
    )

    mismatches = of_kind(gaps_of(store, T0 + 56 * DAY), "amount_mismatch")

    assert [(g["settlement_id"], g["estimate"]) for g in mismatches] == [
        (short, usd("10.00")),
        (foreign, []),
    ]
    assert mismatches[0]["detail"] == (
        "Settlement S14-USD nets USD 100.00 but its ledger entries total USD 90.00: a "
        "difference of USD 10.00."
    )
    assert mismatches[1]["detail"] == (
        "Settlement S42-USD is in USD but its ledger entries are in GBP: check its posting."
    )


def test_an_entry_whose_reference_is_edited_in_the_ledger_now_counts_for_what_it_names() -> None:
    store = make_store()
    first, second = settle(store, [0, 14], net="100.00")

    def unposted() -> list[str]:
        return [g["settlement_id"] for g in of_kind(gaps_of(store, T0 + 40 * DAY), "unposted")]

    book(store, entry("e1", settlement_reference(first), "100.00", 15))
    assert unposted() == [second]
    book(store, entry("e1", settlement_reference(second), "100.00", 15))
    assert unposted() == [first]
    book(store, entry("e1", "Amazon payout", "100.00", 15))
    assert unposted() == [first, second]


def test_two_live_entries_with_one_reference_are_a_duplicate_posting() -> None:
    store = make_store()
    (sid,) = settle(store, [0], net="80.00")
    ref = settlement_reference(sid)
    book(
        store,
        entry("x2", ref, "80.00", 16),
        entry("x1", ref, "80.00", 16),
        entry("x3", ref, "80.00", 16, status="DELETED"),
    )

    (dup,) = of_kind(gaps_of(store, T0 + 15 * DAY), "duplicate_posting")

    assert dup["settlement_id"] == sid and dup["connection"] == "Amazon US"
    assert dup["estimate"] == usd("80.00")
    assert dup["detail"] == (
        f"The ledger holds 2 live entries with reference {ref} (x1, x2): void all but one."
    )
    assert of_kind(gaps_of(store, T0 + 15 * DAY), "amount_mismatch") == []


def test_a_settlement_booked_across_two_ledger_connections_is_judged_on_both_together() -> None:
    store = make_store()
    store.add_connection(channel("xero-2", "Xero 2", "xero", kind="ledger"), ["ledger_entries"])
    split, doubled, short = settle(store, [0, 14, 28], net="100.00")

    def book_in(ledger: str, *entries: LedgerEntry) -> None:
        mine = [replace_ledger(e, ledger) for e in entries]
        store.save_ledger_entries(ledger, "ledger_entries", mine, cursor=None)

    book_in(
        "xero-1",
        entry("a1", settlement_reference(split, 1, 2), "60.00", 1),
        entry("b1", settlement_reference(doubled), "100.00", 15),
        entry("c1", settlement_reference(short, 1, 2), "50.00", 29),
    )
    book_in("xero-2", entry("a2", settlement_reference(split, 2, 2), "40.00", 1),
            entry("b2", settlement_reference(doubled), "100.00", 16),
            entry("c2", settlement_reference(short, 1, 2), "50.00", 29))  # fmt: skip

    found = gaps_of(store, T0 + 50 * DAY)

    assert [g["settlement_id"] for g in of_kind(found, "amount_mismatch")] == [short]
    assert of_kind(found, "amount_mismatch")[0]["estimate"] == usd("50.00")
    duplicates = of_kind(found, "duplicate_posting")
    assert [(g["settlement_id"], g["estimate"]) for g in duplicates] == [
        (doubled, usd("100.00")),
        (short, usd("50.00")),
    ]
    assert of_kind(found, "unposted") == []


def replace_ledger(item: LedgerEntry, ledger: str) -> LedgerEntry:
    return item.model_copy(update={"connection_id": ledger})


def test_unreferenced_entries_matching_another_within_3_days_form_one_cluster() -> None:
    store = make_store()
    (sid,) = settle(store, [0], net="75.00")
    book(
        store,
        entry("p0", "Amazon payout", "75.00", 8),  # too far from the rest: no partner
        entry("p1", settlement_reference(sid), "75.00", 15),
        entry("p2", "Amazon payout", "75.00", 17),
        entry("p3", "manual", "75.00", 20),
        entry("p4", "manual", "75.01", 20),  # another total
        entry("p5", "RW stl_00000000000000000000", "75.00", 26),  # referenced, 6 days away
    )

    (cluster,) = of_kind(gaps_of(store, T0 + 15 * DAY), "possible_duplicate")

    assert (cluster["start"], cluster["end"]) == (T0 + 15 * DAY, T0 + 21 * DAY)
    assert cluster["connection"] == "Amazon US"  # p1 names a settlement of Amazon US
    assert cluster["estimate"] == usd("150.00")
    assert cluster["detail"] == (
        "3 ledger entries of USD 75.00 are dated within 3 days of each other (p1, p2, p3) and "
        "not all carry a workbench reference: check whether one was entered twice."
    )


# -- ids, scope, lookup --------------------------------------------------------------------------


def test_ids_are_stable_across_runs_and_new_data_and_follow_the_documented_hash() -> None:
    store = make_store()
    settle(store, [0, 28])
    before = gaps_of(store, T0 + 50 * DAY)
    settle(store, [60])
    after = gaps_of(store, T0 + 80 * DAY)

    hole = of_kind(before, "coverage")[0]
    key = f"coverage\x1famz-1\x1f{_micros(T0 + 14 * DAY)}/{_micros(T0 + 28 * DAY)}"
    assert hole["id"] == "gap_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    assert hole["id"] in after.get_column("id").to_list()
    assert before.equals(gaps_of(store, T0 + 50 * DAY))
    assert before.columns == list(GAP_COLUMNS)


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_other_workspaces_and_removed_connections_stay_out() -> None:
    store = make_store(channel(), channel("old-1", "Old shop"))
    store.add_workspace("Bolt", "USD")
    store.add_connection(channel("bolt-1", "Bolt shop", workspace_id="bolt"), ["settlements"])
    bolt_ledger = channel("xero-b", "Bolt Xero", "xero", kind="ledger", workspace_id="bolt")
    store.add_connection(bolt_ledger, ["ledger_entries"])
    settle(store, [0, 14])
    settle(store, [0, 40], connection_id="bolt-1")
    settle(store, [0, 40], connection_id="old-1")
    store.remove_connection("old-1")

    found = gaps_of(store, T0 + 60 * DAY)

    assert set(found.get_column("connection")) == {"Amazon US"}
    with store.read() as con:
        bolt = find_gaps(con, "bolt", T0 + 60 * DAY)
    assert sorted(bolt.get_column("kind")) == ["coverage", "unposted", "unposted"]


def test_a_gap_is_found_by_its_id_and_none_for_an_unknown_id() -> None:
    store = make_store(ledger=False)
    settle(store, [0, 28])
    (hole,) = gaps_of(store, T0 + 40 * DAY).to_dicts()

    with store.read() as con:
        assert gap(con, WS, hole["id"], T0 + 40 * DAY) == hole
        assert gap(con, WS, "gap_0000000000000000", T0 + 40 * DAY) is None


def test_the_provider_table_has_a_rule_for_every_channel_of_the_reference() -> None:
    channels = {r.provider for r in PROVIDER_RULES if r.kind == "channel"}
    assert channels == {"amazon", "ebay", "shopify", "etsy", "walmart", "tiktok", "square",
                        "woocommerce"}  # fmt: skip
    for item in PROVIDER_RULES:
        if item.kind == "channel":
            assert item.default_cadence and item.coverage_tolerance and item.overdue_grace
            assert item.manual_step and "{connection}" in item.manual_step


@settings(max_examples=200, deadline=None)
@given(
    units=st.integers(min_value=-(10**14), max_value=10**14),
    currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]),
)
def test_money_text_in_a_column_matches_format_amount(units: int, currency: str) -> None:
    amount = Decimal(units).scaleb(-4)
    exponents = {"JPY": 0, "KWD": 3, "USD": 2, "EUR": 2}
    data = pl.DataFrame(
        {"amount": [amount], "currency": [currency]},
        schema={"amount": pl.Decimal(18, 4), "currency": pl.String},
    )
    text = data.select(_money(pl.col("amount"), exponents)).item()
    assert text == f"{currency} {format_amount(amount, currency)}"


def test_the_provider_table_in_the_docs_matches_the_code() -> None:
    def text(value: timedelta | date | None) -> str:
        if value is None:
            return "none"
        if isinstance(value, date):
            return value.isoformat()
        return f"{value.days} day" + ("" if value.days == 1 else "s")

    expected = [
        "| " + " | ".join([r.provider, r.kind, *map(text, (
            r.default_cadence, r.coverage_tolerance, r.overdue_grace, r.horizon, r.earliest,
            r.file_retention,
        ))]) + " |"
        for r in PROVIDER_RULES
    ]  # fmt: skip
    doc = (Path(__file__).parents[2] / "docs" / "gaps.md").read_text(encoding="utf-8")
    table = doc.split("<!-- provider-rules -->")[1].split("<!-- /provider-rules -->")[0]
    assert table.strip().splitlines()[2:] == expected
