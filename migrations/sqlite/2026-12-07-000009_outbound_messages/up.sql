-- Messages sent from the number by a person through omnihub (API, console, CLI) share the
-- log and the per-chat queue with inbound ones, so they go out in the chat's order.
ALTER TABLE messages ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound'
    CHECK (direction IN ('inbound', 'outbound'));

-- Signed-in sessions of the admin console (/admin): the SHA-256 of the cookie's token (the
-- token itself is never stored), its CSRF token and when it expires. Kept in the database
-- so every replica behind a load balancer knows them and a sign-out ends them everywhere.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    csrf TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
