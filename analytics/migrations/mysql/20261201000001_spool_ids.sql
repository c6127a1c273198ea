-- Each spool directory has its own applied mark, keyed by the random id kept
-- in its `spool.id` file (the first schema's row 1 is the legacy spool's).
ALTER TABLE spool_state MODIFY id BIGINT NOT NULL;
