-- The rollup over every assessment, kept by the writes: per assessment state,
-- per dimension (assessments, nesta, maryland, dac_<criterion>, public_value,
-- progress) and value, how many. Every write changes it in its own
-- transaction by the difference between the assessment's share before and
-- after, computed by the same SQL as a scanning rollup; a test checks that
-- the two always agree. rollup_counts_built records that the table was
-- filled from the rows that existed when this migration ran.
CREATE TABLE rollup_counts (
    state TEXT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (state, dimension, value)
);

CREATE TABLE rollup_counts_built (
    built BIGINT NOT NULL
);

-- A database without assessments is built already (empty counts); one with
-- assessments is filled from them by the first rollup.
INSERT INTO rollup_counts_built (built) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM assessments);
