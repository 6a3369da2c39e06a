-- TRUNCATE fires no row trigger: refused by a statement trigger of its own,
-- so emptying the audit log takes dropping a trigger first (an act the
-- database's own log records), never one statement.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
