-- Hourly counters: one row per (hour, metric, dimension). metric names the
-- figure ('views', 'path', 'ref', 'browser', 'bot', 'feed', 'search', …);
-- dim is '' for plain totals.
CREATE TABLE counts (
    hour INTEGER NOT NULL,
    metric VARCHAR(16) NOT NULL,
    dim VARCHAR(255) NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, metric, dim)
);
CREATE INDEX counts_by_metric ON counts (metric, hour);

-- Visitor hashes per hour, for unique counts. The hash's salt changes every
-- UTC day and is then destroyed, so these rows cannot be linked across days.
CREATE TABLE visitors (
    hour INTEGER NOT NULL,
    visitor INTEGER NOT NULL,
    PRIMARY KEY (hour, visitor)
);

-- How far into the spool the database has applied, written in the same
-- transaction as the counts (exactly-once replay).
CREATE TABLE spool_state (
    id INTEGER PRIMARY KEY,
    applied_seq INTEGER NOT NULL
);
INSERT INTO spool_state (id, applied_seq) VALUES (1, 0);
