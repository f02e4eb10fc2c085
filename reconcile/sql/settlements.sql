-- Settlements with their connection and the state of their latest posting ('unposted' if none).
WITH latest_posting AS (
    SELECT settlement_id, state
    FROM postings
    QUALIFY row_number() OVER (
        PARTITION BY settlement_id ORDER BY updated_at DESC, created_at DESC, id DESC) = 1
)
SELECT s.id, s.connection_id, c.name AS connection, c.provider, s.provider_settlement_id,
       s.period_start, s.period_end, s.deposit_date, s.currency, s.gross, s.fees, s.refunds,
       s.reserves, s.net, s.status, s.source, s.line_count,
       coalesce(p.state, 'unposted') AS posting_status
FROM settlements AS s
JOIN connections AS c ON c.id = s.connection_id
LEFT JOIN latest_posting AS p ON p.settlement_id = s.id
WHERE ($workspace_id::VARCHAR IS NULL OR c.workspace_id = $workspace_id)
  AND ($connection_id::VARCHAR IS NULL OR s.connection_id = $connection_id)
ORDER BY c.name, s.period_start, s.provider_settlement_id
