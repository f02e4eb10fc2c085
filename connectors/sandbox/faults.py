"""Injected failures for the sandboxes: throttling, outages, broken bodies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx2

FaultKind = Literal["429", "500", "503", "html", "malformed", "errors_body", "repeat_token"]
FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "503",
    "html",
    "malformed",
    "errors_body",
    "repeat_token",
)

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p>"
    b"</body></html>"
)


@dataclass
class Fault:
    kind: str
    path_prefix: str
    remaining: int  # how many more requests it hits; -1 = until cleared
    retry_after: float | None = None
    status: int = 200  # for "html": the status the HTML page comes with


class FaultPlan:
    """Faults queued per path prefix; each request takes the first one that matches."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.injected = 0

    def add(
        self,
        kind: str,
        *,
        path_prefix: str = "/",
        times: int = 1,
        retry_after: float | None = None,
        status: int = 200,
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults.append(Fault(kind, path_prefix, times, retry_after, status))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix) and fault.remaining != 0:
                    if fault.remaining > 0:
                        fault.remaining -= 1
                    self.injected += 1
                    return fault
            return None


def fault_response(
    fault: Fault,
    errors_body: Callable[[], httpx2.Response],
    throttled: Callable[[float | None], httpx2.Response],
) -> httpx2.Response | None:
    """The response for the generic faults; None for those the sandbox shapes itself."""
    if fault.kind == "429":
        return throttled(fault.retry_after)
    if fault.kind in ("500", "503"):
        return httpx2.Response(
            int(fault.kind),
            json={
                "errors": [
                    {"code": "InternalFailure", "message": "We encountered an internal error."}
                ]
            },
        )
    if fault.kind == "html":
        return httpx2.Response(
            fault.status, content=HTML_ERROR_PAGE, headers={"content-type": "text/html"}
        )
    if fault.kind == "malformed":
        return httpx2.Response(
            200,
            content=b'{"payload": {"FinancialEventGroupList": [',
            headers={"content-type": "application/json"},
        )
    if fault.kind == "errors_body":
        return errors_body()
    return None
