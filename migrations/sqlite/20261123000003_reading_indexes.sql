-- Indexes that match how readers read: in order within a series (first,
-- latest, previous, next, archive), within a chapter, and newest-live first
-- (feeds). The visibility test `+p.live_at <= ?` keeps `live_at` out of
-- index selection on purpose, so these win over a range scan plus a sort.
CREATE INDEX pages_visible_order ON pages(series_id, status, position, id);
CREATE INDEX pages_chapter_visible ON pages(chapter_id, status, position, id);
CREATE INDEX pages_feed ON pages(series_id, status, live_at);
