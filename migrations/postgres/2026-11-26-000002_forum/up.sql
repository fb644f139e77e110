-- The public forum: categories, topics, posts, tags, likes, revisions, watching, notifications.
CREATE TABLE categories (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    color TEXT NOT NULL DEFAULT '#1f5fd1',
    position INTEGER NOT NULL DEFAULT 0,
    staff_only BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE topics (
    id BIGSERIAL PRIMARY KEY,
    category_id BIGINT NOT NULL REFERENCES categories(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    bumped_at TIMESTAMP NOT NULL,
    last_poster_id BIGINT NOT NULL REFERENCES users(id),
    reply_count INTEGER NOT NULL DEFAULT 0,
    like_count INTEGER NOT NULL DEFAULT 0,
    highest_post_number INTEGER NOT NULL DEFAULT 1,
    solved_post_id BIGINT,
    has_staff_reply BOOLEAN NOT NULL DEFAULT FALSE,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    pinned BOOLEAN NOT NULL DEFAULT FALSE,
    unlisted BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at TIMESTAMP
);
-- Lists are keyset-paginated on (bumped_at, id), globally and per category.
CREATE INDEX topics_bumped ON topics(bumped_at DESC, id DESC);
CREATE INDEX topics_category_bumped ON topics(category_id, bumped_at DESC, id DESC);
CREATE INDEX topics_user ON topics(user_id);

CREATE TABLE posts (
    id BIGSERIAL PRIMARY KEY,
    topic_id BIGINT NOT NULL REFERENCES topics(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    post_number INTEGER NOT NULL,
    raw TEXT NOT NULL,
    cooked TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    edited_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    like_count INTEGER NOT NULL DEFAULT 0,
    deleted_at TIMESTAMP,
    hidden_reason TEXT,
    UNIQUE (topic_id, post_number)
);
CREATE INDEX posts_user ON posts(user_id, created_at);

CREATE TABLE post_revisions (
    id BIGSERIAL PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts(id),
    version INTEGER NOT NULL,
    editor_id BIGINT NOT NULL REFERENCES users(id),
    raw_before TEXT NOT NULL,
    title_before TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (post_id, version)
);

CREATE TABLE tags (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE topic_tags (
    topic_id BIGINT NOT NULL REFERENCES topics(id),
    tag_id BIGINT NOT NULL REFERENCES tags(id),
    PRIMARY KEY (topic_id, tag_id)
);
CREATE INDEX topic_tags_tag ON topic_tags(tag_id);

CREATE TABLE likes (
    post_id BIGINT NOT NULL REFERENCES posts(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

-- level: 'watching' (every post), 'muted' (nothing); no row means normal (direct mentions etc.).
CREATE TABLE topic_watches (
    user_id BIGINT NOT NULL REFERENCES users(id),
    topic_id BIGINT NOT NULL REFERENCES topics(id),
    level TEXT NOT NULL CHECK (level IN ('watching', 'normal', 'muted')),
    PRIMARY KEY (user_id, topic_id)
);
CREATE INDEX topic_watches_topic ON topic_watches(topic_id);

CREATE TABLE category_watches (
    user_id BIGINT NOT NULL REFERENCES users(id),
    category_id BIGINT NOT NULL REFERENCES categories(id),
    level TEXT NOT NULL CHECK (level IN ('watching', 'normal', 'muted')),
    PRIMARY KEY (user_id, category_id)
);
CREATE INDEX category_watches_category ON category_watches(category_id);

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    event_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    topic_id BIGINT,
    post_id BIGINT,
    actor_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP,
    -- A follower replaying an event after a crash cannot notify twice.
    UNIQUE (user_id, event_id)
);
CREATE INDEX notifications_user ON notifications(user_id, id DESC);

-- Where followers that must run exactly once across all nodes (notifications, mail) stand.
CREATE TABLE follower_cursors (
    name TEXT PRIMARY KEY,
    last_event_id BIGINT NOT NULL
);

ALTER TABLE users ADD COLUMN unread_notifications INTEGER NOT NULL DEFAULT 0;
