"""What the Overview says: the figures that matter, and what to do next, from the gaps.

Pure functions of the frames the services read (`connection_status`, `find_gaps`, the posting
plans), so the page stays a renderer and the rules are tested without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from connectors.registry import provider
from workbench.backfill import BACKFILLABLE
from workbench.tables import money


@dataclass(frozen=True)
class Step:
    """One thing to do, and the page where it is done."""

    text: str
    page: str  # the page's file name under workbench/pages/


@dataclass(frozen=True)
class Summary:
    missing_settlements: int
    at_risk: dict[str, Decimal]  # per currency, never summed across currencies
    unposted: int
    on_hold: int
    duplicates: int
    disconnected: list[dict[str, str]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def at_risk_figures(self) -> list[tuple[str, str]]:
        """One (label, amount) per currency at risk; one "none" figure when nothing is."""
        if not self.at_risk:
            return [("Amount at risk", "none")]
        return [(f"At risk ({c})", money(v, c)) for c, v in sorted(self.at_risk.items())]


def summarize(status: pl.DataFrame, gaps: pl.DataFrame, on_hold: int) -> Summary:
    """The Overview's figures and next steps from the status, the open gaps and the holds."""
    channel = gaps.filter(pl.col("kind").is_in(BACKFILLABLE))
    disconnected = [
        {
            "id": row["id"],
            "name": row["name"],
            "provider": provider(row["provider"]).title,
            "reason": row["status_reason"] or "disconnected",
        }
        for row in status.filter(pl.col("status") == "disconnected").iter_rows(named=True)
    ]
    summary = Summary(
        missing_settlements=int(channel["expected_settlements"].sum() or 0),
        at_risk=_at_risk(channel),
        unposted=gaps.filter(pl.col("kind") == "unposted").height,
        on_hold=on_hold,
        duplicates=gaps.filter(pl.col("kind") == "duplicate_posting").height,
        disconnected=disconnected,
    )
    return Summary(**{**vars(summary), "steps": _steps(summary, channel)})


def _at_risk(channel: pl.DataFrame) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for estimate in channel["estimate"].to_list():
        for part in estimate or []:
            currency, amount = part["currency"], Decimal(part["amount"])
            totals[currency] = totals.get(currency, Decimal(0)) + amount
    return totals


def _steps(summary: Summary, channel: pl.DataFrame) -> list[Step]:
    steps = [
        Step(f"Reconnect {c['name']}: {c['reason']}", "connections.py")
        for c in summary.disconnected
    ]
    recoverable = channel.filter(pl.col("recoverable").fill_null(False))
    if recoverable.height:
        steps.append(Step(f"Backfill {_count(recoverable.height, 'gap')}", "gaps.py"))
    manual = channel.height - recoverable.height
    if manual:
        steps.append(
            Step(f"Import the settlement files of {_count(manual, 'unrecoverable gap')}", "gaps.py")
        )
    if summary.unposted:
        steps.append(Step(f"Post {_count(summary.unposted, 'unposted settlement')}", "post.py"))
    if summary.on_hold:
        steps.append(Step(f"Check {_count(summary.on_hold, 'settlement')} on hold", "post.py"))
    if summary.duplicates:
        steps.append(
            Step(f"Void {_count(summary.duplicates, 'duplicate posting')} in the ledger", "post.py")
        )
    return steps


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
