"""A workbench wired to in-process sandboxes on a simulated clock: the real code, no network."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.clock import SimulatedClock
from connectors.oauth import store_initial_token
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox
from connectors.sandbox.xero import XeroSandbox
from connectors.secrets import MemoryKeyring, SecretStore
from reconcile.models import Connection
from reconcile.store import Store
from tests.workbench.loopback import Cli, serve
from workbench.context import AppContext
from workbench.runtime import Runtime
from workbench.settings import Settings

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@dataclass
class World:
    clock: SimulatedClock
    amazon: AmazonSandbox
    xero: XeroSandbox
    rt: Runtime
    workspace_id: str

    @property
    def store(self) -> Store:
        return self.rt.store

    def amazon_connection(self, name: str = "Amazon US") -> Connection:
        """A stored Amazon connection whose grant the sandbox honours."""
        connection = Connection(
            id=f"amazon-{name.lower().replace(' ', '-')}",
            workspace_id=self.workspace_id,
            provider="amazon",
            name=name,
            kind="channel",
            region="na",
            config={"client_id": self.amazon.client_id, "marketplaces": ["US"]},
            created_at=self.clock.now(),
        )
        self.store.add_connection(connection, ("settlements",))
        self.rt.secrets.set(connection.id, "client_secret", self.amazon.client_secret)
        store_initial_token(self.rt.secrets, connection.id, self.amazon.issue_refresh_token())
        return connection

    def app(self, db: Path) -> AppContext:
        """An AppContext (what CLI commands use) over this world."""
        return AppContext(Settings(db=db), clock=self.clock, _store=self.store, _runtime=self.rt)


@pytest.fixture
def world(tmp_path: Path) -> World:
    clock = SimulatedClock(START)
    amazon = AmazonSandbox(clock)
    xero = XeroSandbox(clock)
    store = Store(tmp_path / "wb.duckdb")
    rt = Runtime(
        store=store,
        secrets=SecretStore(MemoryKeyring()),
        home=tmp_path / "home",
        clock=clock,
        transport=transport(amazon, xero),
    )
    workspace = store.add_workspace("Acme Ltd", "USD")
    return World(clock, amazon, xero, rt, workspace.id)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """`workbench sandbox serve` in a subprocess and a CLI runner pointed at it."""
    yield from serve(tmp_path)
