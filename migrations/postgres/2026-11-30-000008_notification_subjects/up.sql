-- Notifications name what they are about as a subject (kind + id, see src/subject.rs)
-- instead of topic and post columns, so that articles, ideas, changelog posts and incidents
-- can be notified about too.
ALTER TABLE notifications ADD COLUMN subject_kind TEXT NOT NULL DEFAULT 'topic';
ALTER TABLE notifications ADD COLUMN subject_id BIGINT NOT NULL DEFAULT 0;
UPDATE notifications SET
    subject_kind = CASE WHEN post_id IS NOT NULL THEN 'post' ELSE 'topic' END,
    subject_id = COALESCE(post_id, topic_id, 0);
ALTER TABLE notifications DROP COLUMN topic_id;
ALTER TABLE notifications DROP COLUMN post_id;
