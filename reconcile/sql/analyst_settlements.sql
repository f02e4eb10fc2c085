-- v_settlements: every settlement of $workspace_id's connections (removed ones included), with
-- its connection and the state of its latest posting ('unposted' if none).
WITH latest_posting AS (
    SELECT settlement_id, state
    FROM postings
    QUALIFY row_number() OVER (
        PARTITION BY settlement_id ORDER BY updated_at DESC, created_at DESC, id DESC) = 1
)
SELECT s.id AS settlement_id, s.connection_id, c.name AS connection, c.provider,
       s.provider_settlement_id, s.period_start, s.period_end, s.deposit_date, s.currency,
       s.gross, s.fees, s.refunds, s.reserves, s.net, s.status, s.source, s.line_count,
       coalesce(p.state, 'unposted') AS posting_status, s.first_seen_at, s.updated_at
FROM settlements AS s
JOIN connections AS c ON c.id = s.connection_id
LEFT JOIN latest_posting AS p ON p.settlement_id = s.id
WHERE c.workspace_id = $workspace_id
ORDER BY c.name, s.period_start, s.provider_settlement_id
