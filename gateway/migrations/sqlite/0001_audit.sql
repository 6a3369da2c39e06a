-- The gateway's audit log: one row per call that changes something and per
-- denial, each chaining the hash of the one before. Append-only: updates and
-- deletes are refused here, and `innolab-gateway audit verify` detects a row
-- changed or removed by other means.
CREATE TABLE audit_log (
    sequence BIGINT PRIMARY KEY,
    time BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    issue TEXT NOT NULL,
    method TEXT NOT NULL,
    resource TEXT NOT NULL,
    request_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    response_sha256 TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_client ON audit_log (client_id, sequence);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
