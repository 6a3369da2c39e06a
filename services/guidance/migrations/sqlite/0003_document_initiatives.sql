-- Which initiatives a document relates to (dc:relation), so that lists can
-- filter on `related_initiative` (the gateway's dossier asks for them).
CREATE TABLE document_initiatives (
    document_id TEXT NOT NULL REFERENCES documents (id),
    initiative TEXT NOT NULL,
    PRIMARY KEY (document_id, initiative)
);
CREATE INDEX document_initiatives_initiative ON document_initiatives (initiative, document_id);

INSERT INTO document_initiatives (document_id, initiative)
SELECT DISTINCT d.id, j.value FROM documents d, json_each(d.related_initiatives) j;
