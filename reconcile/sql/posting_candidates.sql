-- The settlements of a workspace's live channel connections with what posting them needs, and
-- the state and number of their posting attempts to one ledger (the latest generation wins).
WITH attempts AS (
    SELECT settlement_id, id AS posting_id, state AS posting_state,
           count(*) OVER (PARTITION BY settlement_id) AS attempts
    FROM postings
    WHERE ledger_connection_id = $ledger_connection_id
    QUALIFY row_number() OVER (PARTITION BY settlement_id ORDER BY id DESC) = 1
)
SELECT s.id, c.provider, c.name AS connection, s.connection_id, s.provider_settlement_id,
       s.period_start, s.period_end, s.deposit_date, s.currency, s.net, s.status,
       s.content_hash, s.line_count, a.posting_id,
       coalesce(a.posting_state, 'unposted') AS posting_state,
       coalesce(a.attempts, 0) AS attempts
FROM settlements AS s
JOIN connections AS c ON c.id = s.connection_id
LEFT JOIN attempts AS a ON a.settlement_id = s.id
WHERE c.workspace_id = $workspace_id
  AND c.kind = 'channel'
  AND c.removed_at IS NULL
  AND ($settlement::VARCHAR IS NULL OR s.id = $settlement
       OR s.provider_settlement_id = $settlement)
ORDER BY s.period_start, c.name, s.id
