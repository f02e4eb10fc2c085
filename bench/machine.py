"""What a benchmark's figures were measured on, and when: shared by the scripts in bench/."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

GIB = 1024 * 1024


def machine(*packages: str) -> dict[str, str]:
    """Date, CPU, cores, memory, OS, Python, the versions of `packages`, and the commit."""
    memory = int((proc_field("/proc/meminfo", "MemTotal") or "0").split()[0]) / GIB
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": proc_field("/proc/cpuinfo", "model name") or platform.machine(),
        "cores": str(os.cpu_count()),
        "memory": f"{memory:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **{package: metadata.version(package) for package in packages},
        "commit": _commit(),
    }


def proc_field(path: str, name: str) -> str:
    """The value of the first `name: value` line of a /proc file ("" when there is none)."""
    source = Path(path)
    lines = source.read_text().splitlines() if source.exists() else []
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(name)), "")


def _commit() -> str:
    """The checked-out commit, marked when the working tree has changes (read-only git)."""
    git = ["git", "-C", str(Path(__file__).resolve().parent.parent)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True)
        dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True)
    except OSError:
        return "unknown"
    mark = " with uncommitted changes" if dirty.stdout.strip() else ""
    return head.stdout.decode().strip() + mark if head.returncode == 0 else "unknown"
