-- The changelog: posts by staff saying what changed, each linked to what prompted it
-- (ideas, support topics, KB articles, incidents); old slugs that still lead to a post;
-- and when each member last looked at it (the "What's new" marker).
CREATE TABLE changelog_posts (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    raw TEXT NOT NULL,
    cooked TEXT NOT NULL,
    label_new BOOLEAN NOT NULL DEFAULT FALSE,
    label_improved BOOLEAN NOT NULL DEFAULT FALSE,
    label_fixed BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    author_id BIGINT NOT NULL REFERENCES users(id),
    -- The date shown on the post (staff may back-date it).
    published_on DATE NOT NULL,
    published_at TIMESTAMP,
    -- Set once, by the first publication: the loop (shipped ideas, replies, notifications)
    -- is closed exactly once however often the post is edited or re-published.
    loop_closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX changelog_posts_published ON changelog_posts(status, published_at);

-- subject_kind: 'idea' and 'topic' (both forum topics), 'article', 'incident'.
CREATE TABLE changelog_links (
    post_id BIGINT NOT NULL REFERENCES changelog_posts(id),
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('idea', 'topic', 'article', 'incident')),
    subject_id BIGINT NOT NULL,
    PRIMARY KEY (post_id, subject_kind, subject_id)
);
CREATE INDEX changelog_links_subject ON changelog_links(subject_kind, subject_id);

CREATE TABLE changelog_slug_redirects (
    old_slug TEXT PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES changelog_posts(id)
);

ALTER TABLE users ADD COLUMN changelog_seen_at TIMESTAMP;
