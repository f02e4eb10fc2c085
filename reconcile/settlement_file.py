"""Reading Amazon's V2 settlement flat file (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`).

The file as Seller Central downloads it: tab-separated, one header line, columns found by name
(extra columns such as `promotion-id` are ignored), optionally gzip-compressed, UTF-8 with or
without a byte-order mark, CRLF or LF. Each settlement has a summary row (only settlement-id,
the three dates, total-amount and currency filled) and one row per amount.

Values are read as text and parsed column by column with polars, never row by row. Amounts take
the decimal comma (`1.234,56`) or the decimal point (`1,234.56`): the file's values decide, and
when they cannot (`1,234`), the marketplace's convention does. Dates: see `_to_iso`. Problems
are returned as values with their line number and column; nothing raises on bad data.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass

import polars as pl

REQUIRED_COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "posted-date",
    "sku",
)
OPTIONAL_COLUMNS = ("posted-date-time",)
MAX_PROBLEMS = 200
UTC_MICROS = pl.Datetime("us", "UTC")
AMOUNT = pl.Decimal(18, 4)


@dataclass(frozen=True, slots=True)
class Locale:
    """How a marketplace writes its reports: its time zone and its conventions."""

    market: str
    timezone: str
    month_first: bool  # `11/01/26` is November 1st (else January 11th)
    decimal_comma: bool  # `1.234,56` (else `1,234.56`)


_LOCALES = {
    locale.market: locale
    for locale in (
        Locale("Amazon.com", "America/Los_Angeles", True, False),
        Locale("Amazon.ca", "America/Los_Angeles", True, False),
        Locale("Amazon.com.mx", "America/Mexico_City", False, False),
        Locale("Amazon.com.br", "America/Sao_Paulo", False, True),
        Locale("Amazon.co.uk", "Europe/London", False, False),
        Locale("Amazon.de", "Europe/Berlin", False, True),
        Locale("Amazon.fr", "Europe/Paris", False, True),
        Locale("Amazon.es", "Europe/Madrid", False, True),
        Locale("Amazon.it", "Europe/Rome", False, True),
        Locale("Amazon.nl", "Europe/Amsterdam", False, True),
        Locale("Amazon.se", "Europe/Stockholm", False, True),
        Locale("Amazon.pl", "Europe/Warsaw", False, True),
        Locale("Amazon.com.be", "Europe/Brussels", False, True),
        Locale("Amazon.ie", "Europe/Dublin", False, False),
        Locale("Amazon.com.tr", "Europe/Istanbul", False, True),
        Locale("Amazon.eg", "Africa/Cairo", False, False),
        Locale("Amazon.co.za", "Africa/Johannesburg", False, False),
        Locale("Amazon.ae", "Asia/Dubai", False, False),
        Locale("Amazon.sa", "Asia/Riyadh", False, False),
        Locale("Amazon.in", "Asia/Kolkata", False, False),
        Locale("Amazon.sg", "Asia/Singapore", False, False),
        Locale("Amazon.com.au", "Australia/Sydney", False, False),
        Locale("Amazon.co.jp", "Asia/Tokyo", False, False),
    )
}
_HOME_MARKET = {"USD": "Amazon.com", "CAD": "Amazon.ca", "MXN": "Amazon.com.mx"}
_HOME_MARKET |= {"BRL": "Amazon.com.br", "GBP": "Amazon.co.uk", "EUR": "Amazon.de"}
_HOME_MARKET |= {"SEK": "Amazon.se", "PLN": "Amazon.pl", "TRY": "Amazon.com.tr"}
_HOME_MARKET |= {"EGP": "Amazon.eg", "ZAR": "Amazon.co.za", "AED": "Amazon.ae"}
_HOME_MARKET |= {"SAR": "Amazon.sa", "INR": "Amazon.in", "SGD": "Amazon.sg"}
_HOME_MARKET |= {"AUD": "Amazon.com.au", "JPY": "Amazon.co.jp"}
_BY_NAME = {name.lower(): locale for name, locale in _LOCALES.items()}


def locale_for(market_name: str | None, currency: str | None) -> Locale:
    """The marketplace's conventions: by its name, else by the currency's home marketplace."""
    found = _BY_NAME.get((market_name or "").strip().lower())
    if found is None:
        found = _LOCALES.get(_HOME_MARKET.get(currency or "", "Amazon.com"), _LOCALES["Amazon.com"])
    return found


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
    order_id, sku, posted_at. `notes` say which conventions an ambiguous value was read with.
    """

    name: str
    sha256: str  # of the file as given
    content_sha256: str  # of its text (after gzip): the same report however it was saved
    settlements: pl.DataFrame
    lines: pl.DataFrame
    notes: tuple[str, ...]


class _Rejected(Exception):
    """The whole file is unreadable: one problem says why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.problem = Problem(line, None, message)


def read_settlement_file(
    data: bytes, name: str = "settlement file"
) -> tuple[SettlementFile | None, list[Problem]]:
    """Parse a V2 settlement flat file; `(file, [])`, or `(None, problems)` if anything is wrong."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = _decompressed(data)
        raw = _frame(text)
    except _Rejected as rejected:
        return None, [rejected.problem]
    content = digest if text is data else hashlib.sha256(text).hexdigest()
    del text
    problems = _Problems()
    parsed = _parse(raw, name, (digest, content), problems)
    return (parsed, []) if not problems.items and parsed else (None, problems.capped())


def _decompressed(data: bytes) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise _Rejected("the gzip file is truncated: download it again") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise _Rejected(f"the gzip file is damaged ({error}): download it again") from None


def _frame(text: bytes) -> pl.DataFrame:
    """The columns the importer reads, as text, with a `line` number column."""
    if not text or text.isspace():
        raise _Rejected("the file is empty: download the settlement report again")
    if b"\x00" in text:
        raise _Rejected("this is a binary file, not a tab-separated settlement report")
    wanted = _wanted_columns(text)
    try:
        frame = pl.read_csv(
            text,
            columns=list(wanted),
            separator="\t",
            infer_schema=False,
            quote_char=None,
            truncate_ragged_lines=True,
            empty_string_is_null=False,
            row_index_name="line",
            row_index_offset=2,
        )
    except pl.exceptions.PolarsError as error:
        raise _Rejected(_unreadable(text, error)) from None
    frame.columns = ["line", *wanted.values()]
    for extra in OPTIONAL_COLUMNS:
        if extra not in wanted.values():
            frame = frame.with_columns(pl.lit("").alias(extra))
    return frame


def _wanted_columns(text: bytes) -> dict[int, str]:
    """Positions of the columns the importer reads; every required one must be there."""
    end = text.find(b"\n")
    first = text[: end if end >= 0 else len(text)].removeprefix(b"\xef\xbb\xbf")
    names = first.decode("utf-8", "replace").strip().lower().split("\t")
    names = [name.strip() for name in names]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        hint = (
            " (the file looks comma-separated)" if "," in first.decode("utf-8", "replace") else ""
        )
        raise _Rejected(f"missing required columns{hint}: {', '.join(missing)}", line=1)
    known = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    return {i: name for i, name in enumerate(names) if name in known and name not in names[:i]}


def _unreadable(text: bytes, error: Exception) -> str:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = text.count(b"\n", 0, bad.start) + 1
        return f"line {line}: the file is not UTF-8 text: save it as UTF-8 and import it again"
    return f"the file cannot be read as tab-separated text: {error}"


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


def _parse(
    raw: pl.DataFrame, name: str, digests: tuple[str, str], problems: _Problems
) -> SettlementFile | None:
    filled = pl.any_horizontal(pl.col(c) != "" for c in REQUIRED_COLUMNS)
    is_summary = (pl.col("total-amount") != "") & (pl.col("amount") == "")
    rows = raw.filter(filled)
    summaries = rows.filter(is_summary).with_columns(
        pl.col("settlement-id", "currency").str.strip_chars()
    )
    lines = rows.filter(~is_summary)
    if summaries.is_empty() and lines.is_empty():
        problems.add(None, None, "the file has a header but no settlement rows")
        return None
    locale, notes = _locale(summaries, lines)
    comma = _decimal_comma(pl.concat([summaries["total-amount"], lines["amount"]]), locale, notes)
    reader = _Reader(locale, comma, problems, notes)
    settlements = reader.settlements(summaries)
    parsed_lines = reader.lines(lines, settlements)
    return SettlementFile(name, *digests, settlements, parsed_lines, tuple(notes))


def _compact(text: pl.Series) -> pl.Series:
    """Amount text without the spaces and apostrophes some locales group digits with."""
    return text.str.replace_all(r"[\s\u00a0\u202f']", "")


def _decimal_comma(texts: pl.Series, locale: Locale, notes: list[str]) -> bool:
    """Whether the file's amounts use a decimal comma: its values decide, else the marketplace."""
    evidence = (
        _compact(texts)
        .to_frame("t")
        .select(
            comma=pl.col("t").str.contains(r",(\d{1,2}|\d{4,})$|\.\d{3},").any(),
            point=pl.col("t").str.contains(r"\.(\d{1,2}|\d{4,})$|,\d{3}\.").any(),
            either=pl.col("t").str.contains(r"[.,]").any(),
        )
    )
    comma, point, either = evidence.row(0)
    if comma != point:
        return bool(comma)
    if either:
        style = "decimal comma" if locale.decimal_comma else "decimal point"
        why = "contradict each other" if comma else "do not show their decimal separator"
        notes.append(f"amounts {why}: read with {locale.market}'s {style}")
    return locale.decimal_comma


def _locale(summaries: pl.DataFrame, lines: pl.DataFrame) -> tuple[Locale, list[str]]:
    markets = lines.filter(pl.col("marketplace-name") != "")["marketplace-name"]
    market = markets[0] if markets.len() else None
    currency = summaries["currency"][0] if summaries.height else None
    locale = locale_for(market, currency)
    known = market is not None and market.strip().lower() in _BY_NAME
    source = f"marketplace {market}" if known else f"currency {currency or 'unknown'}"
    return locale, [f"conventions of {locale.market} (from the {source})"]


class _Reader:
    """Turns the text columns into typed ones, reporting each bad value."""

    def __init__(self, locale: Locale, comma: bool, problems: _Problems, notes: list[str]) -> None:
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
        return summaries.select(
            pl.col("settlement-id").alias("settlement_id"),
            "line",
            self._instants(summaries, "settlement-start-date", required=True).alias("period_start"),
            self._instants(summaries, "settlement-end-date", required=True).alias("period_end"),
            self._deposit_dates(summaries).alias("deposit_date"),
            pl.col("currency"),
            self._amounts(summaries, "total-amount").alias("total"),
        )

    def _currencies(self, summaries: pl.DataFrame) -> None:
        bad = summaries.filter(~pl.col("currency").str.contains(r"^[A-Z]{3}$"))
        message = "{value!r} is not a currency code (three capital letters such as EUR)"
        self.problems.rows(bad.select("line", "currency"), "currency", message)

    def lines(self, lines: pl.DataFrame, settlements: pl.DataFrame) -> pl.DataFrame:
        self._line_settlements(lines, settlements)
        instants = self._instants(lines, "posted-date-time", required=False)
        dates = self._instants(lines.filter(instants.is_null()), "posted-date", required=False)
        posted = instants.scatter(instants.is_null().arg_true(), dates)
        return lines.select(
            pl.col("settlement-id").alias("settlement_id"),
            "line",
            pl.col("transaction-type").alias("transaction_type"),
            pl.col("amount-type").alias("amount_type"),
            pl.col("amount-description").alias("amount_description"),
            self._amounts(lines, "amount").alias("amount"),
            pl.when(pl.col("order-id") != "").then(pl.col("order-id")).alias("order_id"),
            pl.when(pl.col("sku") != "").then(pl.col("sku")).alias("sku"),
            pl.lit(posted).alias("posted_at"),
        )

    def _line_settlements(self, lines: pl.DataFrame, settlements: pl.DataFrame) -> None:
        keys = lines.select("line", "settlement-id", "currency")
        known = settlements.select(pl.col("settlement_id").alias("settlement-id"), "currency")
        joined = keys.join(known, on="settlement-id", how="left", suffix="_summary")
        orphan = joined.filter(pl.col("currency_summary").is_null())
        message = "settlement {value!r} has no summary row (the row with total-amount)"
        self.problems.rows(orphan.select("line", "settlement-id"), "settlement-id", message)
        mixed = joined.filter(
            (pl.col("currency") != "") & (pl.col("currency") != pl.col("currency_summary"))
        )
        mixed = mixed.select(
            "line", pl.format("{} (the settlement is in {})", "currency", "currency_summary")
        )
        message = "mixed currencies: {value}; a settlement has one currency"
        self.problems.rows(mixed, "currency", message)

    # -- amounts -------------------------------------------------------------------------

    def _amounts(self, frame: pl.DataFrame, column: str) -> pl.Series:
        text = _compact(frame[column])
        point, group = (",", r"\.") if self.comma else (r"\.", ",")
        pattern = rf"^[+-]?(\d{{1,3}}({group}\d{{3}})+|\d+)({point}\d{{1,4}})?$"
        plain = text.str.replace_all(group, "").str.replace(",", ".", literal=True)
        amounts = plain.cast(AMOUNT, strict=False)
        bad = frame.select("line", column).filter(~text.str.contains(pattern) | amounts.is_null())
        style = "1.234,56" if self.comma else "1,234.56"
        message = f"{{value!r}} is not an amount (this file writes them as {style})"
        self.problems.rows(bad, column, message)
        return amounts

    # -- dates ---------------------------------------------------------------------------

    def _deposit_dates(self, summaries: pl.DataFrame) -> pl.Series:
        instants = self._instants(summaries, "deposit-date", required=False)
        local = instants.dt.convert_time_zone(self.locale.timezone).dt.date()
        return local

    def _instants(self, frame: pl.DataFrame, column: str, *, required: bool) -> pl.Series:
        """A UTC instant per row (null where empty); a date alone is local midnight."""
        text = frame[column]
        fast = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S UTC", strict=False)
        instants = fast.dt.replace_time_zone("UTC")
        pending = instants.is_null() & (text != "")
        if pending.any():
            rest = self._slow_instants(text.filter(pending), column)
            instants = instants.scatter(pending.arg_true(), rest)
        found = frame.select("line", column).filter(instants.is_null())
        message = "{value!r} is not a date this importer reads (see docs/imports.md)"
        self.problems.rows(found.filter(pl.col(column) != ""), column, message)
        if required:
            self.problems.rows(found.filter(pl.col(column) == ""), column, "is empty{value}")
        return instants

    def _slow_instants(self, text: pl.Series, column: str) -> pl.Series:
        iso = _to_iso(text, self._month_first(text, column))
        aware = iso.str.strptime(UTC_MICROS, "%Y-%m-%d %H:%M:%S%.f%:z", strict=False)
        naive = iso.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
        day = iso.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
        midnight = day.dt.replace_time_zone(
            self.locale.timezone, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")
        return aware.fill_null(naive.dt.replace_time_zone("UTC")).fill_null(midnight)

    def _month_first(self, text: pl.Series, column: str) -> bool:
        parts = text.str.extract_groups(r"^(\d{1,2})/(\d{1,2})/\d{2,4}\b")
        first = parts.struct.field("1").cast(pl.Int32, strict=False)
        second = parts.struct.field("2").cast(pl.Int32, strict=False)
        if first.is_null().all():
            return self.locale.month_first
        day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
        if day_first != month_first:
            return month_first
        order = "MM/DD" if self.locale.month_first else "DD/MM"
        why = "ambiguous" if not day_first else "contradictory"
        self.notes.append(
            f"{column}: {why} slash dates read as {order}, {self.locale.market}'s order"
        )
        return self.locale.month_first


def _to_iso(text: pl.Series, month_first: bool) -> pl.Series:
    """Dates rewritten as `YYYY-MM-DD[ HH:MM:SS[.f]][+HH:MM]`.

    Read: `2026-11-01 07:00:00 UTC` (also GMT, `Z`, `+01:00`, `+0100`, no zone = UTC, a `T`
    instead of the space), `01.11.2026 [07:00:00 UTC]`, `2026/11/01`, `01/11/2026` and
    `01/11/26` (two-digit years are 20yy; day and month in the marketplace's order unless the
    column's values prove the other), each with or without a time.
    """
    day, month = (r"${2}", r"${1}") if month_first else (r"${1}", r"${2}")
    return (
        text.str.strip_chars()
        .str.replace(r"(\d)\s*(?i:UTC|GMT|Z)$", r"${1}+00:00")
        .str.replace(r"(\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2}):?(\d{2})$", r"${1}${2}:${3}")
        .str.replace(r"^(\d{4}-\d{1,2}-\d{1,2})T", r"${1} ")
        .str.replace(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})", r"${3}-${2}-${1}")
        .str.replace(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"${1}-${2}-${3}")
        .str.replace(r"^(\d{1,2})/(\d{1,2})/(\d{4})", rf"${{3}}-{month}-{day}")
        .str.replace(r"^(\d{1,2})/(\d{1,2})/(\d{2})\b", rf"20${{3}}-{month}-{day}")
    )
