DROP INDEX topics_list;
DROP INDEX topics_category_list;
CREATE INDEX topics_bumped ON topics(bumped_at DESC, id DESC);
CREATE INDEX topics_category_bumped ON topics(category_id, bumped_at DESC, id DESC);
