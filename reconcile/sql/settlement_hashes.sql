-- The stored content hash of each of the given settlements that exists already.
-- A semi join (the ids hashed once, each row probed): a list_contains filter instead costs
-- more on every row the more ids a window brings.
SELECT id, content_hash
FROM settlements
WHERE id IN (SELECT unnest($ids::VARCHAR[]))
