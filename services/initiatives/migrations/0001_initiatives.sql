-- The case library. Written in the SQL both SQLite and PostgreSQL accept
-- (TEXT, BIGINT, partial unique indexes), so one file serves both.
-- Timestamps are microseconds since the Unix epoch; dates are ISO 8601 text.

-- One row per initiative. `body` holds the descriptive fields as JSON (what
-- is read back whole); the columns beside it are what lists filter, order and
-- count on.
CREATE TABLE initiatives (
    id                TEXT PRIMARY KEY,
    body              TEXT NOT NULL,
    country_code      TEXT NOT NULL,
    nuts_code         TEXT,
    government_level  TEXT,
    sector            TEXT,
    facet             TEXT,
    stage             TEXT NOT NULL,
    status            TEXT NOT NULL,
    lead_organization TEXT NOT NULL,
    search_text       TEXT NOT NULL,
    request_id        TEXT UNIQUE,
    revision          BIGINT NOT NULL,
    create_time       BIGINT NOT NULL,
    update_time       BIGINT NOT NULL
);
CREATE INDEX initiatives_country ON initiatives (country_code, id);
CREATE INDEX initiatives_stage ON initiatives (stage, id);
CREATE INDEX initiatives_status ON initiatives (status, id);
CREATE INDEX initiatives_facet ON initiatives (facet, id);
CREATE INDEX initiatives_lead ON initiatives (lead_organization, id);

-- Multi-valued facts of an initiative, one row each, for filters and counts:
-- term is one of tag, sdg, principle, partner, language, challenge.
CREATE TABLE initiative_terms (
    term          TEXT NOT NULL,
    value         TEXT NOT NULL,
    initiative_id TEXT NOT NULL REFERENCES initiatives (id),
    PRIMARY KEY (term, value, initiative_id)
);
CREATE INDEX initiative_terms_initiative ON initiative_terms (initiative_id);

-- The timeline: creation, stage moves and status changes.
CREATE TABLE initiative_events (
    initiative_id TEXT NOT NULL REFERENCES initiatives (id),
    seq           BIGINT NOT NULL,
    from_stage    TEXT,
    to_stage      TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    actor         TEXT NOT NULL,
    note          TEXT NOT NULL,
    event_time    BIGINT NOT NULL,
    PRIMARY KEY (initiative_id, seq)
);

-- Bottlenecks raised by member organisations. Initiatives link to them
-- through initiative_terms (term 'challenge', value 'challenges/{id}').
CREATE TABLE challenges (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    process      TEXT NOT NULL,
    raised_by    TEXT NOT NULL,
    country_code TEXT,
    search_text  TEXT NOT NULL,
    request_id   TEXT UNIQUE,
    revision     BIGINT NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL
);
CREATE INDEX challenges_raised_by ON challenges (raised_by, id);

-- Calls for Innovations and the initiatives submitted to them.
CREATE TABLE innovation_calls (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    open_date   TEXT NOT NULL,
    close_date  TEXT NOT NULL,
    search_text TEXT NOT NULL,
    request_id  TEXT UNIQUE,
    revision    BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE submissions (
    id            TEXT PRIMARY KEY,
    call_id       TEXT NOT NULL REFERENCES innovation_calls (id),
    body          TEXT NOT NULL,            -- JSON of the submitted initiative's fields
    stage         TEXT NOT NULL,
    status        TEXT NOT NULL,
    submitted_by  TEXT NOT NULL,
    state         TEXT NOT NULL,
    screening     TEXT,                     -- JSON, once screened
    initiative_id TEXT REFERENCES initiatives (id),
    request_id    TEXT UNIQUE,
    revision      BIGINT NOT NULL,
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL
);
CREATE INDEX submissions_call ON submissions (call_id, id);

-- Counts of the whole library by dimension (total, stage, status, facet,
-- country, principle, sdg), kept in the writing transactions so that the
-- unfiltered portfolio summary reads a few rows instead of every initiative.
CREATE TABLE portfolio_counts (
    dimension TEXT NOT NULL,
    value     TEXT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (dimension, value)
);
