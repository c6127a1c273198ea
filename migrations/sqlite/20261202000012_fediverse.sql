-- The comic on the fediverse (ActivityPub, `fediverse/`): who follows each
-- series, the activities sent, one delivery row per (activity, inbox) so a
-- restart resumes without sending twice, what followers were told of each
-- page (to send Update and Delete), and the likes and boosts pages get.
CREATE TABLE ap_followers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id    INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    inbox        TEXT NOT NULL,
    shared_inbox TEXT,
    handle       TEXT NOT NULL DEFAULT '',
    follow_id    TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX ap_followers_actor ON ap_followers(series_id, actor);

CREATE TABLE ap_activities (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    uri        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    series_id  INTEGER NOT NULL,
    page_id    INTEGER,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ap_activities_uri ON ap_activities(uri);

CREATE TABLE ap_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id INTEGER NOT NULL,
    inbox       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued',
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    claimed_at  INTEGER,
    error       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    done_at     INTEGER
);
CREATE UNIQUE INDEX ap_deliveries_once ON ap_deliveries(activity_id, inbox);
CREATE INDEX ap_deliveries_due ON ap_deliveries(status, next_at);
CREATE INDEX ap_deliveries_inbox ON ap_deliveries(inbox, status);

CREATE TABLE ap_posts (
    page_id    INTEGER PRIMARY KEY,
    series_id  INTEGER NOT NULL,
    note_hash  TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE ap_reactions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id    INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    uri        TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX ap_reactions_uri ON ap_reactions(uri);
CREATE INDEX ap_reactions_page ON ap_reactions(page_id, kind);

-- New pages posted to the creator's accounts elsewhere (Bluesky): one row
-- per (target, page), claimed, retried with backoff, resumed after restarts.
CREATE TABLE crossposts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    target     TEXT NOT NULL,
    page_id    INTEGER NOT NULL,
    status     TEXT NOT NULL DEFAULT 'queued',
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    claimed_at INTEGER,
    remote_uri TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    done_at    INTEGER
);
CREATE UNIQUE INDEX crossposts_once ON crossposts(target, page_id);
CREATE INDEX crossposts_due ON crossposts(status, next_at);
