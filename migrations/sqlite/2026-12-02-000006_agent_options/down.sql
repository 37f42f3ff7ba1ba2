ALTER TABLE instance_configs DROP COLUMN agent_options;
