ALTER TABLE messages DROP COLUMN held_since;
DROP TABLE instance_connections;
