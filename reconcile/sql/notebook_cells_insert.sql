-- Every cell of a notebook at once: the lists hold one element per cell, in position order.
INSERT INTO notebook_cells (workspace_id, position, kind, name, source, updated_at)
SELECT $workspace_id, unnest(range(1, len($kinds::VARCHAR[]) + 1)), unnest($kinds::VARCHAR[]),
       unnest($names::VARCHAR[]), unnest($sources::VARCHAR[]), $updated_at
