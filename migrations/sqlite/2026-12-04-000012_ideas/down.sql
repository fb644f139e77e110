DROP TABLE idea_votes;
DROP TABLE ideas;
ALTER TABLE categories DROP COLUMN kind;
