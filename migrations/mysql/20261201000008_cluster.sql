-- Each running node announces itself here every few seconds (the admin's
-- System page; "a node is gone" alerts). `stats` is a JSON object.
CREATE TABLE nodes (
    id         VARCHAR(100) NOT NULL PRIMARY KEY,
    version    VARCHAR(40) NOT NULL,
    address    VARCHAR(200) NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL,
    stopped_at BIGINT,
    stats      VARCHAR(8000) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Long work that any node (or a command) may be doing, with its progress:
-- media sync, imports. One row per job name, overwritten by the next run.
CREATE TABLE jobs (
    name       VARCHAR(64) NOT NULL PRIMARY KEY,
    node       VARCHAR(100) NOT NULL,
    state      VARCHAR(20) NOT NULL,
    done       BIGINT NOT NULL,
    total      BIGINT NOT NULL,
    detail     VARCHAR(2000) NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Alert mails to the owner: at most one per cause per hour, whichever
-- node notices first.
CREATE TABLE alerts (
    cause   VARCHAR(64) NOT NULL PRIMARY KEY,
    sent_at BIGINT NOT NULL,
    detail  VARCHAR(2000) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
