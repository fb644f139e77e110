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

/// Inserts one notification and counts it as unread.
pub fn insert(conn: &mut DbConn, n: &NewNotification) -> Result<(), AppError> {
    diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(n.user_id),
            notifications::event_id.eq(n.event_id),
            notifications::kind.eq(n.kind),
            notifications::subject_kind.eq(n.subject.kind()),
            notifications::subject_id.eq(n.subject.id()),
            notifications::actor_id.eq(n.actor_id),
            notifications::created_at.eq(n.at),
        ))
        .execute(conn)?;
    diesel::update(users::table.find(n.user_id))
        .set(users::unread_notifications.eq(users::unread_notifications + 1))
        .execute(conn)?;
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
