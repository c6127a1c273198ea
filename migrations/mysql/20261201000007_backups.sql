-- Every backup attempt (command, schedule or the admin's button), for the
-- admin's "last backup" and its warning when none is recent.
CREATE TABLE backups (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    kind        VARCHAR(20) NOT NULL,
    path        VARCHAR(1000),
    bytes       BIGINT,
    verified    BIGINT NOT NULL DEFAULT 0,
    error       VARCHAR(2000),
    INDEX backups_started (started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Work that exactly one node does (scheduled backups, and later anything
-- else periodic): a node holds a lease until `until_ms`; when it dies,
-- another takes over after that.
CREATE TABLE leases (
    name     VARCHAR(64) NOT NULL PRIMARY KEY,
    owner    VARCHAR(100) NOT NULL,
    until_ms BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
