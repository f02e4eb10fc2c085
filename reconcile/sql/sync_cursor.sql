SELECT cursor
FROM sync_cursors
WHERE connection_id = $connection_id AND feed = $feed
