-- See ../sqlite/20261123000003_reading_indexes.sql.
CREATE INDEX pages_visible_order ON pages(series_id, status, position, id);
CREATE INDEX pages_chapter_visible ON pages(chapter_id, status, position, id);
CREATE INDEX pages_feed ON pages(series_id, status, live_at);
