-- What Evolution last reported about each instance's WhatsApp connection (connection.update,
-- qrcode.updated, logout/remove, a status check, a send refused as not activated). No row:
-- never reported, and replies are sent as before.
CREATE TABLE instance_connections (
    instance_name TEXT PRIMARY KEY NOT NULL REFERENCES instance_configs (name) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('open', 'connecting', 'close', 'refused', 'not_activated')),
    since TIMESTAMP NOT NULL,
    reason_code BIGINT,
    reason TEXT,
    last_qr_at TIMESTAMP,
    number TEXT,
    profile_name TEXT,
    updated_at TIMESTAMP NOT NULL
);
-- When a reply was first held because the number was not connected; cleared when it is sent
-- or fails. A reply held longer than OMNIHUB_HOLD_MAX fails with the stored reason.
ALTER TABLE messages ADD COLUMN held_since TIMESTAMP;
