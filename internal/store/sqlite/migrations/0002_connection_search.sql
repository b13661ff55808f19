-- Version 2 of the schema adds, on PostgreSQL, a trigram index for the
-- dashboard's connection search (postgres/migrations/0002). SQLite has no
-- trigram index: search scans connections_listing newest first and stops
-- once a page is full. Nothing changes here; the number keeps both dialects
-- at the same schema version.
SELECT 1;
