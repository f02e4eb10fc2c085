"""What gap detection must know about each provider, in one table.

Every fact comes from `reference/channel-apis.md` (cadence: section 10, how far back the API
still answers: section 11). A new connector needs a row here and no code change: the SQL of
`reconcile.gaps` and `reconcile.cadence` reads it as the relation `provider_rules` (`registered`).

`manual_step` and `manual_step_expired` are templates: `{window}` becomes the gap's window
("2024-01-01 to 2024-01-15") and `{connection}` the connection's name, quoted for a shell.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import duckdb
import polars as pl

_IMPORT = "then run: workbench import FILE --connection {connection}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderRule:
    """The facts about one provider that gap detection and cadence inference use.

    `horizon` is how far back the provider's API still returns settlements (None: no documented
    limit); `earliest` a fixed first date the API serves (None: none). `file_retention` is how
    long the provider keeps its downloadable settlement files; past it `manual_step_expired`
    replaces `manual_step`. Ledgers have no cadence and no gap windows of their own.
    """

    provider: str
    title: str
    kind: Literal["channel", "ledger"] = "channel"
    default_cadence: timedelta | None
    coverage_tolerance: timedelta | None = timedelta(days=1)
    overdue_grace: timedelta | None = timedelta(days=3)
    horizon: timedelta | None = None
    earliest: date | None = None
    file_retention: timedelta | None = None
    manual_step: str | None
    manual_step_expired: str | None = None
    source: str


def _days(n: int) -> timedelta:
    return timedelta(days=n)


PROVIDER_RULES: tuple[ProviderRule, ...] = (
    ProviderRule(
        provider="amazon",
        title="Amazon (SP-API)",
        default_cadence=_days(14),
        horizon=_days(730),
        file_retention=_days(90),
        manual_step=(
            "Request the settlement report for {window} in Seller Central (Reports > Payments > "
            "All statements), download it, " + _IMPORT
        ),
        manual_step_expired=(
            "Amazon keeps settlement reports for 90 days and no longer offers the one for "
            "{window}: contact Seller Support for that settlement statement, " + _IMPORT
        ),
        source="settlement period usually 14 days; finances API 2 years; reports kept 90 days",
    ),
    ProviderRule(
        provider="ebay",
        title="eBay (Sell Finances)",
        default_cadence=_days(1),
        manual_step="Download the payouts report for {window} from eBay Seller Hub, " + _IMPORT,
        source="daily payouts by default; getPayouts filters any date range",
    ),
    ProviderRule(
        provider="shopify",
        title="Shopify Payments",
        default_cadence=_days(1),
        manual_step="Export the payouts for {window} from the Shopify admin, " + _IMPORT,
        source="payoutSchedule daily (business days) by default; full payout history",
    ),
    ProviderRule(
        provider="etsy",
        title="Etsy (Open API v3)",
        default_cadence=_days(7),
        earliest=date(2000, 1, 1),
        manual_step="Download the payment account statement for {window} from Etsy, " + _IMPORT,
        source="weekly deposits by default (Mondays); ledger entries from 2000-01-01",
    ),
    ProviderRule(
        provider="walmart",
        title="Walmart Marketplace",
        default_cadence=_days(14),
        overdue_grace=_days(8),
        manual_step=(
            "Download the reconciliation report for {window} from Walmart Seller Center, " + _IMPORT
        ),
        source="bi-weekly periods; recon report on day 8 after period end; dates per "
        "availableReconFiles (no documented limit)",
    ),
    ProviderRule(
        provider="tiktok",
        title="TikTok Shop",
        default_cadence=_days(1),
        manual_step="Export the statements for {window} from TikTok Shop Seller Center, " + _IMPORT,
        source="statements daily (to verify); no documented look-back limit",
    ),
    ProviderRule(
        provider="square",
        title="Square",
        default_cadence=_days(1),
        earliest=date(2021, 1, 1),
        manual_step="Export the transfers for {window} from the Square Dashboard, " + _IMPORT,
        source="next-business-day payouts; payouts API serves January 2021 onwards",
    ),
    ProviderRule(
        provider="woocommerce",
        title="WooCommerce (WooPayments)",
        default_cadence=_days(1),
        overdue_grace=_days(7),
        manual_step="Download the deposits for {window} from WooPayments, " + _IMPORT,
        source="daily deposits after a 2-7 day pending period; no documented look-back limit",
    ),
    ProviderRule(
        provider="xero",
        title="Xero",
        kind="ledger",
        default_cadence=None,
        coverage_tolerance=None,
        overdue_grace=None,
        manual_step=None,
        source="a ledger: no settlements, no cadence",
    ),
)

RULES_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.String(),
    "kind": pl.String(),
    "default_cadence": pl.Duration("us"),
    "coverage_tolerance": pl.Duration("us"),
    "overdue_grace": pl.Duration("us"),
    "horizon": pl.Duration("us"),
    "earliest": pl.Date(),
    "file_retention": pl.Duration("us"),
    "manual_step": pl.String(),
    "manual_step_expired": pl.String(),
}


def rule(provider: str) -> ProviderRule | None:
    """The rule of `provider` (case-insensitive), None for a provider the table lacks."""
    wanted = provider.lower()
    return next((r for r in PROVIDER_RULES if r.provider == wanted), None)


def rules_frame(rules: tuple[ProviderRule, ...] = PROVIDER_RULES) -> pl.DataFrame:
    """The table as a DataFrame, ready to register on a DuckDB connection for the SQL."""
    rows = [{name: getattr(r, name) for name in RULES_SCHEMA} for r in rules]
    return pl.DataFrame(rows, schema=RULES_SCHEMA)


@contextlib.contextmanager
def registered(
    con: duckdb.DuckDBPyConnection, rules: tuple[ProviderRule, ...] = PROVIDER_RULES
) -> Iterator[None]:
    """The table registered on `con` as the relation `provider_rules` for the block."""
    con.register("provider_rules", rules_frame(rules))
    try:
        yield
    finally:
        con.unregister("provider_rules")
