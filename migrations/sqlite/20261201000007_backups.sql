-- Every backup attempt (command, schedule or the admin's button), for the
-- admin's "last backup" and its warning when none is recent.
CREATE TABLE backups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    kind        TEXT NOT NULL,
    path        TEXT,
    bytes       INTEGER,
    verified    INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX backups_started ON backups(started_at);

-- Work that exactly one node does (scheduled backups, and later anything
-- else periodic): a node holds a lease until `until_ms`; when it dies,
-- another takes over after that.
CREATE TABLE leases (
    name     TEXT PRIMARY KEY NOT NULL,
    owner    TEXT NOT NULL,
    until_ms INTEGER NOT NULL
);
