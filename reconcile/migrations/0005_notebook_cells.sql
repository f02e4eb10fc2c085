-- The notebook of each workspace: its cells in order (position 1, 2, ...). kind is 'sql' (a
-- DuckDB query over the analyst views) or 'markdown'; name is the optional name a later cell
-- may use for this cell's result besides cell_<position>. A save replaces the workspace's rows.
CREATE TABLE notebook_cells (
    workspace_id VARCHAR NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 1),
    kind VARCHAR NOT NULL CHECK (kind IN ('sql', 'markdown')),
    name VARCHAR,
    source VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, position)
);
