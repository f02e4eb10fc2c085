"""Import benchmark: a 1,000,000-line Amazon V2 settlement file into a fresh DuckDB file.

The file is one settlement of the Amazon sandbox (`connectors.sandbox.amazon_report`), rendered
once per benchmark into a scratch folder: the same mix of orders, refunds, fees, reserves and ad
charges the sync benchmark uses. Each measured run is a fresh subprocess on a fresh database
file; its peak memory is its own (`VmHWM`, not `ru_maxrss`, which Linux carries over from the
parent that rendered the file):

- **import**: `reconcile.imports.import_file`, the production path: polars reads the file from
  its path while a thread hashes it, then parse, check, categorise, write settlement and lines
  to DuckDB in one transaction, audit.
- **baseline**: `pandas.read_csv` (all columns as text) plus the same parsing in pandas: amounts
  validated and made exact decimals, dates parsed, categories mapped, per-settlement totals
  checked against the summary. It writes nothing, so it is a lower bound of a pandas importer.

The script prints markdown; it writes nothing into the repository.

    python bench/import_bench.py            # 1,000,000 lines, 3 runs of each
    python bench/import_bench.py --quick    # 50,000 lines, one run
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_RATIO = 5.0
TARGET_PEAK_MB = 1024
MB = 1024


def render(path: Path, lines: int, market: str) -> None:
    """One settlement of `lines` lines from the sandbox, as its report file."""
    from connectors.sandbox.amazon_history import History, SellerSpec
    from connectors.sandbox.amazon_report import settlement_report

    currency = {"US": "USD", "DE": "EUR", "UK": "GBP"}[market]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spec = SellerSpec(start=start, currency=currency, marketplace=market, lines_per_group=lines)
    history = History("bench", spec, 1)
    path.write_text(settlement_report(history, history.group_id(0), start + timedelta(days=15)))


def run_import(path: Path, db: Path) -> dict[str, Any]:
    from reconcile.imports import import_file
    from reconcile.models import Connection
    from reconcile.store import Store

    store = Store(db)
    workspace = store.add_workspace("Bench Ltd", "USD")
    now = datetime.now(UTC)
    connection = Connection(
        id="amazon-bench", workspace_id=workspace.id, provider="amazon", name="Amazon",
        kind="channel", created_at=now,
    )  # fmt: skip
    store.add_connection(connection, ("settlements",))
    started = time.perf_counter()
    result = import_file(store, connection, path, now=now)
    wall = time.perf_counter() - started
    stored = store.settlements()
    return {
        "wall": wall,
        "ok": result.ok,
        "lines": int(stored["line_count"].sum()) if stored.height else 0,
        "total": str(stored["net"][0]) if stored.height else "",
    }


def run_pandas(path: Path) -> dict[str, Any]:
    import pandas as pd
    import pyarrow as pa

    started = time.perf_counter()
    frame = pd.read_csv(
        path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE,
        encoding="utf-8-sig",
    )  # fmt: skip
    frame.columns = [c.strip().lower() for c in frame.columns]
    is_summary = (frame["total-amount"] != "") & (frame["amount"] == "")
    summaries, lines = frame[is_summary], frame[~is_summary]
    amounts, bad = _pandas_amounts(lines["amount"], pa)
    totals, bad_totals = _pandas_amounts(summaries["total-amount"], pa)
    posted = pd.to_datetime(
        lines["posted-date-time"], format="%Y-%m-%d %H:%M:%S UTC", utc=True, errors="coerce"
    )
    for column in ("settlement-start-date", "settlement-end-date", "deposit-date"):
        pd.to_datetime(summaries[column], format="%Y-%m-%d %H:%M:%S UTC", utc=True)
    keys = (
        lines["transaction-type"].str.lower() + "\t" + lines["amount-type"].str.lower()
        + "\t" + lines["amount-description"].str.lower()
    )  # fmt: skip
    categories = keys.map({key: _category(*key.split("\t")) for key in keys.unique()})
    parsed = pd.DataFrame(
        {"settlement": lines["settlement-id"], "amount": amounts, "category": categories}
    )
    sums = parsed.groupby("settlement")["amount"].sum()
    parsed.groupby(["settlement", "category"])["amount"].sum()
    checked = dict(zip(summaries["settlement-id"], totals, strict=True))
    wall = time.perf_counter() - started
    ok = not bad and not bad_totals and int(posted.isna().sum()) == 0
    ok = ok and all(checked[k] == v for k, v in sums.items())
    return {"wall": wall, "ok": ok, "lines": len(parsed), "total": str(sums.iloc[0])}


def _pandas_amounts(text: Any, pa: Any) -> tuple[Any, int]:
    import pandas as pd

    compact = text.str.replace(r"[\s\u00a0']", "", regex=True)
    valid = compact.str.fullmatch(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,4})?")
    plain = compact.where(valid, "0").str.replace(",", "", regex=False)
    return plain.astype(pd.ArrowDtype(pa.decimal128(18, 4))), int((~valid).sum())


def _category(kind: str, amount_type: str, text: str) -> str:
    """The same rules as `reconcile.import_categories`, for the pandas baseline's few keys."""
    from reconcile import import_categories as rules

    if "reserve" in f"{kind} {text}":
        return "reserve"
    if amount_type in rules.AMOUNT_TYPES:
        return rules.AMOUNT_TYPES[amount_type].value
    if amount_type == "itemprice":
        if re.search(rules.TAX_DESCRIPTIONS, text):
            return "tax"
        if kind in rules.REFUND_TRANSACTIONS:
            return "refund"
        return rules.CHARGES.get(text, rules.OTHER).value
    if kind == "servicefee" or " fee" in f" {text} ":
        return "fee"
    return "adjustment" if "reimbursement" in f"{kind} {amount_type}" else "other"


def child(args: argparse.Namespace) -> int:
    """One measured run in this process; prints its figures as JSON."""
    pandas = args.child == "pandas"
    figures = run_pandas(args.file) if pandas else run_import(args.file, args.db)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))
    return 0


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    `VmHWM` where Linux has it: `ru_maxrss` keeps the peak of the process that forked this one
    (Linux carries it across exec), which here is the parent that rendered the file.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / MB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MB


def measure(kind: str, file: Path, scratch: Path, number: int) -> dict[str, Any]:
    db = scratch / f"run-{kind}-{number}.duckdb"
    command = [sys.executable, __file__, "--child", kind, "--file", str(file), "--db", str(db)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return figures


def report(runs: list[tuple[dict[str, Any], dict[str, Any]]], args: argparse.Namespace) -> bool:
    """Print the setting, one row per run, the medians and the verdicts."""
    print(f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
    loads = args.loads
    print(
        f"- machine: {os.cpu_count()} cores; 1-minute load average before each run "
        f"{min(loads):.2f} to {max(loads):.2f} (median {statistics.median(loads):.2f})"
    )
    print(f"- file: {args.lines:,} lines ({args.market}), {args.size_mb:.0f} MB\n")
    print("| run | import s | import peak MB | pandas s | pandas peak MB | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for number, (ours, theirs) in enumerate(runs, start=1):
        ratio = theirs["wall"] / ours["wall"]
        print(
            f"| {number} | {ours['wall']:.2f} | {ours['peak_rss_mb']:.0f} | "
            f"{theirs['wall']:.2f} | {theirs['peak_rss_mb']:.0f} | {ratio:.1f}x |"
        )
    ours_s = statistics.median(r[0]["wall"] for r in runs)
    theirs_s = statistics.median(r[1]["wall"] for r in runs)
    peak = statistics.median(r[0]["peak_rss_mb"] for r in runs)
    ratio = theirs_s / ours_s
    print(f"| **median** | {ours_s:.2f} | {peak:.0f} | {theirs_s:.2f} | | {ratio:.1f}x |\n")
    valid = all(r[0]["ok"] and r[1]["ok"] and r[0]["lines"] == args.lines for r in runs)
    print(f"- {'valid' if valid else 'INVALID'}: every run stored / parsed {args.lines:,} lines")
    if args.quick:
        print("- targets not judged on a smoke run")
        return valid
    verdicts = [
        (f"at least {TARGET_RATIO:g}x the pandas baseline: {ratio:.1f}x", ratio >= TARGET_RATIO),
        (f"peak RSS under {TARGET_PEAK_MB} MB: {peak:.0f} MB", peak < TARGET_PEAK_MB),
    ]
    print(*(f"- {'met' if met else 'MISSED'}: {text}" for text, met in verdicts), sep="\n")
    return valid and all(met for _, met in verdicts)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the settlement")
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each")
    parser.add_argument("--market", choices=("US", "DE", "UK"), default="US")
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--quick", action="store_true", help="smoke size: 50,000 lines, 1 run")
    parser.add_argument("--child", choices=("import", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.lines, args.runs = 50_000, 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Render the file, run both sides in turn, print the report; exit 1 on a miss."""
    args = parse(argv)
    if args.child:
        child(args)
        sys.stdout.flush()
        # Measured and printed: leave without the interpreter's teardown, where the native
        # thread pools of pandas/pyarrow and polars, loaded together, now and then abort
        # ("terminate called without an active exception") after the run is over.
        os._exit(0)
    with tempfile.TemporaryDirectory(dir=args.scratch) as folder:
        scratch = Path(folder)
        file = scratch / "settlement.txt"
        print("rendering the file ...", file=sys.stderr, flush=True)
        render(file, args.lines, args.market)
        args.size_mb = file.stat().st_size / MB / MB
        runs, args.loads = [], []
        for number in range(1, args.runs + 1):
            print(f"run {number}/{args.runs} ...", file=sys.stderr, flush=True)
            args.loads.append(os.getloadavg()[0])
            runs.append(
                (measure("import", file, scratch, number), measure("pandas", file, scratch, number))
            )
    return 0 if report(runs, args) else 1


if __name__ == "__main__":
    sys.exit(main())
