"""What every page shares: the chosen workspace, error display, money and date formats.

Pages render; this module keeps them short and consistent. An error a user can act on is
shown as `st.error` with its message (which says what to do); anything unexpected gets a plain
sentence and goes to the log with its traceback, never to the page.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from connectors.errors import ConnectorError
from connectors.secrets import SecretsError
from reconcile.errors import NotFound, StoreError
from reconcile.imports import ImportRefused
from workbench import services
from workbench.backfill import BackfillRefused
from workbench.commands import failure_advice
from workbench.posting_plans import PostingError
from workbench.sync import FeedResult

log = logging.getLogger(__name__)

EXPECTED = (
    ConnectorError,
    SecretsError,
    NotFound,
    StoreError,
    ImportRefused,
    BackfillRefused,
    PostingError,
)
WORKSPACE_KEY = "workspace_id"
DEFAULT_URL = "http://localhost:8501/"


def workspace_id() -> str | None:
    """The workspace picked in the sidebar (None when there is none yet)."""
    value = st.session_state.get(WORKSPACE_KEY)
    if value:
        return str(value)
    choices = services.workspaces()  # the picker's own default, before it has run
    return choices[0].id if choices else None


def require_workspace() -> str:
    """The picked workspace, or an empty state that says how to make one (and stop)."""
    chosen = workspace_id()
    if chosen is None:
        st.info(
            "No workspace yet. Create one and connect a channel from the command line, "
            "or open the demo with `workbench demo`:"
        )
        st.code('workbench workspace add "Acme Ltd" --currency GBP', language="bash")
        st.caption(f"Database: {services.database_path()}")
        st.stop()
    return chosen


@contextlib.contextmanager
def reported(doing: str) -> Iterator[None]:
    """Show a failure of `doing` as an error with what to do, never as a traceback."""
    try:
        yield
    except EXPECTED as error:
        st.error(f"Could not {doing}: {error}")
    except Exception as error:
        log.exception("the app failed to %s", doing)
        st.error(
            f"Could not {doing}: an unexpected {type(error).__name__}. Nothing was half done; "
            "try again, and if it repeats run the same step with the `workbench` command, "
            "which prints the details."
        )


def demo_note() -> None:
    """On the demo, say so (and where its sandboxes are) on every page."""
    url = services.demo_url()
    if url:
        st.sidebar.caption(
            f"Demo workspace: the channels and the ledger are sandboxes on {url}. "
            "Nothing here touches a real account."
        )


def app_url() -> str:
    """Where a provider's consent page sends the user back to: this app's root."""
    parts = urlsplit(st.context.url or "")
    if not parts.scheme or not parts.netloc:
        return DEFAULT_URL
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def reconnect_action(connection_id: str, name: str, provider_title: str, key: str) -> None:
    """A Reconnect button; once pressed, the link to the provider's consent page."""
    if st.button(f"Reconnect {name}", key=f"reconnect-{key}", type="primary"):
        with reported(f"start reconnecting {name}"):
            st.session_state[f"consent-{key}"] = services.begin_reconnect(connection_id, app_url())
    url = st.session_state.get(f"consent-{key}")
    if url:
        st.link_button(f"Open {provider_title}'s consent page", url, icon=":material/open_in_new:")
        st.caption("Approve access there; you come back here and the grant is renewed.")


def sync_summary(result: FeedResult) -> str:
    """One line per feed synced: the counts, or what went wrong and what to do."""
    name = f"{result.connection.name} ({result.feed})"
    if not result.ok:
        return f"{name}: {failure_advice(result)}"
    return f"{name}: {result.fetched} fetched, {result.inserted} new, {result.updated} updated"


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(), tzinfo=UTC)


def run_posting(workspace_id: str, chosen: list[str], bar: Any) -> None:
    """Post the chosen settlements one by one, moving `bar`, and say how each went."""
    outcomes = []
    for done, settlement_id in enumerate(chosen, start=1):
        with reported("post"):
            outcomes += services.post(workspace_id, [settlement_id])
        bar.progress(done / len(chosen), text=f"{done} of {len(chosen)} sent")
    posted = [o for o in outcomes if o.state == "posted"]
    if posted:
        st.success(f"Posted {len(posted)} settlement{'s' * (len(posted) != 1)}.")
    for outcome in outcomes:
        if outcome.state != "posted":
            st.error(f"{outcome.connection} {outcome.provider_settlement_id}: {outcome.message}")


def run_backfills(workspace_id: str, chosen: list[str], labels: dict[str, str]) -> None:
    """Backfill the chosen gaps one by one with a progress bar, and say how each went."""
    bar = st.progress(0.0, text="Starting")
    for done, gap_id in enumerate(chosen):
        share = done / len(chosen)
        with reported(f"backfill {labels[gap_id]}"):
            result = services.backfill_gap(
                workspace_id, gap_id, progress=partial(_move, bar, share)
            )
            (st.success if result.ok else st.error)(sync_summary(result))
        bar.progress((done + 1) / len(chosen), text=f"{done + 1} of {len(chosen)} gaps done")


def _move(bar: Any, at: float, line: str) -> None:
    bar.progress(at, text=line)


def date_range(chosen: Any, first: date, last: date) -> tuple[date, date]:
    """The two ends of a `st.date_input` range (a half-picked range ends at `last`)."""
    if isinstance(chosen, tuple) and chosen:
        return chosen[0], chosen[-1] if len(chosen) > 1 else last
    return first, last
