"""Which settlements `post` takes, and their plans with the drafts exactly as they will be sent.

`plan_workspace` is all a dry run needs; `workbench.posting` sends what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.xero import InvoiceDraft, LineDraft, PaymentDraft
from reconcile import outbox
from reconcile.accounts import account_map
from reconcile.database import frame
from reconcile.errors import NotFound
from reconcile.models import Connection
from reconcile.posting import (
    LineAmount,
    PlannedEntry,
    PlannedPayment,
    PostingPlan,
    SettlementToPost,
    posting_plan,
)
from workbench.runtime import Runtime

Progress = Callable[[str], None]


class PostingError(Exception):
    """Posting cannot start or an unpost cannot finish; the message says what to do."""


@dataclass(frozen=True)
class Candidate:
    """A settlement that may be posted, with the state of its attempts to this ledger."""

    settlement: SettlementToPost
    connection: str
    posting_state: str
    attempts: int
    posting_id: str | None


@dataclass(frozen=True)
class Planned:
    """A candidate with its plan and the invoice drafts exactly as they will be sent."""

    candidate: Candidate
    plan: PostingPlan
    drafts: tuple[InvoiceDraft, ...]

    def payment_drafts(self, invoice_ids: dict[int, str]) -> list[PaymentDraft]:
        """The payments; an invoice not created yet shows as `<InvoiceID of its reference>`."""
        return [
            payment_draft(p, invoice_ids.get(p.part, f"<InvoiceID of {p.reference}>"))
            for p in self.plan.payments
        ]


@dataclass
class Outcome:
    """What became of one settlement in a run."""

    settlement_id: str
    provider_settlement_id: str
    connection: str
    state: str  # posted, failed, interrupted, skipped
    message: str
    objects: outbox.LedgerObjects = field(default_factory=list)


@dataclass
class PostRun:
    ledger: Connection
    planned: list[Planned]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def held(self) -> list[Planned]:
        return [item for item in self.planned if item.plan.on_hold]

    @property
    def ready(self) -> list[Planned]:
        return [item for item in self.planned if not item.plan.on_hold]

    def count(self, state: str) -> int:
        return sum(outcome.state == state for outcome in self.outcomes)


def ledger_of(rt: Runtime, workspace_id: str) -> Connection:
    """The workspace's ledger connection (there is one)."""
    ledgers = [c for c in rt.store.connections(workspace_id) if c.kind == "ledger"]
    if not ledgers:
        raise PostingError(
            f"workspace {workspace_id!r} has no ledger connected: connect Xero first "
            f"(`workbench connect xero --workspace ...`)"
        )
    if len(ledgers) > 1:
        names = ", ".join(c.name for c in ledgers)
        raise PostingError(f"workspace {workspace_id!r} has several ledgers ({names}): keep one")
    return ledgers[0]


def plan_workspace(rt: Runtime, workspace_id: str, settlement: str | None = None) -> PostRun:
    """The plans of everything `post` would send now (or of one settlement, `settlement`).

    A plain run takes the closed settlements not posted yet, failed ones again, interrupted
    ones (still `sending`) to finish them, and never a voided one; naming a settlement takes
    it in any state but posted, which after a void starts a new generation.
    """
    ledger = ledger_of(rt, workspace_id)
    with rt.store.read() as con:
        rows = frame(
            con,
            "posting_candidates",
            workspace_id=workspace_id,
            ledger_connection_id=ledger.id,
            settlement=settlement,
        ).rows(named=True)
        if settlement is not None and not rows:
            raise NotFound(f"there is no settlement {settlement!r} in workspace {workspace_id!r}")
        planned = [
            _planned(con, workspace_id, ledger, _candidate(row))
            for row in rows
            if _wanted(row, named=settlement is not None)
        ]
    return PostRun(ledger, planned)


def _wanted(row: dict[str, Any], *, named: bool) -> bool:
    if row["posting_state"] == "posted":
        return False
    if named:
        return True
    return bool(row["status"] == "closed" and row["posting_state"] != "voided")


def _candidate(row: dict[str, Any]) -> Candidate:
    return Candidate(
        SettlementToPost.from_row(row),
        row["connection"],
        row["posting_state"],
        row["attempts"],
        row["posting_id"],
    )


def _planned(con: Any, workspace_id: str, ledger: Connection, candidate: Candidate) -> Planned:
    settlement = candidate.settlement
    lines = frame(con, "settlement_lines", settlement_id=settlement.id).rows(named=True)
    amounts = [LineAmount(x["category"], x["amount"], x["posted_at"]) for x in lines]
    resuming = candidate.posting_state == "sending" and candidate.posting_id is not None
    generation = candidate.attempts if resuming else candidate.attempts + 1
    plan = posting_plan(
        settlement,
        amounts,
        account_map(con, workspace_id, settlement.provider),
        ledger_connection_id=ledger.id,
        generation=generation,
    )
    return Planned(candidate, plan, tuple(_draft(entry) for entry in plan.entries))


def _draft(entry: PlannedEntry) -> InvoiceDraft:
    lines = tuple(
        LineDraft(description=x.description, unit_amount=x.amount, account_code=x.account_code)
        for x in entry.lines
    )
    accrec = entry.type == "ACCREC"
    return InvoiceDraft(
        type=entry.type,
        contact_name=entry.contact,
        date=entry.date,
        due_date=entry.date,
        currency=entry.currency,
        line_items=lines,
        # Reference is ACCREC-only in Xero; a bill carries it as its (supplier) number.
        reference=entry.reference if accrec else None,
        invoice_number=None if accrec else entry.reference,
    )


def payment_draft(payment: PlannedPayment, invoice_id: str) -> PaymentDraft:
    """The payment of one part, against the invoice the ledger gave that part."""
    return PaymentDraft(
        invoice_id=invoice_id,
        account_code=payment.account_code,
        date=payment.date,
        amount=payment.amount,
        reference=payment.reference,
    )
