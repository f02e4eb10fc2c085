-- The lines of the imported settlements being written (registered frame incoming_lines): the
-- amounts arrive as exact DECIMAL(18, 4), the repetitive text columns dictionary-encoded.
INSERT INTO settlement_lines
    (settlement_id, line_no, category, amount, description, order_id, sku, posted_at)
SELECT settlement_id, line_no, category, amount, description, order_id, sku, posted_at
FROM incoming_lines
