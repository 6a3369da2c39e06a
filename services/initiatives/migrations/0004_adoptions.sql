-- Adoptions: an initiative (the adopter) drew on another (the source). One
-- file for both backends. Who confirmed or withdrew is a person's resource
-- name (`people/{id}`), never a free-text name.
CREATE TABLE adoptions (
    id                    TEXT PRIMARY KEY,
    initiative_id         TEXT NOT NULL REFERENCES initiatives (id),
    source_id             TEXT NOT NULL REFERENCES initiatives (id),
    kind                  TEXT NOT NULL,
    state                 TEXT NOT NULL,
    adopting_organization TEXT NOT NULL,
    adoption_date         TEXT,
    adaptations           TEXT NOT NULL,
    rationale             TEXT NOT NULL,
    outcome               TEXT NOT NULL,
    source_confirmed_by   TEXT,
    source_confirm_time   BIGINT,
    adopter_confirmed_by  TEXT,
    adopter_confirm_time  BIGINT,
    withdrawn_by          TEXT,
    withdraw_reason       TEXT,
    withdraw_time         BIGINT,
    request_id            TEXT UNIQUE,
    revision              BIGINT NOT NULL,
    create_time           BIGINT NOT NULL,
    update_time           BIGINT NOT NULL
);
-- Lists by adopter or source (the dossier, the diffusion walk, the cycle
-- check), in creation order.
CREATE INDEX adoptions_initiative ON adoptions (initiative_id, id);
CREATE INDEX adoptions_source ON adoptions (source_id, id);
-- Reuse counts read the confirmed adoptions only.
CREATE INDEX adoptions_state ON adoptions (state, initiative_id);
