-- The knowledge base: sections, articles with every version kept, the forum topics each
-- article answers, "was this helpful?" votes, and old slugs that still lead to an article.
CREATE TABLE kb_sections (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE kb_articles (
    id BIGSERIAL PRIMARY KEY,
    section_id BIGINT NOT NULL REFERENCES kb_sections(id),
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    raw TEXT NOT NULL,
    cooked TEXT NOT NULL,
    -- Canonical tags separated by spaces; "applies to" labels separated by newlines.
    tags TEXT NOT NULL DEFAULT '',
    applies_to TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    author_id BIGINT NOT NULL REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1,
    views BIGINT NOT NULL DEFAULT 0,
    helpful_yes INTEGER NOT NULL DEFAULT 0,
    helpful_no INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP
);
CREATE INDEX kb_articles_section ON kb_articles(section_id, status, updated_at);
CREATE INDEX kb_articles_status_updated ON kb_articles(status, updated_at);
CREATE INDEX kb_articles_status_views ON kb_articles(status, views);

-- Every saved version in full (the current one included), so any two can be compared and
-- any one restored.
CREATE TABLE kb_revisions (
    id BIGSERIAL PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES kb_articles(id),
    version INTEGER NOT NULL,
    editor_id BIGINT REFERENCES users(id),
    note TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    slug TEXT NOT NULL,
    summary TEXT NOT NULL,
    raw TEXT NOT NULL,
    section_id BIGINT NOT NULL,
    tags TEXT NOT NULL,
    applies_to TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (article_id, version)
);

-- A forum topic answered by an article (several duplicates may point at one article).
CREATE TABLE kb_article_topics (
    topic_id BIGINT PRIMARY KEY REFERENCES topics(id),
    article_id BIGINT NOT NULL REFERENCES kb_articles(id),
    linked_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX kb_article_topics_article ON kb_article_topics(article_id);

-- One vote per voter per article: 'u<id>' for members, 'v<hash>' for a visitor's cookie.
CREATE TABLE kb_votes (
    article_id BIGINT NOT NULL REFERENCES kb_articles(id),
    voter TEXT NOT NULL,
    helpful BOOLEAN NOT NULL,
    comment TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (article_id, voter)
);
CREATE INDEX kb_votes_recent ON kb_votes(article_id, updated_at);

CREATE TABLE kb_slug_redirects (
    old_slug TEXT PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES kb_articles(id)
);

-- Page views, counted per node in memory and added up every few seconds.
ALTER TABLE topics ADD COLUMN views BIGINT NOT NULL DEFAULT 0;
