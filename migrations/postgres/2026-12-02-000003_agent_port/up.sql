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
-- longer one is garbage and is refused for that row alone. NOT VALID: rows already stored are
-- not re-checked, new ones are.
ALTER TABLE messages ADD CONSTRAINT messages_key_lengths
    CHECK (length(message_id) <= 256 AND length(chat_id) <= 256 AND (author IS NULL OR length(author) <= 256)) NOT VALID;
