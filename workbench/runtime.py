"""What the workbench talks to: the store, the keyring, the clock and the network.

Everything outside the process comes through a `Runtime`, so a test or the demo swaps the
network for a sandbox transport and the clock for a simulated one, and the code under test is
the code that runs in production.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from connectors.clock import Clock, SystemClock
from connectors.oauth import RefreshingTokenSource, TokenSet
from connectors.registry import provider
from connectors.secrets import SecretStore, default_backend
from reconcile.models import Connection, ConnectionEvent, EventKind
from reconcile.store import Store
from workbench.settings import Settings


@dataclass
class Runtime:
    """The outside world of one workbench process."""

    store: Store
    secrets: SecretStore
    home: Path
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx2.BaseTransport | None = None  # None: the real network

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        transport: httpx2.BaseTransport | None = None,
    ) -> Runtime:
        """The production wiring: the settings' database, home and keyring."""
        environ = {
            **settings.environ(),
            "WORKBENCH_KEYRING": "" if settings.keyring == "auto" else settings.keyring,
        }
        backend = default_backend(settings.home, environ)
        return cls(
            store=Store(settings.db, busy_timeout=settings.busy_timeout),
            secrets=SecretStore(backend),
            home=settings.home,
            clock=clock or SystemClock(),
            transport=transport,
        )

    @property
    def lock_dir(self) -> Path:
        path = self.home / "locks"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def record_event(self, connection: Connection, kind: EventKind, **fields: Any) -> None:
        """Append one event for `connection`, stamped now."""
        self.store.record_event(
            ConnectionEvent(connection_id=connection.id, at=self.clock.now(), kind=kind, **fields)
        )

    def token_source(self, connection: Connection, *, record: bool = True) -> RefreshingTokenSource:
        """Access tokens for `connection`, refreshed (serialised across processes) when due.

        `record=False` leaves no event: for a connection that is not stored yet.
        """
        info = provider(connection.provider)

        def refreshed(token: TokenSet) -> None:
            self.record_event(
                connection, EventKind.TOKEN_REFRESHED, detail="access token refreshed"
            )

        return RefreshingTokenSource(
            connection.provider,
            connection.id,
            self.secrets,
            token_url=str(connection.config.get("token_url") or info.token_url),
            client_id=str(connection.config["client_id"]),
            auth_method=info.auth_method,
            transport=self.transport,
            clock=self.clock,
            lock_dir=self.lock_dir,
            on_refresh=refreshed if record else None,
        )

    def client(self, connection: Connection, *, record: bool = True, **options: Any) -> Any:
        """The provider client for `connection` (AmazonFinances, XeroLedger, ...)."""
        info = provider(connection.provider)
        return info.connect(
            connection,
            token=self.token_source(connection, record=record),
            clock=self.clock,
            transport=self.transport,
            **options,
        )

    @contextlib.contextmanager
    def sync_lock(
        self, connection: Connection, progress: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """One sync of a connection at a time, across processes (cron and "Sync now" alike)."""
        waiting = f"{connection.name}: waiting for another sync of it to finish"
        with self.exclusive(f"sync-{connection.id}", waiting, progress):
            yield

    @contextlib.contextmanager
    def exclusive(
        self, name: str, waiting: str, progress: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Hold the lock file `<home>/locks/<name>.lock`; say `waiting` when another holds it."""
        with (self.lock_dir / f"{name}.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if progress:
                    progress(waiting)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
