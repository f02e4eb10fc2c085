-- The stored content hash of each of the given settlements that exists already.
SELECT id, content_hash
FROM settlements
WHERE list_contains($ids::VARCHAR[], id)
