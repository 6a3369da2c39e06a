-- Postings in weight order per term (see the PostgreSQL migration of the same
-- number): the primary key becomes (term, weight DESC, entry_id), so the best
-- matches of a term are the first rows of its range, and (entry_id, term) is a
-- unique index that also answers "this entry's weight for that term".
CREATE TABLE search_terms_by_weight (
    term TEXT NOT NULL,
    weight BIGINT NOT NULL,
    entry_id TEXT NOT NULL REFERENCES search_entries (id) ON DELETE CASCADE,
    PRIMARY KEY (term, weight DESC, entry_id)
) WITHOUT ROWID;

INSERT INTO search_terms_by_weight (term, weight, entry_id)
SELECT term, weight, entry_id FROM search_terms;

DROP TABLE search_terms;
ALTER TABLE search_terms_by_weight RENAME TO search_terms;
CREATE UNIQUE INDEX search_terms_entry ON search_terms (entry_id, term);
