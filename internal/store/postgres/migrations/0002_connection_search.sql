-- Connection search (the dashboard's substring search on connection ids)
-- from a trigram index, so that a search costs about the same with a
-- million connections as with ten thousand. The index needs the pg_trgm
-- extension (shipped with PostgreSQL's contrib modules; "trusted" since
-- PostgreSQL 13, so a role allowed to create objects in the database may
-- install it). It is installed into the public schema, never into the
-- server's own schema, so that dropping one nango schema cannot take another
-- one's index with it. Where the extension cannot be installed (no contrib
-- modules, no privilege, no public schema) there is no index: search then
-- scans the connections newest first, and works the same. An operator can
-- add it later (docs/storage.md).
DO $$
DECLARE
    ext_schema text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        NULL; -- unavailable, not permitted, or created concurrently
    END;
    SELECT n.nspname INTO ext_schema
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NOT NULL THEN
        EXECUTE format('CREATE INDEX connections_search ON connections USING gin (connection_id_lower %I.gin_trgm_ops)', ext_schema);
    END IF;
END
$$;
