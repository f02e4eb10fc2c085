-- The posting attempts of a settlement (to one ledger, or to any), oldest generation first.
SELECT id, settlement_id, ledger_connection_id, idempotency_key, reference, state,
       CAST(ledger_object_ids AS VARCHAR) AS ledger_object_ids, request_digest, response_digest,
       created_at, updated_at
FROM postings
WHERE settlement_id = $settlement_id
  AND ($ledger_connection_id::VARCHAR IS NULL OR ledger_connection_id = $ledger_connection_id)
ORDER BY ledger_connection_id, id
