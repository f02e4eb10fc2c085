"""The demo workspace: a year of a seller's books, made by the product's own code.

Nothing here inserts a row. `build` starts the Amazon and Xero sandboxes on a clock that runs
a year behind, connects Amazon US, Amazon UK/EU and Xero the way a user would, and lets the
year happen: syncs every other day, a posting run every week, and on the way the incidents
sellers meet (see `STORY`). At the end the clock hands over to real time and the sandboxes keep
serving on 127.0.0.1, so the app opened on the demo can reconnect, backfill and post for real.

The demo lives in its own database and encrypted secrets file (under `<home>/demo/` unless
told otherwise); building it again replaces both, and refuses to touch a database that holds
anything but the demo.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.amazon import config_for
from connectors.clock import HandoverClock
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox
from connectors.sandbox.amazon_history import SellerSpec
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.xero import XeroSandbox
from connectors.secrets import EncryptedFileKeyring, SecretStore, ensure_key_file
from reconcile.gaps import find_gaps
from reconcile.models import Connection
from reconcile.store import Store
from workbench.backfill import Window, backfill
from workbench.connecting import Credentials, Endpoints, connect, reconnect
from workbench.context import AppContext
from workbench.managing import set_paused
from workbench.posting import ledger_client, post_workspace
from workbench.posting_plans import plan_workspace
from workbench.runtime import Runtime
from workbench.settings import Settings
from workbench.sync import sync_connection

WORKSPACE = "Demo: Acme Trading"
US_SELLER, EU_SELLER = "acme-us", "acme-eu"
ORGANISATION = "Acme Trading Ltd"
YEAR = timedelta(days=365)
DEMO_URL_ENV = "WORKBENCH_DEMO_URL"
SYNC_EVERY = timedelta(days=2)
POST_EVERY = timedelta(days=7)

STORY = (
    "Amazon US, Amazon UK/EU and Xero connected a year ago; syncs every other day, a posting "
    "run every week.",
    "Month 4: Amazon UK/EU's grant was revoked three times in a week (flapping); each time it "
    "was reconnected (the outages were too short to miss a settlement).",
    "Month 7: an accountant copied a settlement's invoice in Xero, reference and all (a "
    "duplicate posting).",
    "Month 10: Amazon listed a US settlement whose events do not add up to its total: it is "
    "on hold.",
    "Five weeks ago: Amazon UK/EU's settlement feed was paused for a VAT review and never "
    "resumed (the channel is overdue).",
    "Three weeks ago: Amazon US's grant was revoked and nobody reconnected it; the settlements "
    "since are missing.",
)

Progress = Callable[[str], None]


class DemoRefused(Exception):
    """The demo would overwrite a database that holds more than the demo."""


@dataclass
class Demo:
    """A built demo: its settings (database, home, keyring) and the sandboxes still serving."""

    settings: Settings
    server: SandboxServer
    clock: HandoverClock
    amazon: AmazonSandbox
    xero: XeroSandbox
    story: tuple[str, ...] = STORY

    @property
    def url(self) -> str:
        return self.server.url

    def environ(self) -> dict[str, str]:
        """What a process opening the demo (the app) needs in its environment."""
        return {
            "WORKBENCH_DB": str(self.settings.db),
            "WORKBENCH_HOME": str(self.settings.home),
            "WORKBENCH_KEYRING": "file",
            "WORKBENCH_SECRET_KEY": "",  # the demo's own key file, not the user's passphrase
            DEMO_URL_ENV: self.url,
        }

    def stop(self) -> None:
        self.server.stop()


def default_home(settings: Settings) -> Path:
    return settings.home / "demo"


def build(
    home: Path,
    *,
    db: Path | None = None,
    now: datetime | None = None,
    port: int = 0,
    progress: Progress | None = None,
) -> Demo:
    """Build the demo (replacing an earlier one) and leave its sandboxes serving on `port`."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    settings = Settings(db=db or home / "workbench.duckdb", home=home, keyring="file")
    _clear(settings)
    clock = HandoverClock(now - YEAR)
    amazon = AmazonSandbox(clock, sellers=_sellers(now))
    xero = XeroSandbox(clock, tenants=(ORGANISATION,), base_currency="USD")
    server = SandboxServer([amazon, xero], port).start()
    try:
        year = _Year(_context(settings, clock, amazon, xero), amazon, xero, server.url, progress)
        year.live(until=now)
        year.app.store.copy_to(settings.db)
    except BaseException:
        server.stop()
        raise
    clock.follow_system()
    return Demo(settings, server, clock, amazon, xero)


def _sellers(now: datetime) -> dict[str, SellerSpec]:
    first = (now - YEAR - timedelta(days=20)).replace(hour=0, minute=0, second=0)
    return {
        US_SELLER: SellerSpec(currency="USD", marketplace="US", start=first),
        EU_SELLER: SellerSpec(
            currency="GBP", marketplace="UK", start=first + timedelta(days=5), lines_per_group=20
        ),
    }


def _clear(settings: Settings) -> None:
    """Remove an earlier demo; refuse when the database holds any other workspace."""
    db = settings.db
    if db.exists():
        others = [w.name for w in Store(db).workspaces() if w.name != WORKSPACE]
        if others:
            raise DemoRefused(
                f"{db} holds other workspaces ({', '.join(others)}): the demo only replaces "
                "its own database; give it another --db"
            )
        for path in (db, db.with_name(db.name + ".wal")):
            path.unlink(missing_ok=True)
    shutil.rmtree(settings.home, ignore_errors=True)
    settings.home.mkdir(parents=True)
    db.parent.mkdir(parents=True, exist_ok=True)


def _context(
    settings: Settings, clock: HandoverClock, amazon: AmazonSandbox, xero: XeroSandbox
) -> AppContext:
    """The demo's workbench: its own database and keyring, the sandboxes in-process."""
    key_file = ensure_key_file(settings.home)
    keyring = EncryptedFileKeyring.for_home(settings.home, {})
    assert key_file.exists()
    rt = Runtime(
        # built in memory at memory speed, then written to the file in one go
        store=Store(":memory:", clock=clock.now),
        secrets=SecretStore(keyring),
        home=settings.home,
        clock=clock,
        transport=transport(amazon, xero),
    )
    return AppContext(settings, clock=clock, _runtime=rt)


@dataclass
class _Year:
    """The demo year, day by day: the routine, and the incidents on their days."""

    app: AppContext
    amazon: AmazonSandbox
    xero: XeroSandbox
    url: str
    progress: Progress | None
    connections: dict[str, Connection] = field(default_factory=dict)

    @property
    def rt(self) -> Runtime:
        return self.app.runtime()

    @property
    def clock(self) -> HandoverClock:
        clock = self.rt.clock
        assert isinstance(clock, HandoverClock)
        return clock

    def live(self, until: datetime) -> None:
        start = self.clock.now()
        self._connect_all()
        incidents = {
            120: self._flapping,
            210: self._duplicate_posting,
            300: self._events_missing,
            330: self._channel_goes_quiet,
            344: self._grant_revoked,
        }
        for day, moment in _days(start, until):
            if moment < self.clock.now():  # an incident took these days already
                continue
            self.clock.set(moment)
            if day % SYNC_EVERY.days == 0:
                self._sync_all()
            if day % POST_EVERY.days == 0:
                post_workspace(self.rt, self._workspace_id)
            if day in incidents:
                self._say(f"day {day}: {incidents[day].__doc__}")
                incidents[day]()
        self.clock.set(until)
        self._sync_all()

    # -- the routine ---------------------------------------------------------------------

    @property
    def _workspace_id(self) -> str:
        return next(iter(self.connections.values())).workspace_id

    def _connect_all(self) -> None:
        self.app.store.add_workspace(WORKSPACE, "USD")
        url = self.url
        amazon_endpoints = Endpoints(url, f"{url}/auth/o2/token", f"{url}/apps/authorize/consent")
        for name, region, marketplace, seller in (
            ("Amazon US", "na", "US", US_SELLER),
            ("Amazon UK/EU", "eu", "UK", EU_SELLER),
        ):
            self.connections[name] = connect(
                self.app,
                "amazon",
                workspace_ref=WORKSPACE,
                name=name,
                region=region,
                settings={
                    **config_for(region, [marketplace]),
                    "application_id": self.amazon.application_id,
                },
                endpoints=amazon_endpoints,
                credentials=self._amazon_credentials(seller),
            )
        self.connections["Xero"] = connect(
            self.app,
            "xero",
            workspace_ref=WORKSPACE,
            name="Xero",
            region=None,
            settings={},
            endpoints=Endpoints(url, f"{url}/connect/token", f"{url}/identity/connect/authorize"),
            credentials=Credentials(
                self.xero.client_id, self.xero.client_secret, self.xero.issue_refresh_token()
            ),
        )
        self._say("connected Amazon US, Amazon UK/EU and Xero")

    def _amazon_credentials(self, seller: str) -> Credentials:
        return Credentials(
            self.amazon.client_id,
            self.amazon.client_secret,
            self.amazon.issue_refresh_token(seller),
        )

    def _sync_all(self) -> None:
        for connection in self.connections.values():
            sync_connection(self.rt, connection)

    def _backfill_gaps(self, connection: Connection) -> None:
        with self.rt.store.read() as con:
            gaps = find_gaps(con, connection.workspace_id, self.clock.now())
        for gap in gaps.filter(gaps["connection_id"] == connection.id).iter_rows(named=True):
            if gap["kind"] in ("coverage", "overdue") and gap["recoverable"]:
                backfill(self.rt, connection, Window(gap["start"], gap["end"], gap["id"]))

    def _say(self, line: str) -> None:
        if self.progress:
            self.progress(line)

    # -- the incidents -------------------------------------------------------------------

    def _flapping(self) -> None:
        """Amazon UK/EU's grant is revoked three times in a week and reconnected each time"""
        connection = self.connections["Amazon UK/EU"]
        for _ in range(3):
            self.amazon.revoke(EU_SELLER)
            sync_connection(self.rt, connection)
            self.clock.advance(timedelta(days=1))
            token = self.amazon.issue_refresh_token(EU_SELLER)
            reconnect(self.app, connection.id, None, token)
            sync_connection(self.rt, connection)
            self.clock.advance(timedelta(days=1))
        self._backfill_gaps(connection)

    def _duplicate_posting(self) -> None:
        """an accountant copies a settlement's invoice in Xero, reference and all"""
        run = plan_workspace(self.rt, self._workspace_id)
        while not run.ready:  # wait for the next settlement to close
            self.clock.advance(timedelta(days=1))
            self._sync_all()
            run = plan_workspace(self.rt, self._workspace_id)
        item = run.ready[0]
        post_workspace(self.rt, self._workspace_id)
        with ledger_client(self.rt, run.ledger) as client:
            client.create_invoices(
                item.drafts[:1], idempotency_key=f"copy-{item.plan.idempotency_key}"
            )
        sync_connection(self.rt, self.connections["Xero"])

    def _events_missing(self) -> None:
        """Amazon lists a US settlement whose events do not add up to its total"""
        open_group = self.amazon.groups(US_SELLER)[-1]
        self.amazon.withhold_events(US_SELLER, open_group["id"], 3)

    def _channel_goes_quiet(self) -> None:
        """Amazon UK/EU's settlement feed is paused for a VAT review, and not resumed"""
        set_paused(self.rt, self.connections["Amazon UK/EU"], "settlements", paused=True)

    def _grant_revoked(self) -> None:
        """Amazon US's grant is revoked, and stays revoked"""
        self.amazon.revoke(US_SELLER)


def _days(start: datetime, until: datetime) -> Iterator[tuple[int, datetime]]:
    day = 1
    while (moment := start + timedelta(days=day)) < until:
        yield day, moment
        day += 1
