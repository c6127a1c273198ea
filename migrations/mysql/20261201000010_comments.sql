-- Readers talk back: comments (and reader-submitted transcripts) under comic
-- pages, held or approved by the rules in `comments::policy`, moderated in
-- /admin/comments. Nothing identifying beyond what the reader typed is kept:
-- no address, no user agent.
CREATE TABLE comments (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    page_id      BIGINT NOT NULL,
    parent_id    BIGINT NULL,
    kind         VARCHAR(20) NOT NULL DEFAULT 'comment',
    status       VARCHAR(20) NOT NULL,
    author_name  VARCHAR(200) NOT NULL,
    author_email VARCHAR(254) NOT NULL DEFAULT '',
    user_id      BIGINT NULL,
    body         MEDIUMTEXT NOT NULL,
    reason       VARCHAR(500) NOT NULL DEFAULT '',
    notify       BIGINT NOT NULL DEFAULT 0,
    edit_hash    VARCHAR(64) NOT NULL DEFAULT '',
    source       VARCHAR(300) NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    moderated_at BIGINT NULL,
    KEY comments_page (page_id, status, created_at),
    KEY comments_queue (status, created_at),
    KEY comments_email (author_email, status),
    UNIQUE KEY comments_source (source),
    CONSTRAINT comments_page_fk FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE,
    CONSTRAINT comments_parent_fk FOREIGN KEY (parent_id) REFERENCES comments(id) ON DELETE SET NULL,
    CONSTRAINT comments_user_fk FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE commenters (
    email           VARCHAR(254) NOT NULL PRIMARY KEY,
    confirmed_at    BIGINT NULL,
    unsubscribed_at BIGINT NULL,
    created_at      BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE comment_mail (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind       VARCHAR(20) NOT NULL,
    recipient  VARCHAR(254) NOT NULL,
    comment_id BIGINT NOT NULL,
    status     VARCHAR(20) NOT NULL DEFAULT 'queued',
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,
    claimed_at BIGINT NULL,
    error      VARCHAR(1000) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    sent_at    BIGINT NULL,
    UNIQUE KEY comment_mail_once (kind, recipient, comment_id),
    KEY comment_mail_due (status, next_at),
    CONSTRAINT comment_mail_comment FOREIGN KEY (comment_id) REFERENCES comments(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE pages ADD COLUMN comments_closed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE chapters ADD COLUMN content_warning VARCHAR(500) NOT NULL DEFAULT '';
ALTER TABLE chapters ADD COLUMN age_gate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE series ADD COLUMN content_warning VARCHAR(500) NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN age_gate BIGINT NOT NULL DEFAULT 0;
