"""The Post page's view of a posting run: one row per settlement, and what each one sends.

`plan_view` flattens `plan_workspace`'s plans into frames (cacheable, easy to show): the
entries exactly as the drafts will go to the ledger, the payments, and for a settlement on hold
the reason and the difference. Nothing is computed here that the plan does not already say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from workbench.posting_plans import Planned, PostRun
from workbench.tables import money

PLAN_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "settlement_id": pl.String,
    "settlement": pl.String,
    "connection": pl.String,
    "period_start": pl.Datetime("us", "UTC"),
    "period_end": pl.Datetime("us", "UTC"),
    "currency": pl.String,
    "net": pl.String,
    "state": pl.String,
    "on_hold": pl.Boolean,
    "hold_reason": pl.String,
    "hold_message": pl.String,
    "entries": pl.Int64,
}


@dataclass(frozen=True)
class PlanView:
    """A posting run as frames: `plans` per settlement, `entries`/`payments` by settlement id."""

    ledger: str
    plans: pl.DataFrame
    entries: dict[str, pl.DataFrame] = field(default_factory=dict)
    payments: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def on_hold(self) -> int:
        return int(self.plans["on_hold"].sum())

    def earliest_ready(self) -> date | None:
        """The start day of the earliest settlement ready to post."""
        starts = self.plans.filter(~pl.col("on_hold"))["period_start"]
        first = starts.min()
        return first.date() if isinstance(first, datetime) else None


def plan_view(run: PostRun) -> PlanView:
    rows = [_row(item) for item in run.planned]
    return PlanView(
        ledger=run.ledger.name,
        plans=pl.DataFrame(rows, schema=PLAN_SCHEMA, orient="row"),
        entries={item.candidate.settlement.id: _entries(item) for item in run.planned},
        payments={item.candidate.settlement.id: _payments(item) for item in run.planned},
    )


def _row(item: Planned) -> dict[str, object]:
    settlement, hold = item.candidate.settlement, item.plan.hold
    return {
        "settlement_id": settlement.id,
        "settlement": settlement.provider_settlement_id,
        "connection": item.candidate.connection,
        "period_start": settlement.period_start,
        "period_end": settlement.period_end,
        "currency": settlement.currency,
        "net": money(settlement.net, settlement.currency),
        "state": item.candidate.posting_state,
        "on_hold": hold is not None,
        "hold_reason": str(hold.reason) if hold else None,
        "hold_message": hold.message if hold else None,
        "entries": len(item.drafts),
    }


def _entries(item: Planned) -> pl.DataFrame:
    """One row per line of every draft, with the draft's header repeated."""
    rows = [
        {
            "reference": draft.reference or draft.invoice_number,
            "type": draft.type,
            "date": draft.date.isoformat(),
            "contact": draft.contact_name,
            "description": line.description,
            "account": line.account_code,
            "amount": money(line.unit_amount * line.quantity, draft.currency),
        }
        for draft in item.drafts
        for line in draft.line_items
    ]
    columns = ["reference", "type", "date", "contact", "description", "account", "amount"]
    return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


def _payments(item: Planned) -> pl.DataFrame:
    rows = [
        {
            "reference": p.reference,
            "date": p.date.isoformat(),
            "account": p.account_code,
            "amount": money(p.amount, item.plan.currency),
        }
        for p in item.plan.payments
    ]
    return pl.DataFrame(
        rows,
        schema=dict.fromkeys(["reference", "date", "account", "amount"], pl.String),
        orient="row",
    )
