SELECT connection_id, object_id, object_type, reference, number, currency, total, status, date,
       updated_at
FROM ledger_entries
WHERE connection_id = $connection_id
ORDER BY date NULLS LAST, reference, object_id
