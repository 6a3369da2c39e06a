-- One end user's entries (ListAuditEntries with user_id: the keyed hash the
-- log keeps, see gateway/src/audit/user.rs), found without reading the log.
CREATE INDEX audit_log_user ON audit_log (user_id, sequence);
