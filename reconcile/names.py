"""Workspace and connection names: finding what the user referred to, and ids made from names.

A reference is an id or a name; a workspace name also matches in another letter case. When
nothing matches, the error lists what exists, so the user can pick again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from reconcile.errors import NotFound, StoreError
from reconcile.models import Connection, Workspace


def find_workspace(workspaces: Sequence[Workspace], ref: str) -> Workspace:
    """The workspace with this id or name (any case if unambiguous); `NotFound` lists them all."""
    for workspace in workspaces:
        if ref in (workspace.id, workspace.name):
            return workspace
    folded = [w for w in workspaces if w.name.casefold() == ref.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    if not workspaces:
        raise NotFound(f"no workspace {ref!r}: there are none yet; create one with `workspace add`")
    known = ", ".join(f"{w.name} ({w.id})" for w in workspaces)
    raise NotFound(f"no workspace {ref!r}; known workspaces: {known}")


def find_connection(live: Sequence[Connection], ref: str, workspace: str | None) -> Connection:
    """The connection with this id, else the only one with this name.

    Several with the name raise `StoreError`, none `NotFound`; `workspace` is the scope the
    error names.
    """
    for connection in live:
        if connection.id == ref:
            return connection
    named = [connection for connection in live if connection.name == ref]
    if len(named) == 1:
        return named[0]
    if named:
        where = ", ".join(f"{c.id} in {c.workspace_id}" for c in named)
        raise StoreError(
            f"{len(named)} connections are named {ref!r} ({where}): pass --workspace, "
            f"or give the connection id"
        )
    scope = f" in workspace {workspace!r}" if workspace else ""
    known = ", ".join(f"{c.name} ({c.id})" for c in live) or "none yet; add one with `connect`"
    raise NotFound(f"no connection {ref!r}{scope}; known connections: {known}")


def free_slug(name: str, taken: set[str]) -> str:
    """An id made from the name ("Acme Ltd" -> "acme-ltd"), numbered ("acme-ltd-2") if taken."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "workspace"
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug
