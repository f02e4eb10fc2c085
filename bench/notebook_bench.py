"""Notebook benchmark: a cell over 10,000,000 settlement lines; a 100,000-row result on the page.

The data set is the gaps benchmark's (`bench/gaps_data.py`: 20,000 channel connections,
1,000,000 settlements, 10,000,000 lines in the real schema, cached under `--cache-dir`). The
measured cell aggregates every line of the workspace by channel and month:

    SELECT connection, currency, date_trunc('month', deposit_date)::DATE AS month, count(*) ...
    FROM v_settlement_lines GROUP BY ALL ORDER BY connection, currency, month

Jobs, each in a fresh subprocess (its own peak memory, `VmHWM`):

- **session**: `reconcile.analyst.open_session` (reads every view in one read-only transaction),
  then the cell through `AnalystSession.run` (what the Notebook page does: a sealed in-memory
  database per run, the time limit, the first 1,000 rows) and `AnalystSession.sql` (what a
  notebook does: the whole result), each `--runs` times.
- **duckdb**: the same aggregation without the views or the sealing: one DuckDB connection to the
  database file, the raw tables joined and filtered to the workspace, the whole result.
- **pandas**: the same aggregation in pandas over the same rows already in memory (loading them
  from the file is timed apart): merge lines, settlements and connections, then group.

The three answers must agree exactly (amounts compared in ten-thousandths), or the script exits 1.
The page part runs `workbench/pages/notebook.py` under AppTest with a cell returning 100,000
rows and reports the time of the run and the bytes of the table sent, against a page that sends
the whole result.

    python bench/notebook_bench.py               # full size
    python bench/notebook_bench.py --scale 0.01  # 100,000 lines, a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gaps_data import AS_OF, WORKSPACES, dataset_path, describe, generate
from machine import machine, proc_field

TARGET_SECONDS = 1.0
PAGE_ROWS = 100_000
CELL = """
SELECT connection, currency, date_trunc('month', deposit_date)::DATE AS month,
       count(*) AS lines, sum(amount) AS net
FROM v_settlement_lines
GROUP BY ALL
ORDER BY connection, currency, month
"""
# The same with sales and fees apart (two more sums with a FILTER): measured for information.
FEES_CELL = """
SELECT connection, currency, date_trunc('month', deposit_date)::DATE AS month,
       count(*) AS lines,
       sum(amount) FILTER (WHERE category = 'sale') AS sales,
       sum(amount) FILTER (WHERE category = 'fee') AS fees,
       sum(amount) AS net
FROM v_settlement_lines
GROUP BY ALL
ORDER BY connection, currency, month
"""
RAW = """
SELECT c.name AS connection, s.currency, date_trunc('month', s.deposit_date)::DATE AS month,
       count(*) AS lines, sum(l.amount) AS net
FROM settlement_lines AS l
JOIN settlements AS s ON s.id = l.settlement_id
JOIN connections AS c ON c.id = s.connection_id
WHERE c.workspace_id = $workspace_id
GROUP BY ALL
ORDER BY connection, currency, month
"""
PANDAS_ROWS = """
SELECT c.name AS connection, s.currency, s.deposit_date,
       CAST(l.amount * 10000 AS BIGINT) AS amount
FROM settlement_lines AS l
JOIN settlements AS s ON s.id = l.settlement_id
JOIN connections AS c ON c.id = s.connection_id
WHERE c.workspace_id = $workspace_id
"""
KEY = ["connection", "currency", "month"]


def peak_mb() -> float:
    return int(proc_field("/proc/self/status", "VmHWM").split()[0]) / 1024


def timed(job: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = job()
        seconds.append(time.perf_counter() - started)
    return seconds, result


# -- the jobs (each runs in a child process) -------------------------------------------------------


def job_session(db: str, workspace: str, runs: int, out: Path) -> dict[str, Any]:
    from reconcile.analyst import open_session

    started = time.perf_counter()
    session = open_session(db, workspace, as_of=AS_OF)
    opened = time.perf_counter() - started
    cell, result = timed(lambda: session.run(CELL, label="cell 1"), runs)
    assert result.ok and result.truncated, result.error
    fees, other = timed(lambda: session.run(FEES_CELL, label="cell 2"), runs)
    assert other.ok, other.error
    whole, frame = timed(lambda: session.sql(CELL), runs)
    comparable(frame).write_parquet(out)
    return {
        "open_seconds": opened,
        "views": session.views,
        "cell_seconds": cell,
        "cell_summary": result.summary(),
        "fees_cell_seconds": fees,
        "sql_seconds": whole,
        "groups": frame.height,
        "peak_mb": peak_mb(),
    }


def job_duckdb(db: str, workspace: str, runs: int, out: Path) -> dict[str, Any]:
    from reconcile.database import connect

    con = connect(db)
    try:
        seconds, frame = timed(lambda: con.sql(RAW, params={"workspace_id": workspace}).pl(), runs)
    finally:
        con.close()
    comparable(frame).write_parquet(out)
    return {"seconds": seconds, "groups": frame.height, "peak_mb": peak_mb()}


def job_pandas(db: str, workspace: str, runs: int, out: Path) -> dict[str, Any]:
    import pandas as pd
    import polars as pl

    from reconcile.database import connect

    started = time.perf_counter()
    con = connect(db)
    try:
        rows = con.sql(PANDAS_ROWS, params={"workspace_id": workspace}).df()
    finally:
        con.close()
    loaded = time.perf_counter() - started

    def aggregate() -> Any:
        month = pd.to_datetime(rows["deposit_date"]).dt.to_period("M").dt.start_time.dt.date
        grouped = rows.assign(month=month).groupby(KEY, dropna=False, sort=True)
        return grouped.agg(lines=("amount", "size"), net=("amount", "sum")).reset_index()

    seconds, answer = timed(aggregate, runs)
    frame = pl.from_pandas(answer).with_columns(pl.col("month").cast(pl.Date))
    frame.with_columns(pl.col("net").cast(pl.Int64)).sort(KEY, nulls_last=True).write_parquet(out)
    return {"load_seconds": loaded, "seconds": seconds, "groups": len(answer), "peak_mb": peak_mb()}


def comparable(frame: Any) -> Any:
    """Amounts as ten-thousandths (exact integers), rows in key order."""
    import polars as pl

    return frame.with_columns(
        (pl.col("net") * 10000).cast(pl.Int64), pl.col("lines").cast(pl.Int64)
    ).sort(KEY, nulls_last=True)


JOBS = {"session": job_session, "duckdb": job_duckdb, "pandas": job_pandas}


# -- the page --------------------------------------------------------------------------------------

PAGE = Path(__file__).resolve().parents[1] / "workbench" / "pages" / "notebook.py"
PAGE_CELL = """
SELECT range AS n, 'settlement ' || range AS label, (range * 1.25)::DECIMAL(18,4) AS amount,
       'USD' AS currency, DATE '2026-01-01' + (range % 365)::INT AS day
FROM range({rows})
"""
WHOLE_PAGE = """
import duckdb
import streamlit as st

st.dataframe(duckdb.sql({query!r}).pl(), hide_index=True)
"""


def job_page(rows: int, runs: int) -> dict[str, Any]:
    """The Notebook page running a cell of `rows` rows, and a page that sends them all."""
    from streamlit.testing.v1 import AppTest

    from reconcile.store import Store

    home = Path(tempfile.mkdtemp(prefix="notebook-bench-"))
    workspace = Store(home / "wb.duckdb").add_workspace(WORKSPACES[0], "USD")
    os.environ.update(WORKBENCH_DB=str(home / "wb.duckdb"), WORKBENCH_HOME=str(home))
    at = AppTest.from_file(str(PAGE), default_timeout=300)
    at.session_state["workspace_id"] = workspace.id
    at.run()
    at.button(key="nb_add_sql").click().run()
    at.text_area[0].input(PAGE_CELL.format(rows=rows)).run()
    seconds: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        next(b for b in at.button if b.label == "Run").click().run()
        seconds.append(time.perf_counter() - started)
    assert not at.exception and not at.error, (at.exception, at.error)
    limit = [c.value for c in at.caption if "showing the first" in c.value]
    whole_seconds, whole = timed(
        lambda: AppTest.from_string(
            WHOLE_PAGE.format(query=PAGE_CELL.format(rows=rows)), default_timeout=300
        ).run(),
        runs,
    )
    return {
        "seconds": seconds,
        "rows_shown": len(at.dataframe[0].value),
        "caption": limit[0] if limit else "",
        "bytes_sent": len(at.dataframe[0].proto.arrow_data.data),
        "whole_seconds": whole_seconds,
        "whole_rows": len(whole.dataframe[0].value),
        "whole_bytes": len(whole.dataframe[0].proto.arrow_data.data),
    }


# -- running and reporting -------------------------------------------------------------------------


def spawn(job: str, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", job, "--runs", str(args.runs), *extra]
    print(f"{job} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {job} job failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def differences(folder: Path) -> list[str]:
    import polars as pl

    answers = {job: pl.read_parquet(folder / f"{job}.parquet") for job in JOBS}
    reference = answers["session"]
    return [
        f"{job} differs from the session: {answer.height} groups against {reference.height}"
        for job, answer in answers.items()
        if not answer.select(reference.columns).equals(reference)
    ]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def report(facts: dict[str, Any], results: dict[str, Any], problems: list[str]) -> bool:
    session, raw, pandas, page = (results[k] for k in ("session", "duckdb", "pandas", "page"))
    cell = median(session["cell_seconds"])
    print("## Notebook: a cell over 10,000,000 lines; a 100,000-row result on the page\n")
    print("| | |\n|---|---|", *(f"| {k} | {v} |" for k, v in facts.items()), sep="\n")
    print("\n| job | median s | runs (s) |\n|---|---:|---|")
    rows = [
        ("cell via the session (`run`, first 1,000 rows)", session["cell_seconds"]),
        ("cell via the session (`sql`, whole result)", session["sql_seconds"]),
        ("sales and fees apart too (`run`, for information)", session["fees_cell_seconds"]),
        ("the same query without views or sealing (DuckDB on the file)", raw["seconds"]),
        ("pandas on the same rows in memory", pandas["seconds"]),
    ]
    for label, runs in rows:
        print(f"| {label} | {median(runs):.3f} | {', '.join(f'{r:.2f}' for r in runs)} |")
    print(
        f"\n- session opened (all views read) in {session['open_seconds']:.1f} s; peak "
        f"{session['peak_mb']:,.0f} MB; DuckDB job peak {raw['peak_mb']:,.0f} MB; pandas job "
        f"peak {pandas['peak_mb']:,.0f} MB after loading the rows in {pandas['load_seconds']:.1f} s"
    )
    print(f"- groups: {session['groups']:,}; the cell said: {session['cell_summary']}")
    print(
        f"- page: {median(page['seconds']):.2f} s per run of the cell ({page['rows_shown']:,} rows "
        f'shown, {page["bytes_sent"]:,} bytes of table); "{page["caption"]}"'
    )
    print(
        f"- a page sending the whole result: {median(page['whole_seconds']):.2f} s, "
        f"{page['whole_rows']:,} rows, {page['whole_bytes']:,} bytes"
    )
    for problem in problems:
        print(f"- MISMATCH: {problem}")
    met = cell < TARGET_SECONDS and not problems and page["rows_shown"] <= 1000
    print(
        f"- {'met' if met else 'MISSED'}: the cell returns in under {TARGET_SECONDS:g} s "
        f"(median {cell:.3f} s), the three answers agree, the page shows a limited table"
    )
    return met


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 10,000,000 lines")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each job")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "bench")
    parser.add_argument("--page-rows", type=int, default=PAGE_ROWS)
    parser.add_argument("--json", type=Path, help="where to write the figures (JSON)")
    parser.add_argument("--child", choices=(*JOBS, "page"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.child == "page":
        print(json.dumps(job_page(args.page_rows, args.runs)))
        return 0
    if args.child:
        print(json.dumps(JOBS[args.child](args.db, args.workspace, args.runs, args.out)))
        return 0
    path = dataset_path(args.cache_dir, args.scale, args.seed, 7.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        generate(path, args.scale, args.seed, 7.0)
    data = describe(path, 0.0)
    facts = {**machine("duckdb", "polars", "pandas", "streamlit"), "lines": f"{data.lines:,}"}
    facts["load average at start"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as folder:
        results = {
            job: spawn(job, args, "--db", str(path), "--workspace", data.workspace_id,
                       "--out", str(Path(folder) / f"{job}.parquet"))
            for job in JOBS
        }  # fmt: skip
        problems = differences(Path(folder))
    results["page"] = spawn("page", args, "--page-rows", str(args.page_rows))
    facts["load average at end"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    met = report(facts, results, problems)
    if args.json:
        args.json.write_text(json.dumps({"facts": facts, "results": results}, indent=2))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
