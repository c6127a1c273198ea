-- Old addresses of a comic that moved in (or pages renamed): answered with
-- a 301. A row points at a page (followed when the page's slug changes) or
-- at a fixed path. `from_path` is normalised: path, then the query's
-- parameters sorted (`/?p=16`, `/comic/page-1`).
CREATE TABLE redirects (
    id         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    from_path  VARCHAR(700) NOT NULL,
    page_id    BIGINT NULL,
    to_path    VARCHAR(1000) NOT NULL,
    source     VARCHAR(100) NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY redirects_from (from_path),
    CONSTRAINT redirects_page FOREIGN KEY (page_id) REFERENCES pages(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
