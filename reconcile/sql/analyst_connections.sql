-- The connections of $workspace_id (removed ones included), oldest first: v_connections before
-- status and cadence are joined on.
SELECT id AS connection_id, name AS connection, provider, kind, region, created_at, removed_at
FROM connections
WHERE workspace_id = $workspace_id
ORDER BY created_at, id
