"""The state one CLI invocation carries: settings, and the store and runtime built on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from connectors.clock import Clock, SystemClock
from reconcile.store import Store
from workbench.runtime import Runtime
from workbench.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    _store: Store | None = field(default=None, repr=False)
    _runtime: Runtime | None = field(default=None, repr=False)

    @classmethod
    def create(cls, db: Path | None = None) -> AppContext:
        return cls(Settings(db=db) if db else Settings())

    @property
    def store(self) -> Store:
        """The database; opening it does not touch the keyring."""
        if self._store is None:
            self._store = (
                self._runtime.store
                if self._runtime
                else Store(self.settings.db, busy_timeout=self.settings.busy_timeout)
            )
        return self._store

    def runtime(self) -> Runtime:
        """The store plus the keyring, the clock and the network."""
        if self._runtime is None:
            self._runtime = Runtime.from_settings(self.settings, clock=self.clock)
            if self._store is not None:
                self._runtime.store = self._store
        return self._runtime
