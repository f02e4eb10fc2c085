-- Stored settlements of the connection that an incoming file settlement (registered frame
-- incoming_settlements) may already be: the same provider settlement id, or an API settlement
-- in the same currency whose period starts and ends within a day of the file's (an API
-- settlement still open has no end: its start decides). The best candidate comes first.
SELECT i.provider_settlement_id AS incoming_id, s.id, s.provider_settlement_id, s.source,
       s.content_hash, s.net
FROM incoming_settlements AS i
JOIN settlements AS s
  ON s.connection_id = $connection_id
 AND (s.provider_settlement_id = i.provider_settlement_id
      OR (s.source = 'api'
          AND s.currency = i.currency
          AND s.period_start BETWEEN i.period_start - INTERVAL 1 DAY
                                 AND i.period_start + INTERVAL 1 DAY
          AND (s.period_end IS NULL
               OR s.period_end BETWEEN i.period_end - INTERVAL 1 DAY
                                   AND i.period_end + INTERVAL 1 DAY)))
ORDER BY incoming_id,
         s.provider_settlement_id = i.provider_settlement_id DESC,
         abs(epoch(s.period_start) - epoch(i.period_start))
           + abs(coalesce(epoch(s.period_end) - epoch(i.period_end), 0)),
         s.id
