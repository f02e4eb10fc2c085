"""The reconcile story end to end on loopback: disconnect, gap, reconnect, backfill, post once."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reconcile.references import settlement_of
from tests.workbench.simulated import SimCli, simulated

LIVE = {"AUTHORISED", "PAID", "SUBMITTED", "DRAFT"}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimCli]:
    yield from simulated(tmp_path)


def coverage_gaps(sim: SimCli) -> list[dict[str, Any]]:
    return [gap for gap in sim.json("gaps") if gap["kind"] == "coverage"]


def ledger_nets(sim: SimCli) -> dict[str, Decimal]:
    """Per settlement id, what the sandbox ledger holds (bills count negative); once each."""
    live = [inv for inv in sim.control("xero", "invoices") if inv["status"] in LIVE]
    for invoice in live:  # Xero keeps a bill's reference in its number
        invoice["reference"] = invoice["reference"] or invoice["number"]
    references = Counter(inv["reference"] for inv in live)
    assert all(count == 1 for count in references.values()), references.most_common(3)
    nets: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in live:
        settlement = settlement_of(invoice["reference"])
        assert settlement is not None, invoice["reference"]
        sign = 1 if invoice["type"] == "ACCREC" else -1
        nets[settlement] += sign * Decimal(invoice["total"])
    return dict(nets)


def test_a_disconnect_hides_settlements_backfill_recovers_them_and_post_books_each_once(
    sim: SimCli,
) -> None:
    sim.connect_both()
    sim("sync")
    assert coverage_gaps(sim) == []

    # The grant is revoked, and the settlements of the next six weeks never reach a sync.
    sim.advance(1)
    sim.control("amazon", "revoke")
    now = sim.clock.now()
    hidden_until = now + timedelta(weeks=6)
    hidden = sim.control("amazon", "hide", start=now.isoformat(), end=hidden_until.isoformat())
    assert hidden >= 2
    for _ in range(6):
        sim.advance(7)
        failed = sim("sync", expect=1)
        assert "reconnect" in failed.stderr
    token = sim.control("amazon", "issue_refresh_token")["refresh_token"]
    sim("reconnect", "Amazon US", "--refresh-token-env", "NEW_TOKEN", NEW_TOKEN=token)
    sim.advance(20)
    sim("sync")

    [gap] = coverage_gaps(sim)
    assert gap["connection"] == "Amazon US"
    assert gap["cause"].startswith("disconnected")
    assert gap["recoverable"] is True
    assert gap["expected_settlements"] == hidden
    start, end = datetime.fromisoformat(gap["start"]), datetime.fromisoformat(gap["end"])
    missing = [g for g in sim.control("amazon", "groups") if g["hidden"]]
    assert all(start <= datetime.fromisoformat(g["start"]) < end for g in missing)
    assert coverage_gaps(sim) == [gap]  # same gap, same id

    sim.control("amazon", "restore", start=now.isoformat(), end=hidden_until.isoformat())
    done = sim("backfill", "--gap", gap["id"])
    assert f"{hidden} new" in done.stdout
    assert "Amazon US:" in done.stderr  # progress, window by window
    assert coverage_gaps(sim) == []

    sim("post")
    settlements = sim.json("settlements", "--connection", "Amazon US")
    closed = {row["settlement_id"] for row in settlements if row["status"] == "closed"}
    truth = {g["id"]: Decimal(g["total"]) for g in sim.control("amazon", "groups")}
    posted = ledger_nets(sim)
    assert len(posted) == len(closed)
    by_id = {row["id"]: row for row in sim.json("settlements", "--connection", "Amazon US")}
    assert {by_id[sid]["settlement_id"] for sid in posted} == closed
    assert all(posted[sid] == truth[by_id[sid]["settlement_id"]] for sid in posted)
    assert [g for g in sim.json("gaps") if g["kind"] == "unposted"] == []

    creates = sim.control("xero", "stats")["creates"]
    again = sim("post")
    assert sim.control("xero", "stats")["creates"] == creates
    assert "0 posted" in again.stdout
    assert ledger_nets(sim) == posted
