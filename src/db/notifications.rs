//! In-app notifications and the shared cursors of exactly-once followers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{follower_cursors, notifications, users};
use crate::error::AppError;
use crate::subject::Subject;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub user_id: i64,
    pub event_id: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
    pub subject_kind: String,
    pub subject_id: i64,
}

impl NotificationRow {
    /// What it is about; `None` for a kind this version does not know.
    pub fn subject(&self) -> Option<Subject> {
        Subject::from_parts(&self.subject_kind, self.subject_id)
    }
}

pub struct NewNotification<'a> {
    pub user_id: i64,
    pub event_id: i64,
    pub kind: &'a str,
    pub subject: Subject,
    pub actor_id: Option<i64>,
    pub at: NaiveDateTime,
}

/// Inserts notifications and counts them as unread: a few statements for any number of
/// rows (a fan-out slice of 500 was 1,000 round trips, 390 ms on PostgreSQL).
pub fn insert_many(conn: &mut DbConn, rows: &[NewNotification]) -> Result<(), AppError> {
    // 7 parameters a row: 500 rows stay far below either engine's parameter limit.
    for chunk in rows.chunks(500) {
        let values: Vec<_> = chunk
            .iter()
            .map(|n| {
                (
                    notifications::user_id.eq(n.user_id),
                    notifications::event_id.eq(n.event_id),
                    notifications::kind.eq(n.kind),
                    notifications::subject_kind.eq(n.subject.kind()),
                    notifications::subject_id.eq(n.subject.id()),
                    notifications::actor_id.eq(n.actor_id),
                    notifications::created_at.eq(n.at),
                )
            })
            .collect();
        super::bulk_insert!(conn, notifications::table, values);
    }
    // Unread counts: one update per distinct number of new notifications per person.
    let mut per_user: std::collections::BTreeMap<i64, i32> = Default::default();
    for n in rows {
        *per_user.entry(n.user_id).or_default() += 1;
    }
    let mut by_count: std::collections::BTreeMap<i32, Vec<i64>> = Default::default();
    for (user, count) in per_user {
        by_count.entry(count).or_default().push(user);
    }
    for (count, users_) in by_count {
        for ids in users_.chunks(1_000) {
            diesel::update(users::table.filter(users::id.eq_any(ids)))
                .set(users::unread_notifications.eq(users::unread_notifications + count))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// A user's notifications, newest first, before id `before` (keyset).
pub fn for_user(
    conn: &mut DbConn,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NotificationRow>, AppError> {
    let mut q = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .order(notifications::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(notifications::id.lt(b));
    }
    Ok(q.load(conn)?)
}

pub fn one(conn: &mut DbConn, id: i64) -> Result<Option<NotificationRow>, AppError> {
    Ok(notifications::table
        .find(id)
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks one (or, with `None`, all) of a user's notifications read and recounts.
pub fn mark_read(conn: &mut DbConn, user_id: i64, id: Option<i64>) -> Result<(), AppError> {
    let now = super::now();
    let mine = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null());
    match id {
        Some(id) => diesel::update(mine.filter(notifications::id.eq(id)))
            .set(notifications::read_at.eq(Some(now)))
            .execute(conn)?,
        None => diesel::update(mine)
            .set(notifications::read_at.eq(Some(now)))
            .execute(conn)?,
    };
    let unread: i64 = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?;
    diesel::update(users::table.find(user_id))
        .set(users::unread_notifications.eq(unread as i32))
        .execute(conn)?;
    Ok(())
}

pub fn cursor(conn: &mut DbConn, name: &str) -> Result<i64, AppError> {
    Ok(follower_cursors::table
        .find(name)
        .select(follower_cursors::last_event_id)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

pub fn set_cursor(conn: &mut DbConn, name: &str, last_event_id: i64) -> Result<(), AppError> {
    let updated = diesel::update(follower_cursors::table.find(name))
        .set(follower_cursors::last_event_id.eq(last_event_id))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(follower_cursors::table)
            .values((
                follower_cursors::name.eq(name),
                follower_cursors::last_event_id.eq(last_event_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}
