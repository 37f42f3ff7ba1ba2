-- Messages sent from the number by a person through omnihub (API, console, CLI) share the
-- log and the per-chat queue with inbound ones, so they go out in the chat's order.
ALTER TABLE messages ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound'
    CHECK (direction IN ('inbound', 'outbound'));
