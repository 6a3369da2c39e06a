-- Webhook subscriptions and their delivery state, in their own database
-- (INNOLAB_SUBSCRIPTIONS_DATABASE_URL): one text for SQLite and PostgreSQL.
-- Times are microseconds since the Unix epoch; lists are JSON arrays.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    services TEXT NOT NULL,
    resource_kinds TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    disabled_reason TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_expires BIGINT,
    -- The feed position after the last change delivered or skipped.
    cursor TEXT NOT NULL,
    -- Bumped by a replay, so the dispatcher restarts from the new cursor.
    cursor_epoch BIGINT NOT NULL,
    -- The change at `cursor` fails since then; how many attempts so far and
    -- when the next one is due (survives a restart).
    failing_since BIGINT,
    attempts BIGINT NOT NULL,
    next_attempt BIGINT,
    -- Changes committed before this time are skipped, not sent (a
    -- subscription created to start from now); 0 after a replay.
    skip_before BIGINT NOT NULL,
    request_id TEXT UNIQUE,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX subscriptions_owner ON subscriptions (owner, id);

-- Every delivery attempt, per subscription in order.
CREATE TABLE deliveries (
    subscription_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    webhook_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    time BIGINT NOT NULL,
    http_status BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    error TEXT NOT NULL,
    cursor TEXT NOT NULL,
    PRIMARY KEY (subscription_id, sequence)
);

-- Which gateway replica dispatches: one holder at a time, renewed while it
-- lives, taken over once expired.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires BIGINT NOT NULL
);
