-- Signed checkpoints of the chain head (see gateway/src/audit/checkpoint.rs),
-- append-only like the log. Each is also written outside the database.
CREATE TABLE audit_checkpoint (
    sequence BIGINT NOT NULL,
    hash TEXT NOT NULL,
    time BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (sequence, time)
);
CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
