-- v_ledger_entries: what $workspace_id's ledger connections hold (invoices, bills), with the
-- settlement a workbench reference names (NULL for any other entry).
SELECT e.connection_id AS ledger_connection_id, c.name AS ledger_connection, e.object_id,
       e.object_type, e.reference, e.number, e.settlement_id, e.currency, e.total, e.status,
       e.date, e.updated_at
FROM ledger_entries AS e
JOIN connections AS c ON c.id = e.connection_id
WHERE c.workspace_id = $workspace_id
ORDER BY e.date NULLS LAST, e.reference, e.object_id
