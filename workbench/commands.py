"""What the CLI and the app do, without either's user interface.

Each function takes the invocation's `AppContext`, resolves the names the user typed, does the
work and returns data; the caller decides how to show it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

import polars as pl

from connectors.secrets import EncryptedFileKeyring, ensure_key_file
from reconcile.database import schema_version
from reconcile.models import Connection, ErrorClass
from workbench.context import AppContext
from workbench.sync import FeedResult, sync_connection


def init(app: AppContext) -> list[str]:
    """Create the database (migrated), the home folder and, where needed, the secrets key."""
    settings = app.settings
    settings.db.parent.mkdir(parents=True, exist_ok=True)
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with app.store.read() as con:  # opening migrates
        done = [f"database: {settings.db} (schema version {schema_version(con)})"]
    if settings.keyring != "system" and "WORKBENCH_SECRET_KEY" not in settings.environ():
        done.append(f"secrets key: {ensure_key_file(settings.home)}")
    backend = app.runtime().secrets.backend
    where = backend.path if isinstance(backend, EncryptedFileKeyring) else type(backend).__name__
    done.append(f"secrets: {where}")
    return done


def workspace_id(app: AppContext, ref: str | None) -> str | None:
    """The id of the workspace the user named (by id or name), or None for all."""
    return app.store.workspace(ref).id if ref else None


def selected_connections(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None
) -> list[Connection]:
    """The connections a command applies to: one by name or id, or all of a workspace."""
    ws = workspace_id(app, workspace_ref)
    if connection_ref:
        return [app.store.connection(connection_ref, ws)]
    return app.store.connections(ws)


def connection_status(app: AppContext, workspace_ref: str | None) -> pl.DataFrame:
    """Every connection with its derived status, as of now."""
    return app.store.connection_status(workspace_id(app, workspace_ref), as_of=app.clock.now())


def sync(
    app: AppContext,
    workspace_ref: str | None,
    connection_ref: str | None,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[FeedResult]:
    """Sync the selected connections, each feed on its own; failures come back as values."""
    rt = app.runtime()
    return [
        result
        for connection in selected_connections(app, workspace_ref, connection_ref)
        for result in sync_connection(rt, connection, progress=progress)
    ]


def failure_advice(result: FeedResult) -> str:
    """One line: what failed and what the user should do about it."""
    if result.error is None or result.error_class is None:
        return "ok"
    ref = shlex.quote(result.connection.name)
    advice = {
        ErrorClass.AUTH: f"disconnected (auth): run `workbench reconnect {ref}`",
        ErrorClass.TRANSIENT: "temporary failure (transient), still connected: sync again later",
        ErrorClass.DATA: "unexpected data (data): see `workbench events`",
        ErrorClass.CONFIG: "configuration problem (config): check the connection's settings",
    }[result.error_class]
    return f"{advice}; {' '.join(str(result.error).split())}"


def _scope(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None
) -> tuple[str | None, str | None]:
    """(workspace id, connection id) for the names the user typed; None means all."""
    ws = workspace_id(app, workspace_ref)
    return ws, app.store.connection(connection_ref, ws).id if connection_ref else None


def settlements(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None
) -> pl.DataFrame:
    """Settlements of a workspace or a connection; `settlement_id` is the provider's id."""
    ws, connection_id = _scope(app, workspace_ref, connection_ref)
    frame = app.store.settlements(ws, connection_id)
    return frame.rename({"provider_settlement_id": "settlement_id"})


def events(app: AppContext, workspace_ref: str | None, connection_ref: str | None) -> pl.DataFrame:
    """Connection events, oldest first."""
    ws, connection_id = _scope(app, workspace_ref, connection_ref)
    return app.store.events(connection_id, ws)
