-- Topic lists ask for pinned and unpinned topics separately; with `pinned` in the index
-- both are a range scan (before, finding the few pinned topics walked every topic).
DROP INDEX topics_bumped;
DROP INDEX topics_category_bumped;
CREATE INDEX topics_list ON topics(pinned, bumped_at DESC, id DESC);
CREATE INDEX topics_category_list ON topics(category_id, pinned, bumped_at DESC, id DESC);
