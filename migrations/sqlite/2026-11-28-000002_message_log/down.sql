DROP TABLE messages;
ALTER TABLE instance_configs DROP COLUMN webhook_secret;
