DELETE FROM messages WHERE direction = 'outbound';
ALTER TABLE messages DROP COLUMN direction;
