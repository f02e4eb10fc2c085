"""Fake provider APIs that follow the official contracts, with scenario controls.

Each sandbox is a plain object: `handles(path)` says whether a request path is its own,
`handle(request)` answers it, `control(action, payload)` drives a scenario (revoke a grant,
inject faults, hide a window, move the clock). In-process it is an httpx2 transport;
`connectors.sandbox.server` serves any set of them on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx2


class Sandbox(Protocol):
    name: str

    def handles(self, path: str) -> bool: ...

    def handle(self, request: httpx2.Request) -> httpx2.Response: ...

    def control(self, action: str, payload: dict[str, Any]) -> Any: ...


def transport(*sandboxes: Sandbox) -> httpx2.MockTransport:
    """One in-process transport that routes each request to the sandbox owning its path."""

    def route(request: httpx2.Request) -> httpx2.Response:
        for sandbox in sandboxes:
            if sandbox.handles(request.url.path):
                return sandbox.handle(request)
        return httpx2.Response(404, json={"error": f"no sandbox serves {request.url.path}"})

    return httpx2.MockTransport(route)
