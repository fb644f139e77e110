-- Ideas: a category of kind 'ideas' holds topics that members vote on and staff move
-- through statuses. One row per idea topic (its status, its vote count for sorting, the
-- idea it was merged into) and one row per member's vote.
ALTER TABLE categories ADD COLUMN kind TEXT NOT NULL DEFAULT 'discussion' CHECK (kind IN ('discussion', 'ideas'));

CREATE TABLE ideas (
    topic_id BIGINT PRIMARY KEY REFERENCES topics(id),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'under_review', 'planned', 'in_progress', 'shipped', 'declined')),
    vote_count INTEGER NOT NULL DEFAULT 0,
    merged_into BIGINT REFERENCES topics(id),
    status_changed_at TIMESTAMP NOT NULL,
    shipped_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ideas_votes ON ideas(vote_count DESC, topic_id DESC);
CREATE INDEX ideas_status ON ideas(status, status_changed_at);

CREATE TABLE idea_votes (
    topic_id BIGINT NOT NULL REFERENCES topics(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (topic_id, user_id)
);
-- Trending: votes of the last 30 days.
CREATE INDEX idea_votes_recent ON idea_votes(created_at, topic_id);
CREATE INDEX idea_votes_user ON idea_votes(user_id);
