SELECT connection_id, name, paused
FROM feeds
WHERE connection_id = $connection_id
ORDER BY name
