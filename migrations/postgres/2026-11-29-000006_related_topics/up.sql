-- "Related solved topics" per topic: derived data, computed from the search index in the
-- background (src/search/related.rs) so that a topic page reads a list instead of searching.
CREATE TABLE related_topics (
    topic_id BIGINT NOT NULL,
    rank INTEGER NOT NULL,
    related_id BIGINT NOT NULL,
    PRIMARY KEY (topic_id, rank)
);
-- When each topic's list was last computed; a list is due again when its topic changes
-- (set back to the epoch) or when it is old.
CREATE TABLE related_computed (
    topic_id BIGINT PRIMARY KEY,
    computed_at TIMESTAMP NOT NULL
);
CREATE INDEX related_computed_at ON related_computed(computed_at);
