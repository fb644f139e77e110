//! Users and their server-side sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{sessions, users};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub username_key: String,
    pub email: String,
    pub email_key: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: NaiveDateTime,
    pub unread_notifications: i32,
    pub changelog_seen_at: Option<NaiveDateTime>,
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
}

pub fn insert(conn: &mut DbConn, u: &NewUser) -> Result<i64, AppError> {
    Ok(diesel::insert_into(users::table)
        .values((
            users::username.eq(u.username),
            users::username_key.eq(u.username_key),
            users::email.eq(u.email),
            users::email_key.eq(u.email_key),
            users::password_hash.eq(u.password_hash),
            users::role.eq(u.role),
            users::created_at.eq(super::now()),
        ))
        .returning(users::id)
        .get_result(conn)?)
}

pub fn by_username_key(conn: &mut DbConn, key: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::username_key.eq(key))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_email_key(conn: &mut DbConn, key: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::email_key.eq(key))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn username_key_taken(conn: &mut DbConn, key: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::username_key.eq(key)),
    ))
    .get_result(conn)?)
}

pub fn email_key_taken(conn: &mut DbConn, key: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::email_key.eq(key)),
    ))
    .get_result(conn)?)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether an account other than `user_id` has this email key.
pub fn email_key_taken_by_other(
    conn: &mut DbConn,
    key: &str,
    user_id: i64,
) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::email_key.eq(key))
            .filter(users::id.ne(user_id)),
    ))
    .get_result(conn)?)
}

/// Replaces the password hash only if it is still `old`; the number of rows changed (0 or 1).
pub fn replace_password_hash(
    conn: &mut DbConn,
    id: i64,
    old: &str,
    new: &str,
) -> Result<usize, AppError> {
    Ok(
        diesel::update(users::table.find(id).filter(users::password_hash.eq(old)))
            .set(users::password_hash.eq(new))
            .execute(conn)?,
    )
}

pub fn set_email(conn: &mut DbConn, id: i64, email: &str, email_key: &str) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set((users::email.eq(email), users::email_key.eq(email_key)))
        .execute(conn)?;
    Ok(())
}

pub fn admin_exists(conn: &mut DbConn) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq("admin")),
    ))
    .get_result(conn)?)
}

/// The longest-standing administrator (or else staff member), if any.
pub fn first_staff_id(conn: &mut DbConn) -> Result<Option<i64>, AppError> {
    Ok(users::table
        .filter(users::role.eq_any(["admin", "staff"]))
        .order((users::role.asc(), users::id.asc()))
        .select(users::id)
        .first(conn)
        .optional()?)
}

pub fn count(conn: &mut DbConn) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

/// A session row as written at log-in.
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub expires_at: NaiveDateTime,
    pub user_agent: &'a str,
    pub ip: Option<&'a str>,
}

pub fn insert_session(conn: &mut DbConn, s: &NewSession) -> Result<(), AppError> {
    let now = super::now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(s.token_hash),
            sessions::user_id.eq(s.user_id),
            sessions::csrf_token.eq(s.csrf_token),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(s.expires_at),
            sessions::user_agent.eq(s.user_agent),
            sessions::ip.eq(s.ip),
            sessions::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// What a request needs of its session besides the user.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionAuth {
    pub id: i64,
    pub csrf_token: String,
    pub last_seen_at: Option<NaiveDateTime>,
}

/// The user behind a live session, with the session's CSRF token: one query per request.
pub fn by_session(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<(UserRow, SessionAuth)>, AppError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(super::now()))
        .select((UserRow::as_select(), SessionAuth::as_select()))
        .first(conn)
        .optional()?)
}

/// Records that a session was used at `at` (callers do this at most every few minutes).
pub fn touch_session(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(sessions::table.filter(sessions::id.eq(id)))
        .set(sessions::last_seen_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// One of a user's sessions, for the list on the account page.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub user_agent: String,
    pub ip: Option<String>,
}

/// A user's live sessions, most recently used first.
pub fn sessions_of(conn: &mut DbConn, user_id: i64) -> Result<Vec<SessionRow>, AppError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(super::now()))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .select(SessionRow::as_select())
        .load(conn)?)
}

/// The token hash of session `id`, if it is one of `user_id`'s.
pub fn session_hash_of(
    conn: &mut DbConn,
    user_id: i64,
    id: i64,
) -> Result<Option<String>, AppError> {
    Ok(sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::user_id.eq(user_id))
        .select(sessions::token_hash)
        .first(conn)
        .optional()?)
}

/// Deletes session `id` only if it belongs to `user_id`; the number of rows deleted (0 or 1).
pub fn delete_session_of(conn: &mut DbConn, user_id: i64, id: i64) -> Result<usize, AppError> {
    Ok(diesel::delete(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)?)
}

/// Deletes every session of `user_id`, except the one whose hash is `keep` when given.
pub fn delete_sessions_of(
    conn: &mut DbConn,
    user_id: i64,
    keep: Option<&str>,
) -> Result<usize, AppError> {
    let mine = sessions::table.filter(sessions::user_id.eq(user_id));
    Ok(match keep {
        Some(hash) => diesel::delete(mine.filter(sessions::token_hash.ne(hash))).execute(conn)?,
        None => diesel::delete(mine).execute(conn)?,
    })
}

pub fn delete_session(conn: &mut DbConn, token_hash: &str) -> Result<usize, AppError> {
    Ok(
        diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash)))
            .execute(conn)?,
    )
}

pub fn delete_expired_sessions(conn: &mut DbConn) -> Result<usize, AppError> {
    Ok(
        diesel::delete(sessions::table.filter(sessions::expires_at.le(super::now())))
            .execute(conn)?,
    )
}
