"""The sandbox's settlement reports: rendered from a truth group, imported back unchanged."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors.amazon_events import event_lines
from connectors.clock import SimulatedClock
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from connectors.sandbox.amazon_history import History
from connectors.sandbox.amazon_report import COLUMNS, report_settlement_id, settlement_report
from connectors.sandbox.amazon_wire import Renderer
from reconcile.imports import Outcome, import_settlement_file
from reconcile.models import Connection, SettlementLine
from reconcile.store import Store

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CURRENCIES = {"US": "USD", "DE": "EUR", "FR": "EUR", "UK": "GBP", "JP": "JPY"}


def sandbox(market: str = "US", lines: int = 120) -> AmazonSandbox:
    spec = SellerSpec(
        start=datetime(2026, 6, 1, tzinfo=UTC),
        currency=CURRENCIES[market],
        marketplace=market,
        lines_per_group=lines,
    )
    return AmazonSandbox(SimulatedClock(NOW), sellers={"seller": spec})


def closed(amazon: AmazonSandbox) -> dict[str, Any]:
    groups = amazon.control("groups", {"seller": "seller"})  # JSON: instants as ISO text
    return [group for group in groups if group["status"] == "Closed"][-1]


def report(amazon: AmazonSandbox, group_id: str) -> str:
    text: str = amazon.control("settlement_report", {"seller": "seller", "group_id": group_id})
    return text


def api_lines(history: History, index: int) -> list[SettlementLine]:
    """The lines the Finances API path makes of the same group's events."""
    render, lists = Renderer(history), defaultdict(list)
    for event in history.generated(index).events:
        lists[event.list_name].append(json.loads(render.event(event), parse_float=Decimal))
    out: list[SettlementLine] = []
    event_lines(dict(lists), history.spec.currency, "test", out)
    return out


def store_with_connection() -> tuple[Store, Connection]:
    store = Store(":memory:", clock=lambda: NOW)
    workspace = store.add_workspace("Acme Ltd", "USD")
    connection = Connection(
        id="amz", workspace_id=workspace.id, provider="amazon", name="Amazon", kind="channel",
        created_at=NOW,
    )  # fmt: skip
    store.add_connection(connection, ("settlements",))
    return store, connection


def test_a_report_starts_with_the_header_and_the_summary_row() -> None:
    amazon = sandbox()
    group = closed(amazon)

    header, summary, first, *_ = report(amazon, group["id"]).splitlines()

    assert header.split("\t") == list(COLUMNS)
    fields = summary.split("\t")
    assert fields[1:6] == [
        group["start"].replace("T", " ").replace("+00:00", " UTC"),
        group["end"].replace("T", " ").replace("+00:00", " UTC"),
        group["end"].replace("T", " ").replace("+00:00", " UTC"),
        group["total"],
        "USD",
    ]
    assert set(fields[6:]) == {""}
    assert first.split("\t")[0] == fields[0]


def test_the_settlement_id_is_numeric_deterministic_and_not_the_group_id() -> None:
    amazon = sandbox()
    group = closed(amazon)
    ident = report(amazon, group["id"]).splitlines()[1].split("\t")[0]

    assert ident.isdigit()
    assert len(ident) == 11
    assert ident != group["id"]
    assert report(sandbox(), group["id"]).splitlines()[1].split("\t")[0] == ident


def test_eu_reports_use_decimal_commas_and_dotted_dates_and_us_reports_do_not() -> None:
    de = sandbox("DE", lines=400)
    summary, *rows = report(de, closed(de)["id"]).splitlines()[1:]
    assert summary.split("\t")[1].count(".") == 2  # 01.06.2026 00:00:00 UTC
    amounts = [row.split("\t")[14] for row in rows]
    assert all("," in amount and not amount.endswith(".00") for amount in amounts)
    total = summary.split("\t")[4]
    assert "." in total  # a thousands separator
    assert total.count(",") == 1

    us = sandbox("US")
    row = report(us, closed(us)["id"]).splitlines()[2].split("\t")
    assert "." in row[14]
    assert row[16].count("/") == 2  # posted-date MM/DD/YY
    assert row[17].endswith(" UTC")


def test_an_open_group_has_no_report_yet() -> None:
    amazon = sandbox()
    open_group = amazon.groups("seller")[-1]
    with pytest.raises(ValueError, match="still open"):
        report(amazon, open_group["id"])


def test_a_hidden_group_still_has_its_report() -> None:
    amazon = sandbox()
    group = closed(amazon)
    start = datetime.fromisoformat(group["start"])
    amazon.hide("seller", start, start + timedelta(seconds=1))

    assert closed(amazon)["hidden"]
    assert report(amazon, group["id"]).splitlines()[1].endswith("\t" * 18)


@pytest.mark.parametrize("market", ["US", "DE", "FR", "UK", "JP"])
def test_a_report_imports_back_to_the_truth_group_and_its_api_lines(market: str) -> None:
    amazon = sandbox(market, lines=300)
    group = closed(amazon)
    store, connection = store_with_connection()

    result = import_settlement_file(
        store, connection, report(amazon, group["id"]).encode(), name="r.txt", now=NOW
    )

    assert result.ok, [str(p) for p in result.problems]
    [outcome] = result.outcomes
    assert outcome.outcome is Outcome.IMPORTED
    assert (outcome.total, outcome.lines) == (Decimal(group["total"]), group["lines"])
    row = store.settlements().row(0, named=True)
    assert row["period_start"] == datetime.fromisoformat(group["start"])
    assert row["period_end"] == datetime.fromisoformat(group["end"])
    history = History("seller", amazon._histories["seller"].spec, amazon.seed)
    index = history.index_of(group["id"], NOW)
    assert index is not None
    expected = sorted(
        (line.category.value, line.amount, line.order_id, line.sku)
        for line in api_lines(history, index)
    )
    stored = store.settlement_lines(row["id"])
    got = sorted(stored.select("category", "amount", "order_id", "sku").iter_rows())
    assert got == expected


def test_the_report_settlement_id_depends_on_seed_seller_and_index() -> None:
    spec = SellerSpec(start=datetime(2026, 6, 1, tzinfo=UTC))
    ids = {
        report_settlement_id(History(seller, spec, seed), index)
        for seller in ("a", "b")
        for seed in (1, 2)
        for index in range(3)
    }
    assert len(ids) == 12


def test_settlement_report_refuses_an_unknown_group() -> None:
    history = History("s", SellerSpec(start=datetime(2026, 6, 1, tzinfo=UTC)), 1)
    with pytest.raises(ValueError, match="no financial event group"):
        settlement_report(history, "nope", NOW)
