"""The store: workspaces, connections, events, settlements, ledger entries, connection status."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import sql
from reconcile.models import (
    SECRET_NAMES,
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
    Source,
)
from reconcile.rows import content_hash, settlement_id
from reconcile.store import NotFound, SaveCounts, Store, StoreError

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def make_store() -> Store:
    return Store(":memory:", clock=lambda: T0)


def connection(
    id_: str = "amz-1", workspace_id: str = "acme-ltd", name: str = "Amazon UK", **extra: object
) -> Connection:
    fields = {"provider": "amazon", "kind": "channel", "created_at": T0, **extra}
    fields.update(id=id_, workspace_id=workspace_id, name=name)
    return Connection.model_validate(fields)


def seeded(feeds: Sequence[str] = ("settlements",)) -> Store:
    store = make_store()
    store.add_workspace("Acme Ltd", "GBP")
    store.add_connection(connection(), feeds)
    return store


def batch(
    provider_id: str = "S1",
    amounts: Sequence[str] = ("100.00", "-12.50"),
    *,
    connection_id: str = "amz-1",
    source: Source = Source.API,
    net: str | None = None,
    start: datetime = T0,
) -> SettlementBatch:
    lines = tuple(
        SettlementLine(
            category=LineCategory.SALE if Decimal(a) > 0 else LineCategory.FEE,
            amount=Decimal(a),
            description=f"line {n}",
            order_id=f"o-{n}" if n % 2 else None,
            posted_at=start + timedelta(hours=n),
        )
        for n, a in enumerate(amounts)
    )
    settlement = Settlement(
        connection_id=connection_id,
        provider_settlement_id=provider_id,
        period_start=start,
        period_end=start + timedelta(days=14),
        deposit_date=(start + timedelta(days=16)).date(),
        currency="GBP",
        net=Decimal(net) if net is not None else sum((Decimal(a) for a in amounts), Decimal(0)),
        status=SettlementStatus.CLOSED,
        source=source,
    )
    return SettlementBatch(settlement, lines)


def event(kind: EventKind, at: datetime, **extra: object) -> ConnectionEvent:
    fields = {"connection_id": "amz-1", "at": at, "kind": kind, **extra}
    return ConnectionEvent.model_validate(fields)


def table_count(store: Store, table: str) -> int:
    with store.read() as con:
        return int(con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def insert_then_fail(store: Store) -> None:
    with store.transaction() as con:
        con.execute("INSERT INTO workspaces VALUES ('a', 'A', 'GBP', now())")
        raise RuntimeError("midway")


# -- units of work -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["memory", "file"])
def test_a_transaction_that_raises_midway_leaves_nothing_behind(where: str, tmp_path: Path) -> None:
    store = make_store() if where == "memory" else Store(tmp_path / "w.duckdb")
    with pytest.raises(RuntimeError, match="midway"):
        insert_then_fail(store)
    assert store.workspaces() == []


def test_a_fresh_file_is_created_and_migrated_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "w.duckdb"
    store = Store(path)
    assert store.workspaces() == []
    assert path.exists()
    with store.read() as con:
        version = con.sql("SELECT max(version) FROM schema_migrations").fetchall()
    assert version == [(len(sql.migrations()),)]


def test_a_file_that_is_not_a_database_gives_a_store_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError, match=r"cannot open the database .*notes\.duckdb"):
        Store(path).workspaces()


def test_every_sql_file_holds_exactly_one_statement() -> None:
    con = duckdb.connect()
    for name in sql.statement_names():
        assert len(con.extract_statements(sql.load(name))) == 1, name


def test_sql_load_refuses_a_path_for_a_name() -> None:
    with pytest.raises(ValueError, match="not a statement name"):
        sql.load("../migrations/0001_initial")


# -- workspaces ----------------------------------------------------------------------------------


def test_add_workspace_slugs_its_name_into_the_id_and_upper_cases_the_currency() -> None:
    store = make_store()
    workspace = store.add_workspace("  Café Zürich & Co. ", "chf")
    assert (workspace.id, workspace.name, workspace.base_currency) == (
        "cafe-zurich-co",
        "Café Zürich & Co.",
        "CHF",
    )
    assert store.workspaces() == [workspace]


def test_a_name_whose_slug_is_taken_gets_a_numbered_id() -> None:
    store = make_store()
    store.add_workspace("Acme Ltd", "GBP")
    assert store.add_workspace("Acme, Ltd.", "GBP").id == "acme-ltd-2"


def test_a_duplicate_workspace_name_is_refused() -> None:
    store = make_store()
    store.add_workspace("Acme Ltd", "GBP")
    with pytest.raises(StoreError, match="'Acme Ltd' already exists"):
        store.add_workspace("Acme Ltd", "EUR")
    assert len(store.workspaces()) == 1


@pytest.mark.parametrize(("name", "currency"), [("Acme", "pounds"), ("", "GBP"), ("Acme", "G1P")])
def test_a_workspace_needs_a_name_and_an_iso_currency(name: str, currency: str) -> None:
    with pytest.raises(StoreError, match="three-letter ISO code"):
        make_store().add_workspace(name, currency)


def test_a_workspace_is_found_by_id_by_name_or_by_name_in_any_case() -> None:
    store = make_store()
    acme = store.add_workspace("Acme Ltd", "GBP")
    assert store.workspace("acme-ltd") == acme
    assert store.workspace("Acme Ltd") == acme
    assert store.workspace("ACME LTD") == acme


def test_an_unknown_workspace_lists_the_known_ones() -> None:
    store = make_store()
    with pytest.raises(NotFound, match="none yet; create one"):
        store.workspace("acme")
    store.add_workspace("Acme Ltd", "GBP")
    known = r"no workspace 'Bolt'; known workspaces: Acme Ltd \(acme-ltd\)"
    with pytest.raises(NotFound, match=known):
        store.workspace("Bolt")


# -- connections and feeds -----------------------------------------------------------------------


def test_add_connection_keeps_its_config_and_starts_every_feed_running() -> None:
    store = make_store()
    store.add_workspace("Acme Ltd", "GBP")
    amazon = connection(region="eu", config={"marketplaces": ["A1F83G8C2ARO7P"]})
    store.add_connection(amazon, ["settlements", "finances", "settlements"])
    assert store.connection("amz-1") == amazon
    assert store.connections("acme-ltd") == [amazon]
    assert [(f.name, f.paused) for f in store.feeds("amz-1")] == [
        ("finances", False),
        ("settlements", False),
    ]


def test_add_connection_refuses_a_secret_in_its_config() -> None:
    store = seeded()
    leaky = connection(id_="x-1", name="Xero", config={"oauth": {"refresh_token": "rt-123"}})
    with pytest.raises(StoreError, match="'refresh_token' looks like a secret"):
        store.add_connection(leaky, ["ledger_entries"])
    assert [c.id for c in store.connections()] == ["amz-1"]


REQUIRED_SECRET_NAMES = [
    "access_token",
    "refresh_token",
    "client_secret",
    "code",
    "code_verifier",
    "token",
    "id_token",
    "password",
    "api_key",
    "apikey",
    "app_secret",
    "consumer_key",
    "consumer_secret",
    "oauth_signature",
    "signature",
    "sign",
    "spapi_oauth_code",
    "x-amz-signature",
    "x-amz-security-token",
    "secret",
]


def test_the_secret_names_cover_every_credential_the_providers_use() -> None:
    assert set(REQUIRED_SECRET_NAMES) <= SECRET_NAMES
    assert all(name == name.lower() for name in SECRET_NAMES)


@pytest.mark.parametrize(
    "config",
    [
        *({name: "x"} for name in REQUIRED_SECRET_NAMES),
        {"Client-Secret": "x"},
        {"X-Amz-Signature": "x"},
        {"accounts": [{"region": "eu"}, {"api_key": "x"}]},
    ],
)
def test_add_connection_refuses_every_secret_looking_key_in_any_case_or_nesting(
    config: dict[str, Any],
) -> None:
    store = seeded()
    with pytest.raises(StoreError, match="looks like a secret; secrets belong in the keyring"):
        store.add_connection(connection(id_="x-1", name="Xero", config=config), ["ledger_entries"])
    assert [c.id for c in store.connections()] == ["amz-1"]


def test_add_connection_to_an_unknown_workspace_is_not_found() -> None:
    store = make_store()
    with pytest.raises(NotFound, match="no workspace 'acme-ltd'"):
        store.add_connection(connection(), ["settlements"])


def test_add_connection_with_a_name_taken_in_the_workspace_is_refused_and_stores_nothing() -> None:
    store = seeded()
    with pytest.raises(StoreError, match="already has a connection named 'Amazon UK'"):
        store.add_connection(connection(id_="amz-2"), ["finances"])
    assert store.feeds("amz-2") == []


def test_a_connection_is_found_by_name_within_a_workspace() -> None:
    store = seeded()
    store.add_workspace("Bolt", "EUR")
    bolt = connection(id_="amz-9", workspace_id="bolt")
    store.add_connection(bolt, ["settlements"])
    assert store.connection("Amazon UK", workspace="Bolt") == bolt
    assert store.connection("amz-9") == bolt


def test_a_connection_name_in_two_workspaces_asks_for_the_workspace_or_id() -> None:
    store = seeded()
    store.add_workspace("Bolt", "EUR")
    store.add_connection(connection(id_="amz-9", workspace_id="bolt"), ["settlements"])
    with pytest.raises(StoreError, match=r"2 connections are named 'Amazon UK'.*--workspace"):
        store.connection("Amazon UK")


def test_an_unknown_connection_lists_the_known_ones() -> None:
    known = r"no connection 'ebay'; known connections: Amazon UK \(amz-1\)"
    with pytest.raises(NotFound, match=known):
        seeded().connection("ebay")


def test_a_removed_connection_leaves_the_listings_but_keeps_its_history() -> None:
    store = seeded()
    store.record_event(event(EventKind.CONNECTED, T0))
    store.remove_connection("amz-1")
    assert store.connections() == []
    with pytest.raises(NotFound):
        store.connection("amz-1")
    with pytest.raises(NotFound, match="no live connection 'amz-1'"):
        store.remove_connection("amz-1")
    assert store.events()["kind"].to_list() == ["connected"]


def test_grant_expiry_is_set_and_cleared() -> None:
    store = seeded()
    due = T0 + timedelta(days=365)
    store.set_grant_expiry("amz-1", due)
    assert store.connection_status(as_of=T0)["grant_expires_at"].to_list() == [due]
    store.set_grant_expiry("amz-1", None)
    assert store.connection_status(as_of=T0)["grant_expires_at"].to_list() == [None]
    with pytest.raises(NotFound, match="no connection 'nope'"):
        store.set_grant_expiry("nope", due)


def test_a_naive_grant_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        seeded().set_grant_expiry("amz-1", datetime(2025, 1, 1))


def test_one_feed_is_paused_and_resumed_while_the_other_keeps_running() -> None:
    store = seeded(feeds=["settlements", "finances"])
    store.set_feed_paused("amz-1", "finances", True)
    paused = {feed.name: feed.paused for feed in store.feeds("amz-1")}
    assert paused == {"finances": True, "settlements": False}
    store.set_feed_paused("amz-1", "finances", False)
    assert not any(f.paused for f in store.feeds("amz-1"))
    with pytest.raises(NotFound, match="no feed 'ads'"):
        store.set_feed_paused("amz-1", "ads", True)


# -- events and cursors --------------------------------------------------------------------------


def test_events_come_back_oldest_first_with_the_connection_name() -> None:
    store = seeded()
    failed = event(
        EventKind.SYNC_FAILED,
        T0 + timedelta(hours=1),
        feed="settlements",
        error_class=ErrorClass.TRANSIENT,
        http_status=503,
        request_id="req-1",
        detail="upstream unavailable",
        raw="<html>",
    )
    store.record_event(failed)
    store.record_event(event(EventKind.SYNC_STARTED, T0, counts={"pages": 2}))
    frame = store.events(connection_id="amz-1")
    assert frame.columns == [
        "connection_id", "connection", "at", "kind", "feed", "error_class",
        "http_status", "request_id", "detail", "counts",
    ]  # fmt: skip
    assert frame.select("kind", "at", "counts").rows() == [
        ("sync_started", T0, '{"pages": 2}'),
        ("sync_failed", T0 + timedelta(hours=1), "{}"),
    ]
    assert frame.row(1, named=True)["error_class"] == "transient"
    assert frame.row(1, named=True)["http_status"] == 503


def test_events_are_filtered_by_workspace() -> None:
    store = seeded()
    store.add_workspace("Bolt", "EUR")
    store.add_connection(connection(id_="amz-9", workspace_id="bolt"), ["settlements"])
    store.record_event(event(EventKind.CONNECTED, T0))
    store.record_event(event(EventKind.CONNECTED, T0).model_copy(update={"connection_id": "amz-9"}))
    assert store.events(workspace_id="bolt")["connection_id"].to_list() == ["amz-9"]
    assert store.events()["connection_id"].to_list() == ["amz-1", "amz-9"]


def test_an_event_written_in_a_failed_transaction_is_rolled_back() -> None:
    store = seeded()
    with pytest.raises(RuntimeError, match="sync crashed"):
        record_then_fail(store)
    assert store.events().is_empty()


def record_then_fail(store: Store) -> None:
    with store.transaction() as con:
        store.record_event_in(con, event(EventKind.SYNC_STARTED, T0))
        raise RuntimeError("sync crashed")


def test_the_cursor_is_none_before_the_first_window_and_never_moves_back() -> None:
    store = seeded()
    assert store.cursor("amz-1", "settlements") is None
    store.save_window("amz-1", "settlements", [], cursor=T0 + timedelta(days=10))
    store.save_window("amz-1", "settlements", [], cursor=T0 + timedelta(days=3))
    assert store.cursor("amz-1", "settlements") == T0 + timedelta(days=10)
    store.save_window("amz-1", "settlements", [], cursor=None)
    assert store.cursor("amz-1", "settlements") == T0 + timedelta(days=10)
    store.save_window("amz-1", "settlements", [], cursor=T0 + timedelta(days=11))
    assert store.cursor("amz-1", "settlements") == T0 + timedelta(days=11)
    assert store.cursor("amz-1", "finances") is None


# -- settlements ---------------------------------------------------------------------------------


def test_save_window_stores_settlement_lines_cursor_and_event_together() -> None:
    store = seeded()
    done = event(EventKind.SYNC_SUCCEEDED, T0 + timedelta(days=15), counts={"settlements": 1})
    counts = store.save_window(
        "amz-1", "settlements", [batch()], cursor=T0 + timedelta(days=15), event=done
    )
    assert counts == SaveCounts(inserted=1, updated=0, unchanged=0, lines=2)
    row = store.settlements().row(0, named=True)
    assert row["id"] == settlement_id("amz-1", "S1")
    assert (row["connection"], row["provider"], row["provider_settlement_id"]) == (
        "Amazon UK",
        "amazon",
        "S1",
    )
    assert (row["net"], row["line_count"], row["status"], row["source"]) == (
        Decimal("87.5000"),
        2,
        "closed",
        "api",
    )
    assert (row["period_start"], row["deposit_date"]) == (T0, date(2024, 3, 17))
    assert row["posting_status"] == "unposted"
    lines = store.settlement_lines(row["id"])
    assert lines.select("line_no", "category", "amount", "order_id").rows() == [
        (1, "sale", Decimal("100.0000"), None),
        (2, "fee", Decimal("-12.5000"), "o-1"),
    ]
    assert lines["posted_at"].to_list() == [T0, T0 + timedelta(hours=1)]
    assert store.cursor("amz-1", "settlements") == T0 + timedelta(days=15)
    assert store.events()["kind"].to_list() == ["sync_succeeded"]


def test_saving_the_same_settlement_again_changes_nothing() -> None:
    store = seeded()
    store.save_window("amz-1", "settlements", [batch()], cursor=None)
    again = store.save_window("amz-1", "settlements", [batch()], cursor=None)
    assert again == SaveCounts(inserted=0, updated=0, unchanged=1, lines=0)
    assert table_count(store, "settlement_lines") == 2


def test_a_changed_settlement_has_its_totals_updated_and_its_lines_replaced() -> None:
    store = seeded()
    store.save_window("amz-1", "settlements", [batch("S1"), batch("S2")], cursor=None)
    revised = batch("S1", ["100.00", "-12.50", "-3.00"])
    counts = store.save_window("amz-1", "settlements", [revised, batch("S2")], cursor=None)
    assert counts == SaveCounts(inserted=0, updated=1, unchanged=1, lines=3)
    frame = store.settlements()
    assert frame.select("provider_settlement_id", "net", "line_count").rows() == [
        ("S1", Decimal("84.5000"), 3),
        ("S2", Decimal("87.5000"), 2),
    ]
    assert table_count(store, "settlement_lines") == 5
    assert store.settlement_lines(settlement_id("amz-1", "S1"))["line_no"].to_list() == [1, 2, 3]


def test_a_settlement_imported_from_a_file_is_left_alone_by_an_identical_api_copy() -> None:
    store = seeded()
    store.save_window("amz-1", "settlements", [batch(source=Source.FILE)], cursor=None)
    counts = store.save_window("amz-1", "settlements", [batch(source=Source.API)], cursor=None)
    assert counts.unchanged == 1
    assert store.settlements()["source"].to_list() == ["file"]


def test_an_api_copy_that_differs_from_the_file_replaces_it() -> None:
    store = seeded()
    store.save_window("amz-1", "settlements", [batch(source=Source.FILE)], cursor=None)
    newer = batch(amounts=["100.00", "-12.00"], source=Source.API)
    assert store.save_window("amz-1", "settlements", [newer], cursor=None).updated == 1
    assert store.settlements().select("net", "source").rows() == [(Decimal("88.0000"), "api")]


def test_the_last_copy_of_a_settlement_within_one_window_wins() -> None:
    store = seeded()
    first, last = batch("S1", ["1.00"]), batch("S1", ["2.00", "3.00"])
    counts = store.save_window("amz-1", "settlements", [first, last], cursor=None)
    assert counts == SaveCounts(inserted=1, updated=0, unchanged=0, lines=2)
    assert store.settlements()["net"].to_list() == [Decimal("5.0000")]


def test_a_window_that_fails_midway_stores_nothing_and_keeps_the_cursor() -> None:
    store = seeded()
    too_big = batch("S2", ["100000000000000.00"], net="0")  # beyond DECIMAL(18,4)
    done = event(EventKind.SYNC_SUCCEEDED, T0)
    with pytest.raises(duckdb.Error):
        store.save_window("amz-1", "settlements", [batch("S1"), too_big], cursor=T0, event=done)
    assert store.settlements().is_empty()
    assert table_count(store, "settlement_lines") == 0
    assert store.cursor("amz-1", "settlements") is None
    assert store.events().is_empty()


def test_a_settlement_of_another_connection_is_refused() -> None:
    with pytest.raises(StoreError, match="settlement S1 belongs to connection 'ebay-1'"):
        seeded().save_window("amz-1", "settlements", [batch(connection_id="ebay-1")], cursor=None)


def test_a_naive_line_timestamp_is_refused() -> None:
    naive = SettlementLine(LineCategory.SALE, Decimal(1), posted_at=datetime(2024, 3, 2))
    bad = SettlementBatch(batch().settlement, (naive,))
    with pytest.raises(ValueError, match="posted_at must be timezone-aware"):
        seeded().save_window("amz-1", "settlements", [bad], cursor=None)


def test_a_given_content_hash_is_kept_and_an_empty_one_is_computed() -> None:
    store = seeded()
    hashed = batch("S2")
    hashed = SettlementBatch(hashed.settlement.model_copy(update={"content_hash": "h-1"}), ())
    store.save_window("amz-1", "settlements", [batch("S1"), hashed], cursor=None)
    with store.read() as con:
        rows = con.sql("SELECT provider_settlement_id, content_hash FROM settlements").fetchall()
    stored = dict(rows)
    assert stored == {"S1": content_hash(batch("S1")), "S2": "h-1"}


def test_the_content_hash_ignores_the_source_and_trailing_zeros_but_not_amounts() -> None:
    assert content_hash(batch(source=Source.FILE)) == content_hash(batch(source=Source.API))
    assert content_hash(batch(amounts=["100.0", "-12.5"])) == content_hash(batch())
    assert content_hash(batch(amounts=["100.00", "-12.51"], net="87.5")) != content_hash(batch())


def test_the_settlement_id_is_deterministic_per_connection_and_provider_id() -> None:
    assert settlement_id("amz-1", "S1") == settlement_id("amz-1", "S1")
    assert settlement_id("amz-1", "S1") != settlement_id("amz-2", "S1")
    assert settlement_id("amz-1", "S1").startswith("stl_")
    assert len(settlement_id("amz-1", "S1")) == 24


def test_stored_hashes_are_found_for_existing_ids_only() -> None:
    store = seeded()
    store.save_window("amz-1", "settlements", [batch("S1"), batch("S2")], cursor=None)
    s1, s9 = settlement_id("amz-1", "S1"), settlement_id("amz-1", "S9")
    with store.read() as con:
        found = con.execute(sql.load("settlement_hashes"), {"ids": [s1, s9, s1]}).fetchall()
        none = con.execute(sql.load("settlement_hashes"), {"ids": []}).fetchall()
    assert found == [(s1, content_hash(batch("S1")))]
    assert none == []


def test_the_posting_status_is_the_latest_postings_state_else_unposted() -> None:
    store = seeded()
    store.save_window("amz-1", "settlements", [batch("S1"), batch("S2")], cursor=None)
    s1 = settlement_id("amz-1", "S1")
    with store.transaction() as con:
        for key, state, updated in [("k1", "voided", T0), ("k2", "posted", T0 + timedelta(1))]:
            con.execute(
                "INSERT INTO postings VALUES ($id, $s, 'xero-1', $key, 'AMZ-S1', $state, '[]', "
                "NULL, NULL, $t, $t)",
                {"id": f"p-{key}", "s": s1, "key": key, "state": state, "t": updated},
            )
    frame = store.settlements()
    assert dict(frame.select("provider_settlement_id", "posting_status").rows()) == {
        "S1": "posted",
        "S2": "unposted",
    }


def test_settlements_are_listed_by_workspace_and_by_connection() -> None:
    store = seeded()
    store.add_workspace("Bolt", "EUR")
    store.add_connection(connection(id_="amz-9", workspace_id="bolt", name="Bolt DE"), ["s"])
    store.save_window("amz-1", "settlements", [batch("S1")], cursor=None)
    store.save_window("amz-9", "s", [batch("S9", connection_id="amz-9")], cursor=None)
    assert store.settlements(workspace_id="bolt")["provider_settlement_id"].to_list() == ["S9"]
    assert store.settlements(connection_id="amz-1")["provider_settlement_id"].to_list() == ["S1"]
    assert store.settlements().height == 2
    assert store.settlements().columns == [
        "id", "connection_id", "connection", "provider", "provider_settlement_id",
        "period_start", "period_end", "deposit_date", "currency", "gross", "fees", "refunds",
        "reserves", "net", "status", "source", "line_count", "posting_status",
    ]  # fmt: skip


settlement_ids = st.sampled_from(["S1", "S2", "S3", "S4"])
amount_lists = st.lists(
    st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False), max_size=4
)
windows = st.lists(st.tuples(settlement_ids, amount_lists), max_size=8)


cut_lists = st.lists(st.integers(min_value=0, max_value=8), max_size=4)
Snapshot = tuple[list[Any], list[Any]]


def save_in_parts(store: Store, batches: Sequence[SettlementBatch], cuts: Sequence[int]) -> None:
    bounds = [0, *sorted(min(cut, len(batches)) for cut in cuts), len(batches)]
    for low, high in itertools.pairwise(bounds):
        store.save_window("amz-1", "settlements", batches[low:high], cursor=None)


def snapshot(store: Store) -> Snapshot:
    with store.read() as con:
        settlements = con.sql(
            "SELECT id, net, line_count, content_hash FROM settlements ORDER BY id"
        ).fetchall()
        lines = con.sql(
            "SELECT settlement_id, line_no, amount FROM settlement_lines ORDER BY ALL"
        ).fetchall()
    return settlements, lines


def expected(batches: Sequence[SettlementBatch]) -> Snapshot:
    """Each provider id once, as its last batch has it."""
    last = {b.settlement.provider_settlement_id: b for b in batches}
    ids = {pid: settlement_id("amz-1", pid) for pid in last}
    settlements = [
        (ids[pid], b.settlement.net, len(b.lines), content_hash(b)) for pid, b in last.items()
    ]
    lines = [
        (ids[pid], number, line.amount)
        for pid, b in last.items()
        for number, line in enumerate(b.lines, start=1)
    ]
    return sorted(settlements), sorted(lines)


@settings(max_examples=30, deadline=None)
@given(windows, cut_lists, cut_lists)
def test_saving_windows_in_any_split_and_again_stores_each_settlement_once(
    window: list[tuple[str, list[Decimal]]], first_cuts: list[int], second_cuts: list[int]
) -> None:
    batches = [batch(pid, [str(a) for a in amounts]) for pid, amounts in window]
    store = seeded()
    save_in_parts(store, batches, first_cuts)
    assert snapshot(store) == expected(batches)
    save_in_parts(store, batches, second_cuts)
    assert snapshot(store) == expected(batches)


# -- ledger entries ------------------------------------------------------------------------------


def entry(object_id: str, total: str, status: str = "AUTHORISED") -> LedgerEntry:
    return LedgerEntry(
        connection_id="xero-1",
        object_id=object_id,
        object_type="ACCREC",
        reference=f"AMZ-{object_id}",
        currency="GBP",
        total=Decimal(total),
        status=status,
        date=date(2024, 3, 17),
        updated_at=T0,
    )


def ledger_store() -> Store:
    store = seeded()
    store.add_connection(connection(id_="xero-1", name="Xero", kind="ledger"), ["ledger_entries"])
    return store


def test_ledger_entries_are_upserted_on_their_object_id() -> None:
    store = ledger_store()
    first = store.save_ledger_entries(
        "xero-1", "ledger_entries", [entry("i1", "10.00"), entry("i2", "20")], cursor=T0
    )
    assert first == SaveCounts(inserted=2, updated=0, unchanged=0, lines=0)
    second = store.save_ledger_entries(
        "xero-1", "ledger_entries", [entry("i1", "10"), entry("i2", "20", "PAID")], cursor=None
    )
    assert second == SaveCounts(inserted=0, updated=1, unchanged=1, lines=0)
    frame = store.ledger_entries("xero-1")
    assert frame.select("object_id", "total", "status").rows() == [
        ("i1", Decimal("10.0000"), "AUTHORISED"),
        ("i2", Decimal("20.0000"), "PAID"),
    ]
    assert store.cursor("xero-1", "ledger_entries") == T0


def test_chunked_ledger_saves_leave_the_cursor_alone_until_the_last_and_add_up() -> None:
    store = ledger_store()
    entries = [entry(f"i{n}", f"{n}.00") for n in range(5)]
    first = store.save_ledger_entries("xero-1", "ledger_entries", entries[:2], cursor=None)
    assert store.cursor("xero-1", "ledger_entries") is None
    second = store.save_ledger_entries("xero-1", "ledger_entries", entries[1:4], cursor=None)
    assert store.cursor("xero-1", "ledger_entries") is None
    last = store.save_ledger_entries("xero-1", "ledger_entries", entries[4:], cursor=T0)
    assert store.cursor("xero-1", "ledger_entries") == T0
    assert first + second + last == SaveCounts(inserted=5, updated=0, unchanged=1, lines=0)
    later = T0 + timedelta(days=1)
    store.save_ledger_entries("xero-1", "ledger_entries", entries[:1], cursor=None)
    assert store.cursor("xero-1", "ledger_entries") == T0
    empty = store.save_ledger_entries("xero-1", "ledger_entries", [], cursor=later)
    assert empty == SaveCounts(inserted=0, updated=0, unchanged=0, lines=0)
    assert store.cursor("xero-1", "ledger_entries") == later
    assert store.ledger_entries("xero-1").height == 5


def test_a_ledger_entry_of_another_connection_is_refused() -> None:
    with pytest.raises(StoreError, match="ledger entry i1 belongs to connection 'xero-1'"):
        ledger_store().save_ledger_entries("amz-1", "x", [entry("i1", "1")], cursor=None)


# -- audit ---------------------------------------------------------------------------------------


def test_audit_appends_who_did_what_with_its_detail_as_json() -> None:
    store = seeded()
    store.audit("post", "stl_1", {"amount": Decimal("12.50"), "ids": ["a"]}, actor="app")
    with store.read() as con:
        frame = con.sql('SELECT "at", actor, action, entity, detail FROM audit_log').pl()
    assert frame.rows() == [(T0, "app", "post", "stl_1", '{"amount": "12.50", "ids": ["a"]}')]
    assert isinstance(frame, pl.DataFrame)
