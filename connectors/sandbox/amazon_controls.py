"""The Amazon sandbox's scenario controls by name, with JSON arguments (the control API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.sandbox.amazon import AmazonSandbox

DEFAULT_SELLER = "seller"


def actions(sandbox: AmazonSandbox, payload: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """Each control action, bound to `payload` (`seller` defaults to the default seller)."""
    seller = str(payload.get("seller", DEFAULT_SELLER))
    when = datetime.fromisoformat
    return {
        "issue_refresh_token": lambda: {"refresh_token": sandbox.issue_refresh_token(seller)},
        "issued_tokens": lambda: list(sandbox.grants.issued),
        "revoke": lambda: sandbox.revoke(seller),
        "expire_access_tokens": sandbox.expire_access_tokens,
        "add_fault": lambda: sandbox.add_fault(
            str(payload["kind"]),
            path_prefix=str(payload.get("path_prefix", "/")),
            times=int(payload.get("times", 1)),
            retry_after=_seconds(payload.get("retry_after")),
            status=int(payload.get("status", 200)),
        ),
        "clear_faults": sandbox.clear_faults,
        "hide": lambda: sandbox.hide(seller, when(payload["start"]), when(payload["end"])),
        "restore": lambda: sandbox.restore(seller, when(payload["start"]), when(payload["end"])),
        "withhold_events": lambda: sandbox.withhold_events(
            seller, str(payload["group_id"]), int(payload["count"])
        ),
        "deny_consent": lambda: sandbox.deny_consent(bool(payload.get("deny", True))),
        "groups": lambda: [_jsonable(group) for group in sandbox.groups(seller)],
        "settlement_report": lambda: sandbox.settlement_report(seller, str(payload["group_id"])),
        "advance": lambda: sandbox.advance(float(payload["seconds"])).isoformat(),
        "set_time": lambda: sandbox.set_time(str(payload["iso"])).isoformat(),
        "stats": sandbox.stats,
    }


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def _jsonable(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in group.items()}
