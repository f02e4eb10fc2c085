-- Ledger-side gaps of $workspace_id: unposted, amount_mismatch, duplicate_posting and
-- possible_duplicate, from the live (not VOIDED / DELETED) entries of its live ledger
-- connections. An entry belongs to the settlement its settlement_id names (stored from its
-- reference by reconcile.rows); ACCPAY entries count negative, others positive.
-- Returns the gap columns except `detail`, plus the facts reconcile.gaps words it from.
WITH channels AS (
    SELECT id AS connection_id, name AS connection, provider
    FROM connections
    WHERE removed_at IS NULL AND kind = 'channel' AND workspace_id = $workspace_id
),
ledger AS (
    SELECT id AS connection_id, name AS connection, provider
    FROM connections
    WHERE removed_at IS NULL AND kind = 'ledger' AND workspace_id = $workspace_id
    QUALIFY row_number() OVER (ORDER BY created_at, id) = 1
),
ledgers AS (
    SELECT id FROM connections
    WHERE removed_at IS NULL AND kind = 'ledger' AND workspace_id = $workspace_id
),
-- Read once: the possible duplicates compare every live entry.
live AS MATERIALIZED (
    SELECT e.connection_id AS ledger_id, e.object_id, e.reference, e.currency, e.total, e.date,
           e.settlement_id AS named,
           CASE WHEN e.object_type = 'ACCPAY' THEN -e.total ELSE e.total END AS signed
    FROM ledger_entries AS e
    WHERE e.status NOT IN ('VOIDED', 'DELETED') AND e.connection_id IN (SELECT id FROM ledgers)
),
-- Not materialized: only the judging reads every settlement; the other readers take a few.
stl AS NOT MATERIALIZED (
    SELECT s.id, s.connection_id, c.connection, c.provider, s.provider_settlement_id,
           s.period_start, coalesce(s.period_end, $as_of::TIMESTAMPTZ) AS period_end,
           s.status, s.currency, s.net
    FROM settlements AS s
    JOIN channels AS c USING (connection_id)
    WHERE s.period_start <= $as_of::TIMESTAMPTZ
),
-- Per settlement and ledger connection, its live entries summarised at write time
-- (ledger_summary, kept by reconcile.rows): no grouping of every entry on every call.
summary AS NOT MATERIALIZED (
    SELECT settlement_id AS named, entries, refs, posted, currency_low, currency_high, currencies,
           repeats
    FROM ledger_summary
    WHERE connection_id IN (SELECT id FROM ledgers)
),
-- A settlement named in more than one ledger connection of the workspace is pooled from its
-- entries instead; with a single ledger connection there is none to look for.
spread AS (
    SELECT named
    FROM summary
    WHERE (SELECT count(*) FROM ledgers) > 1
    GROUP BY named
    HAVING count(*) > 1
),
-- The live entries of the settlements where a reference may repeat: those the summary lists
-- (it keeps them where a reference repeats within one ledger), and those of spread settlements.
suspects AS MATERIALIZED (
    SELECT named, item.object_id, item.reference, item.signed, item.currency, item."date"
    FROM (SELECT named, unnest(repeats) AS item FROM summary WHERE repeats IS NOT NULL)
    WHERE named NOT IN (SELECT named FROM spread)
    UNION ALL
    SELECT named, object_id, reference, signed, currency, date
    FROM live
    WHERE (SELECT count(*) FROM ledgers) > 1 AND named IN (SELECT named FROM spread)
),
-- One row per distinct reference of those: its entries and the one with the smallest object id.
refs AS (
    SELECT reference, any_value(named) AS named, count(*) AS entries, min(object_id) AS first_id,
           arg_min(signed, object_id) AS signed, arg_min(currency, object_id) AS currency,
           min(date) AS first_date, max(date) AS last_date
    FROM suspects
    GROUP BY reference
),
-- Spread settlements: what their entries add up to over every ledger, one per reference.
pooled AS (
    SELECT r.named, sum(r.signed) AS posted, min(r.currency) AS currency_low,
           max(r.currency) AS currency_high, any_value(c.currencies) AS currencies
    FROM refs AS r
    JOIN (
        SELECT named, string_agg(DISTINCT currency, ', ' ORDER BY currency) AS currencies
        FROM suspects
        WHERE named IN (SELECT named FROM spread)
        GROUP BY named
    ) AS c USING (named)
    GROUP BY r.named
),
-- Unposted (no live entry names it) or mismatched, in one pass over the settlements; a spread
-- settlement is judged on its pooled sums instead of per ledger.
judged AS (
    SELECT *
    FROM (
        SELECT s.*, p.named, p.posted, p.currency_low AS posted_currency,
               p.currency_high AS other, p.currencies
        FROM stl AS s
        LEFT JOIN summary AS p ON p.named = s.id
        WHERE (p.named IS NULL AND s.status = 'closed' AND EXISTS (SELECT 1 FROM ledger))
           OR p.currency_low <> s.currency OR p.currency_high <> s.currency OR p.posted <> s.net
    )
    WHERE named IS NULL OR named NOT IN (SELECT named FROM spread)
    UNION ALL
    SELECT s.*, p.named, p.posted, p.currency_low, p.currency_high, p.currencies
    FROM stl AS s
    JOIN pooled AS p ON p.named = s.id
    WHERE p.currency_low <> s.currency OR p.currency_high <> s.currency OR p.posted <> s.net
),
-- The latest posting row, looked up only for the settlements reported.
latest_posting AS (
    SELECT settlement_id, state
    FROM postings
    WHERE settlement_id IN (SELECT id FROM judged)
    QUALIFY row_number() OVER (
        PARTITION BY settlement_id ORDER BY updated_at DESC, created_at DESC, id DESC) = 1
),
unposted AS (
    SELECT 'unposted' AS kind, s.connection_id, s.connection, s.provider, s.period_start AS start,
           s.period_end AS "end", s.id AS settlement_id, s.id AS key, s.currency,
           s.net AS amount, s.net, NULL::DECIMAL(18, 4) AS posted, s.provider_settlement_id,
           coalesce(p.state, 'unposted') AS posting_state, NULL::VARCHAR AS reference,
           NULL::VARCHAR[] AS object_ids, NULL::VARCHAR AS ledger_currencies
    FROM judged AS s
    LEFT JOIN latest_posting AS p ON p.settlement_id = s.id
    WHERE s.named IS NULL
),
mismatched AS (
    SELECT 'amount_mismatch', s.connection_id, s.connection, s.provider, s.period_start,
           s.period_end, s.id, s.id, s.currency,
           CASE WHEN s.posted_currency = s.currency AND s.other = s.currency THEN s.net - s.posted END,
           s.net, CASE WHEN s.posted_currency = s.currency AND s.other = s.currency THEN s.posted END,
           s.provider_settlement_id, coalesce(lp.state, 'unposted'), NULL, NULL,
           CASE WHEN s.posted_currency <> s.other THEN s.currencies ELSE s.posted_currency END
    FROM judged AS s
    LEFT JOIN latest_posting AS lp ON lp.settlement_id = s.id
    WHERE s.named IS NOT NULL
),
duplicated AS (
    SELECT 'duplicate_posting', coalesce(s.connection_id, l.connection_id),
           coalesce(s.connection, l.connection), coalesce(s.provider, l.provider),
           coalesce(s.period_start, r.first_date::TIMESTAMPTZ),
           coalesce(s.period_end, (r.last_date + 1)::TIMESTAMPTZ), s.id, r.reference, r.currency,
           d.extra, s.net, NULL, coalesce(s.provider_settlement_id, r.named), NULL, r.reference,
           d.object_ids, NULL
    FROM refs AS r
    JOIN (
        SELECT e.reference, list(e.object_id ORDER BY e.object_id) AS object_ids,
               sum(e.signed) FILTER (WHERE e.object_id <> d.first_id AND e.currency = d.currency)
                   AS extra
        FROM suspects AS e
        JOIN refs AS d ON d.reference = e.reference AND d.entries > 1
        GROUP BY e.reference
    ) AS d ON d.reference = r.reference
    CROSS JOIN ledger AS l
    LEFT JOIN stl AS s ON s.id = r.named
),
unreferenced AS (
    SELECT * FROM live WHERE named IS NULL AND date IS NOT NULL
),
-- Each unreferenced entry with its matches, both sides kept, so clustering needs no rescan.
pairs AS (
    SELECT u.ledger_id, u.currency, u.total, u.object_id AS a, u.date AS a_date,
           u.named AS a_named, e.object_id AS b, e.date AS b_date, e.named AS b_named
    FROM unreferenced AS u
    JOIN live AS e
      ON e.ledger_id = u.ledger_id AND e.currency = u.currency AND e.total = u.total
     AND e.object_id <> u.object_id AND e.date BETWEEN u.date - 3 AND u.date + 3
),
involved AS (
    SELECT *,
           CASE WHEN date - lag(date) OVER w > 3 THEN 1 ELSE 0 END AS breaks
    FROM (
        SELECT ledger_id, currency, total, a AS object_id, a_date AS date, a_named AS named
        FROM pairs
        UNION
        SELECT ledger_id, currency, total, b, b_date, b_named FROM pairs
    )
    WINDOW w AS (PARTITION BY ledger_id, currency, total ORDER BY date, object_id)
),
clusters AS (
    SELECT *, sum(breaks) OVER (
        PARTITION BY ledger_id, currency, total ORDER BY date, object_id) AS cluster
    FROM involved
),
possible AS (
    SELECT 'possible_duplicate', coalesce(arg_min(s.connection_id, c.object_id), l.connection_id),
           coalesce(arg_min(s.connection, c.object_id), l.connection),
           coalesce(arg_min(s.provider, c.object_id), l.provider),
           min(c.date)::TIMESTAMPTZ, (max(c.date) + 1)::TIMESTAMPTZ,
           NULL, array_to_string(list(c.object_id ORDER BY c.object_id), ','), c.currency,
           c.total * (count(*) - 1), c.total, NULL, NULL, NULL, NULL,
           list(c.object_id ORDER BY c.object_id), NULL
    FROM clusters AS c
    CROSS JOIN ledger AS l
    LEFT JOIN stl AS s ON s.id = c.named
    GROUP BY c.ledger_id, c.currency, c.total, c.cluster, l.connection_id, l.connection,
             l.provider
),
found AS (
    SELECT * FROM unposted
    UNION ALL SELECT * FROM mismatched
    UNION ALL SELECT * FROM duplicated
    UNION ALL SELECT * FROM possible
)
SELECT 'gap_' || left(sha256(kind || chr(31) || connection_id || chr(31) || key), 16) AS id,
       kind, connection_id, connection, provider, start, "end",
       NULL::BIGINT AS expected_settlements,
       CASE WHEN amount IS NULL THEN []::STRUCT(currency VARCHAR, amount DECIMAL(18, 4))[]
            ELSE [{'currency': currency, 'amount': amount::DECIMAL(18, 4)}]
       END AS estimate,
       'unknown' AS cause,
       []::STRUCT("start" TIMESTAMPTZ, "end" TIMESTAMPTZ, reason VARCHAR)[] AS cause_windows,
       NULL::BOOLEAN AS recoverable, NULL::VARCHAR AS manual_step, settlement_id,
       currency, net, posted, provider_settlement_id, posting_state, reference, object_ids,
       ledger_currencies
FROM found
