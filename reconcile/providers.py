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


@dataclass(frozen=True, slots=True)
class ProviderRule:
    """The facts about one provider that gap detection and cadence inference use.

    `horizon` is how far back the provider's API still returns settlements (None: no documented
    limit); `earliest` a fixed first date the API serves (None: none). `file_retention` is how
    long the provider keeps its downloadable settlement files; past it `manual_step_expired`
    replaces `manual_step`. Ledgers have no cadence and no gap windows of their own.
    """

    provider: str
    title: str
    kind: Literal["channel", "ledger"]
    default_cadence: timedelta | None
    coverage_tolerance: timedelta | None
    overdue_grace: timedelta | None
    horizon: timedelta | None
    earliest: date | None
    file_retention: timedelta | None
    manual_step: str | None
    manual_step_expired: str | None
    source: str


def _days(n: int) -> timedelta:
    return timedelta(days=n)


PROVIDER_RULES: tuple[ProviderRule, ...] = (
    ProviderRule(
        provider="amazon",
        title="Amazon (SP-API)",
        kind="channel",
        default_cadence=_days(14),
        coverage_tolerance=_days(1),
        overdue_grace=_days(3),
        horizon=_days(730),
        earliest=None,
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
        kind="channel",
        default_cadence=_days(1),
        coverage_tolerance=_days(1),
        overdue_grace=_days(3),
        horizon=None,
        earliest=None,
        file_retention=None,
        manual_step="Download the payouts report for {window} from eBay Seller Hub, " + _IMPORT,
        manual_step_expired=None,
        source="daily payouts by default; getPayouts filters any date range",
    ),
    ProviderRule(
        provider="shopify",
        title="Shopify Payments",
        kind="channel",
        default_cadence=_days(1),
        coverage_tolerance=_days(1),
        overdue_grace=_days(3),
        horizon=None,
        earliest=None,
        file_retention=None,
        manual_step="Export the payouts for {window} from the Shopify admin, " + _IMPORT,
        manual_step_expired=None,
        source="payoutSchedule daily (business days) by default; full payout history",
    ),
    ProviderRule(
        provider="etsy",
        title="Etsy (Open API v3)",
        kind="channel",
        default_cadence=_days(7),
        coverage_tolerance=_days(1),
        overdue_grace=_days(3),
        horizon=None,
        earliest=date(2000, 1, 1),
        file_retention=None,
        manual_step="Download the payment account statement for {window} from Etsy, " + _IMPORT,
        manual_step_expired=None,
        source="weekly deposits by default (Mondays); ledger entries from 2000-01-01",
    ),
    ProviderRule(
        provider="walmart",
        title="Walmart Marketplace",
        kind="channel",
        default_cadence=_days(14),
        coverage_tolerance=_days(1),
        overdue_grace=_days(8),
        horizon=None,
        earliest=None,
        file_retention=None,
        manual_step=(
            "Download the reconciliation report for {window} from Walmart Seller Center, " + _IMPORT
        ),
        manual_step_expired=None,
        source="bi-weekly periods; recon report on day 8 after period end; dates per "
        "availableReconFiles (no documented limit)",
    ),
    ProviderRule(
        provider="tiktok",
        title="TikTok Shop",
        kind="channel",
        default_cadence=_days(1),
        coverage_tolerance=_days(1),
        overdue_grace=_days(3),
        horizon=None,
        earliest=None,
        file_retention=None,
        manual_step="Export the statements for {window} from TikTok Shop Seller Center, " + _IMPORT,
        manual_step_expired=None,
        source="statements daily (to verify); no documented look-back limit",
    ),
    ProviderRule(
        provider="square",
        title="Square",
        kind="channel",
        default_cadence=_days(1),
        coverage_tolerance=_days(1),
        overdue_grace=_days(3),
        horizon=None,
        earliest=date(2021, 1, 1),
        file_retention=None,
        manual_step="Export the transfers for {window} from the Square Dashboard, " + _IMPORT,
        manual_step_expired=None,
        source="next-business-day payouts; payouts API serves January 2021 onwards",
    ),
    ProviderRule(
        provider="woocommerce",
        title="WooCommerce (WooPayments)",
        kind="channel",
        default_cadence=_days(1),
        coverage_tolerance=_days(1),
        overdue_grace=_days(7),
        horizon=None,
        earliest=None,
        file_retention=None,
        manual_step="Download the deposits for {window} from WooPayments, " + _IMPORT,
        manual_step_expired=None,
        source="daily deposits after a 2-7 day pending period; no documented look-back limit",
    ),
    ProviderRule(
        provider="xero",
        title="Xero",
        kind="ledger",
        default_cadence=None,
        coverage_tolerance=None,
        overdue_grace=None,
        horizon=None,
        earliest=None,
        file_retention=None,
        manual_step=None,
        manual_step_expired=None,
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
