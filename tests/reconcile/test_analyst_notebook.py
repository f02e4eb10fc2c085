"""Notebook cells: saved per workspace, checked as a whole, run one or all, earlier by name."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from reconcile.analyst import Limits, open_session
from reconcile.models import (
    Connection,
    LineCategory,
    Settlement,
    SettlementBatch,
    SettlementLine,
    SettlementStatus,
)
from reconcile.notebook import (
    Cell,
    NotebookError,
    earlier,
    load,
    problems,
    run_all,
    run_cell,
    save,
)
from reconcile.store import Store

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def small_store(path: Path) -> Store:
    """Acme Ltd (USD, 12 fortnightly Amazon settlements of 3 lines) and Other Ltd (one GBP
    settlement), written through the store as a sync writes them."""
    store = Store(path)
    for name, currency, count in (("Acme Ltd", "USD", 12), ("Other Ltd", "GBP", 1)):
        workspace = store.add_workspace(name, currency)
        connection = Connection(
            id=f"amazon-{workspace.id}",
            workspace_id=workspace.id,
            provider="amazon",
            name="Amazon",
            kind="channel",
            created_at=T0,
        )
        store.add_connection(connection, ("settlements",))
        batches = [_batch(connection.id, currency, n) for n in range(count)]
        store.save_window(connection.id, "settlements", batches, cursor=None)
    return store


def _batch(connection_id: str, currency: str, n: int) -> SettlementBatch:
    start = T0 - timedelta(days=14 * (n + 1))
    sale, fee = Decimal(100 + n), Decimal("-12.50")
    lines = (
        SettlementLine(LineCategory.SALE, sale, "sale", order_id=f"o-{n}"),
        SettlementLine(LineCategory.FEE, fee, "referral fee"),
        SettlementLine(LineCategory.FEE, Decimal("-1.25"), "closing fee"),
    )
    settlement = Settlement(
        connection_id=connection_id,
        provider_settlement_id=f"S-{n}",
        period_start=start,
        period_end=start + timedelta(days=14),
        deposit_date=date(2026, 1, 1) + timedelta(days=14 * n),
        currency=currency,
        gross=sale,
        fees=fee + Decimal("-1.25"),
        net=sale + fee + Decimal("-1.25"),
        status=SettlementStatus.CLOSED,
    )
    return SettlementBatch(settlement, lines)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return small_store(tmp_path / "wb.duckdb")


NOTEBOOK = [
    Cell("markdown", "# Fees per month"),
    Cell("sql", "SELECT date_trunc('month', deposit_date) AS month, currency, sum(fees) AS fees\n"
                "FROM v_settlements GROUP BY ALL", "monthly"),
    Cell("sql", "SELECT count(*) AS months, sum(fees) AS fees FROM monthly"),
    Cell("sql", "SELECT months FROM cell_3 WHERE fees < 0"),
]  # fmt: skip


# -- saving ---------------------------------------------------------------------------------------


def test_cells_are_saved_per_workspace_and_read_back_in_order(store: Store) -> None:
    save(store, "acme-ltd", NOTEBOOK, at=T0)
    save(store, "other-ltd", [Cell("sql", "SELECT 1")], at=T0)
    assert load(store, "acme-ltd") == NOTEBOOK
    assert load(store, "other-ltd") == [Cell("sql", "SELECT 1")]
    save(store, "acme-ltd", NOTEBOOK[:2], at=T0)
    assert load(store, "acme-ltd") == NOTEBOOK[:2]
    assert load(store, "nobody") == []


def test_a_save_is_audited(store: Store) -> None:
    save(store, "acme-ltd", NOTEBOOK, at=T0, actor="app")
    with store.read() as con:
        rows = con.sql("SELECT action, entity, detail::VARCHAR FROM audit_log").fetchall()
    assert rows == [("notebook_saved", "acme-ltd", '{"cells": 4}')]


def test_a_notebook_with_problems_is_not_saved_at_all(store: Store) -> None:
    save(store, "acme-ltd", NOTEBOOK, at=T0)
    broken = [*NOTEBOOK, Cell("sql", "SELECT 2", "monthly"), Cell("sql", "SELECT 3", "Bad Name")]
    with pytest.raises(NotebookError) as raised:
        save(store, "acme-ltd", broken, at=T0)
    assert "cell 5: cell 2 is named 'monthly' too" in str(raised.value)
    assert "cell 6: the name 'Bad Name' must be lower-case" in str(raised.value)
    assert load(store, "acme-ltd") == NOTEBOOK


def test_a_save_for_a_workspace_that_does_not_exist_writes_nothing(store: Store) -> None:
    with pytest.raises(Exception, match="no workspace 'ghost'"):
        save(store, "ghost", NOTEBOOK, at=T0)
    assert load(store, "ghost") == []


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        (Cell("sql", "SELECT 1", "v_gaps"), "taken by a view or a cell number"),
        (Cell("sql", "SELECT 1", "cell_9"), "taken by a view or a cell number"),
        (Cell("sql", "SELECT 1", "9lives"), "must be lower-case"),
        (Cell("markdown", "# hi", "title"), "only a SQL cell can have a name"),
    ],
)
def test_names_must_be_usable_in_sql_and_free(cell: Cell, problem: str) -> None:
    [found] = problems([cell])
    assert found.startswith("cell 1: ") and problem in found


# -- running --------------------------------------------------------------------------------------


def test_a_cell_uses_earlier_cells_by_number_and_by_name(store: Store) -> None:
    with open_session(store.path, "Acme Ltd") as session:
        results = run_all(session, NOTEBOOK)
    assert sorted(results) == [1, 2, 3]
    assert all(result.ok for result in results.values()), results
    months = results[1].frame.height
    assert results[2].frame.row(0, named=True) == {
        "months": months,
        "fees": Decimal("-13.75") * 12,
    }
    assert results[3].frame["months"].to_list() == [months]
    assert results[3].label == "cell 4"


def test_a_later_cell_sees_an_earlier_result_whole_not_cut_by_the_row_limit(
    store: Store,
) -> None:
    cells = [Cell("sql", "SELECT * FROM range(5000)"), Cell("sql", "SELECT count(*) FROM cell_1")]
    with open_session(store.path, "Acme Ltd", limits=Limits(rows=10)) as session:
        first, second = run_cell(session, cells, 0), run_cell(session, cells, 1)
    assert first.truncated and first.frame.height == 10
    assert second.frame.item() == 5000


def test_a_cell_can_only_use_cells_before_it(store: Store) -> None:
    cells = [Cell("sql", "SELECT * FROM cell_2"), Cell("sql", "SELECT 1 AS one")]
    assert [query.names for query in earlier(cells, 1)] == [("cell_1",)]
    with open_session(store.path, "Acme Ltd") as session:
        result = run_cell(session, cells, 0)
    assert result.error is not None and "cell_2 does not exist" in result.error


def test_a_failing_cell_does_not_stop_the_others_and_its_users_say_why(store: Store) -> None:
    cells = [
        Cell("sql", "SELECT nope FROM v_settlements", "broken"),
        Cell("sql", "SELECT 42 AS answer"),
        Cell("sql", "SELECT * FROM broken"),
    ]
    with open_session(store.path, "Acme Ltd") as session:
        results = run_all(session, cells)
    assert results[0].error is not None and results[0].error.startswith("Binder Error")
    assert results[1].frame.item() == 42
    assert results[2].message is not None
    assert results[2].message.startswith("cell 3: it uses cell 1, which fails: Binder Error")


def test_markdown_cells_do_not_run(store: Store) -> None:
    with (
        open_session(store.path, "Acme Ltd") as session,
        pytest.raises(ValueError, match="markdown"),
    ):
        run_cell(session, NOTEBOOK, 0)


def test_names_given_in_a_notebook_session_are_usable_by_later_queries(store: Store) -> None:
    with open_session(store.path, "Acme Ltd") as s:
        s.sql("SELECT currency, sum(net) AS net FROM v_settlements GROUP BY ALL", names=["nets"])
        s.sql("SELECT * FROM nets WHERE net > 0", names=["cell_2", "positive"])
        again = s.sql("SELECT count(*) AS n FROM positive JOIN cell_2 USING (currency)")
    assert again.item() == 1


def test_one_session_serves_runs_from_several_threads_at_once(store: Store) -> None:
    query = "SELECT currency, count(*) AS n, sum(net) AS net FROM v_settlements GROUP BY ALL"
    with open_session(store.path, "Acme Ltd") as session:
        expected = session.run(query).frame
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: session.run(query), range(16)))
    assert all(result.ok and result.frame.equals(expected) for result in results)
    assert expected.rows() == [("USD", 12, Decimal(12 * 100 + 66) - Decimal("13.75") * 12)]


def test_a_name_given_again_in_a_notebook_session_means_the_newer_query(store: Store) -> None:
    with open_session(store.path, "Acme Ltd") as s:
        s.sql("SELECT 1 AS x", names=["cell_2", "answer"])
        s.sql("SELECT 2 AS x", names=["cell_2"])  # the cell ran again with its name removed
        assert s.sql("SELECT x FROM cell_2").item() == 2
        assert s.sql("SELECT x FROM answer").item() == 1
        s.sql("SELECT 3 AS x", names=["answer"])
        assert s.sql("SELECT a.x + c.x AS both FROM answer AS a, cell_2 AS c").item() == 5
