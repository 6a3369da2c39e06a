-- The change log (see innolab_kit::changes): one row per committed write,
-- appended in the write's own transaction, sequences without gaps.
CREATE TABLE change_log (
    sequence    BIGINT PRIMARY KEY,
    resource    TEXT NOT NULL,
    change_type TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    time        BIGINT NOT NULL
);
