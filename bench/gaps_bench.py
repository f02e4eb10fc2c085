"""Gap-detection benchmark: `reconcile.gaps.find_gaps` against a straightforward pandas job.

The data set is generated straight into a DuckDB file with the real schema (opened through
`reconcile.store.Store`, so the migrations run) by bulk SQL over `range()` and `hash()` with a
fixed seed: no Python loop touches a row. At full size the measured workspace has 20,000
channel connections, 1,000,000 settlements, 10,000,000 settlement lines, about 4 million
connection events and a Xero ledger with an entry for most closed settlements; a second,
smaller workspace shares the file so that scoping by workspace is exercised. Holes, stalls,
disconnect windows, unposted settlements, amount mismatches, duplicate postings and possible
duplicates are planted at fixed rates. The file is cached per parameter set.

Each measured run is a fresh subprocess (peak RSS does not carry over) that opens the file,
does the whole job and closes it; runs of the two jobs alternate. Both jobs must report the
same multiset of (kind, connection_id, start, end), and the same id, expected count, estimate,
cause, recoverability, manual step and settlement of each gap, or the script exits 1 and
prints the difference.

    python bench/gaps_bench.py                  # full size: 5 runs of find_gaps, 3 of pandas
    python bench/gaps_bench.py --scale 0.01     # a quick run on 1% of the data
    python bench/gaps_bench.py --profile        # DuckDB's profile of each statement
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gaps_baseline  # beside this script (bench/ is not a package)

from reconcile import sql
from reconcile.database import connect
from reconcile.providers import PROVIDER_RULES
from reconcile.store import Store

AS_OF = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
GENERATOR_VERSION = 1  # bump when the generated data changes, so cached files are rebuilt
WORKSPACES = ("Bench Ltd", "Other Ltd")  # the measured workspace, and one that must not leak in
LEDGER_ID = "xero-00bench0"
CONNECTIONS = 20_000  # channel connections of the measured workspace at scale 1
TARGET_SECONDS = 2.0
TARGET_RATIO = 10.0
MB = 1024 * 1024
KEY = ["kind", "connection_id", "start", "end"]

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
       currency, total, status, date, least(period_end + INTERVAL 1 DAY, to_timestamp($as_of))
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
        (_LEDGER, ("ledger", "seed", "as_of", "c1")),
        (_POSTINGS, ("ledger", "as_of")),
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


def dataset(args: argparse.Namespace) -> Dataset:
    """The cached data set for the arguments, generated first when missing (or asked to)."""
    path = dataset_path(args.cache_dir, args.scale, args.seed, args.sync_every_days)
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds = 0.0
    if args.regenerate or not path.exists():
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        generate(path, args.scale, args.seed, args.sync_every_days)
        seconds = time.perf_counter() - started
    return describe(path, seconds)


# -- one measured run (in a child process) ----------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One run of one job in a fresh process: open the file, find the gaps, close it."""

    job: str  # "find_gaps" or "pandas"
    wall_seconds: float
    cpu_seconds: float  # user + system, all threads
    peak_rss_mb: float  # of the whole process, interpreter and libraries included
    setup_rss_mb: float  # before the job began
    gaps: int
    load: float  # 1-minute load average when the run began


def _peak_rss_mb() -> float:
    """This process's peak resident set size since it started (exec'd).

    Linux's VmHWM, not ru_maxrss: a child inherits its parent's ru_maxrss across fork and
    exec, so a child of a parent that generated the data would report the parent's peak.
    """
    status = _proc_field("/proc/self/status", "VmHWM")
    if status:
        return int(status.split()[0]) / 1024  # kB
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_find_gaps(path: str, workspace_id: str) -> pl.DataFrame:
    """The production job: open the file as the store does, find the gaps, close."""
    from reconcile.gaps import find_gaps  # the module under test, imported where it is used

    con = connect(path)
    try:
        return find_gaps(con, workspace_id, AS_OF)
    finally:
        con.close()


def run_pandas(path: str, workspace_id: str) -> pl.DataFrame:
    """The baseline job, its answer converted to polars for the comparison."""
    con = connect(path)
    try:
        found = gaps_baseline.find_gaps_pandas(con, workspace_id, AS_OF)
    finally:
        con.close()
    return comparable_pandas(found)


JOBS: dict[str, Callable[[str, str], pl.DataFrame]] = {
    "find_gaps": run_find_gaps,
    "pandas": run_pandas,
}


def measure(job: str, path: str, workspace_id: str, out: Path | None) -> Measurement:
    """Run `job` once in this process, timed; write its comparable answer to `out`."""
    setup_rss, load, cpu = _peak_rss_mb(), os.getloadavg()[0], _cpu_seconds()
    started = time.perf_counter()
    found = JOBS[job](path, workspace_id)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    peak = _peak_rss_mb()
    if out is not None:
        comparable(found).write_parquet(out)
    return Measurement(job, wall, cpu, peak, setup_rss, found.height, load)


# -- comparing the two answers ----------------------------------------------------------------

CHECKED = ["id", "expected_settlements", "recoverable", "cause", "manual_step", "settlement_id"]


def comparable(found: pl.DataFrame) -> pl.DataFrame:
    """The columns both jobs must agree on, the estimate as text (exact decimals)."""
    estimate = pl.col("estimate").list.eval(
        pl.concat_str(
            pl.element().struct.field("currency"),
            pl.lit(" "),
            pl.element().struct.field("amount").cast(pl.String),
        )
    )
    return found.select(
        *KEY,
        *CHECKED,
        estimate.list.join("; ").alias("estimate"),
    ).with_columns(pl.col("expected_settlements").cast(pl.Int64))


def comparable_pandas(found: Any) -> pl.DataFrame:
    """The pandas answer as a polars frame with find_gaps' types."""
    rows = found.to_dict("records")
    for row in rows:
        expected = row["expected_settlements"]
        row["expected_settlements"] = (
            None if expected is None or expected != expected else int(expected)
        )
        row["start"], row["end"] = row["start"].to_pydatetime(), row["end"].to_pydatetime()
    schema: dict[str, pl.DataType] = {
        "kind": pl.String(),
        "connection_id": pl.String(),
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
        "id": pl.String(),
        "expected_settlements": pl.Int64(),
        "recoverable": pl.Boolean(),
        "cause": pl.String(),
        "manual_step": pl.String(),
        "settlement_id": pl.String(),
        "estimate": pl.List(pl.Struct({"currency": pl.String, "amount": pl.Decimal(18, 4)})),
    }
    return pl.DataFrame([{name: row[name] for name in schema} for row in rows], schema=schema)


def differences(fast: pl.DataFrame, slow: pl.DataFrame, limit: int = 10) -> list[str]:
    """What differs between the two answers: first the (kind, connection_id, start, end)
    multisets, then every checked column of the gaps with the same id. Empty when equal."""
    problems: list[str] = []
    keys = {
        name: frame.group_by(KEY).len() for name, frame in (("find_gaps", fast), ("pandas", slow))
    }
    for one, other in (("find_gaps", "pandas"), ("pandas", "find_gaps")):
        extra = keys[one].join(keys[other], on=KEY, how="anti")
        more = keys[one].join(keys[other], on=KEY).filter(pl.col("len") > pl.col("len_right"))
        surplus = pl.concat([extra, more.drop("len_right")]).sort(KEY).head(limit)
        for key in surplus.iter_rows():
            problems.append(f"only in {one}: {key[:4]} (x{key[4]})")
    for one, a, b in (("find_gaps", fast, slow), ("pandas", slow, fast)):
        for row in a.join(b, on="id", how="anti").head(limit).iter_rows(named=True):
            problems.append(
                f"id only in {one}: {row['id']} ({row['kind']}, {row['connection_id']})"
            )
    joined = fast.join(slow, on="id", how="inner", suffix="_pandas")
    for column in [c for c in fast.columns if c != "id"]:
        differ = joined.filter(pl.col(column).ne_missing(pl.col(f"{column}_pandas")))
        for row in differ.head(limit).iter_rows(named=True):
            problems.append(
                f"{column} of {row['id']} ({row['kind']}, {row['connection_id']}): "
                f"find_gaps {row[column]!r}, pandas {row[column + '_pandas']!r}"
            )
    if fast.height != slow.height:
        problems.append(f"find_gaps found {fast.height} gaps, pandas {slow.height}")
    return problems


def _child(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    result = measure(args.child, args.db, args.workspace, out)
    print(json.dumps(asdict(result)))
    return 0


def run_child(job: str, data: Dataset, out: Path | None) -> Measurement:
    """One measurement in a fresh interpreter; its JSON result comes back on stdout."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", job]
    command += ["--db", data.path, "--workspace", data.workspace_id]
    command += ["--out", str(out)] if out else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {job} run failed:\n{done.stderr.strip()}")
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


def schedule(fast_runs: int, slow_runs: int) -> list[str]:
    """The order of the runs: the two jobs alternate while both have runs left."""
    order: list[str] = []
    while fast_runs or slow_runs:
        if fast_runs:
            order.append("find_gaps")
            fast_runs -= 1
        if slow_runs:
            order.append("pandas")
            slow_runs -= 1
    return order


# -- the report (parent process) --------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on, and when."""
    memory = int((_proc_field("/proc/meminfo", "MemTotal") or "0").split()[0]) / MB
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.machine(),
        "cores": str(os.cpu_count()),
        "memory": f"{memory:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": pl.__version__,
        "pandas": metadata.version("pandas"),
        "commit": _commit(),
    }


def _proc_field(path: str, name: str) -> str:
    source = Path(path)
    lines = source.read_text().splitlines() if source.exists() else []
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(name)), "")


def _commit() -> str:
    """The checked-out commit, marked when the working tree has changes (read-only git)."""
    git = ["git", "-C", str(Path(__file__).resolve().parent.parent)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True)
        dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True)
    except OSError:
        return "unknown"
    mark = " with uncommitted changes" if dirty.stdout.strip() else ""
    return head.stdout.decode().strip() + mark if head.returncode == 0 else "unknown"


FIELDS = ("wall_seconds", "cpu_seconds", "peak_rss_mb", "setup_rss_mb", "gaps", "load")


def table(runs: Sequence[Measurement]) -> list[str]:
    """A markdown table: one row per run, then the median of each job."""
    rows = [
        "| run | job | wall s | CPU s | peak RSS MB | RSS before MB | gaps | load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for number, m in enumerate(runs, start=1):
        rows.append(
            f"| {number} | {m.job} | {m.wall_seconds:.2f} | {m.cpu_seconds:.2f} | "
            f"{m.peak_rss_mb:,.0f} | {m.setup_rss_mb:,.0f} | {m.gaps:,} | {m.load:.2f} |"
        )
    for job in JOBS:
        mine = [m for m in runs if m.job == job]
        if mine:
            med = {f: statistics.median(getattr(m, f) for m in mine) for f in FIELDS}
            rows.append(
                f"| **median** | {job} | **{med['wall_seconds']:.2f}** | "
                f"{med['cpu_seconds']:.2f} | {med['peak_rss_mb']:,.0f} | "
                f"{med['setup_rss_mb']:,.0f} | {med['gaps']:,.0f} | {med['load']:.2f} |"
            )
    return rows


def verdicts(runs: Sequence[Measurement]) -> tuple[float, float, float, list[tuple[str, bool]]]:
    """The medians, their ratio, and each target with whether it is met."""
    fast = statistics.median(m.wall_seconds for m in runs if m.job == "find_gaps")
    slow = statistics.median(m.wall_seconds for m in runs if m.job == "pandas")
    ratio = slow / fast
    return (
        fast,
        slow,
        ratio,
        [
            (f"find_gaps under {TARGET_SECONDS:g} s: median {fast:.2f} s", fast < TARGET_SECONDS),
            (
                f"at least {TARGET_RATIO:g}x the pandas baseline: {ratio:.1f}x",
                ratio >= TARGET_RATIO,
            ),
        ],
    )


def counts_by_kind(found: pl.DataFrame) -> str:
    """ "coverage 3,600, overdue 1,400, ...": the gaps found, per kind."""
    counted = found.group_by("kind").len().sort("kind")
    return ", ".join(f"{kind} {n:,}" for kind, n in counted.iter_rows())


# -- --profile: where find_gaps spends its time, statement by statement -----------------------


class _Materialised:
    """A statement's result, already fetched (what `database.frame` calls `.pl()` on)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def pl(self) -> pl.DataFrame:
        return self.frame


class ProfiledConnection:
    """A DuckDB connection that runs each statement at once with DuckDB's profiler on and
    keeps the profile; everything else goes to the real connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, scratch: Path) -> None:
        self._con = con
        self._out = scratch / "profile.json"
        self.profiles: list[tuple[str, float, dict[str, Any]]] = []
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{self._out}'")

    def sql(self, query: str, params: Any = None) -> _Materialised:
        started = time.perf_counter()
        found = self._con.sql(query, params=params).pl()
        seconds = time.perf_counter() - started
        self.profiles.append((_statement_name(query), seconds, json.loads(self._out.read_text())))
        return _Materialised(found)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _statement_name(query: str) -> str:
    return next((n for n in sql.statement_names() if sql.load(n) == query), query[:60])


def _operators(node: dict[str, Any], depth: int = 0) -> list[tuple[float, int, str, int, str]]:
    found = []
    for child in node.get("children", []):
        extra = child.get("extra_info", {})
        what = "; ".join(f"{k}: {v}" for k, v in extra.items() if k != "Estimated Cardinality")
        rows = int(child.get("intermediate_rows", 0))
        found.append((float(child.get("timing", 0.0)), depth, child["type"], rows, what[:110]))
        found.extend(_operators(child, depth + 1))
    return found


def profile(data: Dataset, top: int) -> int:
    """Run find_gaps once with every statement profiled; print each one's costliest operators."""
    from reconcile.gaps import find_gaps

    con = connect(data.path)
    with tempfile.TemporaryDirectory() as scratch:
        proxy = ProfiledConnection(con, Path(scratch))
        started = time.perf_counter()
        find_gaps(proxy, data.workspace_id, AS_OF)  # type: ignore[arg-type]
        total = time.perf_counter() - started
    con.close()
    print(f"find_gaps: {total:.2f} s in all, of which the statements:\n")
    for name, seconds, tree in proxy.profiles:
        query = tree.get("query", {})
        print(
            f"## {name}: {seconds:.2f} s wall (DuckDB: {query.get('total_time', 0):.2f} s, "
            f"CPU {query.get('cpu_time', 0):.2f} s)"
        )
        operators = sorted(
            (op for root in tree.get("operator", []) for op in _operators({"children": [root]})),
            reverse=True,
        )
        for timing, _, kind, rows, what in operators[:top]:
            print(f"  {timing:6.2f} s  {kind:<22} {rows:>11,} rows  {what}")
        print()
    return 0


def report(
    data: Dataset,
    runs: Sequence[Measurement],
    found: pl.DataFrame,
    args: argparse.Namespace,
    problems: Sequence[str],
) -> dict[str, Any]:
    """Print the setting, the runs and the verdicts; return everything as one JSON object."""
    facts = {
        **machine(),
        "data set": f"{data.connections:,} channel connections, {data.settlements:,} "
        f"settlements, {data.lines:,} settlement lines, {data.events:,} connection events, "
        f"{data.ledger_entries:,} ledger entries, {data.postings:,} postings "
        f"(plus a second workspace with {data.other_settlements:,} settlements)",
        "file": f"{data.path} ({data.file_mb:,.0f} MB)"
        + (
            f", generated in {data.generate_seconds:.1f} s" if data.generate_seconds else ", cached"
        ),
        "as of": AS_OF.isoformat(),
        "gaps": f"{found.height:,}: {counts_by_kind(found)}",
    }
    print(*(f"- {key}: {value}" for key, value in facts.items()), sep="\n")
    print("", *table(runs), "", sep="\n")
    for problem in problems:
        print(f"- MISMATCH: {problem}")
    if not problems:
        print("- every run of both jobs found the same gaps (ids, windows, causes, estimates)")
    fast, slow, ratio, results = verdicts(runs)
    judged = args.scale == 1
    if judged:
        print(*(f"- {'met' if met else 'MISSED'}: {text}" for text, met in results), sep="\n")
    else:
        print(f"- ratio {ratio:.1f}x; targets not judged: they apply to the full size (--scale 1)")
    return {
        "facts": facts,
        "dataset": asdict(data),
        "runs": [asdict(m) for m in runs],
        "median_seconds": {"find_gaps": fast, "pandas": slow},
        "ratio": ratio,
        "targets": [{"target": t, "met": met} for t, met in results] if judged else None,
        "mismatches": list(problems),
    }


def run_all(args: argparse.Namespace, data: Dataset) -> int:
    """The measured runs, the comparison of their answers, the report; exit status."""
    with tempfile.TemporaryDirectory(prefix="gaps-bench-") as scratch:
        runs, answers = [], []
        for number, job in enumerate(schedule(args.runs, args.baseline_runs), start=1):
            print(f"run {number}: {job} ...", file=sys.stderr, flush=True)
            out = Path(scratch) / f"run{number}.parquet"
            runs.append(run_child(job, data, out))
            answers.append((job, pl.read_parquet(out)))
    first = next(frame for job, frame in answers if job == "find_gaps")
    baseline = next(frame for job, frame in answers if job == "pandas")
    problems = differences(first, baseline)
    problems += [
        f"run {n} ({job}) differs from the first find_gaps run: {p}"
        for n, (job, frame) in enumerate(answers, start=1)
        for p in differences(first, frame)[:3]
        if frame is not first and frame is not baseline
    ]
    result = report(data, runs, first, args, problems)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str))
    print(f"- figures written to {args.json}")
    missed = result["targets"] and not all(t["met"] for t in result["targets"])
    return 1 if problems or missed else 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    default_cache = Path(tempfile.gettempdir()) / "bench"
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 20,000 connections")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of find_gaps")
    parser.add_argument("--baseline-runs", type=int, default=3, help="measured pandas runs")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated data")
    parser.add_argument("--sync-every-days", type=float, default=7.0, help="sync schedule")
    parser.add_argument("--cache-dir", type=Path, default=default_cache, help="data set cache")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached data set")
    parser.add_argument("--json", type=Path, help="where to write the figures (JSON)")
    parser.add_argument("--profile", action="store_true", help="profile find_gaps' statements")
    parser.add_argument("--top", type=int, default=8, help="operators shown per statement")
    parser.add_argument("--child", choices=tuple(JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.runs, args.baseline_runs) < 1 or not 0 < args.scale <= 10:
        parser.error("run counts must be at least 1 and the scale in (0, 10]")
    if args.json is None:
        args.json = args.cache_dir / f"gaps-bench-scale{args.scale:g}.json"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a markdown report; exit 1 on a mismatch or missed target."""
    args = parse(argv)
    if args.child:
        return _child(args)
    data = dataset(args)
    if args.profile:
        return profile(data, args.top)
    return run_all(args, data)


if __name__ == "__main__":
    sys.exit(main())
