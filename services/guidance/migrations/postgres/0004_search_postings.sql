-- Search by postings, the same on both backends: one row per analysed term
-- (configuration-prefixed) and search entry, weighted by where the term occurs
-- (title 10, summary 4, body 1 per occurrence: the A:B:D ratio). Search reads
-- a term's postings in weight order (the best matches of a common word without
-- ranking all of them) and probes an entry's terms by primary key. Replaces the
-- tsvector column and its GIN index, which made every search rank every match.
CREATE TABLE search_terms (
    entry_id TEXT NOT NULL REFERENCES search_entries (id),
    term TEXT NOT NULL,
    weight BIGINT NOT NULL,
    PRIMARY KEY (entry_id, term) INCLUDE (weight)
);

INSERT INTO search_terms (entry_id, term, weight)
SELECT s.id, s.config || ':' || t.lexeme,
       (SELECT sum(CASE w WHEN 'A' THEN 10 WHEN 'B' THEN 4 ELSE 1 END) FROM unnest(t.weights) w)
FROM search_entries s, unnest(s.tsv) t;

CREATE INDEX search_terms_term ON search_terms (term, weight DESC, entry_id);

DROP INDEX search_entries_tsv;
ALTER TABLE search_entries DROP COLUMN tsv;
