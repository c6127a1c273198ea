-- The comic on the fediverse (ActivityPub, `fediverse/`): who follows each
-- series, the activities sent, one delivery row per (activity, inbox) so a
-- restart resumes without sending twice, what followers were told of each
-- page (to send Update and Delete), and the likes and boosts pages get.
-- Addresses in unique keys are at most 700 characters (longer ones are refused).
CREATE TABLE ap_followers (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    series_id    BIGINT NOT NULL,
    actor        VARCHAR(700) NOT NULL,
    inbox        VARCHAR(700) NOT NULL,
    shared_inbox VARCHAR(700) NULL,
    handle       VARCHAR(300) NOT NULL DEFAULT '',
    follow_id    VARCHAR(700) NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    UNIQUE KEY ap_followers_actor (series_id, actor)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ap_activities (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uri        VARCHAR(700) NOT NULL,
    kind       VARCHAR(20) NOT NULL,
    series_id  BIGINT NOT NULL,
    page_id    BIGINT NULL,
    body       MEDIUMTEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY ap_activities_uri (uri)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ap_deliveries (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    activity_id BIGINT NOT NULL,
    inbox       VARCHAR(700) NOT NULL,
    status      VARCHAR(20) NOT NULL DEFAULT 'queued',
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,
    claimed_at  BIGINT NULL,
    error       VARCHAR(1000) NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    done_at     BIGINT NULL,
    UNIQUE KEY ap_deliveries_once (activity_id, inbox),
    KEY ap_deliveries_due (status, next_at),
    KEY ap_deliveries_inbox (inbox, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ap_posts (
    page_id    BIGINT NOT NULL PRIMARY KEY,
    series_id  BIGINT NOT NULL,
    note_hash  VARCHAR(64) NOT NULL,
    deleted    BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ap_reactions (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    page_id    BIGINT NOT NULL,
    kind       VARCHAR(20) NOT NULL,
    actor      VARCHAR(700) NOT NULL,
    uri        VARCHAR(700) NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY ap_reactions_uri (uri),
    KEY ap_reactions_page (page_id, kind),
    CONSTRAINT ap_reactions_page_fk FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- New pages posted to the creator's accounts elsewhere (Bluesky): one row
-- per (target, page), claimed, retried with backoff, resumed after restarts.
CREATE TABLE crossposts (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    target     VARCHAR(20) NOT NULL,
    page_id    BIGINT NOT NULL,
    status     VARCHAR(20) NOT NULL DEFAULT 'queued',
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,
    claimed_at BIGINT NULL,
    remote_uri VARCHAR(700) NOT NULL DEFAULT '',
    error      VARCHAR(1000) NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    done_at    BIGINT NULL,
    UNIQUE KEY crossposts_once (target, page_id),
    KEY crossposts_due (status, next_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
