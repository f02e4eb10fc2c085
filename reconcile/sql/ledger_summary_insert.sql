-- Recomputes the ledger_summary rows (see migration 0004) of $connection_id (NULL: every ledger
-- connection) for the settlements $settlement_ids (NULL: every settlement) from their live
-- ledger entries. Run after ledger_summary_delete.sql for the same keys, in one transaction.
INSERT INTO ledger_summary
SELECT connection_id, settlement_id, sum(entries), count(*), sum(signed), min(currency),
       max(currency), array_to_string(list_sort(list_distinct(flatten(list(currencies)))), ', '),
       CASE WHEN sum(entries) > count(*) THEN list_sort(flatten(list(items))) END
FROM (
    SELECT connection_id, settlement_id, reference, count(*) AS entries,
           arg_min(CASE WHEN object_type = 'ACCPAY' THEN -total ELSE total END, object_id)
               AS signed,
           arg_min(currency, object_id) AS currency, list(DISTINCT currency) AS currencies,
           list({'object_id': object_id, 'reference': reference,
                 'signed': CASE WHEN object_type = 'ACCPAY' THEN -total ELSE total END,
                 'currency': currency, 'date': date}) AS items
    FROM ledger_entries
    WHERE settlement_id IS NOT NULL AND status NOT IN ('VOIDED', 'DELETED')
      AND ($connection_id::VARCHAR IS NULL OR connection_id = $connection_id)
      AND ($settlement_ids::VARCHAR[] IS NULL
           OR settlement_id IN (SELECT unnest($settlement_ids::VARCHAR[])))
    GROUP BY connection_id, settlement_id, reference
)
GROUP BY connection_id, settlement_id
