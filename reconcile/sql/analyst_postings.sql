-- v_postings: every posting attempt (outbox row) of $workspace_id's settlements, with the
-- settlement it posts, the ledger connection and the ledger object ids it created.
SELECT p.id AS posting_id, p.settlement_id, s.provider_settlement_id, s.connection_id,
       c.name AS connection, c.provider, p.ledger_connection_id, l.name AS ledger_connection,
       p.reference, p.idempotency_key, p.state,
       CAST(coalesce(json_extract_string(p.ledger_object_ids, '$[*].object_id'), [])
            AS VARCHAR[]) AS ledger_object_ids,
       s.currency, s.net, p.created_at, p.updated_at
FROM postings AS p
JOIN settlements AS s ON s.id = p.settlement_id
JOIN connections AS c ON c.id = s.connection_id
LEFT JOIN connections AS l ON l.id = p.ledger_connection_id
WHERE c.workspace_id = $workspace_id
ORDER BY c.name, s.period_start, p.id
