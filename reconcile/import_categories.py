"""The category of each amount of a settlement report, the way the Finances API path gives it.

The rules are worked out once per distinct (transaction-type, amount-type, amount-description):
a report of a million lines has a few dozen of them.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from reconcile.models import LineCategory

SALE, REFUND, FEE = LineCategory.SALE, LineCategory.REFUND, LineCategory.FEE
TAX, SHIPPING, PROMOTION = LineCategory.TAX, LineCategory.SHIPPING, LineCategory.PROMOTION
RESERVE, ADJUSTMENT, OTHER = LineCategory.RESERVE, LineCategory.ADJUSTMENT, LineCategory.OTHER
CATEGORY = pl.Enum([category.value for category in LineCategory])
KEY = ("transaction_type", "amount_type", "amount_description")

# How a row's (transaction-type, amount-type, amount-description) becomes a category, in the
# order the rules apply; names compare in lower case. The API's mapping, for the file's words.
# 1. "reserve" in the transaction type or description: reserve (the API's reserve adjustments).
# 2. amount-type with a category of its own:
AMOUNT_TYPES: Mapping[str, LineCategory] = {
    "itemfees": FEE,
    "shipmentfees": FEE,
    "orderfees": FEE,
    "promotion": PROMOTION,
    "itemwithheldtax": TAX,
    "cost of advertising": OTHER,  # ProductAdsPaymentEventList -> other
    "fba inventory reimbursement": ADJUSTMENT,  # AdjustmentEventList -> adjustment
}
# 3. amount-type ItemPrice (charges): a tax description is tax; else a refund-like transaction
#    is a refund; else the description decides (the API's SALE_CHARGES), unknown ones are other.
TAX_DESCRIPTIONS = (  # the API's TAX_CHARGES, in lower case
    r"^(tax|shippingtax|giftwraptax|taxdiscount|cod(item|order|shipping)taxcharge"
    r"|marketplacefacilitatortax-(principal|shipping|giftwrap|other)|tcs-(c|s|i|ut)gst"
    r"|exportcharge)$"
)
REFUND_TRANSACTIONS = frozenset(
    {"refund", "chargeback refund", "chargeback", "a-to-z guarantee claim", "guaranteeclaim"}
)
CHARGES: Mapping[str, LineCategory] = {
    **dict.fromkeys(("principal", "giftwrap", "coditemcharge", "codordercharge"), SALE),
    **dict.fromkeys(("shipping", "shippingcharge", "codshippingcharge"), SHIPPING),
    "discount": PROMOTION,
    **dict.fromkeys(("paymentmethodfee", "pointsfee"), FEE),
    **dict.fromkeys(("goodwill", "returnshipping", "restockingfee"), REFUND),
}
# 4. transaction-type ServiceFee, or "fee" in the description (Storage Fee, Subscription Fee):
#    fee. 5. transaction type Adjustment or a reimbursement: adjustment. 6. Anything else: other.
GROSS = (SALE, SHIPPING, TAX, PROMOTION)  # as connectors/amazon.py sums a settlement's gross


def categorised(lines: pl.DataFrame) -> pl.DataFrame:
    """The parsed lines with their `category` (an Enum of `LineCategory` values) and
    `description` (amount-description, else amount-type, else transaction-type)."""
    keys = lines.select(KEY).unique()
    kind, amount_type, text = (pl.col(c).cast(pl.String).str.to_lowercase() for c in KEY)
    table = keys.with_columns(
        _category(kind, amount_type, text).cast(CATEGORY).alias("category"),
        _description().cast(pl.Categorical).alias("description"),
    )
    found = lines.select(KEY).join(table, on=list(KEY), how="left", maintain_order="left")
    return lines.with_columns(found["category"], found["description"])


def line_categories(lines: pl.DataFrame) -> pl.Series:
    """The `LineCategory` value of each parsed line, by the rules above."""
    return categorised(lines)["category"].cast(pl.String)


def _category(kind: pl.Expr, amount_type: pl.Expr, text: pl.Expr) -> pl.Expr:
    charge = (
        pl.when(text.str.contains(TAX_DESCRIPTIONS))
        .then(pl.lit(TAX.value))
        .when(kind.is_in(REFUND_TRANSACTIONS))
        .then(pl.lit(REFUND.value))
        .otherwise(text.replace_strict(_values(CHARGES), default=OTHER.value))
    )
    adjustment = (kind == "adjustment") | (kind + " " + amount_type).str.contains("reimbursement")
    return (
        pl.when((kind + " " + text).str.contains("reserve"))
        .then(pl.lit(RESERVE.value))
        .when(amount_type.is_in(list(AMOUNT_TYPES)))
        .then(amount_type.replace_strict(_values(AMOUNT_TYPES), default=OTHER.value))
        .when(amount_type == "itemprice")
        .then(charge)
        .when((kind == "servicefee") | text.str.contains(r"\bfee\b"))
        .then(pl.lit(FEE.value))
        .when(adjustment)
        .then(pl.lit(ADJUSTMENT.value))
        .otherwise(pl.lit(OTHER.value))
    )


def _description() -> pl.Expr:
    """The line's description: amount-description, else amount-type, else transaction-type."""
    columns = ("amount_description", "amount_type", "transaction_type")
    texts = (pl.col(c).cast(pl.String) for c in columns)
    return pl.coalesce(*(pl.when(text != "").then(text) for text in texts), pl.lit(""))


def _values(mapping: Mapping[str, LineCategory]) -> dict[str, str]:
    return {key: category.value for key, category in mapping.items()}
