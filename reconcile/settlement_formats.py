"""How marketplaces write amounts and dates in their settlement reports, and reading them back.

Amounts take the decimal comma (`1.234,56`) or the decimal point (`1,234.56`): the file's
values decide, and when they cannot (`1,234`), the marketplace's convention does. Dates: see
`to_iso`. Everything works column by column; the regular expressions run once per distinct
value (a report repeats the same few thousand amounts), not once per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_MICROS = pl.Datetime("us", "UTC")
AMOUNT = pl.Decimal(18, 4)
# The forms Amazon writes, tried on whole columns before the general (slower) rewriting.
_EXACT_FORMATS = ("%Y-%m-%d %H:%M:%S UTC", "%d.%m.%Y %H:%M:%S UTC")


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


def is_known_market(market_name: str) -> bool:
    """Whether the name is one of the marketplaces above (in any case)."""
    return market_name.strip().lower() in _BY_NAME


# -- amounts ------------------------------------------------------------------------------------


def _compact(text: pl.Series) -> pl.Series:
    """Amount text without the spaces and apostrophes some locales group digits with."""
    return text.str.replace_all(r"[\s\u00a0\u202f']", "")


def decimal_comma(texts: pl.Series, locale: Locale, notes: list[str]) -> bool:
    """Whether the file's amounts use a decimal comma: its values decide, else the marketplace."""
    evidence = (
        _compact(texts.unique())
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


def amounts(text: pl.Series, comma: bool) -> tuple[pl.Series, pl.Series]:
    """Each text as an exact amount (null where it is none), and the distinct bad texts."""
    distinct = text.unique()
    compact = _compact(distinct)
    point, group = (",", r"\.") if comma else (r"\.", ",")
    pattern = rf"^[+-]?(\d{{1,3}}({group}\d{{3}})+|\d+)({point}\d{{1,4}})?$"
    plain = compact.str.replace_all(group, "").str.replace(",", ".", literal=True)
    parsed = plain.cast(AMOUNT, strict=False)
    valid = compact.str.contains(pattern) & parsed.is_not_null()
    if valid.all() and (plain == distinct).all():  # `1234.56`: the column casts as it is
        return text.cast(AMOUNT), distinct.clear()
    parsed = pl.select(pl.when(valid).then(parsed)).to_series()
    return text.replace_strict(distinct, parsed, return_dtype=AMOUNT), distinct.filter(~valid)


def amount_style(comma: bool) -> str:
    """How the file writes amounts, as an example for a message."""
    return "1.234,56" if comma else "1,234.56"


# -- dates --------------------------------------------------------------------------------------


def instants(text: pl.Series, locale: Locale, column: str, notes: list[str]) -> pl.Series:
    """A UTC instant per value (null where empty or unreadable); a date alone is local midnight."""
    found = pl.repeat(None, text.len(), dtype=UTC_MICROS, eager=True).alias(text.name)
    pending = text != ""
    for number, form in enumerate(_EXACT_FORMATS):
        if not pending.any():
            return found
        exact = text.str.strptime(pl.Datetime("us"), form, strict=False).dt.replace_time_zone("UTC")
        found = exact if number == 0 else found.fill_null(exact)
        pending = pending & exact.is_null()
    if pending.any():
        rest = text.filter(pending)
        distinct = rest.unique()
        read = _general_instants(distinct, locale, _month_first(distinct, locale, column, notes))
        mapped = rest.to_frame("t").join(
            pl.DataFrame({"t": distinct, "at": read}), on="t", how="left", maintain_order="left"
        )
        found = found.scatter(pending.arg_true(), mapped["at"])
    return found


def local_dates(instants: pl.Series, locale: Locale) -> pl.Series:
    """Each instant's date in the marketplace's time zone."""
    return instants.dt.convert_time_zone(locale.timezone).dt.date()


def _general_instants(text: pl.Series, locale: Locale, month_first: bool) -> pl.Series:
    iso = to_iso(text, month_first)
    aware = iso.str.strptime(UTC_MICROS, "%Y-%m-%d %H:%M:%S%.f%:z", strict=False)
    naive = iso.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    day = iso.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
    midnight = day.dt.replace_time_zone(
        locale.timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")
    return aware.fill_null(naive.dt.replace_time_zone("UTC")).fill_null(midnight)


def _month_first(text: pl.Series, locale: Locale, column: str, notes: list[str]) -> bool:
    parts = text.str.extract_groups(r"^(\d{1,2})/(\d{1,2})/\d{2,4}\b")
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    second = parts.struct.field("2").cast(pl.Int32, strict=False)
    if first.is_null().all():
        return locale.month_first
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first != month_first:
        return month_first
    order = "MM/DD" if locale.month_first else "DD/MM"
    why = "ambiguous" if not day_first else "contradictory"
    notes.append(f"{column}: {why} slash dates read as {order}, {locale.market}'s order")
    return locale.month_first


def to_iso(text: pl.Series, month_first: bool) -> pl.Series:
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
