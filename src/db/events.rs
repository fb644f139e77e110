//! The append-only event log, as SQL: rows with their `kind` and `payload` as stored. What
//! the kinds are and what their payloads hold is `crate::events` (typed events); write through
//! `crate::events::append` and follow through `crate::events::after`. The raw rows here are
//! for what shows the log as stored (the audit page, tests).

use diesel::prelude::*;

use super::DbConn;
use super::schema::events;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub subject_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub created_at: chrono::NaiveDateTime,
    pub payload: String,
}

/// Inserts one event row; `crate::events::append` is the only caller (it encodes the typed
/// event). Call it last in a write transaction.
///
/// On PostgreSQL, sequence values are handed out before commit, so a transaction holding
/// id 7 can commit after one holding id 8 — and a follower that already read 8 would skip 7
/// forever. The transaction-scoped advisory lock makes id order equal commit order; taken
/// last, it is held only for the commit. SQLite already has a single writer.
pub(crate) fn insert(
    conn: &mut DbConn,
    kind: &str,
    subject_id: Option<i64>,
    actor_id: Option<i64>,
    payload: &str,
) -> Result<i64, AppError> {
    super::advisory_lock(conn, super::EVENT_ORDER_LOCK)?;
    let id = diesel::insert_into(events::table)
        .values((
            events::kind.eq(kind),
            events::subject_id.eq(subject_id),
            events::actor_id.eq(actor_id),
            events::created_at.eq(super::now()),
            events::payload.eq(payload),
        ))
        .returning(events::id)
        .get_result(conn)?;
    Ok(id)
}

/// Event rows with id greater than `after`, oldest first, at most `limit` (followers read
/// them typed: `crate::events::after`).
pub fn after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<EventRow>, AppError> {
    Ok(events::table
        .filter(events::id.gt(after))
        .order(events::id.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)?)
}

/// The newest event id, or 0 for an empty log.
pub fn last_id(conn: &mut DbConn) -> Result<i64, AppError> {
    Ok(events::table
        .select(diesel::dsl::max(events::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Events of one kind, newest first (used by tests and the admin audit view).
pub fn recent_of_kind(
    conn: &mut DbConn,
    kind: &str,
    limit: i64,
) -> Result<Vec<EventRow>, AppError> {
    Ok(events::table
        .filter(events::kind.eq(kind))
        .order(events::id.desc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Events before id `before` (all when `None`), newest first: the audit log.
pub fn before(
    conn: &mut DbConn,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, AppError> {
    let mut q = events::table
        .order(events::id.desc())
        .limit(limit)
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(events::id.lt(b));
    }
    Ok(q.load(conn)?)
}
