-- The initial schema. Money is DECIMAL(18,4); instants are TIMESTAMPTZ (UTC); settlement dates
-- are the marketplace's local calendar dates. No foreign keys: DuckDB would index the child
-- columns, and settlement_lines must stay index-free (10M+ rows, replaced per settlement).

CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE workspaces (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    base_currency VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- config holds non-secret settings only (base URLs, client id, marketplaces); secrets live in
-- the keyring. grant_expires_at is a known future expiry (Amazon's 365-day re-authorisation).
CREATE TABLE connections (
    id VARCHAR PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('channel', 'ledger')),
    region VARCHAR,
    config JSON NOT NULL,
    grant_expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    removed_at TIMESTAMPTZ,
    UNIQUE (workspace_id, name)
);

CREATE TABLE feeds (
    connection_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    paused BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (connection_id, name)
);

-- Append-only: a connection's health is derived from these, never stored.
CREATE SEQUENCE connection_events_id START 1;

CREATE TABLE connection_events (
    id BIGINT PRIMARY KEY DEFAULT nextval('connection_events_id'),
    connection_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    kind VARCHAR NOT NULL,
    feed VARCHAR,
    error_class VARCHAR CHECK (error_class IN ('auth', 'transient', 'data', 'config')),
    http_status INTEGER,
    request_id VARCHAR,
    detail VARCHAR NOT NULL,
    counts JSON NOT NULL,
    raw VARCHAR
);

CREATE TABLE sync_cursors (
    connection_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    cursor TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, feed)
);

-- id = 'stl_' || first 20 hex digits of sha256(connection_id || 0x1F || provider_settlement_id).
CREATE TABLE settlements (
    id VARCHAR PRIMARY KEY,
    connection_id VARCHAR NOT NULL,
    provider_settlement_id VARCHAR NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ,
    deposit_date DATE,
    currency VARCHAR NOT NULL,
    gross DECIMAL(18, 4) NOT NULL,
    fees DECIMAL(18, 4) NOT NULL,
    refunds DECIMAL(18, 4) NOT NULL,
    reserves DECIMAL(18, 4) NOT NULL,
    net DECIMAL(18, 4) NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
    source VARCHAR NOT NULL CHECK (source IN ('api', 'file')),
    content_hash VARCHAR NOT NULL,
    line_count INTEGER NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (connection_id, provider_settlement_id)
);

-- Deliberately without a key or index: the lines of a settlement are replaced as a whole.
CREATE TABLE settlement_lines (
    settlement_id VARCHAR NOT NULL,
    line_no INTEGER NOT NULL,
    category VARCHAR NOT NULL,
    amount DECIMAL(18, 4) NOT NULL,
    description VARCHAR NOT NULL,
    order_id VARCHAR,
    sku VARCHAR,
    posted_at TIMESTAMPTZ
);

CREATE TABLE ledger_entries (
    connection_id VARCHAR NOT NULL,
    object_id VARCHAR NOT NULL,
    object_type VARCHAR NOT NULL,
    reference VARCHAR NOT NULL,
    number VARCHAR,
    currency VARCHAR NOT NULL,
    total DECIMAL(18, 4) NOT NULL,
    status VARCHAR NOT NULL,
    date DATE,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY (connection_id, object_id)
);

-- The posting outbox: a row is written before anything is sent to the ledger.
CREATE TABLE postings (
    id VARCHAR PRIMARY KEY,
    settlement_id VARCHAR NOT NULL,
    ledger_connection_id VARCHAR NOT NULL,
    idempotency_key VARCHAR NOT NULL UNIQUE,
    reference VARCHAR NOT NULL,
    state VARCHAR NOT NULL CHECK (state IN ('planned', 'sending', 'posted', 'failed', 'voided')),
    ledger_object_ids JSON NOT NULL,
    request_digest VARCHAR,
    response_digest VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE SEQUENCE audit_log_id START 1;

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id'),
    "at" TIMESTAMPTZ NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    detail JSON NOT NULL
);
