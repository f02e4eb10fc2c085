-- Incoming API settlements (registered frame incoming_settlements) that a settlement imported
-- from a file already holds: the same connection and currency, a different provider id (a
-- settlement report's numeric id is not the API's group id), and a period that starts and ends
-- within a day of the file's (an API settlement still open has no end: its start decides).
SELECT DISTINCT i.id
FROM incoming_settlements AS i
JOIN settlements AS s
  ON s.connection_id = i.connection_id
 AND s.source = 'file'
 AND i.source = 'api'
 AND s.provider_settlement_id <> i.provider_settlement_id
 AND s.currency = i.currency
 AND s.period_start BETWEEN i.period_start - INTERVAL 1 DAY AND i.period_start + INTERVAL 1 DAY
 AND (i.period_end IS NULL
      OR s.period_end BETWEEN i.period_end - INTERVAL 1 DAY AND i.period_end + INTERVAL 1 DAY)
