UPDATE connections
SET grant_expires_at = $grant_expires_at
WHERE id = $connection_id
RETURNING id
