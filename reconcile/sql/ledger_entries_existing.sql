-- The stored rows of the given entries of a ledger connection, to tell changed from unchanged,
-- with the settlement each names now (its ledger_summary row changes when the entry does).
SELECT object_id, object_type, reference, number, currency, total, status, date, updated_at,
       settlement_id
FROM ledger_entries
WHERE connection_id = $connection_id AND list_contains($ids::VARCHAR[], object_id)
