-- A cursor only moves forward: an older value (a re-fetch of an earlier window) leaves it be.
INSERT INTO sync_cursors AS current (connection_id, feed, cursor, updated_at)
VALUES ($connection_id, $feed, $cursor, $updated_at)
ON CONFLICT (connection_id, feed) DO UPDATE
SET cursor = excluded.cursor, updated_at = excluded.updated_at
WHERE excluded.cursor > current.cursor
