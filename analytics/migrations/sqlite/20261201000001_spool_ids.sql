-- Each spool directory has its own applied mark, keyed by the random id kept
-- in its `spool.id` file (the first schema's row 1 is the legacy spool's).
-- SQLite's INTEGER PRIMARY KEY already holds 64-bit ids: nothing to change.
SELECT 1;
