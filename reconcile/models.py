"""The domain model: what a workspace, connection, settlement and event are.

Money is always `Decimal`; timestamps are timezone-aware UTC; settlement dates
(`deposit_date`) are the marketplace's local calendar dates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return value


# Names (config keys, query parameters, form fields) whose values are secrets: the store refuses
# them in a connection's config and the connectors mask them. Compare in lower case.
SECRET_NAMES: frozenset[str] = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "client_secret",
        "consumer_key",
        "consumer_secret",
        "app_secret",
        "secret",
        "password",
        "api_key",
        "apikey",
        "private_key",
        "code",
        "code_verifier",
        "spapi_oauth_code",
        "oauth_signature",
        "signature",
        "sign",
        "x-amz-signature",
        "x-amz-security-token",
    }
)

CalendarDate = date  # an alias, so a field may be called `date`
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=4)]


class ErrorClass(enum.StrEnum):
    """How a failure must be handled: who fixes it, and whether retrying helps."""

    AUTH = "auth"  # needs the user: reconnect
    TRANSIENT = "transient"  # retry later; never disconnects
    DATA = "data"  # unexpected payload; raw payload kept for support
    CONFIG = "config"  # wrong setting: base URL, region, marketplace


class ConnectionStatus(enum.StrEnum):
    CONNECTED = "connected"
    DEGRADED = "degraded"
    EXPIRING = "expiring"
    DISCONNECTED = "disconnected"
    PAUSED = "paused"


class EventKind(enum.StrEnum):
    CONNECTED = "connected"
    SYNC_STARTED = "sync_started"
    SYNC_SUCCEEDED = "sync_succeeded"
    SYNC_FAILED = "sync_failed"
    TOKEN_REFRESHED = "token_refreshed"
    REFRESH_FAILED = "refresh_failed"
    EXPIRED = "expired"
    REVOKED = "revoked"
    RATE_LIMITED = "rate_limited"
    RECONNECTED = "reconnected"
    DISCONNECTED_BY_USER = "disconnected_by_user"
    FEED_PAUSED = "feed_paused"
    FEED_RESUMED = "feed_resumed"
    BACKFILL_STARTED = "backfill_started"
    BACKFILL_FINISHED = "backfill_finished"


class LineCategory(enum.StrEnum):
    SALE = "sale"
    REFUND = "refund"
    FEE = "fee"
    SHIPPING = "shipping"
    TAX = "tax"
    PROMOTION = "promotion"
    RESERVE = "reserve"
    ADJUSTMENT = "adjustment"
    OTHER = "other"


class SettlementStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Source(enum.StrEnum):
    API = "api"
    FILE = "file"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Workspace(_Frozen):
    id: str
    name: str = Field(min_length=1)
    base_currency: str = Field(pattern=r"^[A-Z]{3}$")


class Connection(_Frozen):
    """A link to one provider account. Secrets are never part of it (they live in the keyring)."""

    id: str
    workspace_id: str
    provider: str
    name: str = Field(min_length=1)
    kind: str  # "channel" or "ledger"
    region: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)  # base URLs, client id, marketplaces
    created_at: UtcDatetime


class Feed(_Frozen):
    connection_id: str
    name: str  # e.g. "settlements", "ledger_entries"
    paused: bool = False


class ConnectionEvent(_Frozen):
    connection_id: str
    at: UtcDatetime
    kind: EventKind
    feed: str | None = None
    error_class: ErrorClass | None = None
    http_status: int | None = None
    request_id: str | None = None
    detail: str = ""
    counts: dict[str, int] = Field(default_factory=dict)
    raw: str | None = None  # unexpected payload kept for support (already redacted)


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One amount inside a settlement. A plain dataclass: there are millions of these."""

    category: LineCategory
    amount: Decimal
    description: str = ""
    order_id: str | None = None
    sku: str | None = None
    posted_at: datetime | None = None


class Settlement(_Frozen):
    """A payout / settlement / statement / deposit as the provider reports it."""

    connection_id: str
    provider_settlement_id: str = Field(min_length=1)
    period_start: UtcDatetime
    period_end: UtcDatetime | None = None  # None while the settlement is still open
    deposit_date: date | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    gross: Money = Decimal(0)
    fees: Money = Decimal(0)
    refunds: Money = Decimal(0)
    reserves: Money = Decimal(0)
    net: Money
    status: SettlementStatus
    source: Source = Source.API
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class SettlementBatch:
    """A settlement with its lines, as a connector yields it."""

    settlement: Settlement
    lines: tuple[SettlementLine, ...]


class LedgerEntry(_Frozen):
    """What the ledger holds for a settlement (an invoice, bill or journal)."""

    connection_id: str
    object_id: str
    object_type: str  # e.g. "ACCREC", "ACCPAY", "ManualJournal"
    reference: str
    number: str | None = None
    currency: str
    total: Money
    status: str
    date: CalendarDate | None = None
    updated_at: UtcDatetime | None = None
