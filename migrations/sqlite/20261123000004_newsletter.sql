-- Subscribers, mailings and the outbox of per-recipient deliveries (SQLite;
-- keep in step with ../mysql/).

-- One row per address (normalized to lower case), whatever its state:
-- re-subscribing reuses the row, so an address can never be there twice.
CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
    created_at      INTEGER NOT NULL,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    -- When the last confirmation mail was queued: a form filled again and
    -- again must not become a way to flood somebody's inbox.
    confirm_sent_at INTEGER
);
CREATE INDEX subscribers_status ON subscribers(status, id);

-- A mail to every confirmed subscriber: a new page, or a digest. The body is
-- rendered once, when the mailing is made, so every recipient gets the same
-- mail however long sending takes; only the unsubscribe link differs.
CREATE TABLE mailings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('page', 'digest')),
    subject      TEXT NOT NULL,
    html         TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    -- NULL: made automatically when a page went live.
    created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    cancelled_at INTEGER
);

-- The pages a mailing shows. `auto_page_id` is set for automatic mailings
-- only; being UNIQUE, it lets a page be announced automatically once, even
-- when several nodes notice it going live at the same moment.
CREATE TABLE mailing_pages (
    mailing_id   INTEGER NOT NULL REFERENCES mailings(id) ON DELETE CASCADE,
    page_id      INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    auto_page_id INTEGER UNIQUE,
    PRIMARY KEY (mailing_id, page_id)
);
CREATE INDEX mailing_pages_page ON mailing_pages(page_id);

-- The outbox: one row per mail to send. A row moves queued → sending → sent
-- (or failed / skipped / cancelled) and is never deleted by sending, so after
-- a restart the sender knows exactly who got what.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('confirm', 'mailing')),
    mailing_id      INTEGER REFERENCES mailings(id) ON DELETE CASCADE,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    -- The sender that claimed it: a sender only records the outcome of its
    -- own claim, never over another's.
    claimed_by      TEXT,
    -- Found 'sending' after a crash and sent again (it may have arrived twice).
    interrupted     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (mailing_id, subscriber_id)
);
CREATE INDEX deliveries_due ON deliveries(status, kind, id);
CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);

-- Who sends. One node at a time holds the lease, so the configured rate is
-- the site's rate however many nodes run; a crashed holder's lease runs out.
CREATE TABLE mail_sender (
    id            INTEGER PRIMARY KEY,
    owner         TEXT NOT NULL,
    lease_until   INTEGER NOT NULL,
    -- The SMTP server failed: nothing is tried before this (milliseconds).
    paused_until  INTEGER NOT NULL,
    last_error    TEXT,
    last_error_at INTEGER
);
INSERT INTO mail_sender (id, owner, lease_until, paused_until) VALUES (1, '', 0, 0);
