"""The SQL text the domain runs, read from the package's files.

`reconcile/sql/<name>.sql` holds one statement each, named for what it returns or does; values
are always bound as `$params`, never formatted into the text. `reconcile/migrations/NNNN_name.sql`
holds the forward-only schema migrations, in version order.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

# Beside this module rather than through importlib.resources: a `tests/reconcile` folder on
# sys.path can shadow the package as a namespace package, and resources would look there.
_HERE = Path(__file__).resolve().parent
_STATEMENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema migration: its version, its name and its SQL script (one or more statements)."""

    version: int
    name: str
    script: str


@functools.cache
def load(name: str) -> str:
    """The text of the statement `reconcile/sql/<name>.sql`."""
    if not _STATEMENT_NAME.match(name):
        raise ValueError(f"not a statement name: {name!r} (use lower_snake_case, no path)")
    path = _HERE / "sql" / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL statement named {name!r} in reconcile/sql/")
    return path.read_text(encoding="utf-8")


def statement_names() -> list[str]:
    """The names of every statement file, sorted."""
    return sorted(path.stem for path in (_HERE / "sql").glob("*.sql"))


@functools.cache
def migrations() -> tuple[Migration, ...]:
    """Every migration file, in version order; versions must run 1, 2, 3 ... without a hole."""
    found: list[Migration] = []
    for entry in (_HERE / "migrations").iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            script = entry.read_text(encoding="utf-8")
            found.append(Migration(int(match[1]), match[2], script))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration versions must be 1..N without holes, found {versions}")
    return tuple(found)
