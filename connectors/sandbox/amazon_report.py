"""The sandbox's settlement reports: a truth group as the V2 flat file Seller Central serves.

What a seller downloads when the API can no longer return a window ("request the report in
Seller Central"): tab-separated, the documented columns plus `promotion-id`, a summary row
first, then one row per amount. The settlement-id is numeric and differs from the group id, as
Amazon's do. The marketplace sets the locale: DE, FR, IT and ES write decimal commas
(`1.234,56`) and `DD.MM.YYYY` dates; the US writes `1234.56`, `YYYY-MM-DD HH:MM:SS UTC` and a
`MM/DD/YY` posted-date; UK writes a `DD/MM/YYYY` posted-date; others ISO dates.

Each event of the group becomes the rows Amazon would write for it, worded so that the file's
categories (`reconcile.import_categories`) equal the Finances API's (`connectors.amazon_events`).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from datetime import datetime

from connectors.amazon_marketplaces import marketplace
from connectors.sandbox.amazon_history import Event, History
from connectors.sandbox.amazon_wire import amount_text

COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)
DECIMAL_COMMA = frozenset({"DE", "FR", "IT", "ES"})
SERVICE_FEES = {
    "FBAStorageFee": "Storage Fee",
    "Subscription": "Subscription Fee",
    "FBALongTermStorageFee": "Long-Term Storage Fee",
}

Row = tuple[str, str, str, int]  # transaction-type, amount-type, amount-description, amount


def report_settlement_id(history: History, index: int) -> str:
    """The group's numeric settlement-id in its report (11 digits, never the group id)."""
    digest = hashlib.sha256(f"report/{history.seed}/{history.seller}/{index}".encode()).digest()
    return str(10_000_000_000 + int.from_bytes(digest[:8], "big") % 90_000_000_000)


def settlement_report(
    history: History,
    group_id: str,
    now: datetime,
    lock: contextlib.AbstractContextManager[object] | None = None,
) -> str:
    """The report of a closed group (hidden or not), as text; `ValueError` for others."""
    with lock or contextlib.nullcontext():
        index = history.index_of(group_id, now)
        if index is None:
            raise ValueError(f"no financial event group {group_id!r} for {history.seller}")
        if history.end(index) > now:
            raise ValueError(
                f"group {group_id} is still open: Amazon issues its settlement report once the "
                f"settlement closes ({history.end(index).isoformat()})"
            )
        return _Report(history).render(index)


class _Report:
    """One group's rows, written in its marketplace's locale."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.country = history.spec.marketplace.upper()
        site = marketplace(history.spec.marketplace).site
        self.market = site[0].upper() + site[1:]
        self.comma = self.country in DECIMAL_COMMA

    def render(self, index: int) -> str:
        history = self.history
        group = history.generated(index)
        start, end = int(history.start(index).timestamp()), int(history.end(index).timestamp())
        ident = report_settlement_id(history, index)
        total = self.amount(sum(event.total for event in group.events))
        summary = [ident, self.instant(start), self.instant(end), self.instant(end), total]
        rows = ["\t".join(COLUMNS), "\t".join([*summary, history.spec.currency] + [""] * 18)]
        rows += (self._row(ident, event, row) for event in group.events for row in _rows(event))
        return "\n".join(rows) + "\n"

    def _row(self, ident: str, event: Event, row: Row) -> str:
        kind, amount_type, description, minor = row
        order = event.order_id or ""
        is_order = kind in ("Order", "Refund")
        fields = (
            ident,
            "",
            "",
            "",
            "",
            "",
            kind,
            order,
            "",
            f"A{event.posted}" if kind == "Refund" else "",
            f"S{event.posted}" if kind == "Order" else "",
            self.market,
            amount_type,
            description,
            self.amount(minor),
            "AFN" if is_order else "",
            self.day(event.posted),
            self.instant(event.posted),
            order.replace("-", "") if is_order else "",
            "",
            "",
            event.sku or "",
            str(event.quantity) if description == "Principal" and kind == "Order" else "",
            f"PR{order.replace('-', '')}" if amount_type == "Promotion" else "",
        )
        return "\t".join(fields)

    def amount(self, minor: int) -> str:
        text = amount_text(minor, self.history.exponent)
        if not self.comma:
            return text
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        whole, _, fraction = digits.partition(".")
        groups = f"{int(whole):,}".replace(",", ".")
        return f"{sign}{groups},{fraction}" if fraction else f"{sign}{groups}"

    def instant(self, epoch: int) -> str:
        pattern = "%d.%m.%Y %H:%M:%S UTC" if self.comma else "%Y-%m-%d %H:%M:%S UTC"
        return time.strftime(pattern, time.gmtime(epoch))

    def day(self, epoch: int) -> str:
        patterns = {"US": "%m/%d/%y", "UK": "%d/%m/%Y"}
        pattern = "%d.%m.%Y" if self.comma else patterns.get(self.country, "%Y-%m-%d")
        return time.strftime(pattern, time.gmtime(epoch))


def _rows(event: Event) -> Iterator[Row]:
    """The rows Amazon writes for one event, in the words of the flat file."""
    name = event.list_name
    if name in ("ShipmentEventList", "RefundEventList"):
        kind = "Order" if name == "ShipmentEventList" else "Refund"
        for charge, minor in event.charges:
            yield kind, "ItemPrice", "Shipping" if charge == "ShippingCharge" else charge, minor
        yield from ((kind, "ItemFees", fee, minor) for fee, minor in event.fees)
        yield from ((kind, "Promotion", "Principal", minor) for _, minor in event.promotions)
        yield from ((kind, "ItemWithheldTax", tax, minor) for tax, minor in event.withheld)
    elif name == "ServiceFeeEventList":
        for fee, minor in event.fees:
            yield "other-transaction", "other-transaction", SERVICE_FEES.get(fee, fee), minor
    elif name == "AdjustmentEventList":
        kind, minor = event.charges[0]
        if kind == "ReserveEvent":
            yield "other-transaction", "other-transaction", "Current Reserve Amount", minor
        else:
            yield "other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE", minor
    else:  # ProductAdsPaymentEventList
        yield "ServiceFee", "Cost of Advertising", "TransactionTotalAmount", event.charges[0][1]
