"""Money helpers: currency exponents and exact formatting. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 minor units that differ from 2 (the default for every other currency).
_EXPONENTS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


def exponent(currency: str) -> int:
    """Digits after the decimal point for `currency` (JPY 0, KWD 3, most 2)."""
    return _EXPONENTS.get(currency.upper(), 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded (half to even) to the currency's exponent: digits beyond it are lost."""
    return amount.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_EVEN)


def format_amount(amount: Decimal, currency: str) -> str:
    """The exact decimal string of `amount`, in `currency`'s exponent when that loses nothing.

    `1234.50` for USD, `1200` for JPY, `1.250` for KWD; a stored amount finer than the
    currency (`1.0050` USD) keeps its digits without the trailing zeros: `1.005`.
    """
    exact = quantize(amount, currency)
    if exact != amount:
        exact = amount.normalize()
    return f"{abs(exact) if exact.is_zero() else exact:f}"
