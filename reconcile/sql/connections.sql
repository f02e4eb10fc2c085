-- Live (not removed) connections, oldest first.
SELECT id, workspace_id, provider, name, kind, region, config, created_at
FROM connections
WHERE removed_at IS NULL
  AND ($workspace_id::VARCHAR IS NULL OR workspace_id = $workspace_id)
ORDER BY created_at, id
