INSERT INTO account_mappings (workspace_id, provider, category, account_code, updated_at)
VALUES ($workspace_id, $provider, $category, $account_code, $updated_at)
ON CONFLICT (workspace_id, provider, category) DO UPDATE SET
    account_code = excluded.account_code,
    updated_at = excluded.updated_at
