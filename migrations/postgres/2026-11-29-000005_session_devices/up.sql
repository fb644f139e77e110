-- Which device each session belongs to, for the account page's list of active sessions.
-- The raw User-Agent (at most 256 characters) and the client address at log-in;
-- last_seen_at is refreshed at most every five minutes, so page views rarely write.
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMP;
