"""Sync benchmark: a full Amazon sync from the in-process sandbox into a fresh DuckDB file.

The real code runs end to end: `workbench.sync.sync_connection` with the Finances v0 client,
its client-side rate limiter and the LWA token refresh, against `AmazonSandbox` (which enforces
the documented rates and answers 429 to a client that exceeds them), on a simulated clock so
the rate limiter's waits cost no wall time. The seller's history is spread over the two years
the sync reads, and every group is complete when it is read, so the sync must store exactly
groups x lines, every settlement closed, with the sandbox's own totals.

Each measured sync runs in a fresh subprocess (peak RSS does not carry over) on a fresh
database file. Every run also measures a baseline on a slice of the same history: the same
sync storing through a naive loader (one INSERT per row via `executemany`), next to the real
loader on the same slice. The script prints markdown; it writes nothing into the repo.

    python bench/sync_bench.py              # 10,000 groups x 100 lines, 3 runs
    python bench/sync_bench.py --quick      # a smoke run in a few seconds
    python bench/sync_bench.py --profile    # cProfile of one full-size sync
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine  # beside this script (bench/ is not a package)

from connectors import amazon
from connectors.clock import SimulatedClock
from connectors.oauth import store_initial_token
from connectors.registry import provider
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from connectors.secrets import MemoryKeyring, SecretStore
from reconcile import sql
from reconcile.models import Connection, ConnectionEvent, SettlementBatch
from reconcile.rows import content_hash, settlement_id
from reconcile.store import SaveCounts, Store
from workbench.runtime import Runtime
from workbench.sync import sync_connection

ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)  # when the seller's first group starts
MARGIN = timedelta(hours=1)  # the history starts this far inside the sync's horizon
SELLER = "seller"
TARGET_LINES_PER_SECOND = 50_000
TARGET_PEAK_MB = 600
TARGET_FLOOR_RATIO = 1.1
MB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """What one sync in one subprocess did."""

    groups: int
    lines_per_group: int
    settlements: int  # rows in the settlements table afterwards
    closed: int  # of which stored as closed
    lines: int  # rows in the settlement_lines table afterwards
    net_matches: bool  # the stored net amounts add up to the sandbox's own totals
    wall_seconds: float  # the sync_connection call
    cpu_seconds: float  # user + system CPU of the process (all threads) during the call
    sandbox_seconds: float  # of the wall time: the sandbox answering (the provider's side)
    store_seconds: float  # of the wall time: Store.save_window (the loader)
    calibration_seconds: float  # a fixed pure-Python loop just before: this CPU's speed now
    peak_rss_mb: float
    setup_rss_mb: float  # peak RSS before the sync began (interpreter, libraries, sandbox)
    simulated_seconds: float
    floor_seconds: float
    calls: dict[str, int]
    throttled: int  # 429s the sandbox sent
    refresh_grants: int

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.wall_seconds

    @property
    def client_seconds(self) -> float:
        """The sync's own time outside the loader: HTTP client, JSON, mapping, limiter."""
        return self.wall_seconds - self.sandbox_seconds - self.store_seconds

    @property
    def lines_per_own_second(self) -> float:
        """Lines per second of the sync's own work, the sandbox's answering left out."""
        return self.lines / (self.wall_seconds - self.sandbox_seconds)

    @property
    def floor_ratio(self) -> float:
        return self.simulated_seconds / self.floor_seconds if self.floor_seconds else 1.0

    def problems(self) -> list[str]:
        """Why this measurement does not count (a sync that stored the wrong thing)."""
        expected = self.groups * self.lines_per_group
        checks = [
            (self.lines == expected, f"stored {self.lines} lines, expected {expected}"),
            (self.settlements == self.groups, f"stored {self.settlements} settlements"),
            (self.closed == self.settlements, f"{self.settlements - self.closed} stored open"),
            (self.net_matches, "the stored net amounts differ from the sandbox's totals"),
            (not self.throttled, f"the sandbox answered {self.throttled} requests with 429"),
        ]
        return [problem for ok, problem in checks if not ok]


# -- the world: a sandbox seller, a runtime, a stored connection ------------------------------


class TimedSandbox:
    """The sandbox behind a stopwatch: the time it spends is the provider's, not the sync's."""

    name = "amazon"

    def __init__(self, inner: AmazonSandbox) -> None:
        self.inner = inner
        self.seconds = 0.0

    def handles(self, path: str) -> bool:
        return self.inner.handles(path)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        started = time.perf_counter()
        try:
            return self.inner.handle(request)
        finally:
            self.seconds += time.perf_counter() - started

    def control(self, action: str, payload: dict[str, Any]) -> Any:
        return self.inner.control(action, payload)


class TimedStore(Store):
    """The real store, adding up the time spent in `save_window`."""

    def __init__(self, path: Path, *, now: Callable[[], datetime]) -> None:
        super().__init__(path, clock=now)
        self.now = now
        self.save_seconds = 0.0

    def save_window(self, *args: Any, **kwargs: Any) -> SaveCounts:
        """`Store.save_window` (or a subclass's `_save`), timed."""
        started = time.perf_counter()
        try:
            return self._save(*args, **kwargs)
        finally:
            self.save_seconds += time.perf_counter() - started

    def _save(self, *args: Any, **kwargs: Any) -> SaveCounts:
        return super().save_window(*args, **kwargs)


@dataclass(frozen=True)
class World:
    """A runtime wired to a timed sandbox, and the stored connection to sync."""

    rt: Runtime
    clock: SimulatedClock
    sandbox: TimedSandbox
    store: TimedStore
    connection: Connection


def cadence_for(groups: int) -> timedelta:
    """The group cadence that spreads `groups` groups over the provider's horizon."""
    seconds = int((provider("amazon").horizon - MARGIN).total_seconds()) // groups
    if seconds < 600:
        raise SystemExit(f"{groups} groups do not fit in two years at the sandbox's 10 minutes")
    return timedelta(seconds=seconds)


def build_world(
    groups: int, lines_per_group: int, cadence: timedelta, home: Path, store: TimedStore
) -> World:
    """A sandbox seller with `groups` groups, and a stored connection authorised for it."""
    # The sync starts the moment the last group closes; the next group starts then too, so it
    # falls outside the window the sync reads, and every group it reads is closed and complete.
    clock = SimulatedClock(ORIGIN + groups * cadence)
    spec = SellerSpec(start=ORIGIN, cadence=cadence, lines_per_group=lines_per_group)
    sandbox = TimedSandbox(AmazonSandbox(clock, sellers={SELLER: spec}, enforce_rate_limits=True))
    secrets = SecretStore(MemoryKeyring())
    rt = Runtime(store=store, secrets=secrets, home=home, clock=clock, transport=transport(sandbox))
    connection = Connection(
        id="amazon-bench",
        workspace_id=store.add_workspace("Bench Ltd", "USD").id,
        provider="amazon",
        name="Amazon US",
        kind="channel",
        region="na",
        config={"client_id": sandbox.inner.client_id, "marketplaces": ["US"]},
        created_at=clock.now(),
    )
    store.add_connection(connection, amazon.FEEDS)
    secrets.set(connection.id, "client_secret", sandbox.inner.client_secret)
    store_initial_token(secrets, connection.id, sandbox.inner.issue_refresh_token(SELLER))
    return World(rt, clock, sandbox, store, connection)


def rate_floor(calls: Mapping[str, int]) -> float:
    """The least simulated time the documented rates allow for these calls, in seconds.

    Each operation has its own bucket that starts full: `burst` calls go at once, the rest at
    `per_second`. The buckets refill in parallel, so the slowest operation sets the floor.
    """
    return max(
        max(0, calls.get(operation, 0) - rate.burst) / rate.per_second
        for operation, rate in amazon.RATES.items()
    )


# -- the naive loader (the baseline) ----------------------------------------------------------

_UPSERT_SETTLEMENT = """
INSERT INTO settlements
    (id, connection_id, provider_settlement_id, period_start, period_end, deposit_date, currency,
     gross, fees, refunds, reserves, net, status, source, content_hash, line_count,
     first_seen_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (connection_id, provider_settlement_id) DO UPDATE SET
    period_end = excluded.period_end, deposit_date = excluded.deposit_date,
    gross = excluded.gross, fees = excluded.fees, refunds = excluded.refunds,
    reserves = excluded.reserves, net = excluded.net, status = excluded.status,
    content_hash = excluded.content_hash, line_count = excluded.line_count,
    updated_at = excluded.updated_at
"""
_DELETE_LINES = "DELETE FROM settlement_lines WHERE settlement_id = ?"
_INSERT_LINE = "INSERT INTO settlement_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


class RowByRowStore(TimedStore):
    """The same window save done the obvious way: one bound INSERT per row via `executemany`.

    Same transaction, same upsert on the provider id, lines replaced as a whole, cursor moved
    in the same transaction; only the loading technique differs from `Store.save_window`.
    """

    def _save(
        self,
        connection_id: str,
        feed: str,
        batches: Sequence[SettlementBatch],
        *,
        cursor: datetime | None,
        event: ConnectionEvent | None = None,
    ) -> SaveCounts:
        now = self.now()
        with self.transaction() as con:
            for batch in batches:
                _save_batch(con, connection_id, batch, now)
            if cursor is not None:
                params = {"connection_id": connection_id, "feed": feed, "cursor": cursor}
                con.execute(sql.load("sync_cursor_advance"), {**params, "updated_at": now})
            if event is not None:
                self.record_event_in(con, event)
        lines = sum(len(batch.lines) for batch in batches)
        return SaveCounts(inserted=len(batches), updated=0, unchanged=0, lines=lines)


def _save_batch(
    con: duckdb.DuckDBPyConnection, connection_id: str, batch: SettlementBatch, now: datetime
) -> None:
    s = batch.settlement
    sid = settlement_id(connection_id, s.provider_settlement_id)
    con.execute(
        _UPSERT_SETTLEMENT,
        [
            *(sid, connection_id, s.provider_settlement_id, s.period_start, s.period_end),
            *(s.deposit_date, s.currency, s.gross, s.fees, s.refunds, s.reserves, s.net),
            *(str(s.status), str(s.source), content_hash(batch), len(batch.lines), now, now),
        ],
    )
    con.execute(_DELETE_LINES, [sid])
    rows = [
        (sid, n, str(x.category), x.amount, x.description, x.order_id, x.sku, x.posted_at)
        for n, x in enumerate(batch.lines, start=1)
    ]
    if rows:
        con.executemany(_INSERT_LINE, rows)


# -- one measurement (in a child process) -----------------------------------------------------


def _peak_rss_mb() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def calibrate(iterations: int = 5_000_000) -> float:
    """Seconds a fixed pure-Python loop takes: how fast this (possibly shared) CPU is now."""
    started, total = time.perf_counter(), 0
    for number in range(iterations):
        total += number
    return time.perf_counter() - started


def measure(
    loader: str, groups: int, lines_per_group: int, cadence: timedelta, work: Path
) -> Measurement:
    """Build a fresh world under `work`, run one sync, and check and count what it stored."""
    clocks: list[SimulatedClock] = []
    calibration = calibrate()
    kind = RowByRowStore if loader == "naive" else TimedStore
    store = kind(work / "bench.duckdb", now=lambda: clocks[0].now() if clocks else ORIGIN)
    world = build_world(groups, lines_per_group, cadence, work / "home", store)
    clocks.append(world.clock)
    setup_rss, started_at, cpu = _peak_rss_mb(), world.clock.now(), _cpu_seconds()
    started = time.perf_counter()
    results = sync_connection(world.rt, world.connection)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    simulated, peak_rss = (world.clock.now() - started_at).total_seconds(), _peak_rss_mb()
    for result in results:
        if result.error is not None:
            raise SystemExit(f"the sync failed: {result.error}")
    stats = world.sandbox.inner.stats()
    return Measurement(
        **_stored(world, groups),
        groups=groups,
        lines_per_group=lines_per_group,
        wall_seconds=wall,
        cpu_seconds=cpu,
        sandbox_seconds=world.sandbox.seconds,
        store_seconds=store.save_seconds,
        calibration_seconds=calibration,
        peak_rss_mb=peak_rss,
        setup_rss_mb=setup_rss,
        simulated_seconds=simulated,
        floor_seconds=rate_floor(stats["calls"]),
        calls=dict(stats["calls"]),
        throttled=int(stats["throttled"]),
        refresh_grants=int(stats["refresh_grants"]),
    )


def _stored(world: World, groups: int) -> dict[str, Any]:
    """What the database holds after the sync, and whether its money matches the sandbox's."""
    query = """
        SELECT count(*), count(*) FILTER (status = 'closed'), coalesce(sum(net), 0),
               (SELECT count(*) FROM settlement_lines)
        FROM settlements"""
    with world.store.read() as con:
        row = con.execute(query).fetchone()
    assert row is not None  # an aggregate always answers one row
    truth = world.sandbox.inner.groups(SELLER)[:groups]  # later ones started after the sync
    net = sum(Decimal(group["total"]) for group in truth)
    return {"settlements": row[0], "closed": row[1], "lines": row[3], "net_matches": row[2] == net}


def _child(args: argparse.Namespace) -> int:
    cadence = timedelta(seconds=args.cadence)
    work = Path(tempfile.mkdtemp(prefix="sync-bench-", dir=args.db_dir))
    job = (args.child, args.groups, args.lines_per_group, cadence, work)
    try:
        if args.profile_out:
            profiler = cProfile.Profile()
            result = profiler.runcall(measure, *job)
            profiler.dump_stats(args.profile_out)
        else:
            result = measure(*job)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(asdict(result)))
    return 0


def run_child(
    loader: str, groups: int, args: argparse.Namespace, profile_out: Path | None = None
) -> Measurement:
    """One measurement in a fresh interpreter; its JSON result comes back on stdout."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", loader]
    command += ["--groups", str(groups), "--lines-per-group", str(args.lines_per_group)]
    command += ["--cadence", str(args.cadence), "--db-dir", str(args.db_dir)]
    command += ["--profile-out", str(profile_out)] if profile_out else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {loader} run failed:\n{done.stderr.strip()}")
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


# -- the report (parent process) --------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One run: the measured sync, and the baseline pair on a slice of the same history."""

    full: Measurement
    naive: Measurement
    real: Measurement

    @property
    def ratio(self) -> float:
        return self.real.lines_per_second / self.naive.lines_per_second


Column = tuple[str, Callable[[Run], float], str]
TARGET_COLUMNS: list[Column] = [
    ("lines", lambda r: r.full.lines, "{:,.0f}"),
    ("wall s", lambda r: r.full.wall_seconds, "{:.1f}"),
    ("lines/s", lambda r: r.full.lines_per_second, "{:,.0f}"),
    ("peak RSS MB", lambda r: r.full.peak_rss_mb, "{:.0f}"),
    ("simulated s", lambda r: r.full.simulated_seconds, "{:,.0f}"),
    ("floor s", lambda r: r.full.floor_seconds, "{:,.0f}"),
    ("simulated / floor", lambda r: r.full.floor_ratio, "{:.3f}"),
    ("429s", lambda r: r.full.throttled, "{:.0f}"),
]
BREAKDOWN_COLUMNS: list[Column] = [
    ("calibration s", lambda r: r.full.calibration_seconds, "{:.2f}"),
    ("CPU s", lambda r: r.full.cpu_seconds, "{:.1f}"),
    ("sandbox s", lambda r: r.full.sandbox_seconds, "{:.1f}"),
    ("store s", lambda r: r.full.store_seconds, "{:.1f}"),
    ("client s", lambda r: r.full.client_seconds, "{:.1f}"),
    ("lines/s net of sandbox", lambda r: r.full.lines_per_own_second, "{:,.0f}"),
    ("slice: naive lines/s", lambda r: r.naive.lines_per_second, "{:,.0f}"),
    ("slice: real lines/s", lambda r: r.real.lines_per_second, "{:,.0f}"),
    ("real / naive", lambda r: r.ratio, "{:.1f}x"),
]


def table(columns: Sequence[Column], runs: Sequence[Run]) -> list[str]:
    """A markdown table: one row per run, then the median of each column."""
    rows = [
        "| run | " + " | ".join(name for name, _, _ in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for number, run in enumerate(runs, start=1):
        rows.append(f"| {number} | " + " | ".join(f.format(v(run)) for _, v, f in columns) + " |")
    medians = (f.format(statistics.median(v(run) for run in runs)) for _, v, f in columns)
    return [*rows, "| **median** | " + " | ".join(medians) + " |"]


def verdicts(runs: Sequence[Run]) -> list[tuple[str, bool]]:
    """Each target with whether the median of the runs meets it."""
    rate = statistics.median(run.full.lines_per_second for run in runs)
    rss = statistics.median(run.full.peak_rss_mb for run in runs)
    ratio = statistics.median(run.full.floor_ratio for run in runs)
    return [
        (f"lines/s >= {TARGET_LINES_PER_SECOND:,}: {rate:,.0f}", rate >= TARGET_LINES_PER_SECOND),
        (f"peak RSS < {TARGET_PEAK_MB} MB: {rss:.0f} MB", rss < TARGET_PEAK_MB),
        (f"simulated / floor <= {TARGET_FLOOR_RATIO}: {ratio:.3f}", ratio <= TARGET_FLOOR_RATIO),
    ]


def report(runs: Sequence[Run], args: argparse.Namespace, load: tuple[float, float]) -> bool:
    """Print the setting, both tables, the checks and the targets (not for --quick).

    True when every sync stored what it should and every judged target is met.
    """
    full, naive = runs[0].full, runs[0].naive
    facts = {
        **machine("duckdb"),
        "load average (1 min) before / after": f"{load[0]:.2f} / {load[1]:.2f}",
        "size": f"{full.groups:,} groups x {full.lines_per_group} lines, "
        f"one every {args.cadence / 60:.1f} min",
        "baseline slice": f"{naive.groups:,} groups of the same cadence and size",
        "calls (run 1)": f"{full.calls}, token refreshes {full.refresh_grants}",
        "peak RSS before the sync (run 1)": f"{full.setup_rss_mb:.0f} MB",
    }
    print(*(f"- {key}: {value}" for key, value in facts.items()), sep="\n")
    for columns in (TARGET_COLUMNS, BREAKDOWN_COLUMNS):
        print("", *table(columns, runs), sep="\n")
    print()
    problems = [p for run in runs for m in (run.full, run.naive, run.real) for p in m.problems()]
    for problem in problems:
        print(f"- INVALID: {problem}")
    if args.quick:
        print("- targets not judged: they apply to the full size, not to a smoke run")
        return not problems
    results = verdicts(runs)
    print(*(f"- {'met' if met else 'MISSED'}: {text}" for text, met in results), sep="\n")
    return not problems and all(met for _, met in results)


def profile(args: argparse.Namespace) -> int:
    """One sync of the chosen size under cProfile; print where the time goes."""
    with tempfile.TemporaryDirectory(dir=args.db_dir) as scratch:
        out = Path(scratch) / "sync.prof"
        result = run_child("real", args.groups, args, out)
        print(f"{result.lines:,} lines in {result.wall_seconds:.1f} s under cProfile")
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    return 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=10_000, help="settlement groups")
    parser.add_argument("--lines-per-group", type=int, default=100, help="lines in each group")
    parser.add_argument("--runs", type=int, default=3, help="measured runs (median reported)")
    parser.add_argument("--baseline-groups", type=int, default=100, help="naive-loader slice")
    parser.add_argument("--db-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--quick", action="store_true", help="smoke size: 300 x 50, one run")
    parser.add_argument("--profile", action="store_true", help="cProfile one sync instead")
    parser.add_argument("--child", choices=("real", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--cadence", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.groups, args.lines_per_group, args.runs, args.baseline_groups = 300, 50, 1, 20
    if min(args.groups, args.lines_per_group, args.runs, args.baseline_groups) < 1:
        parser.error("sizes and run counts must be at least 1")
    if args.cadence is None:
        args.cadence = int(cadence_for(args.groups).total_seconds())
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a markdown report; exit 1 when a check or target fails."""
    args = parse(argv)
    if args.child:
        return _child(args)
    if args.profile:
        return profile(args)
    slice_groups = min(args.baseline_groups, args.groups)
    runs, before = [], os.getloadavg()[0]
    for number in range(1, args.runs + 1):
        print(f"run {number}/{args.runs} ...", file=sys.stderr, flush=True)
        full = run_child("real", args.groups, args)
        runs.append(
            Run(full, run_child("naive", slice_groups, args), run_child("real", slice_groups, args))
        )
    return 0 if report(runs, args, (before, os.getloadavg()[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
