-- Each live connection's status as of $as_of, derived from its events and feeds; first match wins:
-- paused (every feed paused), disconnected (the latest break is later than the latest restore),
-- degraded (the latest sync attempt failed for a non-auth reason), expiring (a known grant expiry
-- within 14 days), connected. Events after $as_of are not yet known and are ignored.
WITH known AS (
    SELECT id, connection_id, "at", kind, error_class, detail
    FROM connection_events
    WHERE "at" <= $as_of::TIMESTAMPTZ
),
breaks AS (
    SELECT connection_id, "at",
           concat_ws(': ', error_class, coalesce(nullif(detail, ''), replace(kind, '_', ' ')))
               AS reason
    FROM known
    WHERE kind IN ('revoked', 'expired', 'refresh_failed', 'disconnected_by_user')
       OR (kind = 'sync_failed' AND error_class = 'auth')
    QUALIFY row_number() OVER (PARTITION BY connection_id ORDER BY "at" DESC, id DESC) = 1
),
restores AS (
    SELECT connection_id, max("at") AS "at"
    FROM known
    WHERE kind IN ('connected', 'reconnected', 'sync_succeeded')
    GROUP BY connection_id
),
attempts AS (
    SELECT connection_id, kind, error_class,
           concat_ws(': ', error_class, coalesce(nullif(detail, ''), replace(kind, '_', ' ')))
               AS reason
    FROM known
    WHERE kind IN ('sync_succeeded', 'sync_failed')
    QUALIFY row_number() OVER (PARTITION BY connection_id ORDER BY "at" DESC, id DESC) = 1
),
pauses AS (
    SELECT connection_id, nullif(detail, '') AS reason
    FROM known
    WHERE kind = 'feed_paused'
    QUALIFY row_number() OVER (PARTITION BY connection_id ORDER BY "at" DESC, id DESC) = 1
),
sync_times AS (
    SELECT connection_id,
           max("at") FILTER (WHERE kind = 'sync_succeeded') AS last_sync_at,
           max("at") FILTER (WHERE kind IN ('sync_started', 'sync_succeeded', 'sync_failed'))
               AS last_attempt_at
    FROM known
    GROUP BY connection_id
),
feed_states AS (
    SELECT connection_id, bool_and(paused) AS all_paused
    FROM feeds
    GROUP BY connection_id
),
judged AS (
    SELECT c.id, w.name AS workspace, c.name, c.provider, c.kind, c.grant_expires_at,
           t.last_sync_at, t.last_attempt_at, b.reason AS break_reason,
           a.reason AS attempt_reason, coalesce(p.reason, 'every feed is paused') AS pause_reason,
           CASE
               WHEN coalesce(f.all_paused, false) THEN 'paused'
               WHEN b."at" > coalesce(r."at", '-infinity'::TIMESTAMPTZ) THEN 'disconnected'
               WHEN a.kind = 'sync_failed' AND a.error_class IS DISTINCT FROM 'auth' THEN 'degraded'
               WHEN c.grant_expires_at <= $as_of::TIMESTAMPTZ + INTERVAL 14 DAY THEN 'expiring'
               ELSE 'connected'
           END AS status
    FROM connections AS c
    JOIN workspaces AS w ON w.id = c.workspace_id
    LEFT JOIN breaks AS b ON b.connection_id = c.id
    LEFT JOIN restores AS r ON r.connection_id = c.id
    LEFT JOIN attempts AS a ON a.connection_id = c.id
    LEFT JOIN pauses AS p ON p.connection_id = c.id
    LEFT JOIN sync_times AS t ON t.connection_id = c.id
    LEFT JOIN feed_states AS f ON f.connection_id = c.id
    WHERE c.removed_at IS NULL
      AND ($workspace_id::VARCHAR IS NULL OR c.workspace_id = $workspace_id)
)
SELECT id, workspace, name, provider, kind, status,
       CASE status
           WHEN 'paused' THEN pause_reason
           WHEN 'disconnected' THEN break_reason
           WHEN 'degraded' THEN attempt_reason
           WHEN 'expiring' THEN 're-authorisation due ' || strftime(grant_expires_at, '%Y-%m-%d')
           ELSE ''
       END AS status_reason,
       last_sync_at, last_attempt_at, grant_expires_at
FROM judged
ORDER BY workspace, name
