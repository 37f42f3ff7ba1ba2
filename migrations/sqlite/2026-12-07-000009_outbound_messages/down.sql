DROP TABLE console_sessions;
DELETE FROM messages WHERE direction = 'outbound';
ALTER TABLE messages DROP COLUMN direction;
