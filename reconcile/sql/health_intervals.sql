-- Each live connection's health as consecutive intervals up to $as_of, with the state rules of
-- connection_status.sql applied after every event: paused (every feed paused), disconnected
-- (the latest break comes after the latest restore), degraded (the latest sync attempt of some
-- running feed failed for a non-auth reason), expiring (a known grant expiry within 14 days),
-- connected. Events order by ("at", id). The timeline starts at the connection's creation (or
-- its first event, if earlier) and gains a tick where the grant comes within 14 days of expiry.
-- A feed is paused after a feed_paused event for it (feed NULL: every feed) until feed_resumed;
-- a feed without such events keeps its current flag throughout. An interval's reason (and
-- error class) is the one its state had when it began.
WITH scope AS (
    SELECT id AS connection_id, name AS connection, provider, created_at, grant_expires_at
    FROM connections
    WHERE removed_at IS NULL
      AND workspace_id = $workspace_id
      AND ($connection_ids::VARCHAR[] IS NULL OR list_contains($connection_ids, id))
),
relevant AS (
    SELECT e.connection_id, e.id, e."at", e.kind, e.feed, e.error_class,
           concat_ws(': ', e.error_class, coalesce(nullif(e.detail, ''), replace(e.kind, '_', ' ')))
               AS reason,
           nullif(e.detail, '') AS detail
    FROM connection_events AS e
    JOIN scope AS s USING (connection_id)
    WHERE e."at" <= $as_of::TIMESTAMPTZ
      AND e.kind IN ('revoked', 'expired', 'refresh_failed', 'disconnected_by_user', 'connected',
                     'reconnected', 'sync_succeeded', 'sync_failed', 'feed_paused', 'feed_resumed')
),
-- An event just like the connection's previous one changes nothing: skip it (most are
-- repeated successful syncs). Restores and resumes are alike whatever their detail says.
-- Events compare by a 64-bit hash of their connection and what matters in them, in one global
-- order: over millions of events that is cheaper than a partitioned window.
ticks AS (
    SELECT connection_id, id, "at", kind, feed, error_class, reason, detail
    FROM (
        SELECT *,
               hash(connection_id, kind, feed, error_class,
                    CASE WHEN kind NOT IN ('connected', 'reconnected', 'sync_succeeded',
                                           'feed_resumed') THEN reason END) AS signature
        FROM relevant
        -- restores change nothing on a connection that never had anything else
        WHERE connection_id IN (
            SELECT connection_id FROM relevant
            WHERE kind NOT IN ('connected', 'reconnected', 'sync_succeeded'))
    )
    QUALIFY signature IS DISTINCT FROM lag(signature) OVER (ORDER BY connection_id, "at", id)
    UNION ALL
    SELECT connection_id, -1, created_at, 'opened', NULL, NULL, NULL, NULL
    FROM scope
    WHERE created_at <= $as_of::TIMESTAMPTZ
    UNION ALL
    SELECT connection_id, 0, grant_expires_at - INTERVAL 14 DAY, 'expiry_due', NULL, NULL, NULL, NULL
    FROM scope
    WHERE grant_expires_at - INTERVAL 14 DAY BETWEEN created_at AND $as_of::TIMESTAMPTZ
),
ordered AS (
    SELECT *,
           row_number() OVER (PARTITION BY connection_id ORDER BY "at", id) AS seq,
           kind IN ('revoked', 'expired', 'refresh_failed', 'disconnected_by_user')
               OR (kind = 'sync_failed' AND error_class = 'auth') AS is_break,
           kind IN ('connected', 'reconnected', 'sync_succeeded') AS is_restore
    FROM ticks
),
running AS (
    SELECT *,
           max(CASE WHEN is_break THEN seq END) OVER w AS break_seq,
           max(CASE WHEN is_restore THEN seq END) OVER w AS restore_seq,
           last_value(CASE WHEN is_break THEN {'reason': reason, 'error_class': error_class} END
               IGNORE NULLS) OVER w AS last_break,
           last_value(CASE WHEN kind = 'feed_paused' THEN {'detail': detail} END IGNORE NULLS)
               OVER w AS last_pause
    FROM ordered
    WINDOW w AS (PARTITION BY connection_id ORDER BY seq ROWS UNBOUNDED PRECEDING)
),
-- The feeds a connection has, plus every feed its sync attempts named (NULL included).
feed_keys AS (
    SELECT connection_id, name AS feed, true AS listed, paused AS paused_now
    FROM feeds
    WHERE connection_id IN (SELECT connection_id FROM scope)
    UNION
    SELECT connection_id, feed, false, false
    FROM ordered
    WHERE kind IN ('sync_succeeded', 'sync_failed')
      AND NOT EXISTS (
          SELECT 1 FROM feeds AS f WHERE f.connection_id = ordered.connection_id AND f.name = ordered.feed
      )
),
per_feed AS (
    SELECT o.connection_id, o.seq, k.feed, k.listed, k.paused_now,
           CASE WHEN o.kind IN ('sync_succeeded', 'sync_failed') AND o.feed IS NOT DISTINCT FROM k.feed
               THEN {'failing': o.kind = 'sync_failed' AND o.error_class IS DISTINCT FROM 'auth',
                     'seq': o.seq, 'reason': o.reason, 'error_class': o.error_class}
           END AS attempt,
           CASE WHEN k.listed AND o.kind IN ('feed_paused', 'feed_resumed')
                     AND (o.feed IS NULL OR o.feed = k.feed)
               THEN o.kind = 'feed_paused'
           END AS pause_mark
    FROM ordered AS o
    JOIN feed_keys AS k ON k.connection_id = o.connection_id
),
feed_running AS (
    SELECT connection_id, seq, listed,
           last_value(attempt IGNORE NULLS) OVER w AS attempt,
           coalesce(
               last_value(pause_mark IGNORE NULLS) OVER w,
               CASE WHEN count(pause_mark) OVER (PARTITION BY connection_id, feed) = 0
                   THEN paused_now ELSE false END
           ) AS paused
    FROM per_feed
    WINDOW w AS (PARTITION BY connection_id, feed ORDER BY seq ROWS UNBOUNDED PRECEDING)
),
feed_state AS (
    SELECT connection_id, seq,
           coalesce(bool_and(paused) FILTER (WHERE listed), false) AS all_paused,
           arg_max(attempt, attempt.seq) FILTER (WHERE attempt.failing AND NOT paused) AS failure
    FROM feed_running
    GROUP BY connection_id, seq
),
judged AS (
    SELECT r.connection_id, r."at", r.seq,
           CASE
               WHEN coalesce(f.all_paused, false) THEN 'paused'
               WHEN r.break_seq IS NOT NULL AND (r.restore_seq IS NULL OR r.break_seq > r.restore_seq)
                   THEN 'disconnected'
               WHEN f.failure IS NOT NULL THEN 'degraded'
               WHEN s.grant_expires_at <= r."at" + INTERVAL 14 DAY THEN 'expiring'
               ELSE 'connected'
           END AS state,
           r.last_break, r.last_pause, f.failure, s.grant_expires_at
    FROM running AS r
    JOIN scope AS s USING (connection_id)
    LEFT JOIN feed_state AS f ON f.connection_id = r.connection_id AND f.seq = r.seq
    -- the state at an instant is the one after its last event
    QUALIFY row_number() OVER (PARTITION BY r.connection_id, r."at" ORDER BY r.seq DESC) = 1
),
changes AS (
    SELECT *,
           CASE state
               WHEN 'paused' THEN coalesce(last_pause.detail, 'every feed is paused')
               WHEN 'disconnected' THEN last_break.reason
               WHEN 'degraded' THEN failure.reason
               WHEN 'expiring' THEN 're-authorisation due ' || strftime(grant_expires_at, '%Y-%m-%d')
           END AS reason,
           CASE state
               WHEN 'disconnected' THEN last_break.error_class
               WHEN 'degraded' THEN failure.error_class
           END AS error_class
    FROM judged
    QUALIFY state IS DISTINCT FROM lag(state) OVER (PARTITION BY connection_id ORDER BY seq)
)
SELECT c.connection_id, s.connection, s.provider, c.state, c."at" AS start,
       coalesce(lead(c."at") OVER (PARTITION BY c.connection_id ORDER BY c.seq),
                $as_of::TIMESTAMPTZ) AS "end",
       c.reason, c.error_class
FROM changes AS c
JOIN scope AS s USING (connection_id)
ORDER BY s.connection, c.connection_id, start
