-- The stored rows of the given entries of a ledger connection, to tell changed from unchanged.
SELECT object_id, object_type, reference, number, currency, total, status, date, updated_at
FROM ledger_entries
WHERE connection_id = $connection_id AND list_contains($ids::VARCHAR[], object_id)
