-- Old addresses of a comic that moved in (or pages renamed): answered with
-- a 301. A row points at a page (followed when the page's slug changes) or
-- at a fixed path. `from_path` is normalised: path, then the query's
-- parameters sorted (`/?p=16`, `/comic/page-1`).
CREATE TABLE redirects (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    from_path  TEXT NOT NULL UNIQUE,
    page_id    INTEGER REFERENCES pages(id) ON DELETE CASCADE,
    to_path    TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
