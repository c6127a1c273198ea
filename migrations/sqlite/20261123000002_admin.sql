-- Accounts, server-side sessions and autosaved page revisions (SQLite; keep
-- in step with ../mysql/).

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('owner', 'editor')),
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

-- The cookie holds a random token; only its SHA-256 is stored, so a copy of
-- the database does not let anyone in.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Optimistic concurrency for the editor: a save names the revision it was
-- based on and succeeds only if that is still the page's revision.
ALTER TABLE pages ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

CREATE TABLE page_revisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id    INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    revision   INTEGER NOT NULL,
    user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (page_id, revision)
);
