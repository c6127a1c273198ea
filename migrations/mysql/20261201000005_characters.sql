-- The author may name a character's first appearance (the page readers are
-- sent to from the cast); without it the first visible page they are on is used.
ALTER TABLE characters
    ADD COLUMN first_page_id BIGINT NULL,
    ADD CONSTRAINT characters_first_page FOREIGN KEY (first_page_id) REFERENCES pages(id) ON DELETE SET NULL;
