-- Writes the registered frame incoming_ledger_entries (new or changed entries only), each with
-- settlement_id: the settlement its workbench reference names (reconcile.references), else NULL.
INSERT INTO ledger_entries
    (connection_id, object_id, object_type, reference, number, currency, total, status, date,
     updated_at, settlement_id)
SELECT connection_id, object_id, object_type, reference, number, currency,
       CAST(total AS DECIMAL(18, 4)), status, date, updated_at, settlement_id
FROM incoming_ledger_entries
ON CONFLICT (connection_id, object_id) DO UPDATE SET
    object_type = excluded.object_type,
    reference = excluded.reference,
    number = excluded.number,
    currency = excluded.currency,
    total = excluded.total,
    status = excluded.status,
    date = excluded.date,
    updated_at = excluded.updated_at,
    settlement_id = excluded.settlement_id
