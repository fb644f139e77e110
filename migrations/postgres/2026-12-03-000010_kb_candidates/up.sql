-- Which solved problems customers reach most, for the knowledge base's "needs an article"
-- list: topic pages opened from search results, and suggestions opened while a customer was
-- writing a question (counted from the events recorded so far).
ALTER TABLE topics ADD COLUMN search_clicks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE topics ADD COLUMN deflection_opens BIGINT NOT NULL DEFAULT 0;
UPDATE topics SET deflection_opens = d.n
FROM (SELECT subject_id, COUNT(*) AS n FROM events
      WHERE kind = 'deflection.opened' AND subject_id IS NOT NULL
      GROUP BY subject_id) AS d
WHERE d.subject_id = topics.id;

-- A topic that asks what another topic already answers (staff mark it). Visitors of the
-- duplicate are pointed at the original, and the original ranks higher as a KB candidate.
CREATE TABLE topic_duplicates (
    topic_id BIGINT PRIMARY KEY REFERENCES topics(id),
    of_topic_id BIGINT NOT NULL REFERENCES topics(id),
    marked_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    CHECK (topic_id <> of_topic_id)
);
CREATE INDEX topic_duplicates_of ON topic_duplicates(of_topic_id);

-- Related lists hold knowledge-base articles as well as solved topics.
ALTER TABLE related_topics ADD COLUMN related_kind TEXT NOT NULL DEFAULT 'topic'
    CHECK (related_kind IN ('topic', 'article'));

-- /kb counts published articles per section from the index alone (reading 5,000 article
-- rows for it took 6 ms).
CREATE INDEX kb_articles_status_section ON kb_articles(status, section_id);
