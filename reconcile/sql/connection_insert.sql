INSERT INTO connections
    (id, workspace_id, provider, name, kind, region, config, grant_expires_at, created_at)
VALUES
    ($id, $workspace_id, $provider, $name, $kind, $region, $config, $grant_expires_at, $created_at)
