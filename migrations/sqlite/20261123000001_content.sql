-- Halftone content model (SQLite dialect; keep in step with ../mysql/).
-- Times are Unix seconds in UTC. Flags are 0/1 integers so both backends
-- decode them the same way through sqlx's Any driver.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE series (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    tagline     TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- Volumes (or arcs) group chapters; optional.
CREATE TABLE volumes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    title     TEXT NOT NULL,
    position  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX volumes_series ON volumes(series_id, position);

CREATE TABLE chapters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id   INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    volume_id   INTEGER REFERENCES volumes(id) ON DELETE SET NULL,
    slug        TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (series_id, slug)
);
CREATE INDEX chapters_order ON chapters(series_id, position, id);

-- A processed source image. `hash` names every derived file on disk, so
-- media URLs never change meaning and can be cached forever.
CREATE TABLE media (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    hash          TEXT NOT NULL UNIQUE,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    source_format TEXT NOT NULL,
    widths        TEXT NOT NULL,
    fallback_ext  TEXT NOT NULL,
    thumb_width   INTEGER NOT NULL,
    thumb_height  INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

-- `position` is the reading order, independent of any date: navigation
-- only ever follows (position, id). `published_at` is the date shown;
-- `live_at` is when the page becomes visible (a back-dated page published
-- today goes live today), so feeds ordered by it never skip a page.
CREATE TABLE pages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id       INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    chapter_id      INTEGER REFERENCES chapters(id) ON DELETE SET NULL,
    slug            TEXT NOT NULL,
    title           TEXT NOT NULL,
    position        INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    published_at    INTEGER,
    live_at         INTEGER,
    hover_text      TEXT NOT NULL DEFAULT '',
    transcript      TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    content_warning TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (series_id, slug)
);
CREATE INDEX pages_reading_order ON pages(series_id, position, id);
CREATE INDEX pages_chapter ON pages(chapter_id, position, id);
CREATE INDEX pages_live ON pages(status, live_at);

CREATE TABLE page_images (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    page_id  INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    media_id INTEGER NOT NULL REFERENCES media(id),
    position INTEGER NOT NULL,
    alt_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX page_images_page ON page_images(page_id, position);

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE page_tags (
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (page_id, tag_id)
);
CREATE INDEX page_tags_tag ON page_tags(tag_id);

CREATE TABLE characters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    media_id    INTEGER REFERENCES media(id) ON DELETE SET NULL,
    position    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE page_characters (
    page_id      INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
    PRIMARY KEY (page_id, character_id)
);
CREATE INDEX page_characters_character ON page_characters(character_id);

-- About, Links, … served at /{slug}.
CREATE TABLE static_pages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    published   INTEGER NOT NULL DEFAULT 1,
    updated_at  INTEGER NOT NULL
);
