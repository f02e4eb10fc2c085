"""The gaps benchmark's own checks: its generator plants every kind of gap, and its pandas
baseline finds exactly what `reconcile.gaps.find_gaps` finds, so the ratio compares equal jobs."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import gaps_bench  # beside the benchmark script: bench/ is not a package
import gaps_data

from reconcile.database import connect

SCALE = 0.005  # 100 connections: every class of the generator (i % 50, i % 100) appears


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> gaps_data.Dataset:
    path = tmp_path_factory.mktemp("gaps-bench") / "gaps.duckdb"
    gaps_data.generate(path, SCALE, seed=7, every_days=7)
    return gaps_data.describe(path, 0.0)


@pytest.fixture(scope="module")
def answers(data: gaps_data.Dataset) -> tuple[pl.DataFrame, pl.DataFrame]:
    fast = gaps_bench.run_find_gaps(data.path, data.workspace_id)
    slow = gaps_bench.run_pandas(data.path, data.workspace_id)
    return gaps_bench.comparable(fast), gaps_bench.comparable(slow)


def test_generator_builds_the_scaled_workspace_and_a_second_one(data: gaps_data.Dataset) -> None:
    assert data.connections == 100
    assert data.settlements == 5_000
    assert data.lines == 50_000
    assert data.other_settlements == 50
    assert data.events > 0 and data.ledger_entries > 0 and data.postings > 0


def test_generated_data_holds_every_kind_of_gap_with_causes_and_lost_windows(
    answers: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    fast, _ = answers
    assert set(fast["kind"]) == {
        "coverage",
        "overdue",
        "unposted",
        "amount_mismatch",
        "duplicate_posting",
        "possible_duplicate",
    }
    assert fast.filter(pl.col("cause").str.starts_with("disconnected")).height > 0
    assert fast.filter(pl.col("recoverable").not_()).height > 0


def test_pandas_baseline_finds_exactly_what_find_gaps_finds(
    answers: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    fast, slow = answers
    assert gaps_bench.differences(fast, slow) == []
    assert fast.height == slow.height > 0


def test_gaps_of_the_other_workspace_never_appear(
    data: gaps_data.Dataset, answers: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    fast, _ = answers
    con = connect(data.path)
    try:
        other = con.sql(
            "SELECT id FROM connections WHERE workspace_id = $ws",
            params={"ws": data.other_workspace_id},
        ).pl()
    finally:
        con.close()
    assert other.height > 0
    assert fast.join(other, left_on="connection_id", right_on="id").is_empty()


def test_comparison_names_a_gap_missing_from_one_side(
    answers: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    fast, slow = answers
    dropped = slow.filter(pl.col("kind") == "overdue").head(1)
    problems = gaps_bench.differences(fast, slow.join(dropped, on="id", how="anti"))
    assert any(p.startswith("only in find_gaps: ('overdue'") for p in problems)


def test_comparison_names_a_column_that_differs(answers: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    fast, slow = answers
    changed = slow.with_columns(
        pl.when(pl.col("kind") == "coverage")
        .then(pl.lit("unknown"))
        .otherwise("cause")
        .alias("cause")
    )
    problems = gaps_bench.differences(fast, changed)
    assert any(p.startswith("cause of gap_") for p in problems)
