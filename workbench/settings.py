"""Configuration from the environment (the only module that reads it).

- `WORKBENCH_DB` (`data/workbench.duckdb`): the DuckDB file.
- `WORKBENCH_HOME` (`$XDG_DATA_HOME/reconciliation-workbench`): key file, encrypted keyring,
  lock files.
- `WORKBENCH_KEYRING` (`auto`): `auto` (the OS keyring if there is a real one, else the
  encrypted file), `file` or `system`.
- `WORKBENCH_SECRET_KEY` (unset): key of the encrypted-file keyring (else `<home>/secret.key`).
- `WORKBENCH_BUSY_TIMEOUT` (`30`): seconds to wait for another process to release the database.
- `WORKBENCH_DEMO_URL` (unset): set by `workbench demo` for the app it opens: the address of the
  demo's sandboxes (the app then says it is the demo, and offers the sandboxes in its wizard).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reconciliation-workbench"


class Settings(BaseSettings):
    """Every setting of the workbench, documented in the module docstring and the README."""

    model_config = SettingsConfigDict(env_prefix="WORKBENCH_", extra="ignore")

    db: Path = Path("data/workbench.duckdb")
    home: Path = Field(default_factory=_default_home)
    keyring: Literal["auto", "file", "system"] = "auto"
    busy_timeout: float = Field(default=30.0, gt=0)
    demo_url: str | None = None

    def environ(self) -> dict[str, str]:
        """The environment the secrets backend reads its key from."""
        return dict(os.environ)
