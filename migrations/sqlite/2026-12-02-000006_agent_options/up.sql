-- Kind-specific agent settings (see AgentOptions), as a JSON object; '{}' means none.
ALTER TABLE instance_configs ADD COLUMN agent_options TEXT NOT NULL DEFAULT '{}';
