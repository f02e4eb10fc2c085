"""The only place Streamlit meets the domain: cached reads, and writes that clear the cache.

Pages call these functions and render what they return; they hold no SQL and no HTTP.
The store opens the DuckDB file per unit of work (see `reconcile.store`), so the app and the
CLI can use the same file at the same time. Every cache is keyed by the database path, so a
process that is pointed at another file never serves the old one's data.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from connectors.clock import SystemClock
from reconcile.models import Workspace
from reconcile.store import Store
from workbench.settings import Settings


def database_path() -> str:
    return str(Settings().db)


@st.cache_resource
def _store(db: str, busy_timeout: float) -> Store:
    return Store(db, busy_timeout=busy_timeout)


def store() -> Store:
    """The Store for the configured database (it opens the file per unit of work)."""
    settings = Settings()
    return _store(str(settings.db), settings.busy_timeout)


@st.cache_data(ttl=30)
def _workspaces(db: str) -> list[Workspace]:
    return store().workspaces()


def workspaces() -> list[Workspace]:
    return _workspaces(database_path())


@st.cache_data(ttl=30)
def _connection_status(db: str, workspace_id: str) -> pl.DataFrame:
    return store().connection_status(workspace_id, as_of=SystemClock().now())


def connection_status(workspace_id: str) -> pl.DataFrame:
    """Each connection of the workspace with its status as of now."""
    return _connection_status(database_path(), workspace_id)


@st.cache_data(ttl=30)
def _settlements(db: str, workspace_id: str) -> pl.DataFrame:
    return store().settlements(workspace_id)


def settlements(workspace_id: str) -> pl.DataFrame:
    """The workspace's settlements, newest last."""
    return _settlements(database_path(), workspace_id)
