-- A page of its own may be for adults only (a chapter or series may be too).
ALTER TABLE pages ADD COLUMN age_gate INTEGER NOT NULL DEFAULT 0;
