DROP INDEX kb_articles_status_section;
DELETE FROM related_topics WHERE related_kind <> 'topic';
ALTER TABLE related_topics DROP COLUMN related_kind;
DROP TABLE topic_duplicates;
ALTER TABLE topics DROP COLUMN deflection_opens;
ALTER TABLE topics DROP COLUMN search_clicks;
