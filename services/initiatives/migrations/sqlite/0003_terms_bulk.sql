-- SQLite. As on PostgreSQL, an update deletes the old terms by primary key,
-- so the index by initiative is not needed. The foreign key stays: its check
-- is cheap here, and dropping it would mean rebuilding the table.
DROP INDEX IF EXISTS initiative_terms_initiative;
