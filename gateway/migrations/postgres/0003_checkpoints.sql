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
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
