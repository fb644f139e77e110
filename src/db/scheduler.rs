//! The scheduled-jobs table: pending runs, claims (leases) and their outcome.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::scheduled_jobs;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = scheduled_jobs)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub subject_key: String,
    pub due_at: NaiveDateTime,
    pub payload: String,
    pub attempts: i32,
}

/// Schedules a run, replacing a pending run of the same kind and key.
pub fn schedule(
    conn: &mut DbConn,
    kind: &str,
    key: &str,
    due_at: NaiveDateTime,
    payload: &str,
) -> Result<i64, AppError> {
    cancel(conn, kind, key)?;
    Ok(diesel::insert_into(scheduled_jobs::table)
        .values((
            scheduled_jobs::kind.eq(kind),
            scheduled_jobs::subject_key.eq(key),
            scheduled_jobs::due_at.eq(due_at),
            scheduled_jobs::payload.eq(payload),
        ))
        .returning(scheduled_jobs::id)
        .get_result(conn)?)
}

/// Drops the pending run of this kind and key, if any.
pub fn cancel(conn: &mut DbConn, kind: &str, key: &str) -> Result<usize, AppError> {
    Ok(diesel::delete(
        scheduled_jobs::table
            .filter(scheduled_jobs::kind.eq(kind))
            .filter(scheduled_jobs::subject_key.eq(key))
            .filter(scheduled_jobs::done_at.is_null()),
    )
    .execute(conn)?)
}

pub fn pending(conn: &mut DbConn, kind: &str, key: &str) -> Result<Option<JobRow>, AppError> {
    Ok(scheduled_jobs::table
        .filter(scheduled_jobs::kind.eq(kind))
        .filter(scheduled_jobs::subject_key.eq(key))
        .filter(scheduled_jobs::done_at.is_null())
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// The earliest due run nobody holds, leased to the caller until `lease_until`.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<Option<JobRow>, AppError> {
    let job: Option<JobRow> = scheduled_jobs::table
        .filter(scheduled_jobs::done_at.is_null())
        .filter(scheduled_jobs::due_at.le(now))
        .filter(
            scheduled_jobs::locked_until
                .is_null()
                .or(scheduled_jobs::locked_until.lt(now)),
        )
        .order((scheduled_jobs::due_at, scheduled_jobs::id))
        .select(JobRow::as_select())
        .first(conn)
        .optional()?;
    let Some(mut job) = job else {
        return Ok(None);
    };
    diesel::update(scheduled_jobs::table.find(job.id))
        .set((
            scheduled_jobs::locked_until.eq(lease_until),
            scheduled_jobs::attempts.eq(job.attempts + 1),
        ))
        .execute(conn)?;
    job.attempts += 1;
    Ok(Some(job))
}

/// Marks a run done, unless it was replaced or cancelled meanwhile (then nothing happens).
pub fn finish(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<bool, AppError> {
    Ok(diesel::update(
        scheduled_jobs::table
            .find(id)
            .filter(scheduled_jobs::done_at.is_null()),
    )
    .set(scheduled_jobs::done_at.eq(now))
    .execute(conn)?
        == 1)
}

/// Records a failed run and when it may be tried again.
pub fn fail(
    conn: &mut DbConn,
    id: i64,
    error: &str,
    retry_at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(scheduled_jobs::table.find(id))
        .set((
            scheduled_jobs::last_error.eq(error),
            scheduled_jobs::locked_until.eq(retry_at),
        ))
        .execute(conn)?;
    Ok(())
}
