"""The per-settlement ledger summary stays equal to one recomputed from the entries themselves."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile import outbox, sql
from reconcile.models import Connection, LedgerEntry
from reconcile.references import settlement_of, settlement_reference
from reconcile.rows import write_ledger_entries
from reconcile.store import Store

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
STL = ["stl_" + f"{n:x}" * 20 for n in (1, 2, 3)]
REFERENCES = [
    settlement_reference(STL[0]),
    settlement_reference(STL[0], 1, 2),
    settlement_reference(STL[0], 2, 2),
    settlement_reference(STL[1]),
    settlement_reference(STL[2], 2, 2),
    "PO-000123",
    "Amazon settlement 123",
]
STATUSES = ["AUTHORISED", "PAID", "VOIDED", "DELETED"]
LEDGERS = ["xero-1", "xero-2"]
Row = tuple[Any, ...]


def ledger_store() -> Store:
    store = Store(":memory:", clock=lambda: T0)
    workspace = store.add_workspace("Acme Ltd", "GBP").id
    for ledger in LEDGERS:
        store.add_connection(
            Connection(
                id=ledger,
                workspace_id=workspace,
                provider="xero",
                name=ledger,
                kind="ledger",
                config={},
                created_at=T0,
            ),
            ["ledger_entries"],
        )
    return store


def make_entry(
    object_id: str,
    reference: str,
    *,
    ledger: str = "xero-1",
    total: str = "10",
    status: str = "AUTHORISED",
    currency: str = "GBP",
    object_type: str = "ACCREC",
) -> LedgerEntry:
    return LedgerEntry(
        connection_id=ledger,
        object_id=object_id,
        object_type=object_type,
        reference=reference,
        currency=currency,
        total=Decimal(total),
        status=status,
        date=date(2026, 10, 1),
        updated_at=T0,
    )


def stored(con: duckdb.DuckDBPyConnection) -> list[Row]:
    return [tuple(row) for row in con.sql("SELECT * FROM ledger_summary ORDER BY ALL").fetchall()]


def recomputed(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """The summary rebuilt from scratch by the write path's own statement, then rolled back."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM ledger_summary")
        con.execute(
            sql.load("ledger_summary_insert"), {"connection_id": None, "settlement_ids": None}
        )
        return stored(con)
    finally:
        con.execute("ROLLBACK")


def expected(entries: dict[tuple[str, str], LedgerEntry]) -> list[Row]:
    """The summary by hand, in Python, from the latest version of every entry."""
    groups: dict[tuple[str, str], dict[str, list[LedgerEntry]]] = defaultdict(dict)
    for (ledger, _), item in entries.items():
        named = settlement_of(item.reference)
        if named is not None and item.status not in ("VOIDED", "DELETED"):
            groups[(ledger, named)].setdefault(item.reference, []).append(item)
    rows: list[Row] = []
    for (ledger, named), by_reference in groups.items():
        firsts = [min(group, key=lambda e: e.object_id) for group in by_reference.values()]
        signed = [-e.total if e.object_type == "ACCPAY" else e.total for e in firsts]
        every = [e for group in by_reference.values() for e in group]
        currencies = sorted({e.currency for e in every})
        low, high = min(e.currency for e in firsts), max(e.currency for e in firsts)
        repeats = [
            {
                "object_id": e.object_id,
                "reference": e.reference,
                "currency": e.currency,
                "signed": -e.total if e.object_type == "ACCPAY" else e.total,
                "date": e.date,
            }
            for e in sorted(every, key=lambda e: e.object_id)
        ]
        rows.append(
            (ledger, named, len(every), len(firsts), sum(signed, Decimal(0)), low, high,
             ", ".join(currencies), repeats if len(every) > len(firsts) else None)
        )  # fmt: skip
    return sorted(rows)


def head(rows: list[Row]) -> list[Row]:
    """The rows without their repeated entries."""
    return [row[:8] for row in rows]


def summary_of(store: Store) -> tuple[list[Row], list[Row]]:
    with store.read() as con:
        return stored(con), recomputed(con)


def save(store: Store, *entries: LedgerEntry, ledger: str = "xero-1") -> None:
    store.save_ledger_entries(ledger, "ledger_entries", list(entries), cursor=None)


def test_a_synced_posting_in_two_parts_is_one_row_with_both_parts() -> None:
    store = ledger_store()
    save(
        store,
        make_entry("i1", REFERENCES[1], total="60"),
        make_entry("i2", REFERENCES[2], total="5", object_type="ACCPAY"),
    )
    rows, again = summary_of(store)
    assert rows == [("xero-1", STL[0], 2, 2, Decimal("55"), "GBP", "GBP", "GBP", None)]
    assert rows == again


def test_a_repeated_reference_counts_once_in_the_total_but_twice_in_the_entries() -> None:
    store = ledger_store()
    save(store, make_entry("i2", REFERENCES[3], total="7"), make_entry("i1", REFERENCES[3]))
    rows, again = summary_of(store)
    assert head(rows) == [("xero-1", STL[1], 2, 1, Decimal("10"), "GBP", "GBP", "GBP")]
    assert [(e["object_id"], e["signed"]) for e in rows[0][8]] == [("i1", 10), ("i2", 7)]
    assert rows == again


def test_editing_a_reference_moves_the_entry_to_the_settlement_it_names_now() -> None:
    store = ledger_store()
    save(store, make_entry("i1", REFERENCES[0]), make_entry("i2", REFERENCES[3]))
    save(store, make_entry("i1", REFERENCES[3], total="4"))
    rows, again = summary_of(store)
    assert head(rows) == [("xero-1", STL[1], 2, 1, Decimal("4"), "GBP", "GBP", "GBP")]
    assert rows == again
    save(store, make_entry("i1", "PO-1"), make_entry("i2", "PO-2"))
    assert summary_of(store) == ([], [])


def test_voiding_or_deleting_the_last_live_entry_removes_the_row() -> None:
    store = ledger_store()
    save(store, make_entry("i1", REFERENCES[0]), make_entry("i2", REFERENCES[3]))
    save(store, make_entry("i1", REFERENCES[0], status="VOIDED"))
    save(store, make_entry("i2", REFERENCES[3], status="DELETED"))
    assert summary_of(store) == ([], [])
    save(store, make_entry("i2", REFERENCES[3], status="PAID"))
    assert head(summary_of(store)[0]) == [
        ("xero-1", STL[1], 1, 1, Decimal("10"), "GBP", "GBP", "GBP")
    ]


def test_each_ledger_connection_keeps_its_own_rows() -> None:
    store = ledger_store()
    save(store, make_entry("i1", REFERENCES[0]))
    save(store, make_entry("i1", REFERENCES[0], ledger="xero-2", total="3"), ledger="xero-2")
    rows, again = summary_of(store)
    assert [row[:5] for row in rows] == [
        ("xero-1", STL[0], 1, 1, Decimal("10")),
        ("xero-2", STL[0], 1, 1, Decimal("3")),
    ]
    assert rows == again


def test_mixed_currencies_are_kept_apart_and_listed() -> None:
    store = ledger_store()
    save(
        store,
        make_entry("i1", REFERENCES[1], currency="USD"),
        make_entry("i2", REFERENCES[2], currency="GBP"),
        make_entry("i3", REFERENCES[2], currency="EUR"),
    )
    rows, again = summary_of(store)
    assert head(rows) == [("xero-1", STL[0], 3, 2, Decimal("20"), "GBP", "USD", "EUR, GBP, USD")]
    assert rows == again


def test_a_failed_save_leaves_the_summary_as_it_was() -> None:
    store = ledger_store()
    save(store, make_entry("i1", REFERENCES[0]))
    before = summary_of(store)
    with pytest.raises(RuntimeError, match="later step failed"):
        void_then_fail(store)
    assert summary_of(store) == before


def void_then_fail(store: Store) -> None:
    """Void the entry inside a transaction that then fails, checking the summary saw it."""
    with store.transaction() as con:
        write_ledger_entries(con, "xero-1", [make_entry("i1", REFERENCES[0], status="VOIDED")])
        assert stored(con) == []
        raise RuntimeError("a later step failed")


_ENTRY = st.builds(
    make_entry,
    st.sampled_from(["i1", "i2", "i3", "i4", "i5"]),
    st.sampled_from(REFERENCES),
    ledger=st.sampled_from(LEDGERS),
    total=st.sampled_from(["0", "1.5", "10", "99.9999"]),
    status=st.sampled_from(STATUSES),
    currency=st.sampled_from(["GBP", "USD"]),
    object_type=st.sampled_from(["ACCREC", "ACCPAY"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_ENTRY, max_size=6), min_size=1, max_size=5))
def test_after_any_sequence_of_syncs_the_summary_equals_a_recomputation(
    saves: list[list[LedgerEntry]],
) -> None:
    store = ledger_store()
    latest: dict[tuple[str, str], LedgerEntry] = {}
    for chunk in saves:
        for ledger in LEDGERS:
            mine = [e for e in chunk if e.connection_id == ledger]
            save(store, *mine, ledger=ledger)
            latest.update({(ledger, e.object_id): e for e in mine})
    rows, again = summary_of(store)
    assert rows == again == expected(latest)


def test_posting_failing_and_voiding_through_the_outbox_keep_the_summary() -> None:
    store = ledger_store()
    reference = settlement_reference(STL[2])
    with store.read() as con:
        first = outbox.begin(
            con, settlement_id=STL[2], ledger_connection_id="xero-1", generation=1,
            idempotency_key="k1", reference=reference, request_digest="r", at=T0,
        )  # fmt: skip
    with store.read() as con:
        outbox.mark_failed(
            con, first, message="half sent", objects=[{"id": "i1"}], response_digest=None,
            entries=[make_entry("i1", reference, total="12")], at=T0,
        )  # fmt: skip
    assert head(summary_of(store)[0]) == [
        ("xero-1", STL[2], 1, 1, Decimal("12"), "GBP", "GBP", "GBP")
    ]
    with store.read() as con:
        outbox.mark_voided(
            con, first, objects=[{"id": "i1"}],
            entries=[make_entry("i1", reference, total="12", status="VOIDED")], at=T0,
        )  # fmt: skip
    assert summary_of(store) == ([], [])
    with store.read() as con:
        second = outbox.begin(
            con, settlement_id=STL[2], ledger_connection_id="xero-1", generation=2,
            idempotency_key="k2", reference=reference, request_digest="r", at=T0,
        )  # fmt: skip
        outbox.mark_posted(
            con, second, objects=[{"id": "i2"}], response_digest="d",
            entries=[make_entry("i2", reference, total="13")], at=T0,
        )  # fmt: skip
    rows, again = summary_of(store)
    assert rows == [("xero-1", STL[2], 1, 1, Decimal("13"), "GBP", "GBP", "GBP", None)] == again
