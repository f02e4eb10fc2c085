-- v_connection_events: the event log of $workspace_id's connections, oldest first (the raw
-- payload kept for support stays out).
SELECT e.id AS event_id, e.connection_id, c.name AS connection, c.provider, e."at" AS "at",
       e.kind, e.feed, e.error_class, e.http_status, e.request_id, e.detail,
       CAST(e.counts AS VARCHAR) AS counts
FROM connection_events AS e
JOIN connections AS c ON c.id = e.connection_id
WHERE c.workspace_id = $workspace_id
ORDER BY e."at", e.id
