"""The gaps benchmark's data set: generated straight into a DuckDB file with the real schema.

The file is opened through `reconcile.store.Store`, so the migrations run, then filled by bulk
SQL over `range()` and `hash()` with a fixed seed: no Python loop touches a row. At full size
the measured workspace has 20,000 channel connections, 1,000,000 settlements, 10,000,000
settlement lines, about 4 million connection events and a Xero ledger with an entry for most
closed settlements; a second, smaller workspace shares the file so that scoping by workspace is
exercised. Holes, stalls, disconnect windows, unposted settlements, amount mismatches,
duplicate postings and possible duplicates are planted at fixed rates. `bench/gaps_bench.py`
caches the file per parameter set (`dataset_path`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from reconcile import sql
from reconcile.database import connect
from reconcile.providers import PROVIDER_RULES
from reconcile.references import REFERENCE_SQL_PATTERN
from reconcile.store import Store

AS_OF = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
GENERATOR_VERSION = 1  # bump when the generated data changes, so cached files are rebuilt
WORKSPACES = ("Bench Ltd", "Other Ltd")  # the measured workspace, and one that must not leak in
LEDGER_ID = "xero-00bench0"
CONNECTIONS = 20_000  # channel connections of the measured workspace at scale 1
MB = 1024 * 1024

# -- the data generator -----------------------------------------------------------------------
#
# Connections are typed by their index i within the workspace: i % 50 picks a class (holes,
# stall, disconnect window, ...) and i % 100 a provider, so every class appears from 100
# connections up. Each connection with history has 50 settlement periods (class 48: 100, going
# back past Amazon's 730-day horizon; class 49: none), built backwards from an anchor near
# AS_OF; a period lasts the provider's cadence (85%), or a little more or less, or half (a
# manual disbursement). Settlement s has 2 * (s % 10) + 1 lines, 10 on average.

_PLAN = """
CREATE TEMP TABLE plan AS
WITH base AS (
    SELECT g, if(g < $c1, g, g - $c1) AS i, if(g < $c1, $ws1, $ws2) AS workspace_id,
           hash(g, $seed, 'connection') AS h
    FROM range($c1 + $c2) AS t(g)
),
typed AS (
    SELECT *, i % 50 AS cls,
           CASE i % 100 WHEN 97 THEN 'ebay' WHEN 95 THEN 'etsy' WHEN 91 THEN 'walmart'
                ELSE 'amazon' END AS provider,
           CASE WHEN i % 10 < 7 THEN 'USD' WHEN i % 10 = 7 THEN 'GBP' WHEN i % 10 = 8 THEN 'EUR'
                WHEN i % 20 = 19 THEN 'JPY' ELSE 'CAD' END AS currency
    FROM base
),
ruled AS (
    SELECT t.*, r.cadence_s, r.tolerance_s, r.grace_s,
           cls NOT IN (17, 23, 43) AND (i % 3 <> 0 OR cls = 31) AS open_last
    FROM typed AS t JOIN rules AS r USING (provider)
)
SELECT *,
       provider || '-' || printf('%08x', (g * 2654435761 + $seed) % 4294967296) AS id,
       CASE cls WHEN 49 THEN 0 WHEN 48 THEN 100 ELSE 50 END AS n,
       CASE WHEN cls IN (1, 6, 12, 26, 47) THEN 5 + h % 40 WHEN cls = 11 THEN 5 + h % 20
            WHEN cls = 48 THEN 8 WHEN cls = 23 THEN 20 END AS hole1,
       CASE cls WHEN 11 THEN 26 + h % 20 WHEN 48 THEN 60 END AS hole2,
       -- the last period's start when it is still open, else its end
       CASE
           WHEN cls = 17 THEN $as_of - grace_s - (2 + h % 20) * cadence_s
           WHEN cls = 31 THEN $as_of - grace_s - (2 + h % 10) * cadence_s
           WHEN cls = 43 THEN $as_of - grace_s - 2 * cadence_s - h % cadence_s
           WHEN cls = 23 THEN $as_of - 23 * 86400 - h % 86400
           WHEN open_last THEN $as_of - cadence_s * (5 + h % 85) // 100
           ELSE $as_of - cadence_s * (5 + h % 60) // 100
       END AS anchor_s,
       CASE WHEN cls = 23 THEN $as_of - 20 * 86400 END AS removed_s,
       CASE WHEN cls = 49 AND (i // 50) % 2 = 0 THEN $as_of - grace_s - 3 * cadence_s
            WHEN cls = 49 THEN $as_of - cadence_s // 2 END AS created_empty_s,
       CASE WHEN provider <> 'amazon' THEN NULL WHEN cls = 29 THEN $as_of + 7 * 86400
            ELSE $as_of + (30 + h % 300) * 86400 END AS grant_s
FROM ruled
"""

_SLOTS = """
CREATE TEMP TABLE slots AS
WITH raw AS (
    SELECT g, id AS connection_id, workspace_id, cls, currency, cadence_s, tolerance_s, n,
           open_last, anchor_s, hole1, hole2, h, unnest(range(n)) AS k
    FROM plan
),
stepped AS (
    SELECT *,
           CASE WHEN hs % 100 < 85 THEN cadence_s
                WHEN hs % 100 < 90
                    THEN cadence_s + (hs // 100) % (cadence_s // 168) - cadence_s // 336
                WHEN hs % 100 < 97 THEN cadence_s + if(hs % 2 = 0, 1, -1) * (cadence_s // 14)
                ELSE cadence_s // 2 END AS dur_s,
           CASE WHEN (hs // 1000) % 10 = 0 THEN (hs // 10000) % (tolerance_s // 4) ELSE 0 END
               AS gap_s,
           CASE WHEN k = hole1 OR k = hole2
                THEN tolerance_s + (1 + h % 3) * cadence_s + (hs // 100000) % (cadence_s // 2)
                ELSE 0 END AS hole_s
    FROM (SELECT *, hash(g, k, $seed, 'slot') AS hs FROM raw)
),
placed AS (
    SELECT *,
           coalesce(sum(dur_s + gap_s + hole_s) OVER (PARTITION BY g ORDER BY k DESC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS after_s,
           max(CASE WHEN k = n - 1 THEN dur_s END) OVER (PARTITION BY g) AS last_dur_s
    FROM stepped
),
ended AS (
    SELECT *, if(open_last, anchor_s + last_dur_s, anchor_s) - after_s AS end_s,
           substr(md5(connection_id || '/' || k || '/' || $seed), 1, 22) AS psid
    FROM placed
)
SELECT 'stl_' || substr(sha256(connection_id || chr(31) || psid), 1, 20) AS id,
       g, k, connection_id, workspace_id, cls, currency, psid, dur_s, hole_s,
       end_s - dur_s AS start_s, end_s, open_last AND k = n - 1 AS is_open,
       (2 * ((row_number() OVER (ORDER BY g, k) - 1) % 10) + 1)::INTEGER AS line_count
FROM ended
"""

_LINES = """
INSERT INTO settlement_lines
WITH lined AS (
    SELECT id, currency, start_s, dur_s, line_count, unnest(range(1, line_count + 1)) AS line_no
    FROM slots
),
typed AS (
    SELECT *,
           CASE WHEN line_no = 1 OR hl % 100 < 40 THEN 'sale' WHEN hl % 100 < 65 THEN 'fee'
                WHEN hl % 100 < 75 THEN 'refund' WHEN hl % 100 < 82 THEN 'shipping'
                WHEN hl % 100 < 88 THEN 'tax' WHEN hl % 100 < 93 THEN 'promotion'
                WHEN hl % 100 < 96 THEN 'reserve' WHEN hl % 100 < 99 THEN 'adjustment'
                ELSE 'other' END AS category,
           ((hl // 100) % 1000000)::BIGINT AS r
    FROM (SELECT *, hash(id, line_no, 'line') AS hl FROM lined)
),
minor AS (
    SELECT *,
           CASE category WHEN 'sale' THEN 500 + r % 29500 WHEN 'fee' THEN -(50 + r % 2950)
                WHEN 'refund' THEN -(500 + r % 9500) WHEN 'shipping' THEN 100 + r % 900
                WHEN 'tax' THEN 50 + r % 1950 WHEN 'promotion' THEN -(50 + r % 950)
                WHEN 'reserve' THEN r % 10001 - 5000 WHEN 'adjustment' THEN r % 4001 - 2000
                ELSE r % 1001 - 500 END AS m
    FROM typed
)
SELECT id, line_no::INTEGER, category,
       (m * if(currency = 'JPY', 1.00, 0.01))::DECIMAL(18, 4),
       CASE category WHEN 'sale' THEN 'Principal' WHEN 'fee' THEN 'Commission'
            WHEN 'refund' THEN 'Refunded principal' WHEN 'shipping' THEN 'ShippingCharge'
            WHEN 'tax' THEN 'Tax' WHEN 'promotion' THEN 'PromotionDiscount'
            WHEN 'reserve' THEN 'Reserve' WHEN 'adjustment' THEN 'Adjustment'
            ELSE 'Other transaction' END,
       CASE WHEN category IN ('sale', 'refund', 'fee', 'shipping', 'tax', 'promotion')
            THEN printf('%03d-%07d-%07d', 100 + r % 900, (hl // 7) % 10000000,
                        (hl // 13) % 10000000) END,
       CASE WHEN category IN ('sale', 'refund')
            THEN 'SKU-' || lpad(((hl // 17) % 5000)::VARCHAR, 5, '0') END,
       to_timestamp(start_s + dur_s * line_no // (line_count + 1))
FROM minor
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
SELECT s.id, s.connection_id, s.psid, to_timestamp(s.start_s),
       if(s.is_open, NULL, to_timestamp(s.end_s)),
       if(s.is_open, NULL, (to_timestamp(s.end_s) + INTERVAL 2 DAY)::DATE), s.currency,
       t.gross, t.fees, t.refunds, t.reserves, t.net, if(s.is_open, 'open', 'closed'),
       if(s.cls = 48 AND s.k < 20, 'file', 'api'), sha256(s.id || '/content'), s.line_count,
       to_timestamp(least(s.end_s + 3600, $as_of)), to_timestamp(least(s.end_s + 3600, $as_of))
FROM slots AS s
JOIN totals AS t ON t.settlement_id = s.id
"""

_CONNECTIONS = """
INSERT INTO connections
    (id, workspace_id, provider, name, kind, region, config, grant_expires_at, created_at,
     removed_at)
SELECT p.id, p.workspace_id, p.provider,
       CASE p.provider WHEN 'amazon' THEN 'Amazon ' || m.code ELSE r.title END || ' '
           || lpad(p.i::VARCHAR, 5, '0'),
       'channel', m.region, json_object('marketplaces', [m.code]), to_timestamp(p.grant_s),
       to_timestamp(coalesce(f.first_s - 86400, p.created_empty_s)), to_timestamp(p.removed_s)
FROM plan AS p
JOIN rules AS r USING (provider)
JOIN (VALUES ('USD', 'US', 'na'), ('GBP', 'UK', 'eu'), ('EUR', 'DE', 'eu'), ('JPY', 'JP', 'fe'),
             ('CAD', 'CA', 'na')) AS m(currency, code, region) USING (currency)
LEFT JOIN (SELECT g, min(start_s) AS first_s FROM slots GROUP BY g) AS f USING (g)
"""

_OUTAGES = """
CREATE TEMP TABLE outages AS
WITH holes AS (
    SELECT s.connection_id, p.cls, lag(s.end_s) OVER w AS before_s, s.start_s AS after_s,
           s.hole_s
    FROM slots AS s JOIN plan AS p ON p.id = s.connection_id
    WHERE p.cls IN (6, 12)
    WINDOW w AS (PARTITION BY s.connection_id ORDER BY s.k)
    QUALIFY s.hole_s > 0
)
SELECT connection_id, before_s - 2 * 86400 AS down_s, after_s + 86400 AS up_s,
       'sync_failed' AS kind, 'invalid_grant: the refresh token is no longer valid' AS detail
FROM holes WHERE cls = 6
UNION ALL
SELECT connection_id, before_s - 86400, before_s + (after_s - before_s) // 2, 'sync_failed',
       'invalid_grant: the refresh token is no longer valid'
FROM holes WHERE cls = 12
UNION ALL
SELECT id, $as_of - (30 + h % 600) * 86400, $as_of - (30 + h % 600) * 86400 + (2 + h % 28) * 86400,
       'sync_failed', 'Unauthorized: access to the requested resource is denied'
FROM plan WHERE cls IN (3, 13, 33)
UNION ALL
SELECT id, anchor_s + cadence_s // 2, NULL, 'revoked',
       'the seller revoked the authorisation in Seller Central'
FROM plan WHERE cls = 43
"""

# Syncs every $every seconds from an hour after creation; none inside an outage, which begins
# with a failed sync and ends with a reconnect, a sync and a backfill. Class 44 has events
# after AS_OF (not yet known); classes 5, 15, 25, ... fail transiently now and then.
_EVENTS = """
INSERT INTO connection_events
    (connection_id, "at", kind, feed, error_class, http_status, detail, counts)
WITH conns AS (
    SELECT p.id, p.cls, epoch(c.created_at)::BIGINT AS created_s,
           coalesce(p.removed_s, $as_of) - 3600 AS stop_s
    FROM plan AS p JOIN connections AS c ON c.id = p.id
),
syncs AS (
    SELECT *, created_s + 3600 + j * $every + hash(id, j, $seed) % 3600 AS t,
           hash(id, j, $seed, 'outcome') % 10 = 0 AND cls % 10 = 5 AS failing
    FROM (SELECT *, unnest(range((stop_s - created_s - 3600) // $every)) AS j FROM conns)
),
kept AS (
    SELECT s.* FROM syncs AS s
    WHERE NOT EXISTS (SELECT 1 FROM outages AS o WHERE o.connection_id = s.id
                      AND s.t >= o.down_s - 600 AND s.t < coalesce(o.up_s, $as_of) + 600)
),
events AS (
    SELECT id, created_s AS t, 'connected' AS kind, NULL AS error_class, NULL AS http_status,
           'connected by the user' AS detail FROM conns
    UNION ALL SELECT id, t, 'sync_started', NULL, NULL, '' FROM kept
    UNION ALL
    SELECT id, t + 90, if(failing, 'sync_failed', 'sync_succeeded'), if(failing, 'transient', NULL),
           if(failing, 503, NULL), if(failing, 'ServiceUnavailable: try again later', '')
    FROM kept
    UNION ALL SELECT connection_id, down_s - 5, 'sync_started', NULL, NULL, '' FROM outages
    UNION ALL SELECT connection_id, down_s, kind, 'auth', if(kind = 'revoked', NULL, 401), detail
    FROM outages
    UNION ALL SELECT connection_id, up_s, 'reconnected', NULL, NULL, 'reconnected by the user'
    FROM outages WHERE up_s IS NOT NULL
    UNION ALL SELECT connection_id, up_s + 60, 'sync_started', NULL, NULL, '' FROM outages
    WHERE up_s IS NOT NULL
    UNION ALL SELECT connection_id, up_s + 61, 'backfill_started', NULL, NULL, '' FROM outages
    WHERE up_s IS NOT NULL
    UNION ALL SELECT connection_id, up_s + 150, 'sync_succeeded', NULL, NULL, '' FROM outages
    WHERE up_s IS NOT NULL
    UNION ALL SELECT connection_id, up_s + 151, 'backfill_finished', NULL, NULL, '' FROM outages
    WHERE up_s IS NOT NULL
    UNION ALL SELECT id, $as_of + 3600, 'sync_started', NULL, NULL, '' FROM plan WHERE cls = 44
    UNION ALL SELECT id, $as_of + 3605, 'sync_failed', 'auth', 401, 'Unauthorized' FROM plan
    WHERE cls = 44
)
SELECT id, to_timestamp(t), kind,
       if(kind IN ('sync_started', 'sync_succeeded', 'sync_failed', 'backfill_started',
                   'backfill_finished'), 'settlements', NULL),
       error_class, http_status, detail, '{}'
FROM events
ORDER BY id, t
"""

# The ledger of the measured workspace. Bucket b (0-999, by settlement) plants: 0-2 never
# posted (1: with a failed posting), 3-6 an amount off, 7-8 voided on purpose, 9-10 voided and
# posted again, 11-12 posted twice, 13-14 a hand-keyed copy without a workbench reference.
# Settlements of the last 3 days are not posted yet; those spanning a month end are split
# in two parts (every third one). A removed connection's settlements are all posted cleanly.
# Each entry's settlement_id is filled from its reference, as reconcile.rows writes it.
_POSTED = """
CREATE TEMP TABLE posted AS
SELECT s.id, s.provider_settlement_id AS psid, s.currency, s.net, s.period_end,
       if(p.cls = 23, 999, hash(s.id, $seed, 'ledger') % 1000) AS b,
       if(month(s.period_start) <> month(s.period_end) AND hash(s.id, 'parts') % 3 = 0, 2, 1)
           AS parts,
       hash(s.id, $seed, 'delta') AS h
FROM settlements AS s JOIN plan AS p ON p.id = s.connection_id
WHERE p.workspace_id = $ws1 AND s.status = 'closed'
  AND s.period_end <= to_timestamp($as_of) - INTERVAL 3 DAY
"""

_UUID_MACRO = """
CREATE OR REPLACE TEMP MACRO uuid_of(x) AS (
    substr(md5(x), 1, 8) || '-' || substr(md5(x), 9, 4) || '-' || substr(md5(x), 13, 4) || '-'
    || substr(md5(x), 17, 4) || '-' || substr(md5(x), 21, 12))
"""

_LEDGER = """
INSERT INTO ledger_entries
WITH parted AS (
    SELECT *, unnest(range(1, parts + 1)) AS part,
           if(currency = 'JPY', round(net * 0.5, 0), round(net * 0.5, 2)) AS half
    FROM posted WHERE b >= 3
),
entries AS (
    SELECT id, psid, currency, period_end, b, h, part,
           'RW ' || id || if(parts > 1, ' ' || part || '/' || parts, '') AS reference,
           if(net >= 0, 'ACCREC', 'ACCPAY') AS object_type,
           abs(CASE WHEN parts = 1 THEN net WHEN part = 1 THEN half ELSE net - half END)
               + if(b BETWEEN 3 AND 6 AND part = 1,
                    (1 + h % 5000) * if(currency = 'JPY', 1.00, 0.01), 0) AS total,
           CASE WHEN b BETWEEN 7 AND 10 THEN 'VOIDED'
                WHEN period_end < to_timestamp($as_of) - INTERVAL 30 DAY THEN 'PAID'
                ELSE 'AUTHORISED' END AS status,
           period_end::DATE + 1 AS date
    FROM parted
),
rows AS (
    SELECT uuid_of(id || '/' || part) AS object_id, object_type, reference, currency, total,
           status, date, period_end FROM entries
    UNION ALL
    SELECT uuid_of(id || '/' || part || '/again'), object_type, reference, currency, total,
           'AUTHORISED', date + 2, period_end FROM entries WHERE b BETWEEN 9 AND 10
    UNION ALL
    SELECT uuid_of(id || '/dup'), object_type, reference, currency, total, status, date,
           period_end FROM entries WHERE b BETWEEN 11 AND 12 AND part = 1
    UNION ALL
    SELECT uuid_of(id || '/manual'), object_type, 'Amazon settlement ' || psid, currency, total,
           'AUTHORISED', date + (h % 4)::INTEGER, period_end
    FROM entries WHERE b BETWEEN 13 AND 14 AND part = 1
    UNION ALL
    SELECT uuid_of('po/' || n || '/' || copy), if(n % 2 = 0, 'ACCREC', 'ACCPAY'),
           'PO-' || lpad(n::VARCHAR, 6, '0') || if(copy = 1, '-B', ''), 'USD',
           (1000000 + hash(n, $seed, 'po') % 9000000) * 0.01,
           if(n % 100 = 42, 'DELETED', 'PAID'),
           (to_timestamp($as_of) - (hash(n, 'po-date') % 700) * INTERVAL 1 DAY)::DATE
               + (2 * copy)::INTEGER,
           to_timestamp($as_of) - (hash(n, 'po-date') % 700) * INTERVAL 1 DAY
    FROM range($c1) AS t(n), range(2) AS u(copy) WHERE copy = 0 OR n % 500 = 7
)
SELECT $ledger, object_id, object_type, reference,
       'INV-' || lpad((row_number() OVER (ORDER BY period_end, object_id))::VARCHAR, 7, '0'),
       currency, total, status, date, least(period_end + INTERVAL 1 DAY, to_timestamp($as_of)),
       nullif(regexp_extract(reference, $pattern, 1), '')
FROM rows
"""

_POSTINGS = """
INSERT INTO postings
WITH rows AS (
    SELECT id, b, 1 AS attempt, if(b BETWEEN 7 AND 10, 'voided', 'posted') AS state,
           CASE WHEN parts = 1 THEN [uuid_of(id || '/1')]
                ELSE [uuid_of(id || '/1'), uuid_of(id || '/2')] END AS objects,
           period_end + INTERVAL 1 DAY AS posted_at
    FROM posted WHERE b >= 3
    UNION ALL
    SELECT id, b, 2, 'posted',
           CASE WHEN parts = 1 THEN [uuid_of(id || '/1/again')]
                ELSE [uuid_of(id || '/1/again'), uuid_of(id || '/2/again')] END,
           period_end + INTERVAL 3 DAY
    FROM posted WHERE b BETWEEN 9 AND 10
    UNION ALL
    SELECT id, b, 1, 'failed', [], period_end + INTERVAL 1 DAY FROM posted WHERE b = 1
)
SELECT 'pst_' || substr(sha256(id || '/' || attempt), 1, 20), id, $ledger,
       sha256(id || '/key/' || attempt), 'RW ' || id, state, to_json(objects), NULL, NULL,
       least(posted_at, to_timestamp($as_of)), least(posted_at, to_timestamp($as_of))
FROM rows
"""

_LEDGER_CONNECTION = """
INSERT INTO connections (id, workspace_id, provider, name, kind, region, config, created_at)
SELECT $ledger, $ws1, 'xero', 'Xero', 'ledger', NULL, '{}',
       (SELECT min(created_at) FROM connections WHERE workspace_id = $ws1)
"""

_FEEDS = """
INSERT INTO feeds
SELECT id, if(kind = 'ledger', 'ledger_entries', 'settlements'), false FROM connections
"""


def rules_relation() -> pl.DataFrame:
    """The channel providers' cadence, tolerance and grace in seconds, from PROVIDER_RULES."""
    rows = [
        {
            "provider": r.provider,
            "title": r.title,
            "cadence_s": int(r.default_cadence.total_seconds()),
            "tolerance_s": int(r.coverage_tolerance.total_seconds()),
            "grace_s": int(r.overdue_grace.total_seconds()),
        }
        for r in PROVIDER_RULES
        if r.default_cadence and r.coverage_tolerance and r.overdue_grace
    ]
    return pl.DataFrame(rows)


@dataclass(frozen=True)
class Dataset:
    """A generated benchmark database and what it holds."""

    path: str
    workspace_id: str
    other_workspace_id: str
    connections: int  # channel connections of the measured workspace (removed included)
    settlements: int  # of the measured workspace
    lines: int  # of the measured workspace
    events: int  # of the measured workspace's connections
    ledger_entries: int
    postings: int
    other_settlements: int  # in the other workspace
    file_mb: float
    generate_seconds: float  # when this run built it; 0 when it came from the cache


def dataset_path(cache: Path, scale: float, seed: int, every_days: float) -> Path:
    """Where the data set of these parameters (and of this schema version) is cached."""
    schema = sql.migrations()[-1].version
    name = f"gaps-v{GENERATOR_VERSION}-schema{schema}-scale{scale:g}-seed{seed}-sync{every_days:g}d"
    return cache / f"{name}.duckdb"


def generate(path: Path, scale: float, seed: int, every_days: float) -> None:
    """Build the benchmark database at `path` (replacing any file there)."""
    part = path.with_name(path.name + ".part")
    for stale in (part, Path(f"{part}.wal")):
        stale.unlink(missing_ok=True)
    store = Store(part)
    ws1 = store.add_workspace(WORKSPACES[0], "USD").id
    ws2 = store.add_workspace(WORKSPACES[1], "GBP").id
    c1 = max(1, round(CONNECTIONS * scale))
    params: dict[str, Any] = {
        "c1": c1,
        "c2": max(1, c1 // 100),
        "ws1": ws1,
        "ws2": ws2,
        "seed": seed,
        "as_of": int(AS_OF.timestamp()),
        "every": int(every_days * 86400),
        "ledger": LEDGER_ID,
        "pattern": REFERENCE_SQL_PATTERN,  # settlement_id, as reconcile.rows writes it
        "connection_id": None,  # the ledger summary of every ledger connection
        "settlement_ids": None,  # and every settlement
    }
    steps = [
        (_PLAN, ("c1", "c2", "ws1", "ws2", "seed", "as_of")),
        (_SLOTS, ("seed",)),
        (_LINES, ()),
        (_SETTLEMENTS, ("as_of",)),
        (_CONNECTIONS, ()),
        (_LEDGER_CONNECTION, ("ledger", "ws1")),
        (_FEEDS, ()),
        (_OUTAGES, ("as_of",)),
        (_EVENTS, ("as_of", "every", "seed")),
        (_POSTED, ("seed", "ws1", "as_of")),
        (_UUID_MACRO, ()),
        (_LEDGER, ("ledger", "seed", "as_of", "c1", "pattern")),
        (_POSTINGS, ("ledger", "as_of")),
        # the per-settlement ledger summary, by the statement the write path refreshes it with
        (sql.load("ledger_summary_insert"), ("connection_id", "settlement_ids")),
    ]
    with store.read() as con:
        con.register("rules", rules_relation())
        for statement, names in steps:
            con.execute(statement, {name: params[name] for name in names})
        con.execute("CHECKPOINT")
    part.rename(path)


def describe(path: Path, generate_seconds: float) -> Dataset:
    """Count what the database at `path` holds."""
    query = """
        WITH ws AS (SELECT id, workspace_id FROM connections WHERE kind = 'channel')
        SELECT (SELECT id FROM workspaces WHERE name = $w1),
               (SELECT id FROM workspaces WHERE name = $w2),
               (SELECT count(*) FROM connections c JOIN workspaces w ON w.id = c.workspace_id
                WHERE w.name = $w1 AND c.kind = 'channel'),
               count(*) FILTER (w.name = $w1), count(*) FILTER (w.name = $w2)
        FROM settlements s JOIN ws ON ws.id = s.connection_id
        JOIN workspaces w ON w.id = ws.workspace_id
    """
    counts = """
        SELECT (SELECT count(*) FROM settlement_lines AS l
                JOIN settlements AS s ON s.id = l.settlement_id
                JOIN connections AS c ON c.id = s.connection_id WHERE c.workspace_id = $ws),
               (SELECT count(*) FROM connection_events AS e
                JOIN connections AS c ON c.id = e.connection_id WHERE c.workspace_id = $ws),
               (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM postings)
    """
    con = connect(path)
    try:
        ws1, ws2, conns, settlements, other = con.execute(
            query, {"w1": WORKSPACES[0], "w2": WORKSPACES[1]}
        ).fetchall()[0]
        lines, events, entries, postings = con.execute(counts, {"ws": ws1}).fetchall()[0]
    finally:
        con.close()
    return Dataset(
        path=str(path),
        workspace_id=ws1,
        other_workspace_id=ws2,
        connections=conns,
        settlements=settlements,
        lines=lines,
        events=events,
        ledger_entries=entries,
        postings=postings,
        other_settlements=other,
        file_mb=path.stat().st_size / MB,
        generate_seconds=generate_seconds,
    )
