-- See migrations/sqlite for the meaning of each table.
CREATE TABLE counts (
    hour BIGINT NOT NULL,
    metric VARCHAR(16) NOT NULL,
    dim VARCHAR(255) NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, metric, dim)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX counts_by_metric ON counts (metric, hour);

CREATE TABLE visitors (
    hour BIGINT NOT NULL,
    visitor BIGINT NOT NULL,
    PRIMARY KEY (hour, visitor)
) ENGINE = InnoDB;

CREATE TABLE spool_state (
    id INTEGER PRIMARY KEY,
    applied_seq BIGINT NOT NULL
) ENGINE = InnoDB;
INSERT INTO spool_state (id, applied_seq) VALUES (1, 0);
