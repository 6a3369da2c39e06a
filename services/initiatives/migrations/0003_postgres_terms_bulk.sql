-- PostgreSQL only. initiative_terms rows are written in the transaction that
-- writes their initiative and initiatives are never deleted, so the foreign
-- key adds nothing but a lookup per term row: about a quarter of a bulk
-- import's time (issue 3's 10,000 initiatives/s). SQLite keeps it (its check
-- is cheap there, and dropping it would mean rebuilding the table).
ALTER TABLE initiative_terms DROP CONSTRAINT IF EXISTS initiative_terms_initiative_id_fkey;
