"""Xero's wire format at the boundary: payload models, MS-JSON dates, and the drafts we send.

Responses are validated into pydantic models (`extra="allow"`: Xero adds fields freely), with
amounts as `Decimal`. Requests are PascalCase dicts built from frozen draft models.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from connectors.errors import UnexpectedPayload
from reconcile.models import LedgerEntry

ZERO_ID = "00000000-0000-0000-0000-000000000000"
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_xero_datetime(value: object) -> dt.datetime | None:
    """A Xero timestamp as aware UTC: `/Date(1552326816230+0000)/` or ISO 8601 (naive = UTC).

    The milliseconds of an MS-JSON date count from the Unix epoch in UTC; the `+0000` suffix
    only records the offset it was written in, so it does not shift the instant.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        match = _MS_DATE.match(value.strip())
        if match:
            return _EPOCH + dt.timedelta(milliseconds=int(match.group(1)))
        moment = dt.datetime.fromisoformat(value.strip())
    else:
        raise ValueError(f"not a Xero date: {value!r}")
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def parse_xero_date(value: object) -> dt.date | None:
    """A Xero calendar date (`/Date(1539993600000+0000)/`, `2026-05-14`, or a timestamp)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    moment = parse_xero_datetime(value)
    return moment.date() if moment is not None else None


def _list_or_empty(value: object) -> object:
    return [] if value is None else value


XeroDatetime = Annotated[dt.datetime | None, BeforeValidator(parse_xero_datetime)]
XeroDate = Annotated[dt.date | None, BeforeValidator(parse_xero_date)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class Message(_Wire):
    """One `ValidationError` or warning: Xero's `{"Message": "..."}`."""

    message: str = Field(alias="Message")


Messages = Annotated[list[Message], BeforeValidator(_list_or_empty)]


class Tenant(_Wire):
    """One organisation connected to the grant (`GET /connections`)."""

    id: str
    tenant_id: str = Field(alias="tenantId")
    tenant_type: str | None = Field(None, alias="tenantType")
    tenant_name: str | None = Field(None, alias="tenantName")
    auth_event_id: str | None = Field(None, alias="authEventId")
    created_at: XeroDatetime = Field(None, alias="createdDateUtc")
    updated_at: XeroDatetime = Field(None, alias="updatedDateUtc")


class PaymentRef(_Wire):
    """A payment as an invoice lists it."""

    payment_id: str = Field(alias="PaymentID")
    amount: Decimal | None = Field(None, alias="Amount")
    date: XeroDate = Field(None, alias="Date")


class XeroInvoice(_Wire):
    """An invoice (ACCREC) or bill (ACCPAY) as Xero returns it."""

    invoice_id: str = Field(alias="InvoiceID")
    type: str = Field(alias="Type")
    invoice_number: str | None = Field(None, alias="InvoiceNumber")
    reference: str | None = Field(None, alias="Reference")
    status: str | None = Field(None, alias="Status")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    total: Decimal | None = Field(None, alias="Total")
    amount_due: Decimal | None = Field(None, alias="AmountDue")
    amount_paid: Decimal | None = Field(None, alias="AmountPaid")
    date: XeroDate = Field(None, alias="Date")
    updated_at: XeroDatetime = Field(None, alias="UpdatedDateUTC")
    payments: Annotated[list[PaymentRef], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list, alias="Payments"
    )

    @property
    def payment_ids(self) -> list[str]:
        """The payments applied to it (delete these before voiding)."""
        return [payment.payment_id for payment in self.payments]


class XeroPayment(_Wire):
    """A payment as Xero returns it."""

    payment_id: str = Field(alias="PaymentID")
    amount: Decimal | None = Field(None, alias="Amount")
    status: str | None = Field(None, alias="Status")
    reference: str | None = Field(None, alias="Reference")
    date: XeroDate = Field(None, alias="Date")


class XeroAccount(_Wire):
    """One account of the chart (`GET /Accounts`)."""

    account_id: str = Field(alias="AccountID")
    code: str | None = Field(None, alias="Code")
    name: str | None = Field(None, alias="Name")
    type: str | None = Field(None, alias="Type")
    status: str | None = Field(None, alias="Status")
    enable_payments: bool = Field(False, alias="EnablePaymentsToAccount")


@dataclass(frozen=True)
class ItemResult:
    """What became of one item of a create call, by its position in the caller's list."""

    index: int
    ok: bool
    object_id: str | None = None
    number: str | None = None
    reference: str | None = None
    total: Decimal | None = None
    status: str | None = None
    problems: list[str] = field(default_factory=list)


class CreatedItem(_Wire):
    """One element of a create response (summarizeErrors=false): created, or why not."""

    invoice_id: str | None = Field(None, alias="InvoiceID")
    payment_id: str | None = Field(None, alias="PaymentID")
    number: str | None = Field(None, alias="InvoiceNumber")
    reference: str | None = Field(None, alias="Reference")
    total: Decimal | None = Field(None, alias="Total")
    amount: Decimal | None = Field(None, alias="Amount")
    status: str | None = Field(None, alias="Status")
    status_attribute: str | None = Field(None, alias="StatusAttributeString")
    has_errors: bool = Field(False, alias="HasErrors")
    has_validation_errors: bool = Field(False, alias="HasValidationErrors")
    validation_errors: Messages = Field(default_factory=list, alias="ValidationErrors")
    warnings: Messages = Field(default_factory=list, alias="Warnings")

    def result(self, index: int) -> ItemResult:
        """The caller's view: created (with its id) or not (with Xero's reasons)."""
        problems = [error.message for error in self.validation_errors]
        failed = (
            bool(problems)
            or self.has_errors
            or self.has_validation_errors
            or (self.status_attribute or "").upper() == "ERROR"
        )
        if failed and not problems:
            problems.append("Xero did not create this item and gave no reason")
        problems += [f"warning: {warning.message}" for warning in self.warnings]
        object_id = self.invoice_id or self.payment_id
        return ItemResult(
            index=index,
            ok=not failed,
            object_id=None if failed or object_id == ZERO_ID else object_id,
            number=self.number,
            reference=self.reference,
            total=self.total if self.total is not None else self.amount,
            status=self.status,
            problems=problems,
        )


class CreatedPage(_Wire):
    """A create response: the elements under `Invoices` or `Payments`, in request order."""

    invoices: list[CreatedItem] | None = Field(None, alias="Invoices")
    payments: list[CreatedItem] | None = Field(None, alias="Payments")

    def items(self) -> list[CreatedItem]:
        found = self.invoices if self.invoices is not None else self.payments
        if found is None:
            raise ValueError("the create response has neither Invoices nor Payments")
        return found


class InvoicesPage(_Wire):
    invoices: Annotated[list[XeroInvoice], BeforeValidator(_list_or_empty)] = Field(
        alias="Invoices"
    )


class PaymentsPage(_Wire):
    payments: Annotated[list[XeroPayment], BeforeValidator(_list_or_empty)] = Field(
        alias="Payments"
    )


class AccountsPage(_Wire):
    accounts: Annotated[list[XeroAccount], BeforeValidator(_list_or_empty)] = Field(
        alias="Accounts"
    )


class ErrorBody(_Wire):
    """Xero's 400 body (`Error`): a type, a message, and the rejected elements."""

    error_number: int | None = Field(None, alias="ErrorNumber")
    type: str | None = Field(None, alias="Type")
    message: str | None = Field(None, alias="Message")
    elements: Annotated[list[dict[str, Any]], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list, alias="Elements"
    )

    def element_messages(self) -> list[list[str]]:
        """The validation messages of each element, in request order."""
        return [
            [str(error.get("Message", "")) for error in element.get("ValidationErrors") or []]
            for element in self.elements
        ]


def wire_number(amount: Decimal) -> int | float:
    """A JSON number that Xero (which reads doubles) receives as exactly `amount`."""
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount")
    if amount == amount.to_integral_value() and abs(amount) < 2**53:
        return int(amount)
    number = float(amount)
    if Decimal(repr(number)) != amount:
        raise ValueError(f"{amount} cannot be sent to Xero exactly (too many digits)")
    return number


class _Draft(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LineDraft(_Draft):
    """One line of an invoice or bill to create."""

    description: str = Field(min_length=1)
    unit_amount: Decimal
    account_code: str = Field(min_length=1)
    quantity: Decimal = Decimal(1)
    tax_type: str = "NONE"

    def wire(self) -> dict[str, Any]:
        return {
            "Description": self.description,
            "Quantity": wire_number(self.quantity),
            "UnitAmount": wire_number(self.unit_amount),
            "AccountCode": self.account_code,
            "TaxType": self.tax_type,
        }


class InvoiceDraft(_Draft):
    """An invoice (ACCREC) or bill (ACCPAY) to create; `reference` is what we look it up by."""

    type: Literal["ACCREC", "ACCPAY"]
    contact_id: str | None = None
    contact_name: str | None = None
    date: dt.date
    due_date: dt.date | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    line_items: tuple[LineDraft, ...] = Field(min_length=1)
    reference: str | None = None
    invoice_number: str | None = Field(None, max_length=255)
    status: Literal["DRAFT", "SUBMITTED", "AUTHORISED"] = "AUTHORISED"
    line_amount_types: Literal["Exclusive", "Inclusive", "NoTax"] = "NoTax"
    url: str | None = None

    @model_validator(mode="after")
    def _one_contact(self) -> InvoiceDraft:
        if not (self.contact_id or self.contact_name):
            raise ValueError("an invoice needs a contact_id or a contact_name")
        return self

    def wire(self) -> dict[str, Any]:
        contact = {"ContactID": self.contact_id} if self.contact_id else {}
        if self.contact_name and not self.contact_id:
            contact["Name"] = self.contact_name
        body: dict[str, Any] = {
            "Type": self.type,
            "Contact": contact,
            "Date": self.date.isoformat(),
            "DueDate": (self.due_date or self.date).isoformat(),
            "CurrencyCode": self.currency,
            "Status": self.status,
            "LineAmountTypes": self.line_amount_types,
            "LineItems": [line.wire() for line in self.line_items],
        }
        optional = {"Reference": self.reference, "InvoiceNumber": self.invoice_number}
        optional["Url"] = self.url
        body.update({key: value for key, value in optional.items() if value})
        return body


class PaymentDraft(_Draft):
    """A payment of `amount` against an invoice, into a bank or payments-enabled account."""

    invoice_id: str
    account_code: str
    date: dt.date
    amount: Decimal = Field(gt=0)
    reference: str | None = None

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Invoice": {"InvoiceID": self.invoice_id},
            "Account": {"Code": self.account_code},
            "Date": self.date.isoformat(),
            "Amount": wire_number(self.amount),
        }
        if self.reference:
            body["Reference"] = self.reference
        return body


def ledger_entry(connection_id: str, invoice: XeroInvoice) -> LedgerEntry:
    """An invoice or bill as `ledger_entries` keeps it; a bill's reference is its number."""
    if invoice.currency_code is None or invoice.total is None or invoice.status is None:
        raise UnexpectedPayload(
            "xero", f"invoice {invoice.invoice_id} has no currency, total or status"
        )
    return LedgerEntry(
        connection_id=connection_id,
        object_id=invoice.invoice_id,
        object_type=invoice.type,
        reference=invoice.reference or invoice.invoice_number or "",
        number=invoice.invoice_number,
        currency=invoice.currency_code,
        total=invoice.total,
        status=invoice.status,
        date=invoice.date,
        updated_at=invoice.updated_at,
    )
