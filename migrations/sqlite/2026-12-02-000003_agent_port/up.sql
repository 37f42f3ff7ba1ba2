-- The protocol each instance's agent backend speaks; every existing instance is Automagik.
ALTER TABLE instance_configs ADD COLUMN agent_kind TEXT NOT NULL DEFAULT 'automagik';

-- What an agent backend asked the pipeline to keep between turns of one conversation
-- (memory, a backend's session id), as JSON text. One row per (instance, session).
CREATE TABLE conversations (
    instance_name TEXT NOT NULL REFERENCES instance_configs (name) ON DELETE CASCADE,
    session TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_name, session)
);

-- Message ids and JIDs (chat, group author) are short: WhatsApp's are under 64 characters; a
-- longer one is garbage and is refused for that row alone. SQLite cannot add a CHECK to an
-- existing table, so a trigger enforces it for new rows.
CREATE TRIGGER messages_key_lengths BEFORE INSERT ON messages
WHEN length(NEW.message_id) > 256 OR length(NEW.chat_id) > 256 OR length(NEW.author) > 256
BEGIN
    SELECT RAISE(ABORT, 'message_id, chat_id and author are limited to 256 characters');
END;
