-- Browsers an account has logged in from: they pass the per-account login
-- ceiling that a password-guessing crowd runs into (the owner is never
-- locked out by strangers). The cookie holds the token; this, its hash.
CREATE TABLE login_devices (
    token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    INDEX login_devices_user (user_id),
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
