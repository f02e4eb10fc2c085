-- Drops the ledger_summary rows of $connection_id for the settlements $settlement_ids, before
-- ledger_summary_insert.sql recomputes those that still have live entries.
DELETE FROM ledger_summary
WHERE connection_id = $connection_id
  AND settlement_id IN (SELECT unnest($settlement_ids::VARCHAR[]))
