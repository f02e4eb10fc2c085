"""A crash-test control: kill the client right after the server has written its answer.

A sandbox arms a `KillPlan` (which process, which request, the how-many-th) and marks the
matching response; the loopback server writes that response, flushes it, then sends SIGKILL to
the process. That is the moment no client-side hook can reach: the provider has done the work
and replied, and the client dies before it can record the reply.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from io import BufferedIOBase

import httpx2

_EXTENSION = "sandbox_kill_pid"


@dataclass
class _Armed:
    pid: int
    method: str
    path: str
    remaining: int


class KillPlan:
    """At most one armed kill: `method` requests whose path starts with `path` are counted."""

    def __init__(self) -> None:
        self._armed: _Armed | None = None

    def arm(self, pid: int, method: str, path: str, nth: int = 1) -> None:
        if pid <= 1 or nth < 1:
            raise ValueError("kill_after_response needs a process id and nth >= 1")
        self._armed = _Armed(pid, method.upper(), path.lower(), nth)

    def mark(self, request: httpx2.Request, response: httpx2.Response) -> None:
        """Mark `response` when it answers the armed request (then the plan is spent)."""
        armed = self._armed
        if armed is None or request.method.upper() != armed.method:
            return
        if not request.url.path.lower().startswith(armed.path):
            return
        armed.remaining -= 1
        if armed.remaining == 0:
            response.extensions[_EXTENSION] = armed.pid
            self._armed = None


def kill_after_write(response: httpx2.Response, written_to: BufferedIOBase) -> None:
    """SIGKILL the process a marked response names, once the response is flushed."""
    pid = response.extensions.get(_EXTENSION)
    if pid is None:
        return
    written_to.flush()
    try:
        os.kill(int(pid), signal.SIGKILL)
    except ProcessLookupError:
        return
