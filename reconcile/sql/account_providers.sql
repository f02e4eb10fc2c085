-- The providers of a workspace's live channel connections.
SELECT DISTINCT provider
FROM connections
WHERE workspace_id = $workspace_id AND kind = 'channel' AND removed_at IS NULL
ORDER BY provider
