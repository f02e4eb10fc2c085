"""A settlement's posting plan: the ledger entries that book it, or why it is on hold.

One settlement becomes one summary entry, never one per order: a Xero invoice (ACCREC) with
one line per line category (the sum of that category's lines) coded to the workspace's account
for it, and a payment of the net into the channel's clearing account on the deposit date. A
negative settlement cannot be an invoice (Xero refuses a negative total), so it becomes a bill
(ACCPAY) with every amount negated. Amounts are in the settlement's currency.

Month split. A settlement whose period spans a month end is split at each month end that has
lines on both sides (a line counts in the UTC month it was posted in; a line without a posting
time counts in the month of the period end; a month with no lines gets no part). Part k of n
is dated the last day of its month (the last part: the period end date). Every part but the
last ends with a line "Carried forward to <next part's date>" to the clearing account that
brings its total to zero; the next part begins with "Brought forward from <this part's date>"
for the same amount. So each month's income and fees are booked in that month, the clearing
account holds what the channel owed at the month end, every part but the last totals zero, and
the last part totals the net: the parts together equal the net, and only the last one is paid.

Totals check. The lines must sum to the net to the last minor unit of the currency, with no
amount finer than the currency allows and every category mapped to an account; otherwise the
plan is on hold with the difference and its likely reason.
"""

from __future__ import annotations

import calendar
import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from reconcile.accounts import AccountMap
from reconcile.models import SettlementLine
from reconcile.money import exponent, format_amount, quantize
from reconcile.references import settlement_reference

EntryType = Literal["ACCREC", "ACCPAY"]
ZERO = Decimal(0)
LABELS = {
    "sale": "sales",
    "refund": "refunds",
    "fee": "fees",
    "shipping": "shipping",
    "tax": "tax",
    "promotion": "promotions",
    "reserve": "reserves",
    "adjustment": "adjustments",
    "other": "other",
}
_CATEGORY_ORDER = tuple(LABELS)


@dataclass(frozen=True, slots=True)
class SettlementToPost:
    """What planning needs of a stored settlement (its store id, provider and content hash)."""

    id: str
    provider: str
    connection_id: str
    provider_settlement_id: str
    period_start: datetime
    period_end: datetime | None
    deposit_date: date | None
    currency: str
    net: Decimal
    status: str
    content_hash: str
    line_count: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SettlementToPost:
        """From a row of the `posting_candidates` statement (extra columns are ignored)."""
        return cls(**{field.name: row[field.name] for field in fields(cls)})


@dataclass(frozen=True, slots=True)
class LineAmount:
    """One settlement line as planning sees it; `category` may be one no account knows."""

    category: str
    amount: Decimal
    posted_at: datetime | None = None

    @classmethod
    def of(cls, line: SettlementLine) -> LineAmount:
        return cls(str(line.category), line.amount, line.posted_at)


class HoldReason(enum.StrEnum):
    OPEN = "open"
    NO_LINES = "no_lines"
    ROUNDING = "rounding"
    LINES_MISSING = "lines_missing"
    UNCATEGORISED = "uncategorised"
    UNDATED = "undated"


@dataclass(frozen=True)
class Hold:
    """Why a settlement is not posted: the reason, what to do, and the amount in question."""

    reason: HoldReason
    message: str
    difference: Decimal


@dataclass(frozen=True)
class PlannedLine:
    description: str
    amount: Decimal
    account_code: str


@dataclass(frozen=True)
class PlannedEntry:
    """One invoice or bill: part `part` of `parts` of a settlement's posting."""

    part: int
    parts: int
    reference: str
    type: EntryType
    date: date
    currency: str
    contact: str
    lines: tuple[PlannedLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True)
class PlannedPayment:
    """The payment of one entry's total from/into the clearing account."""

    part: int
    reference: str
    account_code: str
    date: date
    amount: Decimal


@dataclass(frozen=True)
class PostingPlan:
    """Everything to send for one settlement, or the hold that stops it."""

    settlement_id: str
    provider_settlement_id: str
    currency: str
    net: Decimal
    idempotency_key: str
    entries: tuple[PlannedEntry, ...] = ()
    payments: tuple[PlannedPayment, ...] = ()
    hold: Hold | None = None

    @property
    def on_hold(self) -> bool:
        return self.hold is not None

    @property
    def signed_total(self) -> Decimal:
        """The entries' totals with bills counted negative: the net, when the plan is sound."""
        return sum((e.total if e.type == "ACCREC" else -e.total for e in self.entries), ZERO)


def idempotency_key(
    settlement_id: str, content_hash: str, ledger_connection_id: str, generation: int
) -> str:
    """The outbox key of one posting attempt: the same inputs always give the same key.

    `generation` counts the attempts at posting a settlement to a ledger (it moves on after an
    unpost or a failure), so a posting after a void never reuses the voided one's key.
    """
    if generation < 1:
        raise ValueError("generation counts from 1")
    text = "\x1f".join((settlement_id, content_hash, ledger_connection_id, str(generation)))
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"rw-{settlement_id.removeprefix('stl_')}-g{generation}-{digest}"


def posting_plan(
    settlement: SettlementToPost,
    lines: Sequence[LineAmount],
    accounts: AccountMap,
    *,
    ledger_connection_id: str,
    generation: int = 1,
) -> PostingPlan:
    """The entries and payments that post `settlement`, or the plan on hold with its reason."""
    key = idempotency_key(settlement.id, settlement.content_hash, ledger_connection_id, generation)
    plan = PostingPlan(
        settlement.id, settlement.provider_settlement_id, settlement.currency, settlement.net, key
    )
    hold = _hold(settlement, lines, accounts)
    if hold is not None:
        return _replace(plan, hold=hold)
    entries = _entries(settlement, _parts(settlement, lines), accounts)
    clearing = accounts.clearing or ""
    payday = settlement.deposit_date
    payments = tuple(
        PlannedPayment(e.part, e.reference, clearing, payday or e.date, e.total)
        for e in entries
        if e.total > 0
    )
    return _replace(plan, entries=entries, payments=payments)


def _replace(plan: PostingPlan, **changes: Any) -> PostingPlan:
    return PostingPlan(**{**plan.__dict__, **changes})


# -- the totals check ----------------------------------------------------------------------------


def _hold(
    settlement: SettlementToPost, lines: Sequence[LineAmount], accounts: AccountMap
) -> Hold | None:
    currency, net = settlement.currency, settlement.net
    total = sum((line.amount for line in lines), ZERO)
    difference = net - total
    if settlement.status != "closed":
        return Hold(
            HoldReason.OPEN,
            "the settlement is still open and the channel may add lines: post it once it closes",
            ZERO,
        )
    if not lines or settlement.line_count == 0:
        return Hold(
            HoldReason.NO_LINES,
            f"the settlement has no lines (net {_money(net, currency)}): sync it again, or "
            f"import its settlement file",
            difference,
        )
    amounts = [*(line.amount for line in lines), net]
    fine = [amount for amount in amounts if quantize(amount, currency) != amount]
    if fine or (difference and not quantize(difference, currency)):
        return Hold(
            HoldReason.ROUNDING,
            f"amounts are finer than the {exponent(currency)} decimals {currency} has "
            f"(such as {fine[0] if fine else difference}): rounding beyond the currency's "
            f"exponent; check the settlement file or the channel's report",
            difference,
        )
    if difference:
        return Hold(HoldReason.LINES_MISSING, _missing(settlement, total, difference), difference)
    return _unmapped(settlement, lines, accounts)


def _missing(settlement: SettlementToPost, total: Decimal, difference: Decimal) -> str:
    currency = settlement.currency
    return (
        f"the {settlement.line_count} lines sum to {_money(total, currency)} but the net is "
        f"{_money(settlement.net, currency)} (difference {_money(difference, currency)}): lines "
        f"are missing, most likely because the settlement was fetched while still open, or an "
        f"amount is in the net but in no line; sync again (or import the settlement file)"
    )


def _unmapped(
    settlement: SettlementToPost, lines: Sequence[LineAmount], accounts: AccountMap
) -> Hold | None:
    unknown = sorted({line.category for line in lines if not accounts.code(line.category)})
    if unknown:
        amount = sum((x.amount for x in lines if x.category in unknown), ZERO)
        names = ", ".join(unknown)
        return Hold(
            HoldReason.UNCATEGORISED,
            f"no ledger account for the category {names} ({_money(amount, settlement.currency)}): "
            f"map it with `workbench accounts set CATEGORY CODE --provider {accounts.provider}`",
            amount,
        )
    if not accounts.clearing:
        return Hold(
            HoldReason.UNCATEGORISED,
            f"no clearing account for {accounts.provider}: set one with `workbench accounts set "
            f"clearing CODE --provider {accounts.provider}`",
            settlement.net,
        )
    if settlement.period_end is None and settlement.deposit_date is None:
        return Hold(
            HoldReason.UNDATED,
            "the settlement has neither a period end nor a deposit date: sync it again",
            ZERO,
        )
    return None


def _money(amount: Decimal, currency: str) -> str:
    return f"{format_amount(amount, currency)} {currency}"


# -- the parts -----------------------------------------------------------------------------------

Month = tuple[int, int]


@dataclass(frozen=True)
class _Part:
    day: date
    sums: dict[str, Decimal]


def _end_day(settlement: SettlementToPost) -> date:
    """The last day of the period: an end at midnight closes the day before."""
    end = settlement.period_end
    if end is None:
        assert settlement.deposit_date is not None  # the totals check holds undated ones
        return settlement.deposit_date
    midnight = (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0)
    if midnight and end > settlement.period_start:
        return date.fromordinal(end.date().toordinal() - 1)
    return end.date()


def _parts(settlement: SettlementToPost, lines: Sequence[LineAmount]) -> list[_Part]:
    last_day = _end_day(settlement)
    last: Month = (last_day.year, last_day.month)
    first: Month = min((settlement.period_start.year, settlement.period_start.month), last)
    buckets: dict[Month, dict[str, Decimal]] = {last: {}}
    for line in lines:
        at = line.posted_at
        month = (at.year, at.month) if at is not None else last
        month = min(max(month, first), last)
        sums = buckets.setdefault(month, {})
        sums[line.category] = sums.get(line.category, ZERO) + line.amount
    return [
        _Part(last_day if month == last else _month_end(month), buckets[month])
        for month in sorted(buckets)
    ]


def _month_end(month: Month) -> date:
    year, number = month
    return date(year, number, calendar.monthrange(year, number)[1])


def _entries(
    settlement: SettlementToPost, parts: list[_Part], accounts: AccountMap
) -> tuple[PlannedEntry, ...]:
    kind: EntryType = "ACCPAY" if settlement.net < 0 else "ACCREC"
    sign = -1 if kind == "ACCPAY" else 1
    clearing = accounts.clearing or ""
    currency, count = settlement.currency, len(parts)
    entries, carried = [], ZERO
    for index, part in enumerate(parts):
        lines = []
        if index and carried:
            lines.append(
                PlannedLine(f"Brought forward from {parts[index - 1].day}", carried, clearing)
            )
        lines += _category_lines(settlement, part.sums, accounts, keep_zero=False)
        carried += sum(part.sums.values(), ZERO)
        if index < count - 1 and carried:
            lines.append(
                PlannedLine(f"Carried forward to {parts[index + 1].day}", -carried, clearing)
            )
        if not lines:
            lines = _category_lines(settlement, part.sums, accounts, keep_zero=True)
        if not lines:
            lines = [PlannedLine(_describe(settlement, accounts, "nothing"), ZERO, clearing)]
        signed = tuple(
            PlannedLine(x.description, quantize(sign * x.amount, currency), x.account_code)
            for x in lines
        )
        reference = settlement_reference(settlement.id, index + 1, count)
        entries.append(
            PlannedEntry(
                index + 1, count, reference, kind, part.day, currency, accounts.contact, signed
            )
        )
    return tuple(entries)


def _category_lines(
    settlement: SettlementToPost,
    sums: Mapping[str, Decimal],
    accounts: AccountMap,
    *,
    keep_zero: bool,
) -> list[PlannedLine]:
    order = sorted(sums, key=lambda c: (_CATEGORY_ORDER.index(c) if c in LABELS else 99, c))
    return [
        PlannedLine(
            _describe(settlement, accounts, LABELS.get(category, category)),
            sums[category],
            accounts.code(category) or "",
        )
        for category in order
        if keep_zero or sums[category]
    ]


def _describe(settlement: SettlementToPost, accounts: AccountMap, what: str) -> str:
    return f"{accounts.contact} {what}, settlement {settlement.provider_settlement_id}"
