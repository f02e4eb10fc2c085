"""Amazon Finances v0 `FinancialEvents` -> `SettlementLine`s: one line per amount Amazon posts.

Where each amount goes (`financesV0.json` definitions; a line's description is its charge or
fee type, else the event's own type field):

- ShipmentEventList, ShipmentSettleEventList: item and order charges (and charge adjustments) by
  `SALE_CHARGES`: `Principal`, `Giftwrap`, COD charges -> sale; `Tax`, `ShippingTax`,
  `GiftwrapTax`, marketplace-facilitator and TCS taxes -> tax; `ShippingCharge` -> shipping;
  `Discount` -> promotion; `PaymentMethodFee`, `PointsFee` -> fee; `Goodwill`, `ReturnShipping`,
  `RestockingFee` -> refund; any other charge type -> other.
- RefundEventList, GuaranteeClaimEventList, ChargebackEventList: charges and charge adjustments
  -> refund, except the tax types -> tax.
- In all five: item, shipment and order fees (and fee adjustments) -> fee; `PromotionList` and
  `PromotionAdjustmentList` -> promotion; `ItemTaxWithheldList[].TaxesWithheld` -> tax;
  `DirectPaymentList`, `CostOfPointsGranted`, `CostOfPointsReturned` -> other.
- ServiceFeeEventList: `FeeList` -> fee.
- AdjustmentEventList: `AdjustmentAmount` -> reserve when `AdjustmentType` names a reserve
  (`ReserveEvent`, ...), else adjustment.
- Every other list: the money fields `OTHER_LISTS` names -> other.

Each line keeps the order id (`AmazonOrderId` or the list's own), the `SellerSKU` and the
`PostedDate`. An unknown non-empty list is an `UnexpectedPayload`: Amazon adds lists over time,
and silently dropping money would make the lines disagree with the settlement total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from connectors.amazon_marketplaces import CURRENCY_EXPONENTS, PROVIDER
from connectors.errors import UnexpectedPayload
from reconcile.models import LineCategory, SettlementLine

SALE, REFUND, FEE = LineCategory.SALE, LineCategory.REFUND, LineCategory.FEE
TAX, SHIPPING, PROMOTION = LineCategory.TAX, LineCategory.SHIPPING, LineCategory.PROMOTION
RESERVE, ADJUSTMENT, OTHER = LineCategory.RESERVE, LineCategory.ADJUSTMENT, LineCategory.OTHER

TAX_CHARGES = frozenset(
    {
        "Tax",
        "ShippingTax",
        "GiftwrapTax",
        "GiftWrapTax",
        "TaxDiscount",
        "CODItemTaxCharge",
        "CODOrderTaxCharge",
        "CODShippingTaxCharge",
        "MarketplaceFacilitatorTax-Principal",
        "MarketplaceFacilitatorTax-Shipping",
        "MarketplaceFacilitatorTax-Giftwrap",
        "MarketplaceFacilitatorTax-Other",
        "TCS-CGST",
        "TCS-SGST",
        "TCS-IGST",
        "TCS-UTGST",
        "ExportCharge",
    }
)
SALE_CHARGES: Mapping[str, LineCategory] = {
    **dict.fromkeys(TAX_CHARGES, TAX),
    **dict.fromkeys(("Principal", "Giftwrap", "CODItemCharge", "CODOrderCharge"), SALE),
    **dict.fromkeys(("ShippingCharge", "CODShippingCharge"), SHIPPING),
    "Discount": PROMOTION,
    **dict.fromkeys(("PaymentMethodFee", "PointsFee"), FEE),
    **dict.fromkeys(("Goodwill", "ReturnShipping", "RestockingFee"), REFUND),
}
REFUND_CHARGES: Mapping[str, LineCategory] = dict.fromkeys(TAX_CHARGES, TAX)

Mapper = Callable[[Any, str, list[SettlementLine]], None]


@dataclass(frozen=True)
class OtherList:
    """How to read an event list that maps to `other`: its money fields and identifiers.

    `money` holds dotted paths to a Currency, a charge/fee component or a list of them;
    a path through a list visits every element.
    """

    money: tuple[str, ...]
    label: str | None = None
    posted: str | None = "PostedDate"
    order: str | None = None
    sku: str | None = None


OTHER_LISTS: Mapping[str, OtherList] = {
    "EBTRefundReimbursementOnlyEventList": OtherList(("Amount",), order="OrderId"),
    "PayWithAmazonEventList": OtherList(
        ("Charge", "FeeList"), posted="TransactionPostedDate", order="SellerOrderId"
    ),
    "ServiceProviderCreditEventList": OtherList(
        ("TransactionAmount",),
        "ProviderTransactionType",
        "TransactionCreationDate",
        "SellerOrderId",
    ),
    "RetrochargeEventList": OtherList(
        ("BaseTax", "ShippingTax", "RetrochargeTaxWithheldList.TaxesWithheld"),
        "RetrochargeEventType",
        order="AmazonOrderId",
    ),
    "RentalTransactionEventList": OtherList(
        ("RentalChargeList", "RentalFeeList", "RentalTaxWithheldList.TaxesWithheld"),
        "RentalEventType",
        order="AmazonOrderId",
    ),
    "ProductAdsPaymentEventList": OtherList(("transactionValue",), "transactionType", "postedDate"),
    "SellerDealPaymentEventList": OtherList(("totalAmount",), "eventType", "postedDate"),
    "DebtRecoveryEventList": OtherList(("RecoveryAmount",), "DebtRecoveryType", None),
    "LoanServicingEventList": OtherList(("LoanAmount",), "SourceBusinessEventType", None),
    "SAFETReimbursementEventList": OtherList(("ReimbursedAmount",), "ReasonCode"),
    "SellerReviewEnrollmentPaymentEventList": OtherList(("TotalAmount",)),
    "FBALiquidationEventList": OtherList(
        ("LiquidationProceedsAmount", "LiquidationFeeAmount"), order="OriginalRemovalOrderId"
    ),
    "CouponPaymentEventList": OtherList(("TotalAmount",)),
    "ImagingServicesFeeEventList": OtherList(("FeeList",)),
    "NetworkComminglingTransactionEventList": OtherList(
        ("TaxExclusiveAmount", "TaxAmount"), "TransactionType"
    ),
    "AffordabilityExpenseEventList": OtherList(
        ("TotalExpense",), "TransactionType", order="AmazonOrderId"
    ),
    "AffordabilityExpenseReversalEventList": OtherList(
        ("TotalExpense",), "TransactionType", order="AmazonOrderId"
    ),
    "RemovalShipmentEventList": OtherList(
        tuple(
            f"RemovalShipmentItemList.{f}"
            for f in ("Revenue", "FeeAmount", "TaxAmount", "TaxWithheld")
        ),
        "TransactionType",
        order="OrderId",
    ),
    "RemovalShipmentAdjustmentEventList": OtherList(
        tuple(
            f"RemovalShipmentItemAdjustmentList.{f}"
            for f in ("RevenueAdjustment", "TaxAmountAdjustment", "TaxWithheldAdjustment")
        ),
        "TransactionType",
        order="OrderId",
    ),
    "TrialShipmentEventList": OtherList(("FeeList",), order="AmazonOrderId", sku="SKU"),
    "TDSReimbursementEventList": OtherList(("ReimbursedAmount",), order="TDSOrderId"),
    "AdhocDisbursementEventList": OtherList(("TransactionAmount",), "TransactionType"),
    "TaxWithholdingEventList": OtherList(("WithheldAmount",)),
    "ChargeRefundEventList": OtherList(("ChargeRefundTransactions",), "ReasonCode"),
    "FailedAdhocDisbursementEventList": OtherList(("TransferAmount",), "FundsTransfersType"),
    "ValueAddedServiceChargeEventList": OtherList(("TransactionAmount",), "TransactionType"),
    "CapacityReservationBillingEventList": OtherList(("TransactionAmount",), "TransactionType"),
}


class FieldError(Exception):
    """A field of one event is missing or malformed; `path` is relative to the event."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def money(value: Any, currency: str, field: str, key: str = "") -> Decimal:
    """The exact amount of an Amazon `Currency` object, which must be in `currency`.

    The object is `field` itself, or the `key` of each element of the list `field`.
    """
    if type(value) is dict:
        amount = value.get("CurrencyAmount")
        if value.get("CurrencyCode") == currency and type(amount) is Decimal:
            return amount  # the hot path: a million lines go through here
    where = f"{field}[].{key}" if key else field
    if type(value) is not dict:
        raise FieldError(where, "is not a Currency object")
    code = value["CurrencyCode"]
    if code != currency:
        if code not in CURRENCY_EXPONENTS:
            raise FieldError(f"{where}.CurrencyCode", f"unknown currency code {code!r}")
        raise FieldError(f"{where}.CurrencyCode", f"{code} differs from the group's {currency}")
    amount = value["CurrencyAmount"]
    if type(amount) is int:
        return Decimal(amount)
    raise FieldError(f"{where}.CurrencyAmount", f"{amount!r} is not a number")


def timestamp(value: Any, field: str) -> datetime | None:
    """An ISO 8601 date-time with its offset (Amazon sends `...Z`); None when absent."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise FieldError(field, f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise FieldError(field, f"{value!r} has no UTC offset")
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


class _Where(NamedTuple):
    """What every line of one event (or item) shares."""

    currency: str
    order_id: str | None
    sku: str | None
    posted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Components:
    """A kind of component list: its type and amount keys and how its types map to categories."""

    type_key: str
    amount_key: str
    default: LineCategory
    categories: Mapping[str, LineCategory]


SALE_CHARGE = Components("ChargeType", "ChargeAmount", OTHER, SALE_CHARGES)
REFUND_CHARGE = Components("ChargeType", "ChargeAmount", REFUND, REFUND_CHARGES)
FEES = Components("FeeType", "FeeAmount", FEE, {})
PROMOTIONS = Components("PromotionType", "PromotionAmount", PROMOTION, {})
TAX_WITHHELD = Components("ChargeType", "ChargeAmount", TAX, {})


def _components(
    components: Any, field: str, kind: Components, where: _Where, out: list[SettlementLine]
) -> None:
    if not components:
        return
    if type(components) is not list:
        raise FieldError(field, "is not a list")
    type_key, amount_key, categories, default = (
        kind.type_key,
        kind.amount_key,
        kind.categories,
        kind.default,
    )
    currency, order_id, sku, posted = where
    for component in components:
        label = component[type_key]
        if type(label) is not str:
            raise FieldError(f"{field}[].{type_key}", f"{label!r} is not a string")
        amount = money(component[amount_key], currency, field, amount_key)
        category = categories.get(label, default)
        out.append(SettlementLine(category, amount, label, order_id, sku, posted))


def _currency_line(
    value: Any,
    field: str,
    label: str,
    category: LineCategory,
    where: _Where,
    out: list[SettlementLine],
) -> None:
    if value is not None:
        amount = money(value, where.currency, field)
        out.append(SettlementLine(category, amount, label, *where[1:]))


def _shipment_mapper(charges: Components) -> Mapper:
    """Shipment-shaped events (shipments, refunds, guarantee claims, chargebacks)."""
    event_fields = (
        ("OrderChargeList", charges),
        ("OrderChargeAdjustmentList", charges),
        *((f, FEES) for f in ("ShipmentFeeList", "ShipmentFeeAdjustmentList")),
        *((f, FEES) for f in ("OrderFeeList", "OrderFeeAdjustmentList")),
    )
    item_fields = (
        ("ItemChargeList", charges),
        ("ItemChargeAdjustmentList", charges),
        ("ItemFeeList", FEES),
        ("ItemFeeAdjustmentList", FEES),
        ("PromotionList", PROMOTIONS),
        ("PromotionAdjustmentList", PROMOTIONS),
    )

    def item_lines(item: Any, base: _Where, out: list[SettlementLine]) -> None:
        where = _Where(base.currency, base.order_id, item.get("SellerSKU"), base.posted_at)
        for name, kind in item_fields:
            if components := item.get(name):  # most lists are absent or empty: skip the call
                _components(components, name, kind, where, out)
        for withheld in item.get("ItemTaxWithheldList") or ():
            name = "ItemTaxWithheldList[].TaxesWithheld"
            _components(withheld.get("TaxesWithheld"), name, TAX_WITHHELD, where, out)
        for name in ("CostOfPointsGranted", "CostOfPointsReturned"):
            if (points := item.get(name)) is not None:
                _currency_line(points, name, name, OTHER, where, out)

    def lines(event: Any, currency: str, out: list[SettlementLine]) -> None:
        posted = timestamp(event.get("PostedDate"), "PostedDate")
        where = _Where(currency, event.get("AmazonOrderId"), None, posted)
        for name, kind in event_fields:
            if components := event.get(name):
                _components(components, name, kind, where, out)
        for payment in event.get("DirectPaymentList") or ():
            label = payment.get("DirectPaymentType") or "DirectPayment"
            amount = payment.get("DirectPaymentAmount")
            _currency_line(amount, "DirectPaymentList[]", label, OTHER, where, out)
        for name in ("ShipmentItemList", "ShipmentItemAdjustmentList"):
            for item in event.get(name) or ():
                item_lines(item, where, out)

    return lines


def _service_fee(event: Any, currency: str, out: list[SettlementLine]) -> None:
    where = _Where(currency, event.get("AmazonOrderId"), event.get("SellerSKU"), None)
    _components(event.get("FeeList"), "FeeList", FEES, where, out)


def _adjustment(event: Any, currency: str, out: list[SettlementLine]) -> None:
    kind = event["AdjustmentType"]
    items: list[Any] = event.get("AdjustmentItemList") or []
    sku = items[0].get("SellerSKU") if len(items) == 1 else None
    posted = timestamp(event.get("PostedDate"), "PostedDate")
    category = RESERVE if "reserve" in str(kind).lower() else ADJUSTMENT
    amount = money(event["AdjustmentAmount"], currency, "AdjustmentAmount")
    out.append(SettlementLine(category, amount, kind, None, sku, posted))


def _walk(value: Any, parts: list[str], path: str) -> Iterator[tuple[Any, str]]:
    if value is None:
        return
    if type(value) is list:
        for element in value:
            yield from _walk(element, parts, path)
    elif parts:
        yield from _walk(value.get(parts[0]), parts[1:], f"{path}.{parts[0]}")
    else:
        yield value, path


def _other_mapper(name: str, spec: OtherList) -> Mapper:
    short = name.removesuffix("EventList")

    def lines(event: Any, currency: str, out: list[SettlementLine]) -> None:
        posted = timestamp(event.get(spec.posted), spec.posted) if spec.posted else None
        order = event.get(spec.order) if spec.order else None
        where = _Where(currency, order, event.get(spec.sku) if spec.sku else None, posted)
        label = event.get(spec.label) if spec.label else None
        for money_path in spec.money:
            head, *rest = money_path.split(".")
            for value, path in _walk(event.get(head), rest, head):
                kind = value.get("ChargeType") or value.get("FeeType")
                if kind is not None:
                    amount_key = "ChargeAmount" if "ChargeType" in value else "FeeAmount"
                    value = value[amount_key]
                    path = f"{path}.{amount_key}"
                single = len(spec.money) == 1
                text = kind or label or (short if single else f"{short} {path.split('.')[-1]}")
                _currency_line(value, path, str(text), OTHER, where, out)

    return lines


_SHIPMENT = _shipment_mapper(SALE_CHARGE)
_REFUND = _shipment_mapper(REFUND_CHARGE)
MAPPERS: Mapping[str, Mapper] = {
    "ShipmentEventList": _SHIPMENT,
    "ShipmentSettleEventList": _SHIPMENT,
    "RefundEventList": _REFUND,
    "GuaranteeClaimEventList": _REFUND,
    "ChargebackEventList": _REFUND,
    "ServiceFeeEventList": _service_fee,
    "AdjustmentEventList": _adjustment,
    **{name: _other_mapper(name, spec) for name, spec in OTHER_LISTS.items()},
}


def event_lines(events: Any, currency: str, where: str, out: list[SettlementLine]) -> None:
    """Append the lines of one page's `FinancialEvents` (in `currency`) to `out`.

    A missing or malformed field raises `UnexpectedPayload` naming the list, event and field;
    `where` says which request the page answered.
    """
    if type(events) is not dict:
        raise UnexpectedPayload(PROVIDER, f"{where}: FinancialEvents is not an object")
    for name, items in events.items():
        if not items:
            continue
        mapper = MAPPERS.get(name)
        if mapper is None or type(items) is not list:
            problem = "is not a list" if mapper else "is an event list this connector cannot map"
            raise UnexpectedPayload(PROVIDER, f"{where}: FinancialEvents.{name} {problem}")
        for index, event in enumerate(items):
            try:
                mapper(event, currency, out)
            except FieldError as error:
                raise _bad(where, name, index, f"{error.path}: {error.problem}") from None
            except KeyError as error:
                raise _bad(where, name, index, f"required field {error} is missing") from None
            except (TypeError, AttributeError):
                raise _bad(where, name, index, "an element is not the documented object") from None


def _bad(where: str, name: str, index: int, problem: str) -> UnexpectedPayload:
    return UnexpectedPayload(PROVIDER, f"{where}: {name}[{index}]: {problem}")
