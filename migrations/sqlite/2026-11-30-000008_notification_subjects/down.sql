ALTER TABLE notifications ADD COLUMN topic_id BIGINT;
ALTER TABLE notifications ADD COLUMN post_id BIGINT;
UPDATE notifications SET topic_id = subject_id WHERE subject_kind = 'topic';
UPDATE notifications SET post_id = subject_id WHERE subject_kind = 'post';
UPDATE notifications SET topic_id = (SELECT posts.topic_id FROM posts WHERE posts.id = notifications.post_id)
    WHERE subject_kind = 'post';
ALTER TABLE notifications DROP COLUMN subject_kind;
ALTER TABLE notifications DROP COLUMN subject_id;
