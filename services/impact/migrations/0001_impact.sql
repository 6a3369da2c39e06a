-- Impact assessments and their indicators. Written in the SQL both SQLite and
-- PostgreSQL accept, so one file serves both. Timestamps are microseconds
-- since the Unix epoch.
--
-- Each record is split in two: a narrow row with the few values that filters
-- and rollups need (copies, written in the same transaction), and a document
-- row with the record's fields whole as JSON (what the API reads back). Rollups
-- are then SQL aggregations over narrow rows and never read the documents.

CREATE TABLE assessments (
    id                 TEXT PRIMARY KEY,
    initiative_id      TEXT NOT NULL,
    state              TEXT NOT NULL,
    nesta_level        BIGINT NOT NULL,
    maryland_level     BIGINT NOT NULL,
    dac_relevance      BIGINT NOT NULL,
    dac_coherence      BIGINT NOT NULL,
    dac_effectiveness  BIGINT NOT NULL,
    dac_efficiency     BIGINT NOT NULL,
    dac_impact         BIGINT NOT NULL,
    dac_sustainability BIGINT NOT NULL,
    pv_public_service  BIGINT NOT NULL,        -- 1 when claimed, else 0
    pv_administration  BIGINT NOT NULL,
    pv_open_government BIGINT NOT NULL,
    search_text        TEXT NOT NULL,
    request_id         TEXT UNIQUE,
    revision           BIGINT NOT NULL,
    create_time        BIGINT NOT NULL,
    update_time        BIGINT NOT NULL
);
CREATE INDEX assessments_initiative ON assessments (initiative_id, id);
CREATE INDEX assessments_state ON assessments (state, id);

CREATE TABLE assessment_documents (
    id      TEXT PRIMARY KEY REFERENCES assessments (id),
    body    TEXT NOT NULL,                     -- JSON AssessmentFields
    history TEXT NOT NULL                      -- JSON [AssessmentEvent], oldest first
);

-- Progress is never stored: it is derived from baseline, target and the
-- latest measurement, whose value and day are copied here for rollups.
-- Days are Julian day numbers.
CREATE TABLE indicators (
    id             TEXT PRIMARY KEY,
    assessment_id  TEXT NOT NULL REFERENCES assessments (id),
    result_type    TEXT NOT NULL,
    direction      TEXT NOT NULL,
    baseline_value DOUBLE PRECISION NOT NULL,
    baseline_day   BIGINT NOT NULL,
    target_value   DOUBLE PRECISION NOT NULL,
    target_day     BIGINT NOT NULL,
    latest_value   DOUBLE PRECISION,
    latest_day     BIGINT,
    request_id     TEXT UNIQUE,
    revision       BIGINT NOT NULL,
    create_time    BIGINT NOT NULL,
    update_time    BIGINT NOT NULL
);
CREATE INDEX indicators_assessment ON indicators (assessment_id, id);

CREATE TABLE indicator_documents (
    id   TEXT PRIMARY KEY REFERENCES indicators (id),
    body TEXT NOT NULL                         -- JSON IndicatorFields, with the measurements
);
