DROP TABLE chat_aliases;
DROP TABLE chats;
DELETE FROM messages WHERE status = 'skipped';
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('queued', 'processing', 'done', 'failed'));
DROP INDEX messages_active_chat;
CREATE INDEX messages_active_chat ON messages (instance_name, chat_id, id)
    WHERE status IN ('queued', 'processing');
DELETE FROM chat_queues;
INSERT INTO chat_queues (instance_name, chat_id, head_id, due_at)
SELECT m.instance_name, m.chat_id, m.id, m.next_attempt_at
FROM messages m
WHERE m.status IN ('queued', 'processing')
  AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.instance_name = m.instance_name
                  AND p.chat_id = m.chat_id AND p.status IN ('queued', 'processing') AND p.id < m.id);
ALTER TABLE messages DROP COLUMN skip_reason;
ALTER TABLE messages DROP COLUMN chat_key;
ALTER TABLE instance_configs DROP COLUMN rules;
