"""The app benchmark's large workspace: four years of a multichannel seller, 1,000,000 lines.

The file is opened through `reconcile.store.Store` (the migrations make the schema), then filled
by bulk SQL over `range()` and `hash()`: no Python loop touches a row. The workspace has the
channels of `CHANNELS` (Amazon's five marketplaces every 14 days, Walmart every 14, Etsy every
7, twenty-two daily-payout shops), about 30,000 settlements of about 33 lines, a daily sync of
every connection (its events), and a Xero ledger holding every closed settlement older than
three days, one invoice or bill each, as the posting code writes them. Planted, as a real year
leaves them: a channel disconnected 23 days ago whose settlements since are missing, an old
three-week outage that was backfilled, a channel that flapped, a grant about to expire,
transient sync failures, a few old settlements never posted, a few amount mismatches and
duplicate postings. Everything is dated relative to `as_of` (the bench passes "now"), since
the app judges the data against its own clock.

The channels carry the providers whose settlement rules `reconcile.providers` knows; the app's
connectors are Amazon and Xero so far, so the broken channel (the one the Overview names in its
banner, with the provider's title) is an Amazon one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from reconcile import sql
from reconcile.database import connect
from reconcile.providers import PROVIDER_RULES
from reconcile.store import Store

WORKSPACE = "Bench: Northwind Goods"
LEDGER_ID = "xero-bench0000"
YEARS = 4
MB = 1024 * 1024

# name, provider, currency, marketplace, mean lines per settlement, age in days
CHANNELS = [
    ("Amazon US", "amazon", "USD", "US", 300, 1460),
    ("Amazon CA", "amazon", "CAD", "CA", 120, 1400),
    ("Amazon UK", "amazon", "GBP", "UK", 200, 1460),
    ("Amazon DE", "amazon", "EUR", "DE", 160, 1300),
    ("Amazon JP", "amazon", "JPY", "JP", 90, 900),
    ("Walmart US", "walmart", "USD", None, 150, 1200),
    ("Etsy", "etsy", "USD", None, 40, 1460),
    *(
        (name, provider, currency, None, 31, age)
        for name, provider, currency, age in (
            ("Shopify US", "shopify", "USD", 1460),
            ("Shopify UK", "shopify", "GBP", 1460),
            ("Shopify EU", "shopify", "EUR", 1460),
            ("Shopify CA", "shopify", "CAD", 1300),
            ("Shopify Wholesale", "shopify", "USD", 1460),
            ("Shopify Outlet", "shopify", "USD", 1460),
            ("Shopify AU", "shopify", "AUD", 1400),
            ("eBay US", "ebay", "USD", 1460),
            ("eBay UK", "ebay", "GBP", 1460),
            ("eBay DE", "ebay", "EUR", 1200),
            ("eBay AU", "ebay", "AUD", 1460),
            ("Square Flagship", "square", "USD", 1460),
            ("Square Airport", "square", "USD", 1100),
            ("Square Market Stall", "square", "USD", 1460),
            ("Square Pop-up", "square", "USD", 1460),
            ("Square Cafe", "square", "USD", 1460),
            ("TikTok Shop US", "tiktok", "USD", 800),
            ("TikTok Shop UK", "tiktok", "GBP", 700),
            ("WooCommerce Trade", "woocommerce", "USD", 1460),
            ("WooCommerce Outlet", "woocommerce", "USD", 1460),
            ("WooCommerce B2C", "woocommerce", "USD", 1460),
            ("WooCommerce EU", "woocommerce", "EUR", 1460),
        )
    ),
]
# connection, went down (days ago), came back (days ago; None: still down), how it broke
OUTAGES = [
    ("Amazon UK", 23.3, None, "sync_failed"),
    ("Shopify US", 420.5, 399.2, "sync_failed"),
    ("Amazon UK", 610.0, 596.5, "revoked"),
    ("TikTok Shop US", 150.2, 149.6, "revoked"),
    ("TikTok Shop US", 148.4, 147.9, "revoked"),
    ("TikTok Shop US", 146.1, 145.2, "revoked"),
]
AUTH_DETAIL = {
    "sync_failed": "invalid_grant: the refresh token is no longer valid",
    "revoked": "the seller revoked the authorisation",
}
EXPIRING = "Amazon CA"  # its annual re-authorisation falls due within 14 days

_CONNS = """
CREATE TEMP TABLE conns AS
SELECT s.idx, s.provider || '-' || substr(md5(s.name || '/bench'), 1, 8) AS id, s.name,
       s.provider, s.currency, s.marketplace, s.lines_mean, r.cadence_s,
       ($as_of // 86400 - s.age_days) * 86400 AS created_s
FROM spec AS s JOIN rules AS r USING (provider)
"""

_OUTAGES = """
CREATE TEMP TABLE outages AS
SELECT c.id AS connection_id, $as_of - (o.down_days * 86400)::BIGINT AS down_s,
       $as_of - (o.up_days * 86400)::BIGINT AS up_s, o.kind, o.detail
FROM outage_spec AS o JOIN conns AS c USING (name)
"""

# Periods run back to back from the connection's creation; the last one still open is
# 'open'; a connection still down has none that ended after it went down (never fetched).
_SLOTS = """
CREATE TEMP TABLE slots AS
WITH raw AS (
    SELECT *, unnest(range(($as_of - created_s) // cadence_s + 1)) AS k FROM conns
),
placed AS (
    SELECT *, created_s + k * cadence_s AS start_s, created_s + (k + 1) * cadence_s AS end_s,
           CASE WHEN provider = 'amazon'
                THEN (10000000000 + hash(id, k) % 89999999999)::VARCHAR
                ELSE upper(substr(md5(id || '/' || k), 1, 16)) END AS psid,
           hash(id, k, 'size') AS hs
    FROM raw
)
SELECT 'stl_' || substr(sha256(p.id || chr(31) || p.psid), 1, 20) AS sid, p.id, p.k, p.psid,
       p.currency, p.start_s, p.end_s, p.end_s > $as_of AS is_open,
       greatest(3, p.lines_mean * (50 + p.hs % 101) // 100)::INTEGER AS line_count
FROM placed AS p
WHERE p.start_s < $as_of
  AND NOT EXISTS (SELECT 1 FROM outages AS o
                  WHERE o.connection_id = p.id AND o.up_s IS NULL AND p.end_s > o.down_s)
"""

_LINES = """
INSERT INTO settlement_lines
WITH lined AS (
    SELECT sid, currency, start_s, end_s - start_s AS dur_s, line_count,
           unnest(range(1, line_count + 1)) AS line_no
    FROM slots
),
typed AS (
    SELECT *, hl % 100 AS roll, ((hl // 100) % 1000000)::BIGINT AS r,
           CASE WHEN line_no = 1 OR hl % 100 < 45 THEN 'sale' WHEN hl % 100 < 70 THEN 'fee'
                WHEN hl % 100 < 78 THEN 'refund' WHEN hl % 100 < 85 THEN 'shipping'
                WHEN hl % 100 < 91 THEN 'tax' WHEN hl % 100 < 95 THEN 'promotion'
                WHEN hl % 100 < 97 THEN 'reserve' WHEN hl % 100 < 99 THEN 'adjustment'
                ELSE 'other' END AS category
    FROM (SELECT *, hash(sid, line_no) AS hl FROM lined)
)
SELECT sid, line_no::INTEGER, category,
       (CASE category WHEN 'sale' THEN 800 + r % 14200 WHEN 'fee' THEN -(60 + r % 1940)
             WHEN 'refund' THEN -(800 + r % 7200) WHEN 'shipping' THEN 200 + r % 800
             WHEN 'tax' THEN 50 + r % 1450 WHEN 'promotion' THEN -(50 + r % 950)
             WHEN 'reserve' THEN r % 6001 - 3000 WHEN 'adjustment' THEN r % 2001 - 1000
             ELSE r % 501 - 250 END
        * if(currency = 'JPY', 1.00, 0.01))::DECIMAL(18, 4),
       CASE category WHEN 'sale' THEN 'Order payment' WHEN 'fee' THEN 'Selling fee'
            WHEN 'refund' THEN 'Refund' WHEN 'shipping' THEN 'Shipping charge'
            WHEN 'tax' THEN 'Sales tax' WHEN 'promotion' THEN 'Promotion'
            WHEN 'reserve' THEN 'Reserve' WHEN 'adjustment' THEN 'Adjustment'
            ELSE 'Other' END,
       CASE WHEN category IN ('sale', 'refund', 'shipping', 'tax', 'promotion')
            THEN printf('%03d-%07d-%07d', 100 + r % 900, (hl // 7) % 10000000,
                        (hl // 13) % 10000000) END,
       CASE WHEN category IN ('sale', 'refund')
            THEN 'SKU-' || lpad(((hl // 17) % 3000)::VARCHAR, 4, '0') END,
       to_timestamp(start_s + dur_s * line_no // (line_count + 1))
FROM typed
"""

_SETTLEMENTS = """
INSERT INTO settlements
WITH totals AS (
    SELECT settlement_id,
           coalesce(sum(amount) FILTER (category IN ('sale', 'shipping', 'tax', 'promotion')), 0)
               AS gross,
           coalesce(sum(amount) FILTER (category = 'fee'), 0) AS fees,
           coalesce(sum(amount) FILTER (category = 'refund'), 0) AS refunds,
           coalesce(sum(amount) FILTER (category = 'reserve'), 0) AS reserves,
           sum(amount) AS net
    FROM settlement_lines
    GROUP BY settlement_id
)
SELECT s.sid, s.id, s.psid, to_timestamp(s.start_s), if(s.is_open, NULL, to_timestamp(s.end_s)),
       if(s.is_open, NULL, (to_timestamp(s.end_s) + INTERVAL 2 DAY)::DATE), s.currency,
       t.gross, t.fees, t.refunds, t.reserves, t.net, if(s.is_open, 'open', 'closed'), 'api',
       sha256(s.sid || '/content'), s.line_count, to_timestamp(least(s.end_s + 6 * 3600, $as_of)),
       to_timestamp(least(s.end_s + 6 * 3600, $as_of))
FROM slots AS s JOIN totals AS t ON t.settlement_id = s.sid
"""

_CONNECTIONS = """
INSERT INTO connections
    (id, workspace_id, provider, name, kind, region, config, grant_expires_at, created_at)
SELECT id, $ws, provider, name, 'channel',
       CASE WHEN marketplace IN ('US', 'CA') THEN 'na' WHEN marketplace = 'JP' THEN 'fe'
            WHEN marketplace IS NOT NULL THEN 'eu' END,
       if(marketplace IS NULL, '{}', json_object('marketplaces', [marketplace])),
       CASE WHEN name = $expiring THEN to_timestamp($as_of + 9 * 86400)
            WHEN provider = 'amazon' THEN to_timestamp($as_of + (40 + idx * 53) * 86400) END,
       to_timestamp(created_s)
FROM conns
UNION ALL
SELECT $ledger, $ws, 'xero', 'Xero', 'ledger', NULL, '{}', NULL,
       to_timestamp((SELECT min(created_s) FROM conns))
"""

_FEEDS = """
INSERT INTO feeds
SELECT id, if(kind = 'ledger', 'ledger_entries', 'settlements'), false
FROM connections WHERE workspace_id = $ws
"""

# A sync of every connection every day at about 06:00 UTC; one in a hundred fails transiently
# (never in the last two days); inside an outage every attempt fails on the grant. An outage
# begins with its break and ends with a reconnect, a sync and a backfill.
_EVENTS = """
INSERT INTO connection_events
    (connection_id, "at", kind, feed, error_class, http_status, detail, counts)
WITH everyone AS (
    SELECT id, created_s, 'settlements' AS feed FROM conns
    UNION ALL
    SELECT $ledger, min(created_s), 'ledger_entries' FROM conns
),
syncs AS (
    SELECT id, feed, created_s + d * 86400 + 6 * 3600 + hash(id, d) % 1800 AS t, d
    FROM (SELECT *, unnest(range(($as_of - created_s) // 86400 + 1)) AS d FROM everyone)
),
judged AS (
    SELECT s.*, o.kind AS down_kind, o.detail AS down_detail,
           hash(s.id, s.d, 'transient') % 100 = 0 AND s.t < $as_of - 2 * 86400 AS transient
    FROM syncs AS s
    LEFT JOIN outages AS o
        ON o.connection_id = s.id AND s.t > o.down_s AND s.t < coalesce(o.up_s, $as_of + 1)
    WHERE s.t < $as_of
),
events AS (
    SELECT id, created_s AS t, 'connected' AS kind, NULL AS feed, NULL AS error_class,
           NULL AS http_status, 'connected by the user' AS detail
    FROM everyone
    UNION ALL SELECT id, t, 'sync_started', feed, NULL, NULL, '' FROM judged
    UNION ALL
    SELECT id, t + 40 + hash(id, t) % 200,
           if(down_kind IS NULL AND NOT transient, 'sync_succeeded', 'sync_failed'), feed,
           CASE WHEN down_kind IS NOT NULL THEN 'auth' WHEN transient THEN 'transient' END,
           CASE WHEN down_kind IS NOT NULL THEN 401 WHEN transient THEN 503 END,
           CASE WHEN down_kind IS NOT NULL THEN down_detail
                WHEN transient THEN 'ServiceUnavailable: try again later' ELSE '' END
    FROM judged
    UNION ALL
    SELECT connection_id, down_s, kind, if(kind = 'sync_failed', 'settlements', NULL), 'auth',
           if(kind = 'sync_failed', 401, NULL), detail
    FROM outages
    UNION ALL
    SELECT connection_id, up_s + s.o, s.kind, s.feed, NULL, NULL, s.detail
    FROM outages,
         (VALUES (0, 'reconnected', NULL, 'reconnected by the user'),
                 (60, 'sync_started', 'settlements', ''),
                 (61, 'backfill_started', 'settlements', ''),
                 (150, 'sync_succeeded', 'settlements', ''),
                 (151, 'backfill_finished', 'settlements', '')) AS s(o, kind, feed, detail)
    WHERE up_s IS NOT NULL
)
SELECT id, to_timestamp(t), kind, feed, error_class, http_status, detail, '{}'
FROM events
ORDER BY t, id
"""

# The ledger: one invoice (or bill, for a negative net) per closed settlement older than three
# days, referenced "RW <settlement id>" as the posting code writes it; five in 10,000 never
# posted, one in 10,000 posted with a total a little off, one in 10,000 posted twice.
_POSTED = """
CREATE TEMP TABLE posted AS
SELECT s.id, s.currency, s.net, s.period_end, hash(s.id, 'ledger') % 10000 AS b,
       'RW ' || s.id AS reference,
       substr(md5(s.id), 1, 8) || '-' || substr(md5(s.id), 9, 4) || '-4' || substr(md5(s.id), 14, 3)
           || '-a' || substr(md5(s.id), 18, 3) || '-' || substr(md5(s.id), 21, 12) AS object_id
FROM settlements AS s JOIN conns AS c ON c.id = s.connection_id
WHERE s.status = 'closed' AND s.period_end <= to_timestamp($as_of - 3 * 86400)
"""

_LEDGER = """
INSERT INTO ledger_entries
WITH entries AS (
    SELECT object_id, id, reference, currency, period_end,
           if(net >= 0, 'ACCREC', 'ACCPAY') AS object_type,
           abs(net) + if(b = 5, if(currency = 'JPY', 7, 0.07), 0) AS total,
           if(period_end < to_timestamp($as_of - 30 * 86400), 'PAID', 'AUTHORISED') AS status
    FROM posted WHERE b >= 5
    UNION ALL
    SELECT replace(object_id, '-4', '-5'), id, reference, currency, period_end,
           if(net >= 0, 'ACCREC', 'ACCPAY'), abs(net), 'AUTHORISED'
    FROM posted WHERE b = 6
)
SELECT $ledger, object_id, object_type, reference,
       'INV-' || lpad((row_number() OVER (ORDER BY period_end, object_id))::VARCHAR, 6, '0'),
       currency, total, status, period_end::DATE + 1, period_end + INTERVAL 1 DAY, id
FROM entries
"""

_POSTINGS = """
INSERT INTO postings
SELECT 'pst_' || substr(sha256(id || '/1'), 1, 20), id, $ledger, sha256(id || '/key/1'),
       reference, 'posted', to_json([object_id]), NULL, NULL, period_end + INTERVAL 1 DAY,
       period_end + INTERVAL 1 DAY
FROM posted WHERE b >= 5
"""


@dataclass(frozen=True)
class Workspace:
    """A generated large workspace and what it holds."""

    path: str
    workspace_id: str
    connections: int
    settlements: int
    lines: int
    events: int
    ledger_entries: int
    file_mb: float
    generate_seconds: float


def _frames() -> dict[str, pl.DataFrame]:
    spec = pl.DataFrame(
        [
            {
                "idx": i,
                "name": n,
                "provider": p,
                "currency": c,
                "marketplace": m,
                "lines_mean": lines,
                "age_days": age,
            }
            for i, (n, p, c, m, lines, age) in enumerate(CHANNELS)
        ]
    )
    outages = pl.DataFrame(
        [
            {"name": n, "down_days": down, "up_days": up, "kind": kind, "detail": AUTH_DETAIL[kind]}
            for n, down, up, kind in OUTAGES
        ],
        schema={
            "name": pl.String,
            "down_days": pl.Float64,
            "up_days": pl.Float64,
            "kind": pl.String,
            "detail": pl.String,
        },
    )
    rules = pl.DataFrame(
        [
            {"provider": r.provider, "cadence_s": int(r.default_cadence.total_seconds())}
            for r in PROVIDER_RULES
            if r.default_cadence
        ]
    )
    return {"spec": spec, "outage_spec": outages, "rules": rules}


def generate(path: Path, as_of: datetime) -> None:
    """Build the large workspace at `path` (replacing any file there), dated up to `as_of`."""
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    store = Store(path)
    ws = store.add_workspace(WORKSPACE, "USD").id
    params: dict[str, Any] = {
        "as_of": int(as_of.timestamp()),
        "ws": ws,
        "ledger": LEDGER_ID,
        "expiring": EXPIRING,
        "connection_id": None,  # the ledger summary of every ledger connection
        "settlement_ids": None,  # and every settlement
    }
    steps = [
        (_CONNS, ("as_of",)),
        (_OUTAGES, ("as_of",)),
        (_SLOTS, ("as_of",)),
        (_LINES, ()),
        (_SETTLEMENTS, ("as_of",)),
        (_CONNECTIONS, ("ws", "as_of", "ledger", "expiring")),
        (_FEEDS, ("ws",)),
        (_EVENTS, ("as_of", "ledger")),
        (_POSTED, ("as_of",)),
        (_LEDGER, ("as_of", "ledger")),
        (_POSTINGS, ("ledger",)),
        # the per-settlement ledger summary, by the statement the write path refreshes it with
        (sql.load("ledger_summary_insert"), ("connection_id", "settlement_ids")),
    ]
    with store.read() as con:
        con.execute("SET enable_progress_bar = false")
        for name, frame in _frames().items():
            con.register(name, frame)
        for statement, names in steps:
            con.execute(statement, {name: params[name] for name in names})
        con.execute("CHECKPOINT")


def describe(path: Path, generate_seconds: float) -> Workspace:
    """Count what the workspace at `path` holds."""
    query = """
        SELECT (SELECT id FROM workspaces WHERE name = $name),
               (SELECT count(*) FROM connections WHERE kind = 'channel'),
               (SELECT count(*) FROM settlements), (SELECT count(*) FROM settlement_lines),
               (SELECT count(*) FROM connection_events), (SELECT count(*) FROM ledger_entries)
    """
    con = connect(path)
    try:
        ws, conns, settlements, lines, events, entries = con.execute(
            query, {"name": WORKSPACE}
        ).fetchall()[0]
    finally:
        con.close()
    return Workspace(
        str(path),
        ws,
        conns,
        settlements,
        lines,
        events,
        entries,
        path.stat().st_size / MB,
        generate_seconds,
    )
