SELECT id, name, base_currency
FROM workspaces
ORDER BY name
