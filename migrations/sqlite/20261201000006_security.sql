-- Browsers an account has logged in from: they pass the per-account login
-- ceiling that a password-guessing crowd runs into (the owner is never
-- locked out by strangers). The cookie holds the token; this, its hash.
CREATE TABLE login_devices (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX login_devices_user ON login_devices(user_id);
