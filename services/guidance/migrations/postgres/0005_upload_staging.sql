-- Chunks of uploads in progress, written without the service's write lock;
-- moved into attachment_chunks when the upload commits, deleted when it fails
-- (and swept after a day, for a process that died mid-upload).
CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
CREATE INDEX upload_chunks_by_created ON upload_chunks (created);
