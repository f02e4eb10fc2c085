"""The only place Streamlit meets the domain: cached reads, and writes that clear the cache.

Pages call these functions and render what they return; they hold no SQL and no HTTP.
The store opens the DuckDB file per unit of work (see `reconcile.store`), so the app and the
CLI can use the same file at the same time. Every cache is keyed by the database path, so a
process that is pointed at another file never serves the old one's data, and every write
clears the data caches so the next rerun reads what is there now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from reconcile import analyst, ipynb, notebook, outbox
from reconcile.gaps import find_gaps
from reconcile.health import flapping, health_intervals
from reconcile.imports import ImportResult, import_settlement_file
from reconcile.models import Connection, Workspace
from reconcile.store import Store
from workbench import managing
from workbench.authorizing import Authorizations, NewConnection
from workbench.backfill import BACKFILLABLE as BACKFILLABLE  # the Gaps page's choice
from workbench.backfill import backfill, gap_window
from workbench.connecting import Credentials, connect
from workbench.context import AppContext
from workbench.overview import Summary, summarize
from workbench.posting import post_workspace
from workbench.posting_plans import Outcome, PostingError, plan_workspace
from workbench.posting_views import PlanView, plan_view
from workbench.settings import Settings
from workbench.sync import FeedResult, sync_connection
from workbench.unposting import Unposted, unpost

Progress = Callable[[str], None]
SYNC_KINDS = ("sync_succeeded", "sync_failed")


def database_path() -> str:
    return str(Settings().db)


def demo_url() -> str | None:
    """The sandboxes' address when the app runs on the demo workspace, else None."""
    return Settings().demo_url or None


@st.cache_resource
def _context(db: str) -> AppContext:
    return AppContext(Settings())


def context() -> AppContext:
    """The workbench (settings, store, keyring, network) this app process works with."""
    return _context(database_path())


def store() -> Store:
    """The Store for the configured database (it opens the file per unit of work)."""
    return context().store


def now() -> datetime:
    return context().clock.now()


def refresh() -> None:
    """Forget every cached read: called after each write."""
    st.cache_data.clear()


# -- reads ---------------------------------------------------------------------------------


@st.cache_data(ttl=30, show_spinner=False)
def _workspaces(db: str) -> list[Workspace]:
    return store().workspaces()


def workspaces() -> list[Workspace]:
    return _workspaces(database_path())


@st.cache_data(ttl=30, show_spinner=False)
def _connection_status(db: str, workspace_id: str) -> pl.DataFrame:
    return store().connection_status(workspace_id, as_of=now())


def connection_status(workspace_id: str) -> pl.DataFrame:
    """Each connection of the workspace with its status as of now."""
    return _connection_status(database_path(), workspace_id)


def connections(workspace_id: str) -> list[Connection]:
    return store().connections(workspace_id)


@st.cache_data(ttl=30, show_spinner=False)
def _gaps(db: str, workspace_id: str) -> pl.DataFrame:
    with store().read() as con:
        return find_gaps(con, workspace_id, now())


def gaps(workspace_id: str) -> pl.DataFrame:
    """The workspace's open gaps (see docs/gaps.md)."""
    return _gaps(database_path(), workspace_id)


@st.cache_data(ttl=30, show_spinner=False)
def _plans(db: str, workspace_id: str) -> PlanView:
    return plan_view(plan_workspace(context().runtime(), workspace_id))


def plans(workspace_id: str) -> PlanView:
    """What `post` would send now, per settlement, with the holds and their reasons."""
    return _plans(database_path(), workspace_id)


def overview(workspace_id: str) -> Summary:
    """The Overview's figures and next steps."""
    try:
        on_hold = plans(workspace_id).on_hold
    except PostingError:  # no ledger yet: nothing can be on hold
        on_hold = 0
    return summarize(connection_status(workspace_id), gaps(workspace_id), on_hold)


@dataclass(frozen=True)
class Health:
    """What the health timeline draws, for one workspace and date range."""

    intervals: pl.DataFrame
    attempts: pl.DataFrame
    settlements: pl.DataFrame
    gaps: pl.DataFrame
    flapping: pl.DataFrame

    def first_day(self) -> date:
        """The day the earliest interval starts (today when there is none)."""
        first = self.intervals["start"].min()
        return first.date() if isinstance(first, datetime) else now().date()


@st.cache_data(ttl=30, show_spinner=False)
def _health(db: str, workspace_id: str) -> Health:
    with store().read() as con:
        intervals = health_intervals(con, workspace_id, now())
    events = store().events(workspace_id=workspace_id)
    return Health(
        intervals=intervals,
        attempts=events.filter(pl.col("kind").is_in(SYNC_KINDS)),
        settlements=settlements(workspace_id),
        gaps=gaps(workspace_id),
        flapping=flapping(intervals),
    )


def health(workspace_id: str) -> Health:
    return _health(database_path(), workspace_id)


@st.cache_data(ttl=30, show_spinner=False)
def _settlements(db: str, workspace_id: str) -> pl.DataFrame:
    return store().settlements(workspace_id)


def settlements(workspace_id: str) -> pl.DataFrame:
    """The workspace's settlements with their posting state, by connection and period."""
    return _settlements(database_path(), workspace_id)


@st.cache_data(ttl=30, show_spinner=False)
def _settlement_lines(db: str, settlement_id: str) -> pl.DataFrame:
    return store().settlement_lines(settlement_id)


def settlement_lines(settlement_id: str) -> pl.DataFrame:
    return _settlement_lines(database_path(), settlement_id)


def posting_history(settlement_id: str) -> pl.DataFrame:
    """The audit trail of one settlement's postings."""
    with store().read() as con:
        return outbox.history(con, settlement_id)


# -- writes --------------------------------------------------------------------------------


def backfill_gap(workspace_id: str, gap_id: str, progress: Progress | None = None) -> FeedResult:
    """Fetch what one gap left out (the gap must still be open)."""
    app = context()
    connection, window = gap_window(app.store, [workspace_id], gap_id, now())
    try:
        return backfill(app.runtime(), connection, window, progress=progress)
    finally:
        refresh()


def import_file(connection_id: str, name: str, data: bytes) -> ImportResult:
    """Import one settlement file into a channel connection: all of it, or nothing."""
    app = context()
    connection = app.store.connection(connection_id)
    try:
        return import_settlement_file(app.store, connection, data, name=name, now=now())
    finally:
        refresh()


def post(
    workspace_id: str, settlement_ids: list[str], progress: Progress | None = None
) -> list[Outcome]:
    """Post the chosen settlements, each exactly once; stops at the first interruption."""
    rt = context().runtime()
    outcomes: list[Outcome] = []
    try:
        for settlement_id in settlement_ids:
            run = post_workspace(rt, workspace_id, settlement=settlement_id, progress=progress)
            outcomes += run.outcomes
            if any(o.state == "interrupted" for o in run.outcomes):
                break
    finally:
        refresh()
    return outcomes


def unpost_settlement(settlement_id: str, progress: Progress | None = None) -> Unposted:
    try:
        return unpost(context().runtime(), settlement_id, progress=progress)
    finally:
        refresh()


def sync_now(connection_id: str, progress: Progress | None = None) -> list[FeedResult]:
    app = context()
    try:
        return sync_connection(
            app.runtime(), app.store.connection(connection_id), progress=progress
        )
    finally:
        refresh()


def set_paused(connection_id: str, feed: str, paused: bool) -> None:
    app = context()
    try:
        managing.set_paused(app.runtime(), app.store.connection(connection_id), feed, paused)
    finally:
        refresh()


def disconnect(connection_id: str) -> None:
    app = context()
    try:
        managing.disconnect(app.runtime(), app.store.connection(connection_id))
    finally:
        refresh()


def remove(connection_id: str) -> None:
    app = context()
    try:
        managing.remove(app.runtime(), app.store.connection(connection_id))
    finally:
        refresh()


def feeds(connection_id: str) -> list[Any]:
    return store().feeds(connection_id)


# -- consent flows -------------------------------------------------------------------------


@st.cache_resource
def _authorizations(db: str) -> Authorizations:
    return Authorizations()


def authorizations() -> Authorizations:
    return _authorizations(database_path())


def begin_reconnect(connection_id: str, redirect_uri: str) -> str:
    """The provider consent URL that renews this connection's grant."""
    app = context()
    return authorizations().begin_reconnect(app, app.store.connection(connection_id), redirect_uri)


def begin_connect(new: NewConnection, redirect_uri: str) -> str:
    """The provider consent URL for a new connection (nothing is stored until it works)."""
    return authorizations().begin_connect(context(), new, redirect_uri)


def is_consent_callback(params: Mapping[str, str]) -> bool:
    return authorizations().is_callback(params)


def complete_consent(params: Mapping[str, str]) -> Connection:
    """Finish the consent flow these callback parameters belong to."""
    try:
        return authorizations().complete(context(), params)
    finally:
        refresh()


def connect_with_token(new: NewConnection, refresh_token: str) -> Connection:
    """Connect with a refresh token the provider handed out (Amazon self-authorisation)."""
    try:
        return connect(
            context(),
            new.provider,
            workspace_ref=new.workspace_id,
            name=new.name,
            region=new.region,
            settings=new.settings,
            endpoints=new.endpoints,
            credentials=Credentials(new.client_id, new.client_secret, refresh_token),
        )
    finally:
        refresh()


# ---- notebook ----
# The Notebook page's data: cells saved per workspace (reconcile.notebook), queries run on an
# analyst session (reconcile.analyst). One snapshot of a workspace's views serves every browser
# session for five minutes, or until someone presses "Refresh data".


@st.cache_resource(ttl=300, max_entries=8, show_spinner="Reading the analyst views...")
def _analyst_session(db: str, workspace_id: str) -> analyst.AnalystSession:
    timeout = Settings().busy_timeout
    return analyst.open_session(db, workspace_id, as_of=now(), busy_timeout=timeout)


def analyst_session(workspace_id: str) -> analyst.AnalystSession:
    """The workspace's analyst views as of the last refresh (raises `AnalystError`)."""
    return _analyst_session(database_path(), workspace_id)


def refresh_analyst_views() -> None:
    """Read the analyst views again for the next query."""
    _analyst_session.clear()


def notebook_cells(workspace_id: str) -> list[notebook.Cell]:
    """The workspace's saved notebook, in order."""
    return notebook.load(store(), workspace_id)


def save_notebook(workspace_id: str, cells: list[notebook.Cell]) -> None:
    """Replace the saved notebook, all or nothing (`NotebookError` lists every problem)."""
    notebook.save(store(), workspace_id, cells, at=now())


def run_notebook(
    workspace_id: str, cells: list[notebook.Cell], only: int | None = None
) -> dict[int, analyst.CellResult]:
    """Run the SQL cell at index `only`, or every SQL cell, under the session's limits."""
    session = analyst_session(workspace_id)
    if only is None:
        return notebook.run_all(session, cells)
    return {only: notebook.run_cell(session, cells, only)}


def export_notebook(workspace_id: str, cells: list[notebook.Cell]) -> bytes:
    """The notebook as a Jupyter file whose first cell opens this database read-only."""
    workspace = store().workspace(workspace_id)
    return ipynb.write_ipynb(cells, workspace=workspace, db_path=database_path()).encode()


def import_notebook(workspace_id: str, data: bytes) -> list[notebook.Cell]:
    """Replace the saved notebook with a Jupyter file's SQL and Markdown cells, all or nothing
    (`NotebookError` lists every problem of the file; then nothing is saved)."""
    cells, problems = ipynb.read_ipynb(data)
    if problems:
        raise notebook.NotebookError("nothing was imported: " + "; ".join(problems))
    save_notebook(workspace_id, cells)
    return cells
