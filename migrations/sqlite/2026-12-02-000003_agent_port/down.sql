DROP TRIGGER messages_key_lengths;
DROP TABLE conversations;
ALTER TABLE instance_configs DROP COLUMN agent_kind;
