-- Conversation rules per instance (JSON; only the rules that differ from the defaults).
ALTER TABLE instance_configs ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';

-- SQLite cannot change a CHECK constraint: the message log is rebuilt with status 'skipped'
-- (a rule left it unanswered, with skip_reason) and chat_key (one per person whatever address
-- a message came from; the phone JID when the payload stated it, so sessions keep their names).
CREATE TABLE messages_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_name TEXT NOT NULL REFERENCES instance_configs (name) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    author TEXT,
    sender_name TEXT,
    phone TEXT,
    kind TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'failed', 'skipped')),
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
    held_since TIMESTAMP,
    chat_key TEXT NOT NULL,
    skip_reason TEXT,
    UNIQUE (instance_name, message_id)
);
INSERT INTO messages_new (id, instance_name, message_id, chat_id, author, sender_name, phone, kind, content, status, attempts, next_attempt_at, lease_owner, lease_expires_at, reply, parts_total, parts_sent, outcome, error_stage, error, received_at, agent_started_at, agent_finished_at, sent_at, finished_at, held_since, chat_key)
SELECT id, instance_name, message_id, chat_id, author, sender_name, phone, kind, content, status, attempts, next_attempt_at, lease_owner, lease_expires_at, reply, parts_total, parts_sent, outcome, error_stage, error, received_at, agent_started_at, agent_finished_at, sent_at, finished_at, held_since, CASE WHEN phone IS NOT NULL AND phone <> '' AND chat_id NOT LIKE '%@g.us' THEN phone || '@s.whatsapp.net' ELSE chat_id END FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_active_chat ON messages (instance_name, chat_key, id)
    WHERE status IN ('queued', 'processing');
CREATE INDEX messages_active ON messages (id) WHERE status IN ('queued', 'processing');

-- The queue index is per chat key now (the column keeps its name): rebuilt from the messages.
DELETE FROM chat_queues;
INSERT INTO chat_queues (instance_name, chat_id, head_id, due_at)
SELECT m.instance_name, m.chat_key, m.id, m.next_attempt_at
FROM messages m
WHERE m.status IN ('queued', 'processing')
  AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.instance_name = m.instance_name
                  AND p.chat_key = m.chat_key AND p.status IN ('queued', 'processing') AND p.id < m.id);

-- The conversation rules' memory of each chat (a person or a group) of an instance.
CREATE TABLE chats (
    instance_name TEXT NOT NULL REFERENCES instance_configs (name) ON DELETE CASCADE,
    chat_key TEXT NOT NULL,
    last_address TEXT,
    paused_by TEXT CHECK (paused_by IN ('human', 'api')),
    paused_until TIMESTAMP,
    session_open BOOLEAN NOT NULL DEFAULT FALSE,
    session_at TIMESTAMP,
    rate_window_at TIMESTAMP,
    rate_count INTEGER NOT NULL DEFAULT 0,
    last_inbound_at TIMESTAMP,
    last_outbound_at TIMESTAMP,
    inbound_count BIGINT NOT NULL DEFAULT 0,
    answered_count BIGINT NOT NULL DEFAULT 0,
    skipped_count BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_name, chat_key)
);
CREATE INDEX chats_paused ON chats (instance_name) WHERE paused_by IS NOT NULL;

-- The address book: every address (phone JID, LID) a person was seen with, and their chat.
CREATE TABLE chat_aliases (
    instance_name TEXT NOT NULL REFERENCES instance_configs (name) ON DELETE CASCADE,
    address TEXT NOT NULL,
    chat_key TEXT NOT NULL,
    PRIMARY KEY (instance_name, address)
);
INSERT OR IGNORE INTO chat_aliases (instance_name, address, chat_key)
SELECT DISTINCT instance_name, chat_id, chat_key FROM messages;

-- The rebuilt table needs the key-length guard of migration 000003 again.
CREATE TRIGGER messages_key_lengths BEFORE INSERT ON messages
WHEN length(NEW.message_id) > 256 OR length(NEW.chat_id) > 256 OR length(NEW.author) > 256
BEGIN
    SELECT RAISE(ABORT, 'message_id, chat_id and author are limited to 256 characters');
END;
