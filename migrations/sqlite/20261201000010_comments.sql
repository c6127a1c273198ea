-- Readers talk back: comments (and reader-submitted transcripts) under comic
-- pages, held or approved by the rules in `comments::policy`, moderated in
-- /admin/comments. Nothing identifying beyond what the reader typed is kept:
-- no address, no user agent.
CREATE TABLE comments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id      INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    -- One level of threads: a reply's parent is a top-level comment.
    parent_id    INTEGER REFERENCES comments(id) ON DELETE SET NULL,
    -- comment | transcript
    kind         TEXT NOT NULL DEFAULT 'comment',
    -- pending | approved | spam | deleted
    status       TEXT NOT NULL,
    author_name  TEXT NOT NULL,
    -- Lower-cased; never shown. For reply notices and the avatar's colour.
    author_email TEXT NOT NULL DEFAULT '',
    -- Set when the site's own author wrote it (from the admin).
    user_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    body         TEXT NOT NULL,
    -- Why a comment was held or marked spam (shown to the moderator).
    reason       TEXT NOT NULL DEFAULT '',
    -- The reader asked for a mail when someone replies.
    notify       INTEGER NOT NULL DEFAULT 0,
    -- SHA-256 of the token the posting browser keeps to edit or delete.
    edit_hash    TEXT NOT NULL DEFAULT '',
    -- Where an imported comment came from (`wordpress:12`, `disqus:…`).
    source       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    moderated_at INTEGER
);
CREATE INDEX comments_page ON comments(page_id, status, created_at);
CREATE INDEX comments_queue ON comments(status, created_at);
CREATE INDEX comments_email ON comments(author_email, status);
CREATE UNIQUE INDEX comments_source ON comments(source);

-- Readers who asked for reply notices: double opt-in, one-click unsubscribe.
CREATE TABLE commenters (
    email           TEXT PRIMARY KEY,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    created_at      INTEGER NOT NULL
);

-- The outbox of comment mail (confirmations, reply notices): claimed by
-- compare-and-swap, so a restart or a second node never sends one twice.
CREATE TABLE comment_mail (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- confirm | reply
    kind       TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    -- queued | sending | sent | failed
    status     TEXT NOT NULL DEFAULT 'queued',
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    claimed_at INTEGER,
    error      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);
CREATE UNIQUE INDEX comment_mail_once ON comment_mail(kind, recipient, comment_id);
CREATE INDEX comment_mail_due ON comment_mail(status, next_at);

ALTER TABLE pages ADD COLUMN comments_closed INTEGER NOT NULL DEFAULT 0;
-- A warning (or an age gate) for a whole chapter or series, shown before
-- its pages' images unless the reader's browser remembers the answer.
ALTER TABLE chapters ADD COLUMN content_warning TEXT NOT NULL DEFAULT '';
ALTER TABLE chapters ADD COLUMN age_gate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE series ADD COLUMN content_warning TEXT NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN age_gate INTEGER NOT NULL DEFAULT 0;
