"""Sync benchmark: a full Amazon sync from the in-process sandbox into a fresh DuckDB file.

The real code runs end to end: `workbench.sync.sync_connection` with the Finances v0 client,
its client-side rate limiter and the LWA token refresh, against `AmazonSandbox` (which enforces
the documented rates and answers 429 to a client that exceeds them), on a simulated clock so
the rate limiter's waits cost no wall time. The seller's history is spread over the two years
the sync reads, and every group is complete when it is read, so the sync must store exactly
groups x lines, every settlement closed, with the sandbox's own totals.

Each measured sync runs in a fresh subprocess (peak RSS does not carry over) on a fresh
database file. Every run also measures a baseline on a slice of the same history: the same
sync, but storing through a naive loader (one INSERT per row via `executemany`), next to the
real loader on the same slice. The script prints markdown; it writes nothing into the repo.

    python bench/sync_bench.py                     # 10,000 groups x 100 lines, 3 runs
    python bench/sync_bench.py --quick             # a smoke run in a few seconds
    python bench/sync_bench.py --profile           # cProfile of one full-size sync
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
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
# The sync starts one second before the last group closes, so the group after it is not listed;
# the rate limiter's waits move the simulated clock on, so that group is closed when it is read.
BEFORE_END = timedelta(seconds=1)
SELLER = "seller"
TARGET_LINES_PER_SECOND = 50_000
TARGET_PEAK_MB = 600
TARGET_FLOOR_RATIO = 1.1
MB = 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    """What one sync in one subprocess did."""

    loader: str
    groups: int
    lines_per_group: int
    settlements: int  # rows in the settlements table afterwards
    lines: int  # rows in the settlement_lines table afterwards
    closed: int  # settlements stored as closed
    net_matches: bool  # the stored net amounts add up to the sandbox's own totals
    wall_seconds: float  # the whole sync_connection call
    cpu_seconds: float  # user + system CPU time of the process (all threads) during the call
    sandbox_seconds: float  # of which the sandbox answering requests (the provider's side)
    store_seconds: float  # of which Store.save_window (the loader)
    peak_rss_mb: float
    setup_rss_mb: float  # peak RSS before the sync began (interpreter, libraries, sandbox)
    simulated_seconds: float
    floor_seconds: float
    calls: dict[str, int]
    throttled: int
    refresh_grants: int

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.wall_seconds

    @property
    def client_seconds(self) -> float:
        """The sync's own time outside the loader: HTTP client, JSON, mapping, limiter."""
        return self.wall_seconds - self.sandbox_seconds - self.store_seconds

    @property
    def lines_per_client_second(self) -> float:
        """Lines per second of the sync's own work, the sandbox's answering left out."""
        return self.lines / (self.wall_seconds - self.sandbox_seconds)

    @property
    def floor_ratio(self) -> float:
        return self.simulated_seconds / self.floor_seconds if self.floor_seconds else 1.0

    def problems(self) -> list[str]:
        """Why this measurement does not count (a sync that stored the wrong thing)."""
        found = []
        if self.lines != self.groups * self.lines_per_group:
            found.append(
                f"stored {self.lines} lines, expected {self.groups * self.lines_per_group}"
            )
        if self.settlements != self.groups:
            found.append(f"stored {self.settlements} settlements, expected {self.groups}")
        if self.closed != self.settlements:
            found.append(f"{self.settlements - self.closed} settlements were stored while open")
        if not self.net_matches:
            found.append("the stored net amounts differ from the sandbox's totals")
        if self.throttled:
            found.append(f"the sandbox answered {self.throttled} requests with 429")
        return found


# -- the world: a sandbox seller, a runtime, a connection -------------------------------------


def cadence_for(groups: int) -> timedelta:
    """The group cadence that fits `groups` groups inside the provider's horizon."""
    span = provider("amazon").horizon - MARGIN
    seconds = int(span.total_seconds()) // groups
    if seconds < 600:
        raise SystemExit(
            f"{groups} groups do not fit in two years at the sandbox's 10-minute cadence"
        )
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class World:
    """A runtime wired to a timed sandbox, and the stored connection to sync."""

    rt: Runtime
    clock: SimulatedClock
    sandbox: TimedSandbox
    store: TimedStore
    connection: Connection


def build_world(
    groups: int, lines_per_group: int, cadence: timedelta, home: Path, store: TimedStore
) -> World:
    """A sandbox seller with `groups` groups, and a stored connection authorised for it."""
    clock = SimulatedClock(ORIGIN + groups * cadence - BEFORE_END)
    spec = SellerSpec(start=ORIGIN, cadence=cadence, lines_per_group=lines_per_group)
    sandbox = TimedSandbox(AmazonSandbox(clock, sellers={SELLER: spec}, enforce_rate_limits=True))
    rt = Runtime(
        store=store,
        secrets=SecretStore(MemoryKeyring()),
        home=home,
        clock=clock,
        transport=transport(sandbox),
    )
    workspace = store.add_workspace("Bench Ltd", "USD")
    connection = Connection(
        id="amazon-bench",
        workspace_id=workspace.id,
        provider="amazon",
        name="Amazon US",
        kind="channel",
        region="na",
        config={"client_id": sandbox.inner.client_id, "marketplaces": ["US"]},
        created_at=clock.now(),
    )
    store.add_connection(connection, amazon.FEEDS)
    rt.secrets.set(connection.id, "client_secret", sandbox.inner.client_secret)
    store_initial_token(rt.secrets, connection.id, sandbox.inner.issue_refresh_token(SELLER))
    return World(rt, clock, sandbox, store, connection)


def rate_floor(calls: Mapping[str, int]) -> float:
    """The least simulated time the documented rates allow for these calls, in seconds.

    Each operation has its own bucket that starts full: `burst` calls go at once, the rest at
    `per_second`. The buckets refill in parallel, so the slowest operation sets the floor.
    """
    return max(
        (
            max(0, calls.get(operation, 0) - rate.burst) / rate.per_second
            for operation, rate in amazon.RATES.items()
        ),
        default=0.0,
    )


# -- the naive loader (baseline) --------------------------------------------------------------

_UPSERT_SETTLEMENT = """
INSERT INTO settlements AS s
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
_CURSOR = ("connection_id", "feed", "cursor", "updated_at")


class TimedStore(Store):
    """The real store, adding up the time spent saving windows."""

    def __init__(self, path: Path, *, now: Callable[[], datetime]) -> None:
        super().__init__(path, clock=now)
        self._now = now
        self.save_seconds = 0.0

    def save_window(
        self,
        connection_id: str,
        feed: str,
        batches: Sequence[SettlementBatch],
        *,
        cursor: datetime | None,
        event: ConnectionEvent | None = None,
    ) -> SaveCounts:
        """`Store.save_window` (or a subclass's `_save`), timed."""
        started = time.perf_counter()
        try:
            return self._save(connection_id, feed, batches, cursor=cursor, event=event)
        finally:
            self.save_seconds += time.perf_counter() - started

    def _save(
        self,
        connection_id: str,
        feed: str,
        batches: Sequence[SettlementBatch],
        *,
        cursor: datetime | None,
        event: ConnectionEvent | None,
    ) -> SaveCounts:
        return super().save_window(connection_id, feed, batches, cursor=cursor, event=event)


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
        event: ConnectionEvent | None,
    ) -> SaveCounts:
        now = self._now()
        with self.transaction() as con:
            for batch in batches:
                _save_batch(con, connection_id, batch, now)
            if cursor is not None:
                params = [connection_id, feed, cursor, now]
                con.execute(
                    sql.load("sync_cursor_advance"), dict(zip(_CURSOR, params, strict=True))
                )
            if event is not None:
                self.record_event_in(con, event)
        lines = sum(len(batch.lines) for batch in batches)
        return SaveCounts(inserted=len(batches), updated=0, unchanged=0, lines=lines)


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


# -- one measurement (runs in a child process) ------------------------------------------------


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    loader: str, groups: int, lines_per_group: int, cadence: timedelta, work: Path
) -> Measurement:
    """Build a fresh world under `work`, run one sync, and count what it stored."""
    db = work / "bench.duckdb"
    clocks: list[SimulatedClock] = []

    def now() -> datetime:
        return clocks[0].now() if clocks else ORIGIN

    store = (RowByRowStore if loader == "naive" else TimedStore)(db, now=now)
    world = build_world(groups, lines_per_group, cadence, work / "home", store)
    clocks.append(world.clock)
    setup_rss = _peak_rss_mb()
    started_at, cpu = world.clock.now(), _cpu_seconds()
    started = time.perf_counter()
    results = sync_connection(world.rt, world.connection)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    failed = [result.error for result in results if result.error is not None]
    if failed:
        raise SystemExit(f"the sync failed: {failed[0]}")
    peak_rss = _peak_rss_mb()
    with store.read() as con:
        settlements, closed, net = _settlement_totals(con)
        lines = _count(con, "settlement_lines")
    truth = world.sandbox.inner.groups(SELLER)[:groups]  # later ones started after the sync
    stats = world.sandbox.inner.stats()
    return Measurement(
        loader=loader,
        groups=groups,
        lines_per_group=lines_per_group,
        settlements=settlements,
        lines=lines,
        closed=closed,
        net_matches=net == sum(Decimal(group["total"]) for group in truth),
        wall_seconds=wall,
        cpu_seconds=cpu,
        sandbox_seconds=world.sandbox.seconds,
        store_seconds=store.save_seconds,
        peak_rss_mb=peak_rss,
        setup_rss_mb=setup_rss,
        simulated_seconds=(world.clock.now() - started_at).total_seconds(),
        floor_seconds=rate_floor(stats["calls"]),
        calls=dict(stats["calls"]),
        throttled=int(stats["throttled"]),
        refresh_grants=int(stats["refresh_grants"]),
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # a fixed table name
    return int(row[0]) if row else 0


def _settlement_totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int, Decimal]:
    """How many settlements, how many of them closed, and the sum of their net amounts."""
    query = "SELECT count(*), count(*) FILTER (status = 'closed'), sum(net) FROM settlements"
    row = con.execute(query).fetchone()
    assert row is not None  # an aggregate always returns one row
    return int(row[0]), int(row[1]), Decimal(row[2] or 0)


def _child(args: argparse.Namespace) -> int:
    cadence = timedelta(seconds=args.cadence)
    work = Path(tempfile.mkdtemp(prefix="sync-bench-", dir=args.db_dir))
    try:
        if args.profile_out:
            profiler = cProfile.Profile()
            result = profiler.runcall(
                measure, args.child, args.groups, args.lines_per_group, cadence, work
            )
            profiler.dump_stats(args.profile_out)
        else:
            result = measure(args.child, args.groups, args.lines_per_group, cadence, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(asdict(result)))
    return 0


def run_child(
    loader: str,
    groups: int,
    lines_per_group: int,
    cadence: timedelta,
    db_dir: Path,
    profile_out: Path | None = None,
) -> Measurement:
    """One measurement in a fresh interpreter; its JSON result comes back on stdout."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", loader]
    command += ["--groups", str(groups), "--lines-per-group", str(lines_per_group)]
    command += ["--cadence", str(int(cadence.total_seconds())), "--db-dir", str(db_dir)]
    if profile_out:
        command += ["--profile-out", str(profile_out)]
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
    ("CPU s", lambda r: r.full.cpu_seconds, "{:.1f}"),
    ("sandbox s", lambda r: r.full.sandbox_seconds, "{:.1f}"),
    ("store s", lambda r: r.full.store_seconds, "{:.1f}"),
    ("client s", lambda r: r.full.client_seconds, "{:.1f}"),
    ("lines/s net of sandbox", lambda r: r.full.lines_per_client_second, "{:,.0f}"),
    ("slice: naive lines/s", lambda r: r.naive.lines_per_second, "{:,.0f}"),
    ("slice: real lines/s", lambda r: r.real.lines_per_second, "{:,.0f}"),
    ("real / naive", lambda r: r.ratio, "{:.1f}x"),
]


def table(columns: Sequence[Column], runs: Sequence[Run]) -> list[str]:
    """A markdown table: one row per run, then the median of each column."""
    lines = [
        "| run | " + " | ".join(name for name, _, _ in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for number, run in enumerate(runs, start=1):
        cells = (shape.format(value(run)) for _, value, shape in columns)
        lines.append(f"| {number} | " + " | ".join(cells) + " |")
    medians = (
        shape.format(statistics.median(value(run) for run in runs)) for _, value, shape in columns
    )
    lines.append("| **median** | " + " | ".join(medians) + " |")
    return lines


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.machine(),
        "cores": str(os.cpu_count()),
        "memory": f"{int(_proc_field('/proc/meminfo', 'MemTotal').split()[0] or 0) / MB:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "commit": _commit(),
    }


def _commit() -> str:
    """The checked-out commit, marked when the working tree has changes (read-only git calls)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def _proc_field(path: str, name: str) -> str:
    """The value of the first `name: value` line of a /proc file ("" when there is none)."""
    source = Path(path)
    lines = source.read_text().splitlines() if source.exists() else []
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(name)), "")


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


def report(runs: Sequence[Run], cadence: timedelta, load: tuple[float, float]) -> bool:
    """Print the setting, both tables, the checks and the targets; True when all are met."""
    for key, value in machine().items():
        print(f"- {key}: {value}")
    print(f"- load average (1 min) before / after the runs: {load[0]:.2f} / {load[1]:.2f}")
    full, naive = runs[0].full, runs[0].naive
    minutes = cadence.total_seconds() / 60
    print(f"- size: {full.groups:,} groups x {full.lines_per_group} lines, every {minutes:.1f} min")
    print(f"- baseline slice: {naive.groups:,} groups of the same cadence and size")
    print(f"- calls (run 1): {full.calls}; token refreshes: {full.refresh_grants}")
    print(f"- peak RSS before the sync (run 1): {full.setup_rss_mb:.0f} MB")
    for columns in (TARGET_COLUMNS, BREAKDOWN_COLUMNS):
        print("", *table(columns, runs), sep="\n")
    print()
    problems = [p for run in runs for m in (run.full, run.naive, run.real) for p in m.problems()]
    for problem in problems:
        print(f"- INVALID: {problem}")
    results = verdicts(runs)
    for text, met in results:
        print(f"- {'met' if met else 'MISSED'}: {text}")
    return not problems and all(met for _, met in results)


def profile(args: argparse.Namespace, cadence: timedelta) -> int:
    """One full-size sync under cProfile; print where the time goes."""
    with tempfile.TemporaryDirectory(dir=args.db_dir) as scratch:
        out = Path(scratch) / "sync.prof"
        result = run_child("real", args.groups, args.lines_per_group, cadence, args.db_dir, out)
        print(f"{result.lines:,} lines in {result.wall_seconds:.1f} s under cProfile\n")
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
    return 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--groups", type=int, default=10_000, help="settlement groups")
    parser.add_argument("--lines-per-group", type=int, default=100, help="lines in each group")
    parser.add_argument("--runs", type=int, default=3, help="measured runs (median reported)")
    parser.add_argument("--baseline-groups", type=int, default=100, help="naive-loader slice")
    parser.add_argument("--db-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--quick", action="store_true", help="a smoke size: 300 x 50, one run")
    parser.add_argument("--profile", action="store_true", help="cProfile one full-size sync")
    parser.add_argument("--child", choices=("real", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--cadence", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.groups, args.lines_per_group, args.runs, args.baseline_groups = 300, 50, 1, 20
    if min(args.groups, args.lines_per_group, args.runs, args.baseline_groups) < 1:
        parser.error("sizes and run counts must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a markdown report; exit 1 when a target is missed."""
    args = parse(argv)
    if args.child:
        return _child(args)
    cadence = cadence_for(args.groups)
    if args.profile:
        return profile(args, cadence)
    slice_groups = min(args.baseline_groups, args.groups)
    runs, before = [], os.getloadavg()[0]
    for number in range(1, args.runs + 1):
        print(f"run {number}/{args.runs} ...", file=sys.stderr, flush=True)
        full = run_child("real", args.groups, args.lines_per_group, cadence, args.db_dir)
        naive = run_child("naive", slice_groups, args.lines_per_group, cadence, args.db_dir)
        real = run_child("real", slice_groups, args.lines_per_group, cadence, args.db_dir)
        runs.append(Run(full, naive, real))
    return 0 if report(runs, cadence, (before, os.getloadavg()[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
