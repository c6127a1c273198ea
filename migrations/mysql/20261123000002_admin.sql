-- Accounts, server-side sessions and autosaved page revisions (MariaDB; keep
-- in step with ../sqlite/).

CREATE TABLE users (
    id                  BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email               VARCHAR(254) NOT NULL UNIQUE,
    name                VARCHAR(200) NOT NULL,
    password_hash       VARCHAR(255) NOT NULL,
    role                VARCHAR(16) NOT NULL CHECK (role IN ('owner', 'editor')),
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sessions (
    token_hash   VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    csrf_token   VARCHAR(64) NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    INDEX sessions_user (user_id),
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE pages ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE page_revisions (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    page_id    BIGINT NOT NULL,
    revision   BIGINT NOT NULL,
    user_id    BIGINT NULL,
    data       MEDIUMTEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY page_revisions_revision (page_id, revision),
    FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE,
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
