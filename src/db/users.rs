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

pub fn admin_exists(conn: &mut DbConn) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq("admin")),
    ))
    .get_result(conn)?)
}

pub fn count(conn: &mut DbConn) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn insert_session(
    conn: &mut DbConn,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    expires_at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(csrf_token),
            sessions::created_at.eq(super::now()),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The user behind a live session, with the session's CSRF token: one query per request.
pub fn by_session(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<(UserRow, String)>, AppError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(super::now()))
        .select((UserRow::as_select(), sessions::csrf_token))
        .first(conn)
        .optional()?)
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
