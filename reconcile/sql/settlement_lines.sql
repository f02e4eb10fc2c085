SELECT settlement_id, line_no, category, amount, description, order_id, sku, posted_at
FROM settlement_lines
WHERE settlement_id = $settlement_id
ORDER BY line_no
