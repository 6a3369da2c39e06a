-- Postings in weight order per term (see the PostgreSQL migration of the same
-- number): the primary key becomes (term, weight DESC, entry_id), so the best
-- matches of a term are the first rows of its range, and (term, entry_id) is a
-- unique index that answers "this entry's weight for that term" from within
-- the term's range (a search probing one common term for each match of
-- another stays in a few hundred cached pages, where an index by entry
-- scattered the probes over the whole file). Nothing is indexed by entry: each
-- entry lists its terms (`terms`, a JSON array), and replacing an entry
-- deletes its postings by (term, entry). So no foreign key either: SQLite
-- would scan every posting to check it when an entry is deleted.
CREATE TABLE search_terms_by_weight (
    term TEXT NOT NULL,
    weight BIGINT NOT NULL,
    entry_id TEXT NOT NULL,
    PRIMARY KEY (term, weight DESC, entry_id)
) WITHOUT ROWID;

INSERT INTO search_terms_by_weight (term, weight, entry_id)
SELECT term, weight, entry_id FROM search_terms;

ALTER TABLE search_entries ADD COLUMN terms TEXT NOT NULL DEFAULT '[]';
UPDATE search_entries SET terms =
    (SELECT json_group_array(t.term) FROM search_terms t WHERE t.entry_id = search_entries.id);

DROP TABLE search_terms;
ALTER TABLE search_terms_by_weight RENAME TO search_terms;
CREATE UNIQUE INDEX search_terms_term_entry ON search_terms (term, entry_id);
