"""The store's errors: each message says what happened and what to do about it."""

from __future__ import annotations


class StoreError(Exception):
    """A store operation failed; the message says what happened and what to do."""


class NotFound(StoreError):
    """The workspace, connection or feed asked for does not exist."""


class StoreBusy(StoreError):
    """Another process kept the database file locked for longer than the busy timeout."""
