"""Money helpers: currency exponents, rounding, and exact formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconcile.money import exponent, format_amount, quantize


@pytest.mark.parametrize(
    ("currency", "places"), [("JPY", 0), ("jpy", 0), ("KWD", 3), ("USD", 2), ("GBP", 2)]
)
def test_the_exponent_is_the_iso_minor_unit_and_two_by_default(currency: str, places: int) -> None:
    assert exponent(currency) == places


def test_quantize_rounds_half_to_even_and_loses_the_digits_beyond_the_exponent() -> None:
    assert quantize(Decimal("1.005"), "USD") == Decimal("1.00")
    assert quantize(Decimal("1.015"), "USD") == Decimal("1.02")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("2")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1200.0000", "JPY", "1200"),
        ("-1200", "JPY", "-1200"),
        ("1200.5000", "JPY", "1200.5"),
        ("1.25", "KWD", "1.250"),
        ("1.2345", "KWD", "1.2345"),
        ("1234.5", "USD", "1234.50"),
        ("-12.3400", "USD", "-12.34"),
        ("1.0050", "USD", "1.005"),
        ("-0.0001", "USD", "-0.0001"),
        ("12345678901234.1200", "USD", "12345678901234.12"),
    ],
)
def test_an_amount_prints_in_the_currency_exponent_unless_that_would_lose_digits(
    amount: str, currency: str, text: str
) -> None:
    assert format_amount(Decimal(amount), currency) == text


@pytest.mark.parametrize("amount", ["-0.0000", "0E-4", "-0"])
def test_zero_prints_without_a_sign(amount: str) -> None:
    assert format_amount(Decimal(amount), "USD") == "0.00"
    assert format_amount(Decimal(amount), "JPY") == "0"


stored_amounts = st.decimals(
    min_value=Decimal("-99999999999999.9999"),
    max_value=Decimal("99999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


@given(stored_amounts, st.sampled_from(["JPY", "KWD", "USD", "EUR"]))
def test_formatting_a_stored_amount_keeps_its_value_and_at_least_the_currency_places(
    amount: Decimal, currency: str
) -> None:
    text = format_amount(amount, currency)
    assert Decimal(text) == amount
    places = len(text.partition(".")[2])
    assert places >= exponent(currency)
    assert places == exponent(currency) or not text.endswith("0")
