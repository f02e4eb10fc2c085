INSERT INTO workspaces (id, name, base_currency, created_at)
VALUES ($id, $name, $base_currency, $created_at)
