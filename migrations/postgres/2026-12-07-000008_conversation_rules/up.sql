-- Conversation rules per instance (JSON; only the rules that differ from the defaults).
ALTER TABLE instance_configs ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';

-- Every message belongs to a chat key: one per person whatever address a message came from
-- (the phone JID when the payload stated it, so existing sessions keep their names).
ALTER TABLE messages ADD COLUMN chat_key TEXT;
UPDATE messages SET chat_key = CASE WHEN phone IS NOT NULL AND phone <> '' AND chat_id NOT LIKE '%@g.us' THEN phone || '@s.whatsapp.net' ELSE chat_id END;
ALTER TABLE messages ALTER COLUMN chat_key SET NOT NULL;
-- Messages a rule left unanswered: status 'skipped' and the reason.
ALTER TABLE messages ADD COLUMN skip_reason TEXT;
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('queued', 'processing', 'done', 'failed', 'skipped'));
DROP INDEX messages_active_chat;
CREATE INDEX messages_active_chat ON messages (instance_name, chat_key, id)
    WHERE status IN ('queued', 'processing');

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
INSERT INTO chat_aliases (instance_name, address, chat_key)
SELECT DISTINCT instance_name, chat_id, chat_key FROM messages
ON CONFLICT DO NOTHING;
