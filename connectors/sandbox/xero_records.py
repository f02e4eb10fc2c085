"""The records a sandbox Xero organisation holds, its default chart, and input parsing."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


@dataclass
class Line:
    line_item_id: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str
    line_amount: Decimal


@dataclass
class Invoice:
    invoice_id: str
    type: str
    number: str
    reference: str
    contact_id: str
    contact_name: str
    date: dt.date
    due_date: dt.date
    status: str
    currency: str
    line_amount_types: str
    url: str | None
    lines: list[Line]
    by_app: bool
    updated_at: dt.datetime
    amount_paid: Decimal = Decimal(0)
    payment_ids: list[str] = field(default_factory=list)
    fully_paid_on: dt.date | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.line_amount for line in self.lines), Decimal("0.00"))

    @property
    def amount_due(self) -> Decimal:
        if self.status in ("VOIDED", "DELETED"):
            return Decimal("0.00")
        return self.total - self.amount_paid


@dataclass
class Payment:
    payment_id: str
    invoice_id: str
    account_code: str
    date: dt.date
    amount: Decimal
    reference: str
    status: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class Account:
    account_id: str
    code: str
    name: str
    type: str
    enable_payments: bool = False
    system_account: str = ""


@dataclass
class Contact:
    contact_id: str
    name: str
    updated_at: dt.datetime


DEFAULT_CHART = (
    ("090", "Business Bank Account", "BANK", False, ""),
    ("200", "Sales", "REVENUE", False, ""),
    ("260", "Other Revenue", "REVENUE", False, ""),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", False, ""),
    ("404", "Bank Fees", "OVERHEADS", False, ""),
    ("429", "General Expenses", "OVERHEADS", False, ""),
    ("610", "Accounts Receivable", "CURRENT", False, "DEBTORS"),
    ("630", "Marketplace Clearing", "CURRENT", True, ""),
    ("800", "Accounts Payable", "CURRLIAB", False, "CREDITORS"),
    ("820", "VAT", "CURRLIAB", False, "GST"),
)
DEFAULT_CONTACTS = ("Amazon", "Amazon Payments")


def new_id() -> str:
    return str(uuid.uuid4())


def parse_date(value: object) -> dt.date | None:
    """A request date: `2026-05-14`, `2026-05-14T00:00:00` or `/Date(1778716800000+0000)/`."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    match = _MS_DATE.match(value)
    if match:
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            milliseconds=int(match.group(1))
        )
        return moment.date()
    return dt.datetime.fromisoformat(value).date()


def amount_of(value: object) -> Decimal:
    """A JSON number (or numeric string) as a Decimal; ValueError for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise ValueError(value)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(value) from None
    if not amount.is_finite():
        raise ValueError(value)
    return amount
