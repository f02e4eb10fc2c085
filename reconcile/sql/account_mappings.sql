-- The account codes a workspace chose (overriding the defaults), by provider and category.
SELECT workspace_id, provider, category, account_code, updated_at
FROM account_mappings
WHERE workspace_id = $workspace_id
  AND ($provider::VARCHAR IS NULL OR provider = $provider)
ORDER BY provider, category
