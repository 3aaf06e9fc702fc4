-- Operator console sessions, shared by every replica. Only a SHA-256 of the session id is stored, so a
-- read of this table cannot be replayed as a cookie.
CREATE TABLE IF NOT EXISTS ui_sessions (
    id_hash bytea PRIMARY KEY,
    key_id text NOT NULL,
    key_name text NOT NULL,
    -- A digest of the signed-in key's hash: a session ends when its key is re-keyed (master rotation).
    key_check bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ui_sessions_expires_at ON ui_sessions (expires_at);
