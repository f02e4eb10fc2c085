UPDATE feeds
SET paused = $paused
WHERE connection_id = $connection_id AND name = $feed
RETURNING name
