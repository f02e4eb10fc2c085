-- Each live connection's status as of $as_of, derived from its events and feeds; first match wins:
-- paused (every feed paused), disconnected (the latest break comes after the latest restore),
-- degraded (the latest sync attempt of some running feed failed for a non-auth reason), expiring
-- (a known grant expiry within 14 days), connected (its reason is NULL). Events after $as_of are
-- not yet known and are ignored. Events order by ("at", id): a simulated clock records several
-- at one instant, and id is the order they were recorded in.
WITH known AS (
    SELECT id, connection_id, feed, "at", kind, error_class, detail,
           concat_ws(': ', error_class, coalesce(nullif(detail, ''), replace(kind, '_', ' ')))
               AS reason
    FROM connection_events
    WHERE "at" <= $as_of::TIMESTAMPTZ
),
-- Auth failures break the whole connection, whichever feed saw them: the feeds share the token.
breaks AS (
    SELECT connection_id, "at", id, reason
    FROM known
    WHERE kind IN ('revoked', 'expired', 'refresh_failed', 'disconnected_by_user')
       OR (kind = 'sync_failed' AND error_class = 'auth')
    QUALIFY row_number() OVER (PARTITION BY connection_id ORDER BY "at" DESC, id DESC) = 1
),
restores AS (
    SELECT connection_id, "at", id
    FROM known
    WHERE kind IN ('connected', 'reconnected', 'sync_succeeded')
    QUALIFY row_number() OVER (PARTITION BY connection_id ORDER BY "at" DESC, id DESC) = 1
),
latest_attempts AS (
    SELECT k.connection_id, k.feed, k."at", k.id, k.kind, k.error_class, k.reason
    FROM known AS k
    LEFT JOIN feeds AS f ON f.connection_id = k.connection_id AND f.name = k.feed
    WHERE k.kind IN ('sync_succeeded', 'sync_failed') AND NOT coalesce(f.paused, false)
    QUALIFY row_number() OVER (
        PARTITION BY k.connection_id, k.feed ORDER BY k."at" DESC, k.id DESC
    ) = 1
),
degradations AS (
    SELECT connection_id, reason
    FROM latest_attempts
    WHERE kind = 'sync_failed' AND error_class IS DISTINCT FROM 'auth'
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
           d.reason AS degraded_reason, coalesce(p.reason, 'every feed is paused') AS pause_reason,
           CASE
               WHEN coalesce(f.all_paused, false) THEN 'paused'
               WHEN b.id IS NOT NULL
                    AND (r.id IS NULL OR b."at" > r."at" OR (b."at" = r."at" AND b.id > r.id))
                   THEN 'disconnected'
               WHEN d.reason IS NOT NULL THEN 'degraded'
               WHEN c.grant_expires_at <= $as_of::TIMESTAMPTZ + INTERVAL 14 DAY THEN 'expiring'
               ELSE 'connected'
           END AS status
    FROM connections AS c
    JOIN workspaces AS w ON w.id = c.workspace_id
    LEFT JOIN breaks AS b ON b.connection_id = c.id
    LEFT JOIN restores AS r ON r.connection_id = c.id
    LEFT JOIN degradations AS d ON d.connection_id = c.id
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
           WHEN 'degraded' THEN degraded_reason
           WHEN 'expiring' THEN 're-authorisation due ' || strftime(grant_expires_at, '%Y-%m-%d')
       END AS status_reason,
       last_sync_at, last_attempt_at, grant_expires_at
FROM judged
ORDER BY workspace, name
