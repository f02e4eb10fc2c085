-- The ledger account a workspace posts each line category of a provider's settlements to, and
-- the provider's clearing account (category 'clearing'), where the payment of the net goes.
-- Where a workspace has no row, the defaults of reconcile/accounts.py apply.
CREATE TABLE account_mappings (
    workspace_id VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    account_code VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, provider, category)
);
