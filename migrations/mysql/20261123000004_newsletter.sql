-- Subscribers, mailings and the outbox of per-recipient deliveries (MariaDB;
-- keep in step with ../sqlite/, where the columns are explained).

CREATE TABLE subscribers (
    id              BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    -- Binary collation: addresses are compared as stored (lower-cased by
    -- the app); the default collation would make josé@ and jose@ one row.
    email           VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL UNIQUE,
    status          VARCHAR(16) NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
    created_at      BIGINT NOT NULL,
    confirmed_at    BIGINT,
    unsubscribed_at BIGINT,
    confirm_sent_at BIGINT,
    INDEX subscribers_status (status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE mailings (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind         VARCHAR(16) NOT NULL CHECK (kind IN ('page', 'digest')),
    subject      VARCHAR(400) NOT NULL,
    html         MEDIUMTEXT NOT NULL,
    text         MEDIUMTEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   BIGINT,
    cancelled_at BIGINT,
    FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE mailing_pages (
    mailing_id   BIGINT NOT NULL,
    page_id      BIGINT NOT NULL,
    auto_page_id BIGINT UNIQUE,
    PRIMARY KEY (mailing_id, page_id),
    INDEX mailing_pages_page (page_id),
    FOREIGN KEY (mailing_id) REFERENCES mailings(id) ON DELETE CASCADE,
    FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE deliveries (
    id              BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind            VARCHAR(16) NOT NULL CHECK (kind IN ('confirm', 'mailing')),
    mailing_id      BIGINT,
    subscriber_id   BIGINT NOT NULL,
    email           VARCHAR(254) NOT NULL,
    status          VARCHAR(16) NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      VARCHAR(1000),
    claimed_by      VARCHAR(64),
    interrupted     BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    UNIQUE (mailing_id, subscriber_id),
    INDEX deliveries_due (status, kind, id),
    INDEX deliveries_subscriber (subscriber_id),
    FOREIGN KEY (mailing_id) REFERENCES mailings(id) ON DELETE CASCADE,
    FOREIGN KEY (subscriber_id) REFERENCES subscribers(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE mail_sender (
    id            BIGINT NOT NULL PRIMARY KEY,
    owner         VARCHAR(64) NOT NULL,
    lease_until   BIGINT NOT NULL,
    paused_until  BIGINT NOT NULL,
    last_error    VARCHAR(1000),
    last_error_at BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO mail_sender (id, owner, lease_until, paused_until) VALUES (1, '', 0, 0);
