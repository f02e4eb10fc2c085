"""Posting plans: summary entries, bills for negative nets, month splits, the totals check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.accounts import AccountMap, contact_for, default_codes
from reconcile.posting import (
    HoldReason,
    LineAmount,
    PostingPlan,
    SettlementToPost,
    idempotency_key,
    posting_plan,
)
from reconcile.references import settlement_of

SID = "stl_0123456789abcdef0123"
ACCOUNTS = AccountMap("amazon", default_codes("amazon"), contact_for("amazon"))


def settlement(
    net: str,
    *,
    start: datetime = datetime(2026, 10, 5, tzinfo=UTC),
    end: datetime | None = datetime(2026, 10, 19, tzinfo=UTC),
    currency: str = "USD",
    status: str = "closed",
    line_count: int = 1,
) -> SettlementToPost:
    return SettlementToPost(
        id=SID,
        provider="amazon",
        connection_id="amazon-us",
        provider_settlement_id="12345",
        period_start=start,
        period_end=end,
        deposit_date=date(2026, 10, 21),
        currency=currency,
        net=Decimal(net),
        status=status,
        content_hash="h",
        line_count=line_count,
    )


def line(category: str, amount: str, day: str | None = "2026-10-10") -> LineAmount:
    posted = datetime.fromisoformat(day).replace(tzinfo=UTC) if day else None
    return LineAmount(category, Decimal(amount), posted)


def plan_of(net: str, lines: list[LineAmount], **kwargs: object) -> PostingPlan:
    stl = settlement(net, line_count=len(lines), **kwargs)  # type: ignore[arg-type]
    return posting_plan(stl, lines, ACCOUNTS, ledger_connection_id="xero-1")


def test_one_invoice_with_a_line_per_category_and_a_payment_of_the_net_into_clearing() -> None:
    plan = plan_of("80.00", [line("sale", "60"), line("sale", "40"), line("fee", "-20")])

    [entry] = plan.entries
    assert (entry.type, entry.reference, entry.date, entry.total) == (
        "ACCREC",
        f"RW {SID}",
        date(2026, 10, 18),
        Decimal("80.00"),
    )
    assert [(x.amount, x.account_code) for x in entry.lines] == [
        (Decimal("100.00"), "200"),
        (Decimal("-20.00"), "404"),
    ]
    [payment] = plan.payments
    assert (payment.amount, payment.account_code, payment.date) == (
        Decimal("80.00"),
        "630",
        date(2026, 10, 21),
    )


def test_a_negative_settlement_is_a_bill_with_every_amount_negated() -> None:
    plan = plan_of("-30.00", [line("sale", "10"), line("fee", "-40")])

    [entry] = plan.entries
    assert entry.type == "ACCPAY"
    assert [x.amount for x in entry.lines] == [Decimal("-10.00"), Decimal("40.00")]
    assert entry.total == Decimal("30.00")
    assert plan.signed_total == Decimal("-30.00")


def test_a_month_end_split_carries_the_first_part_forward_to_the_second() -> None:
    lines = [
        line("sale", "100", "2026-09-29"),
        line("fee", "-10", "2026-09-30"),
        line("sale", "25", "2026-10-01"),
        line("fee", "-5", None),
    ]
    plan = plan_of("110.00", lines, start=datetime(2026, 9, 26, tzinfo=UTC))

    first, second = plan.entries
    assert [e.reference for e in plan.entries] == [f"RW {SID} 1/2", f"RW {SID} 2/2"]
    assert (first.date, first.total, second.date, second.total) == (
        date(2026, 9, 30),
        Decimal(0),
        date(2026, 10, 18),
        Decimal("110.00"),
    )
    assert first.lines[-1].description == "Carried forward to 2026-10-18"
    assert first.lines[-1].amount == Decimal("-90.00")
    assert second.lines[0].description == "Brought forward from 2026-09-30"
    assert second.lines[0].amount == Decimal("90.00")
    assert [p.part for p in plan.payments] == [2]


def test_a_period_ending_at_midnight_on_the_first_is_not_split() -> None:
    plan = plan_of(
        "5.00",
        [line("sale", "5", "2026-10-20")],
        start=datetime(2026, 10, 18, tzinfo=UTC),
        end=datetime(2026, 11, 1, tzinfo=UTC),
    )

    assert [(e.reference, e.date) for e in plan.entries] == [(f"RW {SID}", date(2026, 10, 31))]


def test_lines_that_miss_part_of_the_net_put_the_plan_on_hold_with_the_difference() -> None:
    plan = plan_of("100.00", [line("sale", "90")])

    assert plan.hold is not None and plan.entries == ()
    assert (plan.hold.reason, plan.hold.difference) == (HoldReason.LINES_MISSING, Decimal("10"))
    assert "fetched while still open" in plan.hold.message


def test_the_other_hold_reasons() -> None:
    cases = {
        HoldReason.OPEN: plan_of("5", [line("sale", "5")], status="open"),
        HoldReason.NO_LINES: plan_of("5", []),
        HoldReason.ROUNDING: plan_of("5.005", [line("sale", "5.005")]),
        HoldReason.UNCATEGORISED: plan_of("5", [line("loan", "5")]),
    }
    for reason, plan in cases.items():
        assert plan.hold is not None and plan.hold.reason is reason, reason
    assert plan_of("100", [line("sale", "100")], currency="JPY").hold is None
    assert plan_of("100.5", [line("sale", "100.5")], currency="JPY").hold is not None


def test_the_idempotency_key_moves_with_the_generation_and_fits_xero() -> None:
    first = idempotency_key(SID, "h", "xero-1", 1)
    assert first == idempotency_key(SID, "h", "xero-1", 1)
    assert first != idempotency_key(SID, "h", "xero-1", 2)
    assert first != idempotency_key(SID, "h2", "xero-1", 1)
    assert len(f"{first}/payments/12-13") <= 128


# -- properties ----------------------------------------------------------------------------------

CATEGORIES = st.sampled_from(["sale", "refund", "fee", "shipping", "tax", "reserve", "other"])
START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def settlements(draw: st.DrawFn) -> tuple[SettlementToPost, list[LineAmount]]:
    currency = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    places = {"USD": 2, "JPY": 0, "KWD": 3}[currency]
    start = START + timedelta(days=draw(st.integers(0, 330)), hours=draw(st.integers(0, 23)))
    length = timedelta(days=draw(st.integers(1, 70)), hours=draw(st.integers(0, 23)))
    amounts = st.integers(-(10**8), 10**8).map(lambda n: Decimal(n).scaleb(-places))
    offsets = st.one_of(st.none(), st.integers(-3 * 86400, int(length.total_seconds()) + 86400))
    lines = draw(st.lists(st.tuples(CATEGORIES, amounts, offsets), min_size=1, max_size=40))
    items = [
        LineAmount(c, a, None if o is None else start + timedelta(seconds=o)) for c, a, o in lines
    ]
    net = sum((x.amount for x in items), Decimal(0))
    stl = SettlementToPost(
        SID,
        "amazon",
        "amazon-us",
        "P1",
        start,
        start + length,
        None,
        currency,
        net,
        "closed",
        "h",
        len(items),
    )
    return stl, items


@settings(max_examples=300, deadline=None)
@given(settlements())
def test_any_settlement_plans_into_non_negative_parts_that_sum_to_its_net(
    case: tuple[SettlementToPost, list[LineAmount]],
) -> None:
    stl, lines = case
    plan = posting_plan(stl, lines, ACCOUNTS, ledger_connection_id="xero-1", generation=3)

    assert plan.hold is None
    assert plan.signed_total == stl.net
    assert all(entry.total >= 0 for entry in plan.entries)
    assert all(entry.total == 0 for entry in plan.entries[:-1])
    assert len({e.reference for e in plan.entries}) == len(plan.entries)
    assert {settlement_of(e.reference) for e in plan.entries} == {SID}
    assert len({e.type for e in plan.entries}) == 1
    assert all(e.lines for e in plan.entries)
    assert sum(p.amount for p in plan.payments) == abs(stl.net)
    assert posting_plan(stl, lines, ACCOUNTS, ledger_connection_id="xero-1", generation=3) == plan
    assert (
        posting_plan(
            stl, lines[::-1], ACCOUNTS, ledger_connection_id="xero-1", generation=3
        ).signed_total
        == plan.signed_total
    )
