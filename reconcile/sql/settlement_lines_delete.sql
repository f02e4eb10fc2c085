-- Lines of settlements about to be rewritten (their lines are replaced as a whole).
DELETE FROM settlement_lines
WHERE settlement_id IN (SELECT unnest($ids::VARCHAR[]))
