-- Coverage and overdue gaps of the live channel connections of $workspace_id as of $as_of,
-- without their cause (reconcile.gaps adds it from the health intervals). Reads two registered
-- relations: provider_rules (reconcile.providers) and gap_cadences (connection_id, cadence_us,
-- cadence_source). All durations are compared in microseconds.
WITH scope AS (
    SELECT c.id AS connection_id, c.name AS connection, c.provider, c.created_at,
           coalesce(epoch_us(r.coverage_tolerance), 86400000000) AS tolerance_us,
           coalesce(epoch_us(r.overdue_grace), 3 * 86400000000) AS grace_us,
           epoch_us(r.horizon) AS horizon_us, r.earliest, epoch_us(r.file_retention) AS retention_us,
           r.manual_step, r.manual_step_expired, k.cadence_us, k.cadence_source,
           CASE WHEN regexp_full_match(c.name, '[A-Za-z0-9_.@%+=:,/-]+') THEN c.name
                ELSE '''' || replace(c.name, '''', '''"''"''') || '''' END AS quoted_name
    FROM connections AS c
    LEFT JOIN provider_rules AS r ON r.provider = lower(c.provider)
    LEFT JOIN gap_cadences AS k ON k.connection_id = c.id
    WHERE c.removed_at IS NULL AND c.kind = 'channel' AND c.workspace_id = $workspace_id
),
known AS (
    SELECT s.id, s.connection_id, s.provider_settlement_id, s.period_start, s.period_end,
           s.status, s.currency, s.net
    FROM settlements AS s
    JOIN scope USING (connection_id)
    WHERE s.period_start <= $as_of::TIMESTAMPTZ
),
-- Periods may overlap: a hole opens after the furthest end seen so far, not the previous one.
-- Only closed settlements cover time, but an open one already closes the hole before it.
closed AS (
    SELECT connection_id, id, period_start, period_end,
           max(CASE WHEN status = 'closed' THEN period_end END) OVER (
               PARTITION BY connection_id ORDER BY period_start, period_end, id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_until
    FROM known
),
-- Materialized: the few holes are found before the settlements around them are joined in
-- (inlined, the optimizer would join every settlement to its own row first).
opened AS MATERIALIZED (
    SELECT h.*
    FROM closed AS h
    JOIN scope USING (connection_id)
    WHERE epoch_us(h.period_start) - epoch_us(h.covered_until) > scope.tolerance_us
),
-- Named after the settlement before the hole (of the closed ones ending where it starts, the
-- last in order) and the one after it: looked up for the holes alone, which is cheaper than
-- carrying an arg_max over every settlement's window frame.
holes AS (
    SELECT 'coverage' AS kind, h.connection_id, h.covered_until AS start, h.period_start AS "end",
           'between settlements ' || arg_max(b.provider_settlement_id, (b.period_start, b.id))
               || ' and ' || any_value(a.provider_settlement_id) AS around
    FROM opened AS h
    JOIN known AS a ON a.id = h.id
    JOIN known AS b
      ON b.connection_id = h.connection_id AND b.period_end = h.covered_until
    WHERE b.status = 'closed'
      AND (b.period_start, b.period_end, b.id) < (h.period_start, h.period_end, h.id)
    GROUP BY h.connection_id, h.id, h.covered_until, h.period_start
),
latest AS (
    SELECT connection_id,
           greatest(max(period_end) FILTER (WHERE status = 'closed'),
                    max(period_start) FILTER (WHERE status = 'open')) AS latest
    FROM known
    GROUP BY connection_id
),
stalls AS (
    SELECT 'overdue' AS kind, s.connection_id, coalesce(l.latest, s.created_at) AS start,
           $as_of::TIMESTAMPTZ AS "end",
           CASE WHEN l.latest IS NULL THEN 'since the connection was added' END AS around
    FROM scope AS s
    LEFT JOIN latest AS l USING (connection_id)
    WHERE epoch_us($as_of::TIMESTAMPTZ) - epoch_us(coalesce(l.latest, s.created_at))
          > s.cadence_us + s.grace_us
),
windows AS (
    SELECT w.*, s.connection, s.provider, s.cadence_us, s.cadence_source, s.grace_us,
           s.horizon_us, s.earliest, s.retention_us, s.manual_step, s.manual_step_expired,
           s.quoted_name, epoch_us(w."end") - epoch_us(w.start) AS length_us,
           CASE
               WHEN s.cadence_us IS NULL OR s.cadence_us <= 0 THEN NULL
               WHEN w.kind = 'coverage' THEN greatest(1, round((epoch_us(w."end")
                                                                - epoch_us(w.start)) / s.cadence_us))
               ELSE greatest(1, floor((epoch_us(w."end") - epoch_us(w.start)) / s.cadence_us))
           END::BIGINT AS expected_settlements,
           strftime(w.start, '%Y-%m-%d') || ' to ' || strftime(w."end", '%Y-%m-%d') AS window_text
    FROM (SELECT * FROM holes UNION ALL SELECT * FROM stalls) AS w
    JOIN scope AS s USING (connection_id)
),
medians AS (
    SELECT connection_id, list({'currency': currency, 'median': net} ORDER BY currency) AS nets
    FROM (
        SELECT connection_id, currency, median(net) AS net
        FROM known
        WHERE status = 'closed'
        GROUP BY connection_id, currency
    )
    GROUP BY connection_id
),
judged AS (
    SELECT w.*, m.nets,
           (w.horizon_us IS NULL OR epoch_us(w.start) >= epoch_us($as_of::TIMESTAMPTZ) - w.horizon_us)
           AND (w.earliest IS NULL OR w.start >= w.earliest::TIMESTAMPTZ) AS recoverable,
           w.retention_us IS NOT NULL AND w.manual_step_expired IS NOT NULL
           AND epoch_us(w.start) < epoch_us($as_of::TIMESTAMPTZ) - w.retention_us AS file_expired,
           regexp_replace(round(w.length_us / 86400000000, 1)::VARCHAR, '\.0$', '') AS days
    FROM windows AS w
    LEFT JOIN medians AS m USING (connection_id)
)
SELECT 'gap_' || left(sha256(kind || chr(31) || connection_id || chr(31) || epoch_us(start)::VARCHAR
           || CASE kind WHEN 'coverage' THEN '/' || epoch_us("end")::VARCHAR ELSE '' END), 16) AS id,
       kind, connection_id, connection, provider, start, "end", expected_settlements,
       CASE WHEN expected_settlements IS NULL OR nets IS NULL
           THEN []::STRUCT(currency VARCHAR, amount DECIMAL(18, 4))[]
           ELSE list_transform(nets, lambda x: {'currency': x.currency,
                   'amount': (x.median * expected_settlements)::DECIMAL(18, 4)})
       END AS estimate,
       recoverable,
       CASE WHEN NOT recoverable THEN replace(replace(
           CASE WHEN file_expired THEN manual_step_expired ELSE manual_step END,
           '{window}', window_text), '{connection}', quoted_name)
       END AS manual_step,
       NULL::VARCHAR AS settlement_id,
       CASE kind
           WHEN 'coverage' THEN 'No settlement covers ' || window_text || ' (' || days || ' days, '
               || around || ')' || coalesce(': about ' || expected_settlements || ' missing', '')
               || '.'
           ELSE 'No settlement ' || coalesce(around || ' on ' || strftime(start, '%Y-%m-%d'),
                                             'since ' || strftime(start, '%Y-%m-%d'))
               || ' (' || days || ' days), longer than the ' || cadence_source || ' cadence of '
               || regexp_replace(round(cadence_us / 86400000000, 1)::VARCHAR, '\.0$', '')
               || ' days plus '
               || regexp_replace(round(grace_us / 86400000000, 1)::VARCHAR, '\.0$', '')
               || ' days of grace: the connection may have stalled.'
       END AS detail
FROM judged
