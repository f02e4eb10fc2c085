DELETE FROM notebook_cells
WHERE workspace_id = $workspace_id
