-- The entries about one record (ExportPersonData: those whose resource is
-- the person), found without reading the log.
CREATE INDEX audit_log_resource ON audit_log (resource, sequence);
