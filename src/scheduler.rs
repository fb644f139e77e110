//! "When X is due, do Y", driven from database state: due response times, maintenance windows
//! that start and end by themselves, digests. A job is a row in `scheduled_jobs`; every node
//! runs [`spawn`]'s thread, and each due run happens once across nodes:
//!
//! - claiming takes a lease under a lock (PostgreSQL advisory lock; SQLite's single writer),
//!   so two nodes never hold the same run;
//! - a job's database work, the "done" mark and any follow-up (the next run of a recurring job)
//!   commit in one transaction, so a crash before the commit leaves the run pending and it is
//!   run again once the lease ends: restart-safe, never half done, never done twice;
//! - a failed run is retried with a growing delay, its error kept on the row.
//!
//! A capability adds a variant to [`Job`] and its arm to [`run`]; it schedules with
//! [`schedule`] inside its own write transaction, so a job exists exactly when the state that
//! needs it does.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::{self, Db, DbConn, scheduler as q};
use crate::error::AppError;

const POLL: Duration = Duration::from_secs(1);
/// How long a claimed run is held before another node may take it over.
const LEASE: TimeDelta = TimeDelta::seconds(60);
const SESSIONS_EVERY: TimeDelta = TimeDelta::hours(1);
/// Runs per round before the thread looks again (a backlog after downtime drains in rounds).
const ROUND: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Deletes expired sessions; recurring, hourly.
    ExpireSessions,
    /// A maintenance window opens (key: the incident id): scheduled → in progress.
    MaintenanceStart,
    /// A maintenance window closes (key: the incident id): → completed.
    MaintenanceEnd,
}

impl Job {
    pub fn kind(self) -> &'static str {
        match self {
            Job::ExpireSessions => "sessions.expire",
            Job::MaintenanceStart => "maintenance.start",
            Job::MaintenanceEnd => "maintenance.end",
        }
    }

    pub fn parse(kind: &str) -> Option<Job> {
        match kind {
            "sessions.expire" => Some(Job::ExpireSessions),
            "maintenance.start" => Some(Job::MaintenanceStart),
            "maintenance.end" => Some(Job::MaintenanceEnd),
            _ => None,
        }
    }
}

/// Schedules `job` about `key` at `due_at`, replacing its pending run (call inside the
/// transaction that makes it necessary).
pub fn schedule(
    conn: &mut DbConn,
    job: Job,
    key: &str,
    due_at: NaiveDateTime,
) -> Result<(), AppError> {
    q::schedule(conn, job.kind(), key, due_at, "{}")?;
    Ok(())
}

/// Drops the pending run of `job` about `key` (the state that needed it went away).
pub fn cancel(conn: &mut DbConn, job: Job, key: &str) -> Result<(), AppError> {
    q::cancel(conn, job.kind(), key)?;
    Ok(())
}

/// Recurring jobs that must always have a pending run (at start-up: a new database, or one
/// whose pending run was lost, gets one due now).
pub fn ensure_recurring(db: &Db) -> Result<(), AppError> {
    db.write_sync(|conn| {
        db::advisory_lock(conn, db::SCHEDULER_LOCK)?;
        if q::pending(conn, Job::ExpireSessions.kind(), "")?.is_none() {
            schedule(conn, Job::ExpireSessions, "", db::now())?;
        }
        Ok(())
    })
}

/// Starts this node's scheduler thread.
pub fn spawn(db: Db) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("scheduler".into())
        .spawn(move || {
            if let Err(e) = ensure_recurring(&db) {
                tracing::warn!(error = %e, "scheduler: could not set up recurring jobs");
            }
            loop {
                match run_due(&db) {
                    Ok(n) if n >= ROUND => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "scheduler: round failed"),
                }
                std::thread::sleep(POLL);
            }
        })?;
    Ok(())
}

/// Runs what is due now; returns how many runs were attempted.
pub fn run_due(db: &Db) -> Result<usize, AppError> {
    let mut attempted = 0;
    while attempted < ROUND {
        let now = db::now();
        let claimed = db.write_sync(|conn| {
            db::advisory_lock(conn, db::SCHEDULER_LOCK)?;
            q::claim_due(conn, now, now + LEASE)
        })?;
        let Some(row) = claimed else {
            break;
        };
        attempted += 1;
        let outcome = db.write_sync(|conn| {
            // A kind from a newer version: leave it to a node that knows it.
            let job = Job::parse(&row.kind)
                .ok_or_else(|| AppError::Internal(format!("unknown job {}", row.kind)))?;
            // Marked done first (same transaction), so that the run may schedule its successor
            // under the same key; a run cancelled or replaced meanwhile is skipped.
            if q::finish(conn, row.id, db::now())? {
                run(conn, job, &row)?;
            }
            Ok(())
        });
        if let Err(e) = outcome {
            let backoff = TimeDelta::seconds(30 * i64::from(row.attempts.clamp(1, 120)));
            tracing::warn!(job = %row.kind, attempts = row.attempts, error = %e, "scheduled job failed");
            db.write_sync(|conn| q::fail(conn, row.id, &e.to_string(), db::now() + backoff))?;
        }
    }
    Ok(attempted)
}

/// One run's work, in the transaction that marks it done.
fn run(conn: &mut DbConn, job: Job, row: &q::JobRow) -> Result<(), AppError> {
    match job {
        Job::ExpireSessions => {
            let count = db::users::delete_expired_sessions(conn)?;
            if count > 0 {
                let expired = crate::events::Event::SessionsExpired {
                    count: count as u64,
                };
                crate::events::append(conn, &expired, None, None)?;
            }
            // The next run counts from when this one was due, so runs do not drift.
            let next = (row.due_at + SESSIONS_EVERY).max(db::now());
            schedule(conn, job, "", next)?;
        }
        Job::MaintenanceStart | Job::MaintenanceEnd => {
            let id: i64 = row
                .subject_key
                .parse()
                .map_err(|_| AppError::Internal(format!("bad key {:?}", row.subject_key)))?;
            if job == Job::MaintenanceStart {
                crate::status::start_maintenance_in(conn, id)?;
            } else {
                crate::status::end_maintenance_in(conn, id)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).unwrap();
        db.migrate().unwrap();
        (dir, db)
    }

    fn count(db: &Db, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        db.read_sync(|c| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(sql).get_result::<N>(c)?.n)
        })
        .unwrap()
    }

    #[test]
    fn a_due_run_happens_once_and_a_recurring_job_schedules_its_next_run() {
        let (_dir, db) = sqlite();
        ensure_recurring(&db).unwrap();
        ensure_recurring(&db).unwrap(); // idempotent: still one pending run
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM scheduled_jobs"), 1);
        assert_eq!(run_due(&db).unwrap(), 1);
        assert_eq!(run_due(&db).unwrap(), 0, "nothing due twice");
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) AS n FROM scheduled_jobs WHERE done_at IS NOT NULL"
            ),
            1
        );
        let next = db
            .read_sync(|c| q::pending(c, Job::ExpireSessions.kind(), ""))
            .unwrap()
            .expect("next run");
        assert!(next.due_at > db::now() + TimeDelta::minutes(59));
    }

    #[test]
    fn a_run_claimed_by_a_node_that_died_is_taken_over_when_its_lease_ends() {
        let (_dir, db) = sqlite();
        let past = db::now() - TimeDelta::minutes(5);
        db.write_sync(|c| schedule(c, Job::ExpireSessions, "", past))
            .unwrap();
        // A node claims it and dies before running it: its lease has not ended yet.
        let now = db::now();
        let claimed = db
            .write_sync(|c| q::claim_due(c, now, now + LEASE))
            .unwrap();
        assert!(claimed.is_some());
        assert_eq!(run_due(&db).unwrap(), 0, "held by the other node");
        // Its lease ends (moved into the past here): another node runs it, once.
        db.write_sync(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE scheduled_jobs SET locked_until = '2000-01-01 00:00:00'")
                .execute(c)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(run_due(&db).unwrap(), 1);
        assert_eq!(run_due(&db).unwrap(), 0);
    }

    #[test]
    fn two_nodes_racing_run_each_due_job_once() {
        let (_dir, db) = sqlite();
        let past = db::now() - TimeDelta::minutes(1);
        db.write_sync(|c| schedule(c, Job::ExpireSessions, "", past))
            .unwrap();
        let other = db.clone();
        let a = std::thread::spawn(move || run_due(&other).unwrap());
        let b = run_due(&db).unwrap();
        let a = a.join().unwrap();
        assert_eq!(a + b, 1, "one run between the two nodes");
    }

    #[test]
    fn rescheduling_replaces_the_pending_run() {
        let (_dir, db) = sqlite();
        let later = db::now() + TimeDelta::hours(2);
        db.write_sync(|c| schedule(c, Job::ExpireSessions, "x", db::now()))
            .unwrap();
        db.write_sync(|c| schedule(c, Job::ExpireSessions, "x", later))
            .unwrap();
        assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM scheduled_jobs"), 1);
        assert_eq!(run_due(&db).unwrap(), 0, "moved to later");
    }
}
