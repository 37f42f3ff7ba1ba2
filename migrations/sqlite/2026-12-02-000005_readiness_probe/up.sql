-- One row rewritten by /ready after a failed commit, to learn whether the database takes
-- writes again (a full disk, a read-only failover) without waiting for a webhook.
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY NOT NULL,
    checked_at TIMESTAMP NOT NULL
);
