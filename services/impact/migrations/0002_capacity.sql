-- Innovation capacity assessments: one row per round of a subject
-- (`organizations/{id}` or `countries/{code}`), whose fields are kept as JSON.

CREATE TABLE capacity_assessments (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    round       TEXT NOT NULL,
    assess_date TEXT NOT NULL,                 -- ISO 8601, orders rounds
    body        TEXT NOT NULL,                 -- JSON CapacityFields
    request_id  TEXT UNIQUE,
    revision    BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (subject, round)
);
CREATE INDEX capacity_assessments_subject ON capacity_assessments (subject, id);
