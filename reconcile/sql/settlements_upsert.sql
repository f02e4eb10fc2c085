-- Writes the registered frame incoming_settlements (new or changed settlements only); amounts
-- arrive as decimal strings. first_seen_at survives an update.
INSERT INTO settlements AS s
    (id, connection_id, provider_settlement_id, period_start, period_end, deposit_date, currency,
     gross, fees, refunds, reserves, net, status, source, content_hash, line_count,
     first_seen_at, updated_at)
SELECT id, connection_id, provider_settlement_id, period_start, period_end, deposit_date, currency,
       CAST(gross AS DECIMAL(18, 4)), CAST(fees AS DECIMAL(18, 4)),
       CAST(refunds AS DECIMAL(18, 4)), CAST(reserves AS DECIMAL(18, 4)),
       CAST(net AS DECIMAL(18, 4)), status, source, content_hash, line_count,
       $now::TIMESTAMPTZ, $now::TIMESTAMPTZ
FROM incoming_settlements
ON CONFLICT (connection_id, provider_settlement_id) DO UPDATE SET
    period_start = excluded.period_start,
    period_end = excluded.period_end,
    deposit_date = excluded.deposit_date,
    currency = excluded.currency,
    gross = excluded.gross,
    fees = excluded.fees,
    refunds = excluded.refunds,
    reserves = excluded.reserves,
    net = excluded.net,
    status = excluded.status,
    source = excluded.source,
    content_hash = excluded.content_hash,
    line_count = excluded.line_count,
    updated_at = excluded.updated_at
