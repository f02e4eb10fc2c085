"""The only place Streamlit meets the domain: cached reads, and writes that clear the cache.

Pages call these functions and render what they return; they hold no SQL and no HTTP.
The store opens the DuckDB file per unit of work (see `reconcile.store`), so the app and the
CLI can use the same file at the same time.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from connectors.clock import SystemClock
from reconcile.models import Workspace
from reconcile.store import Store
from workbench.settings import Settings


@st.cache_resource
def store() -> Store:
    """One Store object per app process (it opens the file per unit of work)."""
    settings = Settings()
    return Store(settings.db, busy_timeout=settings.busy_timeout)


@st.cache_data(ttl=30)
def workspaces() -> list[Workspace]:
    return store().workspaces()


@st.cache_data(ttl=30)
def connection_status(workspace_id: str) -> pl.DataFrame:
    return store().connection_status(workspace_id, as_of=SystemClock().now())


@st.cache_data(ttl=30)
def settlements(workspace_id: str) -> pl.DataFrame:
    return store().settlements(workspace_id)


def database_path() -> str:
    return str(Settings().db)
