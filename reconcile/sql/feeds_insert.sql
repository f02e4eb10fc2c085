INSERT INTO feeds (connection_id, name, paused)
SELECT $connection_id, unnest($names::VARCHAR[]), false
