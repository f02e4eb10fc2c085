"""Crash safety: `workbench post` killed with SIGKILL anywhere, then run again, posts once.

A loopback sandbox (`workbench sandbox serve`) and a database synced once; each trial copies
the database and home, empties the sandbox's books, starts `workbench post`, kills it (after a
random delay, or through the sandbox's `kill_after_response` control right after the ledger
has answered a chosen request: the window between the ledger's reply and the local commit),
runs `post` again, and checks that every closed settlement is in the ledger exactly once with
its net, and that the local state says posted. Half the trials also make the sandbox forget
idempotency keys at once, so only find-before-create stands between a resend and a duplicate.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from reconcile.references import settlement_of
from reconcile.rows import settlement_id
from reconcile.store import Store
from tests.workbench.loopback import Cli, connect_both, serve

TRIALS = 50
KILL_POINTS = (
    ("PUT", "/api.xro/2.0/Invoices"),
    ("PUT", "/api.xro/2.0/Payments"),
    ("GET", "/api.xro/2.0/Invoices/"),
)


@dataclass
class Prepared:
    cli: Cli
    db: Path
    home: Path
    nets: dict[str, Decimal]  # closed settlement id -> net
    duration: float  # seconds an uninterrupted post takes


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    base = tmp_path_factory.mktemp("crash")
    server = serve(base, "--no-rate-limits")  # 50 trials share it; clients pace themselves
    cli = next(server)
    try:
        now = datetime.now(UTC)
        hide = {"start": (now - timedelta(days=400)).isoformat()}
        cli.control("amazon", "hide", **hide, end=(now - timedelta(days=45)).isoformat())
        connect_both(cli)
        cli("sync")
        nets = _closed_nets(cli)
        assert len(nets) >= 2
        started = time.monotonic()
        trial = _copy(cli, base, "baseline")
        trial("post")
        yield Prepared(cli, base / "wb.duckdb", base / "home", nets, time.monotonic() - started)
    finally:
        server.close()


def _store_ids(cli: Cli) -> list[tuple[str, dict[str, str]]]:
    """(store id, listing row) of each settlement."""
    ids = {c["name"]: c["id"] for c in cli.json("connections")}
    return [
        (settlement_id(ids[row["connection"]], row["settlement_id"]), row)
        for row in cli.json("settlements")
    ]


def _closed_nets(cli: Cli) -> dict[str, Decimal]:
    return {sid: Decimal(row["net"]) for sid, row in _store_ids(cli) if row["status"] == "closed"}


def _states(cli: Cli) -> dict[str, str]:
    """The local posting state of each settlement, read from the trial's database file."""
    frame = Store(cli.env["WORKBENCH_DB"]).settlements()
    return dict(zip(frame["id"], frame["posting_status"], strict=True))


def _copy(cli: Cli, base: Path, name: str) -> Cli:
    """A CLI on a fresh copy of the synced database and home; the sandbox's books emptied."""
    target = base / name
    target.mkdir()
    for db in base.glob("wb.duckdb*"):
        shutil.copy(db, target / db.name)
    shutil.copytree(base / "home", target / "home")
    cli.control("xero", "reset_books")
    env = {
        **cli.env,
        "WORKBENCH_DB": str(target / "wb.duckdb"),
        "WORKBENCH_HOME": str(target / "home"),
    }
    return Cli(env, cli.url)


def _killed_post(trial: Cli, rng: random.Random, prepared: Prepared) -> tuple[str, bool]:
    """Start `post` and kill it somewhere: say where, and whether it died of it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench", "post"],
        env=trial.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if rng.random() < 0.5:
        method, path = rng.choice(KILL_POINTS)
        nth = rng.randint(1, len(prepared.nets))
        trial.control(
            "xero", "kill_after_response", pid=process.pid, method=method, path=path, nth=nth
        )
        process.wait(timeout=60)
        return f"after response {nth} to {method} {path}", process.returncode == -signal.SIGKILL
    delay = rng.uniform(0.2, prepared.duration)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    return f"after {delay:.2f} s", process.returncode == -signal.SIGKILL


def _ledger(trial: Cli) -> tuple[Counter[str], dict[str, Decimal]]:
    """Live entries per reference, and the signed total per settlement, in the sandbox."""
    counts: Counter[str] = Counter()
    totals: dict[str, Decimal] = {}
    for invoice in trial.control("xero", "invoices"):
        reference = invoice["reference"] or invoice["number"]
        settlement = settlement_of(reference)
        if settlement is None or invoice["status"] in ("VOIDED", "DELETED"):
            continue
        counts[reference] += 1
        sign = 1 if invoice["type"] == "ACCREC" else -1
        totals[settlement] = totals.get(settlement, Decimal(0)) + sign * Decimal(invoice["total"])
    return counts, totals


def test_post_killed_at_any_point_then_run_again_posts_every_settlement_exactly_once(
    prepared: Prepared, tmp_path: Path
) -> None:
    rng = random.Random(20261102)
    killed = Counter[str]()
    for number in range(TRIALS):
        trial = _copy(prepared.cli, prepared.db.parent, f"trial-{number}")
        ttl = 0 if number % 2 else 360
        trial.control("xero", "set_idempotency_ttl", seconds=ttl)
        where, died = _killed_post(trial, rng, prepared)
        killed["response" if "response" in where else "delay"] += died
        assert died or where.endswith(" s"), f"trial {number}: not killed {where}"

        trial("post")

        counts, totals = _ledger(trial)
        context = f"trial {number}, killed {where}, key TTL {ttl} s"
        assert set(counts.values()) == {1}, (context, counts)
        assert totals == prepared.nets, context
        states = _states(trial)
        assert {states[sid] for sid in prepared.nets} == {"posted"}, context
        shutil.rmtree(Path(trial.env["WORKBENCH_DB"]).parent)
    assert killed["response"] >= TRIALS // 4, killed  # the reply-to-commit window was hit
    assert killed["response"] + killed["delay"] >= TRIALS * 2 // 3, killed
