-- Optional per-instance token Evolution must present on webhooks.
ALTER TABLE instance_configs ADD COLUMN webhook_secret TEXT;

-- The message log: one row per accepted inbound message (never the raw webhook, never a key).
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_name TEXT NOT NULL REFERENCES instance_configs (name) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    author TEXT,
    sender_name TEXT,
    phone TEXT,
    kind TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMP,
    reply TEXT,
    parts_total INTEGER NOT NULL DEFAULT 0,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    error_stage TEXT,
    error TEXT,
    received_at TIMESTAMP NOT NULL,
    agent_started_at TIMESTAMP,
    agent_finished_at TIMESTAMP,
    sent_at TIMESTAMP,
    finished_at TIMESTAMP,
    UNIQUE (instance_name, message_id)
);

-- Unfinished messages only: the dispatcher's claim reads these, so finished history does not
-- slow it down. "The head of a chat" is the lowest active id of (instance, chat).
CREATE INDEX messages_active_chat ON messages (instance_name, chat_id, id)
    WHERE status IN ('queued', 'processing');
CREATE INDEX messages_active ON messages (id) WHERE status IN ('queued', 'processing');
-- No index for listing or retention: both are rare admin/hourly scans, and every index costs
-- each accepted webhook a B-tree insert on the hot path.
