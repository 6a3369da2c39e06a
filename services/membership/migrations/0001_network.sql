-- The innovation network. Written in the SQL both SQLite and PostgreSQL
-- accept (TEXT, BIGINT, partial unique indexes), so one file serves both.
-- Timestamps are microseconds since the Unix epoch; dates are ISO 8601 text.

CREATE TABLE organizations (
    id               TEXT PRIMARY KEY,
    display_names    TEXT NOT NULL,          -- JSON [{"language_code","text"}]
    kind             TEXT NOT NULL,
    government_level TEXT,
    country_code     TEXT NOT NULL,
    subdivision_code TEXT,
    nuts_code        TEXT,
    sector           TEXT,
    homepage_uri     TEXT,
    parent_id        TEXT REFERENCES organizations (id),
    search_text      TEXT NOT NULL,
    request_id       TEXT UNIQUE,
    revision         BIGINT NOT NULL,
    create_time      BIGINT NOT NULL,
    update_time      BIGINT NOT NULL
);
CREATE INDEX organizations_country ON organizations (country_code, id);
CREATE INDEX organizations_kind ON organizations (kind, id);
CREATE INDEX organizations_parent ON organizations (parent_id);

-- One register identifier belongs to one organisation.
CREATE TABLE organization_identifiers (
    scheme          TEXT NOT NULL,
    value           TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    position        BIGINT NOT NULL,
    PRIMARY KEY (scheme, value)
);
CREATE INDEX organization_identifiers_org ON organization_identifiers (organization_id);

CREATE TABLE people (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    display_name    TEXT,
    email           TEXT,
    phone           TEXT,
    language_codes  TEXT NOT NULL,           -- JSON ["ro","en"]
    erase_time      BIGINT,
    erase_reason    TEXT,
    search_text     TEXT NOT NULL,
    request_id      TEXT UNIQUE,
    revision        BIGINT NOT NULL,
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL
);
CREATE INDEX people_organization ON people (organization_id, id);

CREATE TABLE network_groups (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    parent_id    TEXT REFERENCES network_groups (id),
    search_text  TEXT NOT NULL,
    request_id   TEXT UNIQUE,
    revision     BIGINT NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL
);

CREATE TABLE memberships (
    id          TEXT PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES network_groups (id),
    member      TEXT NOT NULL,               -- organizations/{id} or people/{id}
    role        TEXT NOT NULL,
    state       TEXT NOT NULL,
    start_date  TEXT,
    end_date    TEXT,
    request_id  TEXT UNIQUE,
    revision    BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX memberships_group ON memberships (group_id, id);
CREATE INDEX memberships_member ON memberships (member, id);
-- A member holds a role in a group once at a time.
CREATE UNIQUE INDEX memberships_open ON memberships (group_id, member, role)
    WHERE state IN ('APPLIED', 'ACTIVE', 'SUSPENDED');

CREATE TABLE membership_events (
    membership_id TEXT NOT NULL REFERENCES memberships (id),
    seq           BIGINT NOT NULL,
    from_state    TEXT,
    to_state      TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    reason        TEXT NOT NULL,
    time          BIGINT NOT NULL,
    PRIMARY KEY (membership_id, seq)
);

CREATE TABLE posts (
    id           TEXT PRIMARY KEY,
    group_id     TEXT NOT NULL REFERENCES network_groups (id),
    role         TEXT NOT NULL,
    country_code TEXT NOT NULL,              -- '' when the post is not per country
    holder_id    TEXT REFERENCES people (id),
    request_id   TEXT UNIQUE,
    revision     BIGINT NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    UNIQUE (group_id, role, country_code)
);

CREATE TABLE post_holdings (
    post_id    TEXT NOT NULL REFERENCES posts (id),
    seq        BIGINT NOT NULL,
    person_id  TEXT NOT NULL REFERENCES people (id),
    start_date TEXT NOT NULL,
    end_date   TEXT,
    decided_by TEXT NOT NULL,
    reason     TEXT NOT NULL,
    PRIMARY KEY (post_id, seq)
);
