UPDATE connections
SET removed_at = $removed_at
WHERE id = $connection_id AND removed_at IS NULL
RETURNING id
