-- Instances: one WhatsApp number (Evolution instance) bound to one agent backend.
-- Columns and meanings follow the seed schema; empty evolution_url/evolution_key mean
-- "not configured yet". Timestamps are UTC.
CREATE TABLE instance_configs (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    evolution_url TEXT NOT NULL DEFAULT '',
    evolution_key TEXT NOT NULL DEFAULT '',
    whatsapp_instance TEXT NOT NULL,
    session_id_prefix TEXT,
    agent_api_url TEXT NOT NULL,
    agent_api_key TEXT NOT NULL,
    default_agent TEXT NOT NULL,
    agent_timeout INTEGER NOT NULL DEFAULT 60 CHECK (agent_timeout BETWEEN 1 AND 3600),
    is_default BOOLEAN NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- The database itself guarantees at most one default instance.
CREATE UNIQUE INDEX instance_configs_single_default ON instance_configs (is_default) WHERE is_default;
