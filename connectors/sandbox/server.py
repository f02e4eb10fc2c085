"""Serve sandboxes on the loopback interface (browser OAuth, end-to-end scripts, the demo).

Provider paths go to the sandbox that owns them; `POST /_sandbox/<name>/<action>` with a JSON
body drives a scenario (`revoke`, `add_fault`, `hide`, ...) and answers JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

from connectors.sandbox import Sandbox
from connectors.sandbox.kill import kill_after_write

LOOPBACK = "127.0.0.1"
CONTROL_PREFIX = "/_sandbox/"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith(CONTROL_PREFIX):
            response = self.server.control(self.command, self.path, body)
        else:
            url = f"http://{self.headers.get('host') or self.server.address}{self.path}"
            request = httpx2.Request(
                self.command, url, headers=list(self.headers.items()), content=body
            )
            response = self.server.route(request)
        self._write(response)
        kill_after_write(response, self.wfile)

    def _write(self, response: httpx2.Response) -> None:
        content = response.content
        self.send_response(response.status_code)
        for name, value in response.headers.multi_items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stdout
        return


class SandboxServer(ThreadingHTTPServer):
    """A threaded HTTP server for a set of sandboxes, bound to 127.0.0.1 only."""

    daemon_threads = True

    def __init__(self, sandboxes: Sequence[Sandbox], port: int = 0) -> None:
        self.sandboxes = {s.name: s for s in sandboxes}
        super().__init__((LOOPBACK, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def route(self, request: httpx2.Request) -> httpx2.Response:
        for sandbox in self.sandboxes.values():
            if sandbox.handles(request.url.path):
                return sandbox.handle(request)
        return httpx2.Response(404, json={"error": f"no sandbox serves {request.url.path}"})

    def control(self, method: str, path: str, body: bytes) -> httpx2.Response:
        name, _, action = path[len(CONTROL_PREFIX) :].partition("/")
        if name not in self.sandboxes or not action or method != "POST":
            known = ", ".join(sorted(self.sandboxes))
            return httpx2.Response(404, json={"error": f"POST /_sandbox/<{known}>/<action>"})
        try:
            payload = json.loads(body) if body else {}
            result = self.sandboxes[name].control(action.split("?")[0], payload)
        except (ValueError, KeyError, TypeError) as exc:
            return httpx2.Response(400, json={"error": f"{type(exc).__name__}: {exc}"})
        content = json.dumps({"result": result}, default=_json_default).encode()
        return httpx2.Response(200, content=content, headers={"content-type": "application/json"})

    def start(self) -> SandboxServer:
        """Serve in a background thread; `stop()` ends it."""
        self._thread = threading.Thread(target=self.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)
