-- 1 once migration 0001 has created schema_migrations in this database, else 0.
SELECT count(*) AS tables
FROM duckdb_tables()
WHERE database_name = current_database()
  AND schema_name = 'main'
  AND table_name = 'schema_migrations'
