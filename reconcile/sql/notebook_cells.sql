SELECT position, kind, name, source
FROM notebook_cells
WHERE workspace_id = $workspace_id
ORDER BY position
