-- "When X is due, do Y" (src/scheduler.rs): one row per pending or finished run. Any node may
-- run a due job; claiming it takes a lease, so it runs once across nodes, and a node that dies
-- mid-job leaves it to another once the lease ends.
CREATE TABLE scheduled_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    -- What the job is about ("" for site-wide jobs): scheduling the same kind and key again
    -- replaces the pending run (a maintenance window moved, say).
    subject_key TEXT NOT NULL DEFAULT '',
    due_at TIMESTAMP NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    done_at TIMESTAMP,
    last_error TEXT
);
CREATE UNIQUE INDEX scheduled_jobs_pending_key ON scheduled_jobs(kind, subject_key) WHERE done_at IS NULL;
CREATE INDEX scheduled_jobs_pending_due ON scheduled_jobs(due_at) WHERE done_at IS NULL;
