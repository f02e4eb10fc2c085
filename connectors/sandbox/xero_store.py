"""The books of one sandbox Xero organisation: contacts, accounts, invoices and payments.

The rules are Xero's as ledger-apis.md §A.3 records them: ACCREC numbers are unique and
auto-generated when missing, `Reference` belongs to ACCREC only, no invoice may total less than
zero, payments go to a bank account or one with `EnablePaymentsToAccount` and never exceed
what is due, and an invoice with payments cannot be voided. Each operation returns the
validation messages of its element (empty when accepted), so the HTTP layer can apply
`summarizeErrors`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.sandbox.xero_records import (
    DEFAULT_CHART,
    DEFAULT_CONTACTS,
    Account,
    Contact,
    Invoice,
    Line,
    Payment,
    amount_of,
    new_id,
    parse_date,
)

CENT = Decimal("0.01")
INVOICE_TYPES = ("ACCREC", "ACCPAY")
NEW_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
HAS_PAYMENTS = "This document cannot be edited as it has a payment or credit note allocated to it."
Data = Mapping[str, Any]


class Books:
    """One organisation's ledger, mutated only through the checked operations below."""

    def __init__(self, now: Callable[[], dt.datetime], currency: str = "GBP") -> None:
        self._now = now
        self.currency = currency
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.accounts = [Account(new_id(), *row) for row in DEFAULT_CHART]
        stamp = now()
        self.contacts = {
            c.contact_id: c for c in (Contact(new_id(), n, stamp) for n in DEFAULT_CONTACTS)
        }

    # ---- invoices ------------------------------------------------------------------------

    def check_invoice(self, data: Data, claimed: set[str]) -> tuple[Invoice | None, list[str]]:
        """A new invoice from a request element, or why it cannot be created.

        `claimed` holds ACCREC numbers taken earlier in the same request.
        """
        kind = data.get("Type")
        if kind not in INVOICE_TYPES:
            return None, [f"Invoice Type must be one of {', '.join(INVOICE_TYPES)}"]
        errors: list[str] = []
        invoice = self._invoice_from(kind, data, errors)
        invoice.number = self._number(kind, data.get("InvoiceNumber"), claimed, errors)
        if invoice.lines and invoice.total < 0:
            errors.append("The Invoice total cannot be negative.")
        if errors:
            return None, errors
        if kind == "ACCREC" and invoice.number:
            claimed.add(invoice.number)
        return invoice, []

    def _invoice_from(self, kind: str, data: Data, errors: list[str]) -> Invoice:
        status = data.get("Status") or "DRAFT"
        if status not in NEW_STATUSES:
            errors.append(f"Status {status} is not valid for a new invoice")
        contact_id, contact_name = self._contact_for(data.get("Contact"), errors)
        day = self._date(data.get("Date"), "Date", errors) or self._now().date()
        currency = str(data.get("CurrencyCode") or self.currency)
        if not re.fullmatch(r"[A-Z]{3}", currency):
            errors.append(f"{currency} is not a valid currency code")
        amount_types = str(data.get("LineAmountTypes") or "Exclusive")
        if amount_types not in LINE_AMOUNT_TYPES:
            errors.append(f"LineAmountTypes {amount_types} is not valid")
        return Invoice(
            invoice_id=new_id(),
            type=kind,
            number="",
            reference=str(data.get("Reference") or "") if kind == "ACCREC" else "",
            contact_id=contact_id,
            contact_name=contact_name,
            date=day,
            due_date=self._date(data.get("DueDate"), "DueDate", errors) or day,
            status=status,
            currency=currency,
            line_amount_types=amount_types,
            url=data.get("Url"),
            lines=self._lines(data.get("LineItems"), status != "DRAFT", errors),
            by_app=True,
            updated_at=self._now(),
        )

    def add_invoice(self, invoice: Invoice) -> Invoice:
        """Store a checked invoice, numbering an ACCREC that came without a number."""
        if invoice.type == "ACCREC" and not invoice.number:
            invoice.number = self._next_number()
        if not invoice.contact_id:
            invoice.contact_id = self._contact_named(invoice.contact_name).contact_id
        invoice.updated_at = self._now()
        self.invoices[invoice.invoice_id] = invoice
        return invoice

    def update_invoice(self, invoice: Invoice, data: Data) -> list[str]:
        """Apply a status change (VOIDED, DELETED, AUTHORISED) or new Reference / Url / DueDate."""
        if invoice.status in ("VOIDED", "DELETED"):
            return [f"This document cannot be edited as it is {invoice.status.lower()}."]
        status = data.get("Status")
        errors = self._status_change(invoice, status) if status and status != invoice.status else []
        if errors:
            return errors
        if invoice.status == "PAID" and any(k in data for k in ("Reference", "Url", "DueDate")):
            return [HAS_PAYMENTS]
        if "Reference" in data and invoice.type == "ACCREC":
            invoice.reference = str(data["Reference"] or "")
        if "Url" in data:
            invoice.url = data["Url"]
        due = self._date(data.get("DueDate"), "DueDate", errors)
        if errors:
            return errors
        invoice.due_date = due or invoice.due_date
        invoice.status = status or invoice.status
        invoice.updated_at = self._now()
        return []

    def _status_change(self, invoice: Invoice, status: str) -> list[str]:
        if status == "VOIDED":
            if invoice.amount_paid or invoice.status == "PAID":
                return [HAS_PAYMENTS]
            if invoice.status != "AUTHORISED":
                return ["Only AUTHORISED invoices can be voided; delete a draft instead."]
            return []
        if status == "DELETED":
            if invoice.status not in ("DRAFT", "SUBMITTED"):
                return ["Only DRAFT or SUBMITTED invoices can be deleted; void it instead."]
            return []
        if status in ("AUTHORISED", "SUBMITTED") and invoice.status in ("DRAFT", "SUBMITTED"):
            return []
        return [f"An invoice cannot change from {invoice.status} to {status}."]

    def find_invoice(self, reference: Data | None) -> Invoice | None:
        """The invoice an element points at by `InvoiceID` or `InvoiceNumber`."""
        if not isinstance(reference, Mapping):
            return None
        if reference.get("InvoiceID"):
            return self.invoices.get(str(reference["InvoiceID"]).lower())
        number = reference.get("InvoiceNumber")
        return next((i for i in self.invoices.values() if number and i.number == number), None)

    # ---- payments ------------------------------------------------------------------------

    def check_payment(
        self, data: Data, pending: dict[str, Decimal]
    ) -> tuple[Payment | None, list[str]]:
        """A new payment from a request element, or why not; `pending` sums earlier elements."""
        errors: list[str] = []
        invoice = self.find_invoice(data.get("Invoice"))
        account = self._account_for(data.get("Account"))
        if invoice is None:
            errors.append("Invoice could not be found")
        elif invoice.status != "AUTHORISED":
            errors.append("Invoice not of valid status for modification")
        if account is None:
            errors.append("Account could not be found")
        elif account.type != "BANK" and not account.enable_payments:
            errors.append("Account type is invalid for making a payment to/from")
        amount = self._amount(data.get("Amount"), "Amount", errors, None)
        if amount is not None and amount <= 0:
            errors.append("Payment amount must be greater than zero")
        day = self._date(data.get("Date"), "Date", errors) or self._now().date()
        if errors or invoice is None or account is None or amount is None:
            return None, errors
        if amount > invoice.amount_due - pending.get(invoice.invoice_id, Decimal(0)):
            return None, ["Payment amount exceeds the amount outstanding on this document"]
        pending[invoice.invoice_id] = pending.get(invoice.invoice_id, Decimal(0)) + amount
        payment = Payment(
            new_id(),
            invoice.invoice_id,
            account.code,
            day,
            amount,
            str(data.get("Reference") or ""),
            "AUTHORISED",
            self._now(),
        )
        return payment, []

    def add_payment(self, payment: Payment) -> Payment:
        """Store a checked payment and apply it to its invoice (PAID when nothing is left)."""
        invoice = self.invoices[payment.invoice_id]
        self.payments[payment.payment_id] = payment
        invoice.payment_ids.append(payment.payment_id)
        invoice.amount_paid += payment.amount
        if invoice.amount_due <= 0:
            invoice.status, invoice.fully_paid_on = "PAID", payment.date
        invoice.updated_at = payment.updated_at = self._now()
        return payment

    def delete_payment(self, payment: Payment, data: Data) -> list[str]:
        """Reverse a payment (`Status: DELETED`): its invoice is AUTHORISED again."""
        if data.get("Status") != "DELETED":
            return ["Status must be DELETED to remove a payment"]
        if payment.status == "DELETED":
            return ["This payment has already been deleted"]
        invoice = self.invoices[payment.invoice_id]
        payment.status = "DELETED"
        invoice.payment_ids.remove(payment.payment_id)
        invoice.amount_paid -= payment.amount
        if invoice.status == "PAID":
            invoice.status, invoice.fully_paid_on = "AUTHORISED", None
        invoice.updated_at = payment.updated_at = self._now()
        return []

    # ---- contacts and accounts -----------------------------------------------------------

    def check_contact(self, data: Data, claimed: set[str]) -> tuple[Contact | None, list[str]]:
        """A new contact from a request element; its name must be unique."""
        name = str(data.get("Name") or "").strip()
        if not name:
            return None, ["The contact name must be specified"]
        taken = {c.name.lower() for c in self.contacts.values()} | claimed
        if name.lower() in taken:
            return None, [f"The contact name {name} is already assigned to another contact."]
        claimed.add(name.lower())
        return Contact(new_id(), name, self._now()), []

    def add_contact(self, contact: Contact) -> Contact:
        self.contacts[contact.contact_id] = contact
        return contact

    def account(self, code: str) -> Account | None:
        return next((a for a in self.accounts if a.code == code), None)

    def _account_for(self, ref: object) -> Account | None:
        if not isinstance(ref, Mapping):
            return None
        if ref.get("AccountID"):
            return next((a for a in self.accounts if a.account_id == ref["AccountID"]), None)
        return self.account(str(ref.get("Code") or ""))

    def _contact_for(self, ref: object, errors: list[str]) -> tuple[str, str]:
        """(ContactID, name) of the element's contact; an unknown name is created on add."""
        if not isinstance(ref, Mapping) or not (ref.get("ContactID") or ref.get("Name")):
            errors.append("A Contact must be specified for this type of transaction")
            return "", ""
        if ref.get("ContactID"):
            contact = self.contacts.get(str(ref["ContactID"]).lower())
            if contact is None:
                errors.append(f"The contact with ContactID {ref['ContactID']} could not be found")
                return "", ""
            return contact.contact_id, contact.name
        name = str(ref["Name"]).strip()
        found = next((c for c in self.contacts.values() if c.name.lower() == name.lower()), None)
        return (found.contact_id if found else ""), name

    def _contact_named(self, name: str) -> Contact:
        found = next((c for c in self.contacts.values() if c.name.lower() == name.lower()), None)
        if found is not None:
            return found
        contact = Contact(new_id(), name, self._now())
        self.contacts[contact.contact_id] = contact
        return contact

    # ---- element parsing -----------------------------------------------------------------

    def _lines(self, items: object, strict: bool, errors: list[str]) -> list[Line]:
        if not isinstance(items, list) or not items:
            if strict:
                errors.append("At least one line item is required")
            return []
        return [line for item in items if (line := self._line(item, strict, errors))]

    def _line(self, item: object, strict: bool, errors: list[str]) -> Line | None:
        if not isinstance(item, Mapping):
            errors.append("A line item must be an object")
            return None
        description = str(item.get("Description") or "")
        if not description:
            errors.append("Description is required for each line item")
        code = str(item.get("AccountCode") or "")
        account = self.account(code)
        if strict and (account is None or account.system_account):
            errors.append(f"Account code '{code}' is not a valid code for this document.")
        quantity = self._amount(item.get("Quantity"), "Quantity", errors, Decimal(1))
        unit = self._amount(item.get("UnitAmount"), "UnitAmount", errors, Decimal(0))
        amount = ((quantity or Decimal(0)) * (unit or Decimal(0))).quantize(CENT, ROUND_HALF_UP)
        tax_type = str(item.get("TaxType") or "NONE")
        return Line(
            new_id(),
            description,
            quantity or Decimal(0),
            unit or Decimal(0),
            code,
            tax_type,
            amount,
        )

    def _number(self, kind: str, value: object, claimed: set[str], errors: list[str]) -> str:
        number = str(value or "")
        if len(number) > 255:
            errors.append("InvoiceNumber must be 255 characters or fewer")
        if kind != "ACCREC" or not number:
            return number
        taken = {i.number for i in self.invoices.values() if i.type == "ACCREC"}
        if number in taken or number in claimed:
            errors.append("Invoice # must be unique.")
        return number

    def _next_number(self) -> str:
        taken = {i.number for i in self.invoices.values() if i.type == "ACCREC"}
        count = len(taken) + 1
        while f"INV-{count:04d}" in taken:
            count += 1
        return f"INV-{count:04d}"

    @staticmethod
    def _amount(
        value: object, name: str, errors: list[str], default: Decimal | None
    ) -> Decimal | None:
        if value is None:
            if default is None:
                errors.append(f"{name} is required")
            return default
        try:
            return amount_of(value)
        except ValueError:
            errors.append(f"{name} is not a valid number")
            return default

    @staticmethod
    def _date(value: object, name: str, errors: list[str]) -> dt.date | None:
        try:
            return parse_date(value)
        except ValueError:
            errors.append(f"{name} is not a valid date")
            return None
