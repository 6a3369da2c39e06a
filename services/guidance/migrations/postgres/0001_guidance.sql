-- Guidance documents (PostgreSQL). The search index is a tsvector per translation
-- (built by the text-search configuration of its language), filled when an
-- edition is published.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    doc_type TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    topics TEXT NOT NULL,
    creators TEXT NOT NULL,
    publisher TEXT,
    license TEXT NOT NULL,
    related_initiatives TEXT NOT NULL,
    lifecycle_stages TEXT NOT NULL,
    issue_date TEXT,
    modify_date TEXT,
    current_edition BIGINT,
    search_text TEXT NOT NULL,
    request_id TEXT UNIQUE,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX documents_type ON documents (doc_type, id);
CREATE INDEX documents_license ON documents (license, id);

CREATE TABLE document_topics (
    document_id TEXT NOT NULL REFERENCES documents (id),
    topic TEXT NOT NULL,
    PRIMARY KEY (document_id, topic)
);
CREATE INDEX document_topics_topic ON document_topics (topic, document_id);

CREATE TABLE document_stages (
    document_id TEXT NOT NULL REFERENCES documents (id),
    stage TEXT NOT NULL,
    PRIMARY KEY (document_id, stage)
);
CREATE INDEX document_stages_stage ON document_stages (stage, document_id);

CREATE TABLE editions (
    document_id TEXT NOT NULL REFERENCES documents (id),
    number BIGINT NOT NULL,
    state TEXT NOT NULL,
    translations TEXT NOT NULL,
    change_note TEXT NOT NULL,
    state_reason TEXT NOT NULL,
    publish_time BIGINT,
    request_id TEXT UNIQUE,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (document_id, number)
);
-- At most one unpublished edition per document.
CREATE UNIQUE INDEX editions_one_unpublished ON editions (document_id)
    WHERE state IN ('DRAFT', 'SUBMITTED');

CREATE TABLE search_entries (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents (id),
    edition_number BIGINT NOT NULL,
    language_code TEXT NOT NULL,
    config TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tsv TSVECTOR NOT NULL
);
CREATE INDEX search_entries_document ON search_entries (document_id);
CREATE INDEX search_entries_tsv ON search_entries USING GIN (tsv);

CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    request_id TEXT UNIQUE,
    create_time BIGINT NOT NULL
);
CREATE INDEX attachments_document ON attachments (document_id, id);

CREATE TABLE attachment_chunks (
    attachment_id TEXT NOT NULL REFERENCES attachments (id),
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
