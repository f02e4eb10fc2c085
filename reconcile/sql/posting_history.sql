-- The audit trail of one settlement's postings, oldest first.
SELECT id, "at", actor, action, entity, CAST(detail AS VARCHAR) AS detail
FROM audit_log
WHERE entity = $settlement_id
ORDER BY id
