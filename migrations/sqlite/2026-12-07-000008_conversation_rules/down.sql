DROP TABLE chat_aliases;
DROP TABLE chats;
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
    held_since TIMESTAMP,
    UNIQUE (instance_name, message_id)
);
INSERT INTO messages_new (id, instance_name, message_id, chat_id, author, sender_name, phone, kind, content, status, attempts, next_attempt_at, lease_owner, lease_expires_at, reply, parts_total, parts_sent, outcome, error_stage, error, received_at, agent_started_at, agent_finished_at, sent_at, finished_at, held_since)
SELECT id, instance_name, message_id, chat_id, author, sender_name, phone, kind, content, status, attempts, next_attempt_at, lease_owner, lease_expires_at, reply, parts_total, parts_sent, outcome, error_stage, error, received_at, agent_started_at, agent_finished_at, sent_at, finished_at, held_since FROM messages WHERE status <> 'skipped';
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_active_chat ON messages (instance_name, chat_id, id)
    WHERE status IN ('queued', 'processing');
CREATE INDEX messages_active ON messages (id) WHERE status IN ('queued', 'processing');
DELETE FROM chat_queues;
INSERT INTO chat_queues (instance_name, chat_id, head_id, due_at)
SELECT m.instance_name, m.chat_id, m.id, m.next_attempt_at
FROM messages m
WHERE m.status IN ('queued', 'processing')
  AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.instance_name = m.instance_name
                  AND p.chat_id = m.chat_id AND p.status IN ('queued', 'processing') AND p.id < m.id);
ALTER TABLE instance_configs DROP COLUMN rules;

-- The rebuilt table needs the key-length guard of migration 000003 again.
CREATE TRIGGER messages_key_lengths BEFORE INSERT ON messages
WHEN length(NEW.message_id) > 256 OR length(NEW.chat_id) > 256 OR length(NEW.author) > 256
BEGIN
    SELECT RAISE(ABORT, 'message_id, chat_id and author are limited to 256 characters');
END;
