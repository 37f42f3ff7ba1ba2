-- One row per chat with unfinished messages: the chat's head (its oldest unfinished message)
-- and when that head is next due. The dispatcher claims from here, so finding work costs
-- O(ready chats) however long any chat's queue is. Kept in the same transactions that insert
-- and finish messages.
CREATE TABLE chat_queues (
    instance_name TEXT NOT NULL REFERENCES instance_configs (name) ON DELETE CASCADE,
    chat_id TEXT NOT NULL,
    head_id BIGINT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_name, chat_id)
);
CREATE INDEX chat_queues_due ON chat_queues (due_at);
CREATE UNIQUE INDEX chat_queues_head ON chat_queues (head_id);

INSERT INTO chat_queues (instance_name, chat_id, head_id, due_at)
SELECT m.instance_name, m.chat_id, m.id, m.next_attempt_at
FROM messages m
WHERE m.status IN ('queued', 'processing')
  AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.instance_name = m.instance_name
                  AND p.chat_id = m.chat_id AND p.status IN ('queued', 'processing') AND p.id < m.id);
