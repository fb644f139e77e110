ALTER TABLE users DROP COLUMN changelog_seen_at;
DROP TABLE changelog_slug_redirects;
DROP TABLE changelog_links;
DROP TABLE changelog_posts;
