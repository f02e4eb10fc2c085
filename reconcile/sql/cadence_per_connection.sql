-- The expected settlement rhythm of each live channel connection of $workspace_id, and where it
-- comes from: the provider's schedule when its connector stored one in the connection's config
-- (`settlement_cadence_days`) -> 'provider'; else the median length of the connection's last 12
-- settlements closed by $as_of, when there are at least 3 -> 'history' (a median: one odd period
-- does not move it); else the provider's default from `provider_rules` -> 'default'. A provider
-- the table lacks, without history, has no cadence (NULL, source NULL). Cadences in microseconds.
WITH scope AS (
    SELECT c.id AS connection_id, epoch_us(r.default_cadence) AS default_us,
           try_cast(json_extract_string(c.config, '$.settlement_cadence_days') AS DOUBLE)
               AS scheduled_days
    FROM connections AS c
    LEFT JOIN provider_rules AS r ON r.provider = lower(c.provider)
    WHERE c.removed_at IS NULL AND c.kind = 'channel' AND c.workspace_id = $workspace_id
),
-- The last 12 by (period_start, id) with the top-N aggregate: cheaper than ranking every
-- settlement with a window.
history AS (
    SELECT connection_id, round(list_aggregate(lengths, 'median'))::BIGINT AS cadence_us
    FROM (
        SELECT s.connection_id,
               arg_max(epoch_us(s.period_end) - epoch_us(s.period_start),
                       {'start': s.period_start, 'id': s.id}, 12) AS lengths
        FROM settlements AS s
        JOIN scope USING (connection_id)
        WHERE s.status = 'closed' AND s.period_end <= $as_of::TIMESTAMPTZ
        GROUP BY s.connection_id
    )
    WHERE len(lengths) >= 3
)
SELECT s.connection_id,
       CASE
           WHEN s.scheduled_days > 0
               THEN round(s.scheduled_days * 86400000000)::BIGINT
           WHEN h.cadence_us IS NOT NULL THEN h.cadence_us
           ELSE s.default_us
       END AS cadence_us,
       CASE
           WHEN s.scheduled_days > 0 THEN 'provider'
           WHEN h.cadence_us IS NOT NULL THEN 'history'
           WHEN s.default_us IS NOT NULL THEN 'default'
       END AS source
FROM scope AS s
LEFT JOIN history AS h USING (connection_id)
ORDER BY s.connection_id
