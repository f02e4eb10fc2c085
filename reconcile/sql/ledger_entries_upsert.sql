-- Writes the registered frame incoming_ledger_entries (new or changed entries only).
INSERT INTO ledger_entries
    (connection_id, object_id, object_type, reference, number, currency, total, status, date,
     updated_at)
SELECT connection_id, object_id, object_type, reference, number, currency,
       CAST(total AS DECIMAL(18, 4)), status, date, updated_at
FROM incoming_ledger_entries
ON CONFLICT (connection_id, object_id) DO UPDATE SET
    object_type = excluded.object_type,
    reference = excluded.reference,
    number = excluded.number,
    currency = excluded.currency,
    total = excluded.total,
    status = excluded.status,
    date = excluded.date,
    updated_at = excluded.updated_at
