ALTER TABLE topics DROP COLUMN views;
DROP TABLE kb_slug_redirects;
DROP TABLE kb_votes;
DROP TABLE kb_article_topics;
DROP TABLE kb_revisions;
DROP TABLE kb_articles;
DROP TABLE kb_sections;
