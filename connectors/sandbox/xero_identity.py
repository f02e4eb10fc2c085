"""The sandbox Xero's connections: which organisations each consent reaches.

Consent connects every organisation of the sandbox to the subject's grant (one `authEventId`
per consent); `GET /connections` lists them, `DELETE /connections/{id}` disconnects one, and a
later consent reconnects it with a new `updatedDateUtc` (xero-identity.yaml, ledger-apis §A.2).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2

from connectors.clock import Clock
from connectors.sandbox.xero_render import respond


@dataclass
class Link:
    """One organisation connected to one subject's grant (a row of GET /connections)."""

    id: str
    subject: str
    tenant_id: str
    auth_event_id: str
    created: datetime
    updated: datetime
    active: bool = True


class Connections:
    """The links between consenting subjects and the sandbox's organisations."""

    def __init__(self, clock: Clock, tenant_names: Mapping[str, str]) -> None:
        self._clock = clock
        self._names = dict(tenant_names)
        self._links: list[Link] = []
        self._lock = threading.Lock()

    def connect(self, subject: str) -> None:
        """Consent: connect every organisation; a reconnect refreshes `updatedDateUtc`."""
        now, event = self._clock.now(), str(uuid.uuid4())
        with self._lock:
            for tenant_id in self._names:
                link = self._find(subject, tenant_id)
                if link is None:
                    link = Link(str(uuid.uuid4()), subject, tenant_id, event, now, now)
                    self._links.append(link)
                elif not link.active:
                    link.active, link.updated, link.auth_event_id = True, now, event

    def drop(self, *, subject: str | None = None, tenant_id: str | None = None) -> None:
        """Disconnect the links of `subject` and/or `tenant_id` (all links when neither)."""
        with self._lock:
            for link in self._links:
                if subject in (None, link.subject) and tenant_id in (None, link.tenant_id):
                    link.active = False

    def reaches(self, subject: str, tenant_id: str) -> bool:
        """Whether the subject's grant may use the organisation now."""
        with self._lock:
            link = self._find(subject, tenant_id)
            return link is not None and link.active

    def handle(self, request: httpx2.Request, subject: str) -> httpx2.Response:
        """GET /connections[?authEventId=] and DELETE /connections/{id} for `subject`."""
        parts = [p for p in request.url.path.split("/") if p]
        with self._lock:
            mine = [x for x in self._links if x.subject == subject and x.active]
            if request.method == "GET" and len(parts) == 1:
                event = request.url.params.get("authEventId")
                rows = [self._json(x) for x in mine if not event or x.auth_event_id == event]
                return respond(200, rows)
            if request.method == "DELETE" and len(parts) == 2:
                link = next((x for x in mine if x.id == parts[1].lower()), None)
                if link is None:
                    return httpx2.Response(404)
                link.active = False
                return httpx2.Response(204)
        return httpx2.Response(405)

    def _find(self, subject: str, tenant_id: str) -> Link | None:
        return next(
            (x for x in self._links if x.subject == subject and x.tenant_id == tenant_id), None
        )

    def _json(self, link: Link) -> dict[str, Any]:
        return {
            "id": link.id,
            "authEventId": link.auth_event_id,
            "tenantId": link.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self._names[link.tenant_id],
            "createdDateUtc": dotnet_utc(link.created),
            "updatedDateUtc": dotnet_utc(link.updated),
        }


def dotnet_utc(moment: datetime) -> str:
    """The identity API's timestamp: UTC with 7 fractional digits and no offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0"
