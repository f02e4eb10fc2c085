"""Reading Amazon's V2 settlement flat file (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`).

The file as Seller Central downloads it: tab-separated, one header line, columns found by name
(extra columns such as `promotion-id` are ignored), optionally gzip-compressed, UTF-8 with or
without a byte-order mark, CRLF or LF. Each settlement has a summary row (only settlement-id,
the three dates, total-amount and currency filled) and one row per amount.

The text is read by `reconcile.settlement_source`; values are parsed column by column, never
row by row (the formats: `reconcile.settlement_formats`). Problems are returned as values with
their line number and column; nothing raises on bad data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from reconcile import settlement_formats as formats
from reconcile.settlement_source import REQUIRED_COLUMNS, Rejected, SettlementText

MAX_PROBLEMS = 200
AMOUNT = formats.AMOUNT


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the file: where (line and column, when known) and what."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"line {self.line}" if self.line is not None else "", self.column or ""]
        head = ", ".join(part for part in where if part)
        return f"{head}: {self.message}" if head else self.message


@dataclass(frozen=True)
class SettlementFile:
    """A parsed file: one row per settlement (its summary) and one per amount (its lines).

    `settlements`: settlement_id, line, period_start, period_end, deposit_date, currency, total.
    `lines`: settlement_id, line, transaction_type, amount_type, amount_description, amount,
    order_id, sku, posted_at (the repetitive text columns Categorical). `notes` say which
    conventions an ambiguous value was read with.
    """

    name: str
    sha256: str  # of the file as given
    content_sha256: str  # of its text (after gzip): the same report however it was saved
    settlements: pl.DataFrame
    lines: pl.DataFrame
    notes: tuple[str, ...]


def read_settlement_file(
    source: bytes | Path, name: str = "settlement file"
) -> tuple[SettlementFile | None, list[Problem]]:
    """Parse a V2 settlement flat file (its bytes, or its path); `(file, [])`, or
    `(None, problems)` if anything is wrong. A path that cannot be read raises `OSError`."""
    try:
        text = SettlementText.of(source)
        raw = text.columns()
    except Rejected as rejected:
        return None, [Problem(rejected.line, None, rejected.message)]
    problems = _Problems()
    parsed = _parse(raw, name, text.digests(), problems)
    return (parsed, []) if not problems.items and parsed else (None, problems.capped())


class _Problems:
    """Problems found so far, counted beyond the ones kept."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.count = 0

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(line, column, message))

    def rows(self, bad: pl.DataFrame, column: str, message: str) -> None:
        """One problem per row of `bad` (columns line, value); `{value}` in message is filled."""
        self.count += max(0, bad.height - (MAX_PROBLEMS - len(self.items)))
        for line, value in bad.head(MAX_PROBLEMS - len(self.items)).iter_rows():
            self.items.append(Problem(line, column, message.format(value=value)))

    def capped(self) -> list[Problem]:
        more = self.count - len(self.items)
        tail = [Problem(None, None, f"... and {more} more problems")] if more > 0 else []
        ordered = sorted(self.items, key=lambda p: (p.line or 0, p.column or ""))
        return ordered + tail


def _split(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The summary rows and the amount rows (blank rows dropped)."""
    has_amount = pl.col("amount") != ""
    lines, others = raw.filter(has_amount), raw.filter(~has_amount)
    others = others.filter(pl.any_horizontal(pl.col(c) != "" for c in REQUIRED_COLUMNS))
    is_summary = pl.col("total-amount") != ""
    summaries = others.filter(is_summary).with_columns(
        pl.col("settlement-id", "currency").cast(pl.String).str.strip_chars()
    )
    odd = others.filter(~is_summary)  # neither summary nor amount: reported as a bad amount
    return summaries, pl.concat([lines, odd]).sort("line") if odd.height else lines


def _parse(
    raw: pl.DataFrame, name: str, digests: tuple[str, str], problems: _Problems
) -> SettlementFile | None:
    summaries, lines = _split(raw)
    if summaries.is_empty() and lines.is_empty():
        problems.add(None, None, "the file has a header but no settlement rows")
        return None
    locale, notes = _locale(summaries, lines)
    texts = pl.concat([summaries["total-amount"], lines["amount"].unique()])
    comma = formats.decimal_comma(texts, locale, notes)
    reader = _Reader(locale, comma, problems, notes)
    settlements = reader.settlements(summaries)
    parsed_lines = reader.lines(lines, settlements)
    return SettlementFile(name, *digests, settlements, parsed_lines, tuple(notes))


def _locale(summaries: pl.DataFrame, lines: pl.DataFrame) -> tuple[formats.Locale, list[str]]:
    names = pl.col("marketplace-name")
    market = lines.select(names.filter(names != "").first()).item() if lines.height else None
    currency = summaries["currency"][0] if summaries.height else None
    locale = formats.locale_for(market, currency)
    known = market is not None and formats.is_known_market(market)
    source = f"marketplace {market}" if known else f"currency {currency or 'unknown'}"
    return locale, [f"conventions of {locale.market} (from the {source})"]


class _Reader:
    """Turns the text columns into typed ones, reporting each bad value."""

    def __init__(
        self, locale: formats.Locale, comma: bool, problems: _Problems, notes: list[str]
    ) -> None:
        self.locale = locale
        self.comma = comma
        self.problems = problems
        self.notes = notes

    def settlements(self, summaries: pl.DataFrame) -> pl.DataFrame:
        ids = summaries.select("line", "settlement-id")
        self.problems.rows(
            ids.filter(pl.col("settlement-id") == ""), "settlement-id", "the summary has no id"
        )
        twice = ids.filter(
            pl.col("settlement-id").is_duplicated() & (pl.col("settlement-id") != "")
        )
        self.problems.rows(twice, "settlement-id", "settlement {value} has a second summary row")
        self._currencies(summaries)
        deposits = self._instants(summaries, "deposit-date", required=False)
        return summaries.select(
            pl.col("settlement-id").alias("settlement_id"),
            "line",
            self._instants(summaries, "settlement-start-date", required=True).alias("period_start"),
            self._instants(summaries, "settlement-end-date", required=True).alias("period_end"),
            formats.local_dates(deposits, self.locale).alias("deposit_date"),
            pl.col("currency"),
            self._amounts(summaries, "total-amount").alias("total"),
        )

    def _currencies(self, summaries: pl.DataFrame) -> None:
        bad = summaries.filter(~pl.col("currency").str.contains(r"^[A-Z]{3}$"))
        message = "{value!r} is not a currency code (three capital letters such as EUR)"
        self.problems.rows(bad.select("line", "currency"), "currency", message)

    def lines(self, lines: pl.DataFrame, settlements: pl.DataFrame) -> pl.DataFrame:
        self._line_settlements(lines, settlements)
        posted = self._instants(lines, "posted-date-time", required=False)
        missing = posted.is_null()
        if missing.any():
            dates = self._instants(lines.filter(missing), "posted-date", required=False)
            posted = posted.scatter(missing.arg_true(), dates)
        return lines.select(
            pl.col("settlement-id").alias("settlement_id"),
            "line",
            pl.col("transaction-type").alias("transaction_type"),
            pl.col("amount-type").alias("amount_type"),
            pl.col("amount-description").alias("amount_description"),
            self._amounts(lines, "amount").alias("amount"),
            pl.when(pl.col("order-id") != "").then(pl.col("order-id")).alias("order_id"),
            pl.when(pl.col("sku") != "").then(pl.col("sku")).alias("sku"),
            posted.alias("posted_at"),
        )

    def _line_settlements(self, lines: pl.DataFrame, settlements: pl.DataFrame) -> None:
        """Each line's settlement has a summary row, in the line's currency (checked once per
        distinct pair; the lines are looked up only when a pair is wrong)."""
        keys = _pairs(lines, "settlement-id", "currency").cast(pl.String)
        known = settlements.select(pl.col("settlement_id").alias("settlement-id"), "currency")
        joined = keys.join(known, on="settlement-id", how="left", suffix="_summary")
        orphan = joined.filter(pl.col("currency_summary").is_null())
        mixed = joined.filter(
            (pl.col("currency") != "") & (pl.col("currency") != pl.col("currency_summary"))
        )
        if orphan.height:
            found = _rows_of(lines, orphan.select("settlement-id"))
            message = "settlement {value!r} has no summary row (the row with total-amount)"
            self.problems.rows(found.select("line", "settlement-id"), "settlement-id", message)
        if mixed.height:
            found = _rows_of(lines, mixed).select(
                "line", pl.format("{} (the settlement is in {})", "currency", "currency_summary")
            )
            message = "mixed currencies: {value}; a settlement has one currency"
            self.problems.rows(found, "currency", message)

    def _amounts(self, frame: pl.DataFrame, column: str) -> pl.Series:
        parsed, bad = formats.amounts(frame[column], self.comma)
        if bad.len():
            found = frame.select("line", column).filter(pl.col(column).is_in(bad.implode()))
            style = formats.amount_style(self.comma)
            message = f"{{value!r}} is not an amount (this file writes them as {style})"
            self.problems.rows(found, column, message)
        return parsed

    def _instants(self, frame: pl.DataFrame, column: str, *, required: bool) -> pl.Series:
        """A UTC instant per row (null where empty); bad values are problems."""
        instants = formats.instants(frame[column], self.locale, column, self.notes)
        found = frame.select("line", column).filter(instants.is_null())
        message = "{value!r} is not a date this importer reads (see docs/imports.md)"
        self.problems.rows(found.filter(pl.col(column) != ""), column, message)
        if required:
            self.problems.rows(found.filter(pl.col(column) == ""), column, "is empty{value}")
        return instants


def _pairs(frame: pl.DataFrame, first: str, second: str) -> pl.DataFrame:
    """The distinct pairs of values of two columns; when either takes one value (a file of one
    settlement, in one currency), from their distinct values alone."""
    ones, others = frame[first].unique(), frame[second].unique()
    if ones.len() == 1 or others.len() == 1:
        return ones.to_frame().join(others.to_frame(), how="cross")
    return frame.select(first, second).unique()


def _rows_of(lines: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The lines whose key columns (those of `keys`) take one of the keys' values, in order."""
    on = [c for c in keys.columns if c in lines.columns]
    keys = keys.cast({c: lines.schema[c] for c in on})
    return lines.join(keys, on=on, how="inner", maintain_order="left")
