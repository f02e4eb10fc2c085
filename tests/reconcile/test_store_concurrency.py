"""Two processes on one DuckDB file: short transactions with retry, never "database is locked"."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reconcile.store import Store, StoreBusy

# Each transaction reads how many rows exist and appends one saying so: if two transactions ever
# overlapped, two rows would report the same count.
WRITER = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from reconcile import sql
from reconcile.store import Store

path, actor, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = Store(path, busy_timeout=60)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
started = time.time()
for n in range(count):
    with store.transaction() as con:
        (seen,) = con.execute("SELECT count(*) FROM audit_log").fetchall()[0]
        row = {"at": datetime.now(UTC), "actor": actor, "action": "count", "entity": str(n),
               "detail": json.dumps({"seen": seen})}
        con.execute(sql.load("audit_insert"), row)
print(json.dumps({"started": started, "finished": time.time()}), flush=True)
"""

HOLDER = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def python(script: str, *args: object) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", script, *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def holding(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process with the file open for `seconds` (it exits by itself)."""
    holder = python(HOLDER, path, seconds)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=30)


@pytest.mark.slow
def test_two_processes_writing_at_once_all_succeed_and_every_write_counts(tmp_path: Path) -> None:
    path, go, each = tmp_path / "shared.duckdb", tmp_path / "go", 150
    writers = [python(WRITER, path, actor, each, go) for actor in ("app", "cli")]
    try:
        for writer in writers:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [writer.communicate(timeout=120) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.communicate()
    assert [writer.returncode for writer in writers] == [0, 0], [err for _, err in outputs]
    spans = [json.loads(out) for out, _ in outputs]
    assert max(s["started"] for s in spans) < min(s["finished"] for s in spans)  # they overlapped
    with Store(path).read() as con:
        rows = con.sql("SELECT actor, detail->>'seen' FROM audit_log").fetchall()
    assert sorted(actor for actor, _ in rows) == ["app"] * each + ["cli"] * each
    assert sorted(int(seen) for _, seen in rows) == list(range(2 * each))


def test_a_file_held_past_the_busy_timeout_raises_store_busy_naming_file_and_holder(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held.duckdb"
    with holding(path, seconds=30) as holder:
        started = time.monotonic()
        with pytest.raises(StoreBusy) as busy:
            Store(path, busy_timeout=0.3).workspaces()
        waited = time.monotonic() - started
    assert 0.3 <= waited < 5
    message = str(busy.value)
    assert str(path) in message
    assert f"PID {holder.pid}" in message
    assert "stayed locked for 0.3 s" in message
    assert "try again" in message


def test_a_store_waiting_for_the_file_gets_it_once_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "released.duckdb"
    with holding(path, seconds=0.5):
        started = time.monotonic()
        store = Store(path, busy_timeout=20)
        workspace = store.add_workspace("Acme Ltd", "GBP")
        waited = time.monotonic() - started
    assert waited >= 0.2
    assert store.workspaces() == [workspace]
