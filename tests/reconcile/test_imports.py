"""Importing Amazon V2 settlement flat files: parsing, checks, atomicity, idempotency."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.imports import ImportRefused, Outcome, import_file, import_settlement_file
from reconcile.models import Connection, LineCategory
from reconcile.settlement_file import Problem, read_settlement_file
from reconcile.store import Store

NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)
HEADER = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
    "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id",
    "adjustment-id", "shipment-id", "marketplace-name", "amount-type", "amount-description",
    "amount", "fulfillment-id", "posted-date", "posted-date-time", "order-item-code",
    "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)  # fmt: skip
US_SUMMARY = {
    "settlement-id": "11784148481",
    "settlement-start-date": "2026-10-19 07:00:00 UTC",
    "settlement-end-date": "2026-11-02 07:00:00 UTC",
    "deposit-date": "2026-11-04 07:00:00 UTC",
    "total-amount": "100.00",
    "currency": "USD",
}


def summary(**values: str) -> dict[str, str]:
    return {**US_SUMMARY, **{k.replace("_", "-"): v for k, v in values.items()}}


def line(amount: str, **values: str) -> dict[str, str]:
    fields = {
        "settlement-id": "11784148481",
        "transaction-type": "Order",
        "order-id": "111-0000001-0000001",
        "marketplace-name": "Amazon.com",
        "amount-type": "ItemPrice",
        "amount-description": "Principal",
        "amount": amount,
        "posted-date": "10/20/26",
        "posted-date-time": "2026-10-20 10:11:12 UTC",
        "sku": "SKU-1",
    }
    return {**fields, **{k.replace("_", "-"): v for k, v in values.items()}}


def tsv(*rows: dict[str, str], header: Sequence[str] = HEADER, eol: str = "\n") -> bytes:
    text = ["\t".join(header)] + ["\t".join(row.get(c, "") for c in header) for row in rows]
    return (eol.join(text) + eol).encode()


def good_file(total: str = "100.00") -> bytes:
    return tsv(
        summary(total_amount=total),
        line("120.00"),
        line("-18.00", amount_type="ItemFees", amount_description="Commission"),
        line("-2.00", transaction_type="other-transaction", amount_type="other-transaction",
             amount_description="Storage Fee", order_id="", sku=""),
    )  # fmt: skip


def parsed(data: bytes) -> tuple[pl.DataFrame, pl.DataFrame]:
    found, problems = read_settlement_file(data, "report.txt")
    assert problems == [], [str(p) for p in problems]
    assert found is not None
    return found.settlements, found.lines


def problem_texts(data: bytes) -> list[str]:
    found, problems = read_settlement_file(data, "report.txt")
    assert found is None
    return [str(problem) for problem in problems]


def seeded(provider: str = "amazon") -> tuple[Store, Connection]:
    store = Store(":memory:", clock=lambda: NOW)
    workspace = store.add_workspace("Acme Ltd", "USD")
    connection = Connection(
        id="amz",
        workspace_id=workspace.id,
        provider=provider,
        name="Amazon US",
        kind="channel",
        created_at=NOW,
    )
    store.add_connection(connection, ("settlements",))
    return store, connection


def counts(store: Store) -> tuple[int, int]:
    with store.read() as con:
        rows = con.execute(
            "SELECT (SELECT count(*) FROM settlements), (SELECT count(*) FROM settlement_lines)"
        ).fetchall()
    return rows[0][0], rows[0][1]


def audit(store: Store) -> list[tuple[str, dict[str, object]]]:
    with store.read() as con:
        rows = con.execute("SELECT action, detail FROM audit_log ORDER BY id").fetchall()
    return [(action, json.loads(detail)) for action, detail in rows]


# -- parsing -----------------------------------------------------------------------------------


def test_a_us_file_parses_into_one_settlement_and_its_lines() -> None:
    settlements, lines = parsed(good_file())

    assert settlements.row(0, named=True) == {
        "settlement_id": "11784148481",
        "line": 2,
        "period_start": datetime(2026, 10, 19, 7, tzinfo=UTC),
        "period_end": datetime(2026, 11, 2, 7, tzinfo=UTC),
        "deposit_date": date(2026, 11, 3),  # 07:00 UTC is still the 3rd in Los Angeles
        "currency": "USD",
        "total": Decimal("100"),
    }
    assert lines["amount"].to_list() == [Decimal("120"), Decimal("-18"), Decimal("-2")]
    assert lines["line"].to_list() == [3, 4, 5]
    assert lines["order_id"].to_list() == ["111-0000001-0000001"] * 2 + [None]
    assert lines["posted_at"][0] == datetime(2026, 10, 20, 10, 11, 12, tzinfo=UTC)


def test_eu_decimal_commas_and_dotted_dates_are_read_in_the_marketplace_locale() -> None:
    data = tsv(
        summary(total_amount="1.329,56", currency="EUR",
                settlement_start_date="19.10.2026 07:00:00 UTC",
                settlement_end_date="02.11.2026 07:00:00 UTC", deposit_date="04.11.2026"),
        line("1.234,56", marketplace_name="Amazon.de", posted_date_time="20.10.2026 10:11:12 UTC"),
        line("95,00", marketplace_name="Amazon.de", posted_date_time="", posted_date="21.10.2026"),
    )  # fmt: skip
    settlements, lines = parsed(data)

    assert lines["amount"].to_list() == [Decimal("1234.56"), Decimal("95")]
    assert settlements["total"][0] == Decimal("1329.56")
    assert settlements["period_start"][0] == datetime(2026, 10, 19, 7, tzinfo=UTC)
    assert settlements["deposit_date"][0] == date(2026, 11, 4)
    assert lines["posted_at"].to_list() == [
        datetime(2026, 10, 20, 10, 11, 12, tzinfo=UTC),
        datetime(2026, 10, 20, 22, tzinfo=UTC),  # midnight in Berlin
    ]


def test_us_thousands_separators_are_read() -> None:
    data = tsv(summary(total_amount="1,334.56"), line("1,234.56"), line("100"))
    assert parsed(data)[1]["amount"].to_list() == [Decimal("1234.56"), Decimal("100")]


def test_a_byte_order_mark_and_crlf_line_ends_change_nothing() -> None:
    plain = parsed(good_file())
    windows = parsed(b"\xef\xbb\xbf" + good_file().replace(b"\n", b"\r\n"))
    assert windows[0].equals(plain[0])
    assert windows[1].equals(plain[1])


def test_a_gzip_file_reads_like_the_plain_one() -> None:
    assert parsed(gzip.compress(good_file()))[1].equals(parsed(good_file())[1])


@pytest.mark.parametrize("compress", [False, True])
def test_a_file_read_from_its_path_equals_the_same_bytes_read_from_memory(
    tmp_path: Path, compress: bool
) -> None:
    data = gzip.compress(good_file()) if compress else good_file()
    path = tmp_path / "report.txt"
    path.write_bytes(data)

    from_path, problems = read_settlement_file(path, "report.txt")

    assert problems == []
    assert from_path is not None
    from_memory, _ = read_settlement_file(data, "report.txt")
    assert from_memory is not None
    assert from_path.lines.equals(from_memory.lines)
    assert from_path.settlements.equals(from_memory.settlements)
    assert (from_path.sha256, from_path.content_sha256) == (
        from_memory.sha256,
        from_memory.content_sha256,
    )
    assert from_path.sha256 == hashlib.sha256(data).hexdigest()
    assert from_path.content_sha256 == hashlib.sha256(good_file()).hexdigest()


def test_a_nul_byte_far_into_a_file_on_disk_makes_it_binary(tmp_path: Path) -> None:
    rows = [line("1.00", sku=f"SKU-{n:06d}") for n in range(2000)]  # past the first 64 KiB
    data = tsv(summary(total_amount="2000.00"), *rows)
    path = tmp_path / "report.txt"
    path.write_bytes(data[:-10] + b"\x00" + data[-9:])

    assert read_settlement_file(path)[1] == [
        Problem(None, None, "this is a binary file, not a tab-separated settlement report")
    ]
    path.write_bytes(data)
    assert read_settlement_file(path)[1] == []


def test_a_file_of_blank_lines_on_disk_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(b"\r\n" * 40_000)
    assert [str(p) for p in read_settlement_file(path)[1]] == [
        "the file is empty: download the settlement report again"
    ]


def test_a_truncated_gzip_file_is_refused() -> None:
    squeezed = gzip.compress(good_file() * 50)
    assert problem_texts(squeezed[: len(squeezed) // 2]) == [
        "the gzip file is truncated: download it again"
    ]


def test_extra_and_reordered_columns_are_tolerated() -> None:
    header = ["x-unknown", *reversed(HEADER), "another-trailing"]
    rows = [{**row, "x-unknown": "zz"} for row in (summary(total_amount="120.00"), line("120.00"))]
    assert parsed(tsv(*rows, header=header))[1]["amount"].to_list() == [Decimal("120")]


def test_missing_required_columns_are_named() -> None:
    header = [c for c in HEADER if c not in ("amount", "currency")]
    assert problem_texts(tsv(summary(), header=header)) == [
        "line 1: missing required columns: currency, amount"
    ]


def test_a_comma_separated_file_is_refused_with_a_hint() -> None:
    [problem] = problem_texts(b",".join(c.encode() for c in HEADER) + b"\n1,2,3\n")
    assert problem.startswith("line 1: missing required columns (the file looks comma-separated)")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty: download the settlement report again"),
        (b"\n \r\n", "the file is empty: download the settlement report again"),
        (b"\x00\x01\x02\xffPK\x03", "this is a binary file, not a tab-separated settlement report"),
        (tsv(), "the file has a header but no settlement rows"),
    ],
)  # fmt: skip
def test_files_without_settlements_are_refused(data: bytes, expected: str) -> None:
    assert problem_texts(data) == [expected]


def test_text_that_is_not_utf8_is_refused_with_its_line() -> None:
    data = good_file().replace(b"SKU-1", b"SKU-\xe9", 1)
    assert problem_texts(data) == [
        "line 3: the file is not UTF-8 text: save it as UTF-8 and import it again"
    ]


def test_every_bad_value_is_reported_with_its_line_and_column() -> None:
    data = tsv(
        summary(),
        line("12,3,4"),
        line("10.00", posted_date_time="yesterday"),
        line("9.99999"),
        line("1.00", settlement_id="999"),
    )
    assert problem_texts(data) == [
        "line 3, amount: '12,3,4' is not an amount (this file writes them as 1,234.56)",
        "line 4, posted-date-time: 'yesterday' is not a date this importer reads "
        "(see docs/imports.md)",
        "line 5, amount: '9.99999' is not an amount (this file writes them as 1,234.56)",
        "line 6, settlement-id: settlement '999' has no summary row (the row with total-amount)",
    ]


def test_currencies_are_checked_per_settlement_in_a_file_of_several() -> None:
    second = {"settlement_id": "22", "currency": "EUR"}
    data = tsv(
        summary(total_amount="20.00"), line("10.00", currency="USD"), line("10.00", currency=""),
        summary(**second, total_amount="5.00"), line("5.00", settlement_id="22", currency="USD"),
        line("1.00", settlement_id="33", currency="USD"),
    )  # fmt: skip
    assert problem_texts(data) == [
        "line 6, currency: mixed currencies: USD (the settlement is in EUR); "
        "a settlement has one currency",
        "line 7, settlement-id: settlement '33' has no summary row (the row with total-amount)",
    ]


def test_mixed_currencies_in_one_settlement_are_an_error() -> None:
    data = tsv(
        summary(total_amount="20.00"), line("10.00", currency="USD"), line("10.00", currency="EUR")
    )
    assert problem_texts(data) == [
        "line 4, currency: mixed currencies: EUR (the settlement is in USD); "
        "a settlement has one currency"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01 07:00:00 UTC", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("01.11.2026 07:00:00 UTC", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("2026-11-01T07:00:00+00:00", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("2026-11-01T08:00:00+01:00", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("2026-11-01T07:00:00Z", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("2026-11-01 07:00:00 GMT", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("2026-11-01 07:00:00", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("2026/11/01 07:00:00 UTC", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, 7, tzinfo=UTC)),  # midnight in Los Angeles
        ("11/01/2026", datetime(2026, 11, 1, 7, tzinfo=UTC)),  # month first: an amazon.com file
        ("11/01/26", datetime(2026, 11, 1, 7, tzinfo=UTC)),
        ("01.11.2026", datetime(2026, 11, 1, 7, tzinfo=UTC)),
    ],
)
def test_the_documented_date_formats_are_read(text: str, expected: datetime) -> None:
    _, lines = parsed(tsv(summary(total_amount="1.00"), line("1.00", posted_date_time=text)))
    assert lines["posted_at"][0] == expected


def test_ambiguous_slash_dates_follow_the_marketplace_convention_and_say_so() -> None:
    rows = [line("1.00", marketplace_name="Amazon.co.uk", posted_date_time=d)
            for d in ("01/11/2026", "02/11/2026")]  # fmt: skip
    found, _ = read_settlement_file(tsv(summary(total_amount="2.00", currency="GBP"), *rows))
    assert found is not None
    assert found.lines["posted_at"][0] == datetime(2026, 11, 1, tzinfo=UTC)  # 1 November, UK
    assert "posted-date-time: ambiguous slash dates read as DD/MM, Amazon.co.uk's order" in (
        found.notes
    )


def test_a_slash_date_that_can_only_be_month_first_decides_the_column() -> None:
    rows = [line("1.00", marketplace_name="Amazon.co.uk", posted_date_time=d)
            for d in ("01/11/2026", "12/25/2026")]  # fmt: skip
    _, lines = parsed(tsv(summary(total_amount="2.00", currency="GBP"), *rows))
    assert lines["posted_at"][0] == datetime(2026, 1, 11, tzinfo=UTC)


@st.composite
def amounts(draw: st.DrawFn) -> Decimal:
    cents = draw(st.integers(min_value=-(10**13), max_value=10**13))
    return Decimal(cents).scaleb(-2)


def locale_text(amount: Decimal, comma: bool, grouped: bool) -> str:
    text = f"{amount:,.2f}" if grouped else f"{amount:.2f}"
    return text.translate(str.maketrans(",.", ".,")) if comma else text


@settings(max_examples=60, deadline=None)
@given(amount=amounts(), comma=st.booleans(), grouped=st.booleans())
def test_an_amount_formatted_in_any_locale_parses_back_to_the_same_decimal(
    amount: Decimal, comma: bool, grouped: bool
) -> None:
    market = "Amazon.de" if comma else "Amazon.com"
    text = locale_text(amount, comma, grouped)
    data = tsv(summary(total_amount=text), line(text, marketplace_name=market))
    settlements, lines = parsed(data)
    assert lines["amount"][0] == amount
    assert settlements["total"][0] == amount


# -- categories ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount_type", "description", "category"),
    [
        ("Order", "ItemPrice", "Principal", LineCategory.SALE),
        ("Order", "ItemPrice", "Tax", LineCategory.TAX),
        ("Order", "ItemPrice", "Shipping", LineCategory.SHIPPING),
        ("Order", "ItemPrice", "GiftWrap", LineCategory.SALE),
        ("Order", "ItemFees", "Commission", LineCategory.FEE),
        ("Order", "Promotion", "Principal", LineCategory.PROMOTION),
        ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", LineCategory.TAX),
        ("Refund", "ItemPrice", "Principal", LineCategory.REFUND),
        ("Refund", "ItemPrice", "Tax", LineCategory.TAX),
        ("Refund", "ItemFees", "RefundCommission", LineCategory.FEE),
        ("Chargeback Refund", "ItemPrice", "Principal", LineCategory.REFUND),
        ("other-transaction", "other-transaction", "Storage Fee", LineCategory.FEE),
        ("other-transaction", "other-transaction", "Current Reserve Amount", LineCategory.RESERVE),
        ("Previous Reserve Amount Balance", "", "", LineCategory.RESERVE),
        ("other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE",
         LineCategory.ADJUSTMENT),
        ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", LineCategory.OTHER),
        ("ServiceFee", "", "Subscription", LineCategory.FEE),
        ("other-transaction", "other-transaction", "Payable to Amazon", LineCategory.OTHER),
    ],
)  # fmt: skip
def test_each_kind_of_row_gets_the_category_the_api_path_gives_it(
    kind: str, amount_type: str, description: str, category: LineCategory
) -> None:
    store, connection = seeded()
    row = line("5.00", transaction_type=kind, amount_type=amount_type,
               amount_description=description)  # fmt: skip
    import_settlement_file(store, connection, tsv(summary(total_amount="5.00"), row),
                           name="r.txt", now=NOW)  # fmt: skip
    [stored] = store.settlements()["id"]
    assert store.settlement_lines(stored)["category"].to_list() == [category.value]


# -- importing -------------------------------------------------------------------------------


def test_an_import_stores_the_settlement_with_its_totals_and_lines() -> None:
    store, connection = seeded()

    result = import_settlement_file(store, connection, good_file(), name="r.txt", now=NOW)

    assert [o.outcome for o in result.outcomes] == [Outcome.IMPORTED]
    row = store.settlements().row(0, named=True)
    assert (row["provider_settlement_id"], row["source"], row["status"]) == (
        "11784148481",
        "file",
        "closed",
    )
    assert (row["gross"], row["fees"], row["net"]) == (Decimal(120), Decimal(-20), Decimal(100))
    lines = store.settlement_lines(row["id"])
    assert lines["description"].to_list() == ["Principal", "Commission", "Storage Fee"]
    assert lines["line_no"].to_list() == [1, 2, 3]


def test_a_summary_total_that_differs_from_the_lines_is_refused_stating_the_difference() -> None:
    store, connection = seeded()

    result = import_settlement_file(store, connection, good_file("101.50"), name="r", now=NOW)

    assert [str(p) for p in result.problems] == [
        "line 2, total-amount: settlement 11784148481: total-amount 101.5000 differs from the "
        "sum of its lines 100.0000 by 1.5000; the file is incomplete or altered: download it again"
    ]
    assert counts(store) == (0, 0)


def test_one_bad_row_means_nothing_is_imported_and_the_attempt_is_audited() -> None:
    store, connection = seeded()
    data = good_file()[:-1] + b"\n" + tsv(line("oops"))[len(tsv()) :]

    result = import_settlement_file(store, connection, data, name="bad.txt", now=NOW)

    assert not result.ok
    assert str(result.problems[0]).startswith("line 6, amount: 'oops'")
    assert counts(store) == (0, 0)
    [(action, detail)] = audit(store)
    assert action == "settlement_import_rejected"
    assert detail["file_name"] == "bad.txt"


def test_importing_the_same_file_twice_is_a_no_op_reported_as_such(tmp_path: Path) -> None:
    store, connection = seeded()
    path = tmp_path / "report.txt"
    path.write_bytes(good_file())
    import_file(store, connection, path, now=NOW)
    before = store.settlements()

    again = import_file(store, connection, path, now=NOW)

    assert [o.outcome for o in again.outcomes] == [Outcome.UNCHANGED]
    assert again.summary().endswith("(nothing changed)")
    assert store.settlements().equals(before)
    assert counts(store) == (1, 3)
    details = [detail for _, detail in audit(store)]
    assert [d["outcome"] for d in details] == ["imported", "unchanged"]
    assert {d["file_sha256"] for d in details} == {again.sha256}
    assert details[0]["settlement_id"] == "11784148481"
    assert details[0]["lines"] == 3
    assert details[0]["source"] == "file"


def test_a_corrected_file_for_the_same_settlement_replaces_its_lines() -> None:
    store, connection = seeded()
    import_settlement_file(store, connection, good_file(), name="r", now=NOW)
    corrected = tsv(summary(total_amount="100.00"), line("100.00"))

    result = import_settlement_file(store, connection, corrected, name="r2", now=NOW)

    assert [o.outcome for o in result.outcomes] == [Outcome.UPDATED]
    assert counts(store) == (1, 1)


def test_the_same_file_gzipped_is_still_unchanged() -> None:
    store, connection = seeded()
    import_settlement_file(store, connection, good_file(), name="r", now=NOW)
    again = import_settlement_file(
        store, connection, gzip.compress(good_file()), name="r.gz", now=NOW
    )
    assert [o.outcome for o in again.outcomes] == [Outcome.UNCHANGED]  # fmt: skip


def test_a_file_that_cannot_be_read_is_refused_saying_why(tmp_path: Path) -> None:
    store, connection = seeded()
    with pytest.raises(ImportRefused, match=r"cannot read .*missing\.txt: No such file"):
        import_file(store, connection, tmp_path / "missing.txt", now=NOW)


def test_only_an_amazon_connection_takes_a_settlement_file() -> None:
    store, connection = seeded(provider="xero")
    with pytest.raises(ImportRefused, match="is a xero connection"):
        import_settlement_file(store, connection, good_file(), name="r", now=NOW)


def test_several_settlements_in_one_file_are_each_imported() -> None:
    store, connection = seeded()
    second = {"settlement_id": "22", "settlement_start_date": "2026-11-02 07:00:00 UTC",
              "settlement_end_date": "2026-11-16 07:00:00 UTC"}  # fmt: skip
    data = tsv(summary(), line("100.00"), summary(**second, total_amount="7.00"),
               line("7.00", settlement_id="22"))  # fmt: skip

    result = import_settlement_file(store, connection, data, name="r", now=NOW)

    assert sorted(o.settlement_id for o in result.outcomes) == ["11784148481", "22"]
    assert counts(store) == (2, 2)


# -- size --------------------------------------------------------------------------------------


def big_file(path: Path, rows: int) -> Decimal:
    """A one-settlement US file of `rows` lines, written with polars; returns its total."""
    cents = (pl.int_range(rows, eager=True) * 7919 % 20000 - 5000).alias("cents")
    frame = pl.DataFrame(cents).select(
        pl.lit("11784148481").alias("settlement-id"),
        *(pl.lit("").alias(c) for c in HEADER[1:6]),
        pl.lit("Order").alias("transaction-type"),
        pl.format("111-{}-0000001", pl.col("cents").abs()).alias("order-id"),
        *(pl.lit("").alias(c) for c in HEADER[8:11]),
        pl.lit("Amazon.com").alias("marketplace-name"),
        pl.lit("ItemPrice").alias("amount-type"),
        pl.lit("Principal").alias("amount-description"),
        (pl.col("cents").cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(18, 2)).cast(pl.String)
        .alias("amount"),
        pl.lit("AFN").alias("fulfillment-id"),
        pl.lit("10/20/26").alias("posted-date"),
        pl.lit("2026-10-20 10:11:12 UTC").alias("posted-date-time"),
        pl.lit("12345678901234").alias("order-item-code"),
        *(pl.lit("").alias(c) for c in HEADER[19:21]),
        pl.format("SKU-{}", pl.col("cents") % 400).alias("sku"),
        pl.lit("1").alias("quantity-purchased"),
        pl.lit("").alias("promotion-id"),
    )  # fmt: skip
    total = Decimal(int(frame["amount"].cast(pl.Decimal(18, 2)).sum() * 100)).scaleb(-2)
    head = tsv(summary(total_amount=f"{total:.2f}"))
    with path.open("wb") as out:
        out.write(head)
        frame.write_csv(out, separator="\t", include_header=False, quote_style="never")
    return total


@pytest.mark.slow
def test_a_200_mb_file_imports_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    total = big_file(path, 1_450_000)
    assert path.stat().st_size > 200 * 1024 * 1024
    store, connection = seeded()
    started = time.monotonic()

    result = import_file(store, connection, path, now=NOW)

    assert result.ok, [str(p) for p in result.problems[:3]]
    assert time.monotonic() - started < 45
    row = store.settlements().row(0, named=True)
    assert (row["line_count"], row["net"]) == (1_450_000, total)
    assert counts(store) == (1, 1_450_000)


@pytest.mark.slow
def test_a_200_mb_file_with_one_bad_row_at_the_end_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    big_file(path, 1_450_000)
    with path.open("ab") as out:
        out.write(tsv(line("12..0"))[len(tsv()) :])
    store, connection = seeded()

    result = import_file(store, connection, path, now=NOW)

    assert [str(p) for p in result.problems] == [
        "line 1450003, amount: '12..0' is not an amount (this file writes them as 1,234.56)"
    ]
    assert counts(store) == (0, 0)
