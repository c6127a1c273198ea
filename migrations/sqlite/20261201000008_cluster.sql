-- Each running node announces itself here every few seconds (the admin's
-- System page; "a node is gone" alerts). `stats` is a JSON object.
CREATE TABLE nodes (
    id         TEXT PRIMARY KEY NOT NULL,
    version    TEXT NOT NULL,
    address    TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    stopped_at INTEGER,
    stats      TEXT NOT NULL
);

-- Long work that any node (or a command) may be doing, with its progress:
-- media sync, imports. One row per job name, overwritten by the next run.
CREATE TABLE jobs (
    name       TEXT PRIMARY KEY NOT NULL,
    node       TEXT NOT NULL,
    state      TEXT NOT NULL,
    done       INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    detail     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Alert mails to the owner: at most one per cause per hour, whichever
-- node notices first.
CREATE TABLE alerts (
    cause   TEXT PRIMARY KEY NOT NULL,
    sent_at INTEGER NOT NULL,
    detail  TEXT NOT NULL
);
