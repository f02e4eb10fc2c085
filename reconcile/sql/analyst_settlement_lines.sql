-- v_settlement_lines: the lines of $workspace_id's settlements, each with its settlement's
-- connection, currency and deposit date, so that sums per currency need no join.
SELECT l.settlement_id, s.connection_id, c.name AS connection, c.provider, s.currency,
       s.deposit_date, l.line_no, l.category, l.amount, l.description, l.order_id, l.sku,
       l.posted_at
FROM settlement_lines AS l
JOIN settlements AS s ON s.id = l.settlement_id
JOIN connections AS c ON c.id = s.connection_id
WHERE c.workspace_id = $workspace_id
