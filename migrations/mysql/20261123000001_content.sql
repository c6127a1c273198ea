-- Halftone content model (MariaDB/MySQL dialect; keep in step with ../sqlite/).
-- Times are Unix seconds in UTC. Every integer is BIGINT so both backends
-- decode to i64 through sqlx's Any driver. Text is VARCHAR wherever a bound
-- fits, because sqlx's Any driver sees MariaDB TEXT as bytes; the few TEXT
-- columns (transcript, notes, page bodies) are read through `db::DbText`.

CREATE TABLE settings (
    name  VARCHAR(100) NOT NULL PRIMARY KEY,
    value VARCHAR(4000) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE series (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug        VARCHAR(190) NOT NULL UNIQUE,
    title       VARCHAR(500) NOT NULL,
    tagline     VARCHAR(1000) NOT NULL DEFAULT '',
    description VARCHAR(4000) NOT NULL DEFAULT '',
    position    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE volumes (
    id        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    series_id BIGINT NOT NULL,
    title     VARCHAR(500) NOT NULL,
    position  BIGINT NOT NULL DEFAULT 0,
    INDEX volumes_series (series_id, position),
    FOREIGN KEY (series_id) REFERENCES series(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE chapters (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    series_id   BIGINT NOT NULL,
    volume_id   BIGINT NULL,
    slug        VARCHAR(190) NOT NULL,
    title       VARCHAR(500) NOT NULL,
    description VARCHAR(4000) NOT NULL DEFAULT '',
    position    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE KEY chapters_slug (series_id, slug),
    INDEX chapters_order (series_id, position, id),
    FOREIGN KEY (series_id) REFERENCES series(id) ON DELETE CASCADE,
    FOREIGN KEY (volume_id) REFERENCES volumes(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE media (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    hash          VARCHAR(64) NOT NULL UNIQUE,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    source_format VARCHAR(16) NOT NULL,
    widths        VARCHAR(200) NOT NULL,
    fallback_ext  VARCHAR(8) NOT NULL,
    thumb_width   BIGINT NOT NULL,
    thumb_height  BIGINT NOT NULL,
    bytes         BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE pages (
    id              BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    series_id       BIGINT NOT NULL,
    chapter_id      BIGINT NULL,
    slug            VARCHAR(190) NOT NULL,
    title           VARCHAR(500) NOT NULL,
    position        BIGINT NOT NULL,
    status          VARCHAR(16) NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    published_at    BIGINT NULL,
    live_at         BIGINT NULL,
    hover_text      VARCHAR(2000) NOT NULL DEFAULT '',
    transcript      MEDIUMTEXT NOT NULL,
    notes           MEDIUMTEXT NOT NULL,
    content_warning VARCHAR(1000) NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE KEY pages_slug (series_id, slug),
    INDEX pages_reading_order (series_id, position, id),
    INDEX pages_chapter (chapter_id, position, id),
    INDEX pages_live (status, live_at),
    FOREIGN KEY (series_id) REFERENCES series(id) ON DELETE CASCADE,
    FOREIGN KEY (chapter_id) REFERENCES chapters(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE page_images (
    id       BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    page_id  BIGINT NOT NULL,
    media_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    alt_text VARCHAR(2000) NOT NULL DEFAULT '',
    INDEX page_images_page (page_id, position),
    FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE,
    FOREIGN KEY (media_id) REFERENCES media(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tags (
    id   BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug VARCHAR(190) NOT NULL UNIQUE,
    name VARCHAR(500) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE page_tags (
    page_id BIGINT NOT NULL,
    tag_id  BIGINT NOT NULL,
    PRIMARY KEY (page_id, tag_id),
    INDEX page_tags_tag (tag_id),
    FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE,
    FOREIGN KEY (tag_id) REFERENCES tags(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE characters (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug        VARCHAR(190) NOT NULL UNIQUE,
    name        VARCHAR(500) NOT NULL,
    description VARCHAR(4000) NOT NULL DEFAULT '',
    media_id    BIGINT NULL,
    position    BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (media_id) REFERENCES media(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE page_characters (
    page_id      BIGINT NOT NULL,
    character_id BIGINT NOT NULL,
    PRIMARY KEY (page_id, character_id),
    INDEX page_characters_character (character_id),
    FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE,
    FOREIGN KEY (character_id) REFERENCES characters(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE static_pages (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug        VARCHAR(190) NOT NULL UNIQUE,
    title       VARCHAR(500) NOT NULL,
    body        MEDIUMTEXT NOT NULL,
    position    BIGINT NOT NULL DEFAULT 0,
    published   BIGINT NOT NULL DEFAULT 1,
    updated_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
