"""Analyst sessions over a database the product built: views, scoping, snapshots, concurrency.

`build` makes the database with the real code on a simulated clock (in-process sandboxes):
Acme Ltd syncs four months of Amazon US, loses its grant for six weeks while Amazon hides those
settlements, reconnects, and posts to Xero; Other Ltd, in the same file, syncs its own Amazon DE
seller and posts too, so that any leak between workspaces would show.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from connectors.clock import SimulatedClock
from connectors.oauth import store_initial_token
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from connectors.sandbox.xero import XeroSandbox
from connectors.secrets import MemoryKeyring, SecretStore
from reconcile.analyst import VIEWS, AnalystError, Limits, open_session
from reconcile.models import Connection
from reconcile.store import Store
from tests.workbench.conftest import START, World
from workbench.connecting import Credentials, Endpoints, connect, reconnect
from workbench.posting import post_workspace
from workbench.runtime import Runtime
from workbench.sync import sync_connection

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analyst-views.md"


@dataclass(frozen=True)
class Built:
    db: Path
    acme: str
    other: str
    hidden: int  # Acme's settlements Amazon hid during the disconnect
    end: datetime  # the simulated clock when the story ended


def build(path: Path) -> Built:
    """The database of the module docstring, made by sync, reconnect and post."""
    clock = SimulatedClock(START)
    first = (START - timedelta(days=120)).replace(hour=0, minute=0, second=0, microsecond=0)
    sellers = {
        "seller": SellerSpec(start=first),
        "other": SellerSpec(start=first, currency="EUR", marketplace="DE", lines_per_group=5),
    }
    amazon, xero = AmazonSandbox(clock, sellers=sellers), XeroSandbox(clock)
    rt = Runtime(
        store=Store(path),
        secrets=SecretStore(MemoryKeyring()),
        home=path.parent / "home",
        clock=clock,
        transport=transport(amazon, xero),
    )
    acme = rt.store.add_workspace("Acme Ltd", "USD").id
    other = rt.store.add_workspace("Other Ltd", "EUR").id
    world = World(clock, amazon, xero, rt, acme)
    us = world.amazon_connection("Amazon US")
    de = _amazon(world, other, "Amazon DE", "other")
    for connection in (us, de):
        sync_connection(rt, connection)
    hidden = _disconnect(world, us, weeks=6)
    for workspace in (acme, other):
        _connect_xero(world, path, workspace)
        post_workspace(rt, workspace)
    return Built(path, acme, other, hidden, clock.now())


def _amazon(world: World, workspace_id: str, name: str, seller: str) -> Connection:
    connection = Connection(
        id=f"amazon-{seller}",
        workspace_id=workspace_id,
        provider="amazon",
        name=name,
        kind="channel",
        region="eu",
        config={"client_id": world.amazon.client_id, "marketplaces": ["DE"]},
        created_at=world.clock.now(),
    )
    world.store.add_connection(connection, ("settlements",))
    world.rt.secrets.set(connection.id, "client_secret", world.amazon.client_secret)
    store_initial_token(world.rt.secrets, connection.id, world.amazon.issue_refresh_token(seller))
    return connection


def _disconnect(world: World, connection: Connection, weeks: int) -> int:
    """Revoke the grant; the next `weeks` of settlements never reach a sync; reconnect."""
    world.clock.advance(timedelta(days=1))
    world.amazon.revoke()
    now = world.clock.now()
    hidden = world.amazon.hide("seller", now, now + timedelta(weeks=weeks))
    for _ in range(weeks):
        world.clock.advance(timedelta(days=7))
        sync_connection(world.rt, connection)
    token = world.amazon.issue_refresh_token()
    reconnect(world.app(Path(world.store.path)), connection.id, None, token)
    world.clock.advance(timedelta(days=20))
    sync_connection(world.rt, connection)
    return hidden


def _connect_xero(world: World, path: Path, workspace_id: str) -> None:
    connect(
        world.app(path),
        "xero",
        workspace_ref=workspace_id,
        name="Xero",
        region=None,
        settings={},
        endpoints=Endpoints(),
        credentials=Credentials(
            world.xero.client_id, world.xero.client_secret, world.xero.issue_refresh_token("seller")
        ),
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("analyst") / "wb.duckdb")


# -- the views ---------------------------------------------------------------------------------


def test_every_documented_view_exists_with_exactly_the_documented_columns(built: Built) -> None:
    documented = documented_views()
    with open_session(built.db, "Acme Ltd", as_of=built.end) as s:
        assert set(documented) == set(VIEWS) == set(s.views)
        for view, columns in documented.items():
            described = s.sql(f"DESCRIBE {view}")
            actual = dict(zip(described["column_name"], described["column_type"], strict=True))
            assert actual == columns, view


def documented_views() -> dict[str, dict[str, str]]:
    """Each `## v_name` section's table rows: | `column` | TYPE | meaning |."""
    views: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## `(v_\w+)`", line)
        if heading:
            current = views.setdefault(heading[1], {})
            continue
        row = re.match(r"^\| `(\w+)` \| `([^`]+)` \|", line)
        if row and current is not None:
            current[row[1]] = row[2]
    return views


def test_money_is_decimal_18_4_with_a_currency_column_and_instants_are_utc(built: Built) -> None:
    with open_session(built.db, as_of=built.end, workspace="acme-ltd") as s:
        for view in VIEWS:
            schema = s.sql(f"SELECT * FROM {view} LIMIT 0").schema
            money = [name for name, dtype in schema.items() if isinstance(dtype, pl.Decimal)]
            assert all(schema[name] == pl.Decimal(18, 4) for name in money), view
            assert not money or "currency" in schema, view
            for name, dtype in schema.items():
                if isinstance(dtype, pl.Datetime):
                    assert dtype.time_zone == "UTC", (view, name)


def test_views_agree_with_the_store(built: Built) -> None:
    store = Store(built.db)
    with open_session(built.db, "Acme Ltd", as_of=built.end) as s:
        settlements = s.sql("SELECT settlement_id, net, line_count FROM v_settlements")
        lines = s.sql(
            "SELECT settlement_id, sum(amount) AS total, count(*) AS n "
            "FROM v_settlement_lines GROUP BY ALL"
        )
        posted = s.sql("SELECT settlement_id FROM v_postings WHERE state = 'posted'")
    stored = store.settlements(built.acme)
    assert sorted(settlements["settlement_id"]) == sorted(stored["id"])
    joined = settlements.join(lines, on="settlement_id")
    assert joined.filter(pl.col("net") != pl.col("total")).is_empty()
    assert (joined["line_count"] == joined["n"]).all()
    assert set(posted["settlement_id"]) <= set(stored["id"])
    assert posted.height == stored.filter(pl.col("posting_status") == "posted").height


def test_the_disconnect_shows_as_a_gap_with_its_cause_and_estimate_per_currency(
    built: Built,
) -> None:
    with open_session(built.db, "Acme Ltd", as_of=built.end) as s:
        [gap] = s.sql("SELECT * FROM v_gaps WHERE kind = 'coverage'").rows(named=True)
        estimates = s.sql(f"SELECT * FROM v_gap_estimates WHERE gap_id = '{gap['gap_id']}'")
        health = s.sql("SELECT state, count(*) AS n FROM v_health_intervals GROUP BY ALL")
    assert gap["expected_settlements"] == built.hidden
    assert gap["cause"].startswith("disconnected")
    assert gap["recoverable"] is True
    assert estimates["currency"].to_list() == ["USD"]
    assert estimates["amount"][0] == gap["estimate"][0]["amount"] > Decimal(0)
    assert dict(health.iter_rows())["disconnected"] >= 1


# -- one workspace per session -------------------------------------------------------------------


def test_a_session_sees_only_its_own_workspace_through_every_view(built: Built) -> None:
    with open_session(built.db, "Other Ltd", as_of=built.end) as other:
        theirs = {view: other.sql(f"SELECT * FROM {view}") for view in VIEWS}
    with open_session(built.db, "Acme Ltd", as_of=built.end) as acme:
        ours = {view: acme.sql(f"SELECT * FROM {view}") for view in VIEWS}
    for view in ("v_settlements", "v_settlement_lines", "v_connection_events", "v_postings"):
        assert ours[view].height and theirs[view].height, view
        assert not set(ours[view]["connection_id"]) & set(theirs[view]["connection_id"]), view
    assert set(theirs["v_settlements"]["currency"]) == {"EUR"}
    assert set(ours["v_settlements"]["currency"]) == {"USD"}
    assert set(ours["v_connections"]["connection"]) == {"Amazon US", "Xero"}
    assert not set(ours["v_ledger_entries"]["object_id"]) & set(
        theirs["v_ledger_entries"]["object_id"]
    )


def test_without_a_workspace_a_database_with_two_says_which_exist(built: Built) -> None:
    with pytest.raises(AnalystError, match=r"2 workspaces \(Acme Ltd \(acme-ltd\), Other Ltd"):
        open_session(built.db)
    with pytest.raises(AnalystError, match="no workspace 'Nope'"):
        open_session(built.db, "Nope")


def test_a_missing_file_is_not_created_and_the_error_says_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.duckdb"
    with pytest.raises(AnalystError, match="workbench init"):
        open_session(missing)
    assert not missing.exists()


def test_a_closed_session_says_so(built: Built) -> None:
    session = open_session(built.db, "Acme Ltd")
    session.close()
    with pytest.raises(AnalystError, match="closed"):
        session.sql("SELECT 1")


# -- snapshots and the file ------------------------------------------------------------------


def test_a_session_is_a_snapshot_and_leaves_the_file_to_writers(
    built: Built, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(built.db.read_bytes())
    session = open_session(copy, "Acme Ltd", as_of=built.end)
    store = Store(copy)
    store.add_workspace("Later Ltd", "GBP")  # the file is free: the session holds nothing

    before = session.sql("SELECT count(*) AS n FROM v_settlements")["n"][0]
    with store.transaction() as con:
        con.execute("DELETE FROM settlement_lines")
    assert session.sql("SELECT count(*) AS n FROM v_settlements")["n"][0] == before
    with open_session(copy, "Acme Ltd") as fresh:
        assert fresh.sql("SELECT count(*) AS n FROM v_settlement_lines")["n"][0] == 0


def test_sessions_open_while_the_store_writes_in_the_same_process(
    built: Built, tmp_path: Path
) -> None:
    copy = tmp_path / "busy.duckdb"
    copy.write_bytes(built.db.read_bytes())
    store, stop = Store(copy), threading.Event()
    written, failures = [], []

    def write() -> None:
        while not stop.is_set():
            try:
                store.audit("analyst_test", "busy", {"n": len(written)})
                written.append(1)
            except duckdb.ResourceInUseException as error:
                # The store's own race between a thread closing the file's last connection and
                # another opening it, which two store threads alone also hit: not the session's.
                if "Unique file handle conflict" not in str(error):
                    failures.append(error)
            except Exception as error:  # any other failure of the writer fails the test
                failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(8):
            with open_session(copy, "Acme Ltd", as_of=built.end) as s:
                assert s.sql("SELECT count(*) AS n FROM v_settlements")["n"][0] > 0
    finally:
        stop.set()
        writer.join()
    assert failures == []
    assert written
    audited = Store(copy).events()  # the file is still a sound database
    assert audited.height > 0


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("BEGIN TRANSACTION")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def test_a_session_waits_for_another_process_that_holds_the_file(
    built: Built, tmp_path: Path
) -> None:
    copy = tmp_path / "held.duckdb"
    copy.write_bytes(built.db.read_bytes())
    command = [sys.executable, "-c", HOLDER, str(copy), "1.5"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(AnalystError, match="in use by another process"):
            open_session(copy, "Acme Ltd", busy_timeout=0.2)
        started = time.monotonic()
        with open_session(copy, "Acme Ltd", busy_timeout=30) as s:
            assert s.views["v_settlements"] > 0
        assert time.monotonic() - started < 10
        assert holder.wait(timeout=30) == 0


def test_the_session_time_is_the_moment_gaps_are_computed_for(built: Built) -> None:
    early = built.end - timedelta(days=30)
    with open_session(built.db, "Acme Ltd", as_of=early) as s:
        assert s.as_of == early
        ends = s.sql('SELECT max("end") AS e FROM v_health_intervals')["e"][0]
    assert ends == early
    with pytest.raises(AnalystError, match="timezone-aware"):
        open_session(built.db, "Acme Ltd", as_of=datetime(2026, 1, 1))


def test_limits_are_checked_and_described() -> None:
    assert Limits().describe() == "10 s and 1,000 rows per cell"
    with pytest.raises(ValueError, match="positive"):
        Limits(seconds=0)
    assert Limits(seconds=2.5, rows=50).describe() == "2.5 s and 50 rows per cell"


def test_the_session_names_its_workspace_time_and_views(built: Built) -> None:
    moment = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with open_session(built.db, "Other Ltd", as_of=moment) as s:
        text = repr(s)
    assert "'Other Ltd' (other-ltd) as of 2026-11-02 09:30 UTC" in text
    assert "v_gap_estimates (" in text
