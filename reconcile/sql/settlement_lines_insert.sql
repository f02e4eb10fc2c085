-- One bulk insert from the registered frame incoming_lines; amounts arrive as decimal strings.
INSERT INTO settlement_lines
    (settlement_id, line_no, category, amount, description, order_id, sku, posted_at)
SELECT settlement_id, line_no, category, CAST(amount AS DECIMAL(18, 4)), description, order_id,
       sku, posted_at
FROM incoming_lines
