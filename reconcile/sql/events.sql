SELECT e.connection_id, c.name AS connection, e."at" AS "at", e.kind, e.feed, e.error_class,
       e.http_status, e.request_id, e.detail, e.counts
FROM connection_events AS e
JOIN connections AS c ON c.id = e.connection_id
WHERE ($connection_id::VARCHAR IS NULL OR e.connection_id = $connection_id)
  AND ($workspace_id::VARCHAR IS NULL OR c.workspace_id = $workspace_id)
ORDER BY e."at", e.id
