//! API tokens: only their hashes are stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::api_tokens as t;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = t)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    #[diesel(column_name = token_hash)]
    pub hash: String,
    pub scopes: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(
    conn: &mut DbConn,
    name: &str,
    hash: &str,
    scopes: &str,
    created_by: Option<i64>,
    at: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(diesel::insert_into(t::table)
        .values((
            t::name.eq(name),
            t::token_hash.eq(hash),
            t::scopes.eq(scopes),
            t::created_by.eq(created_by),
            t::created_at.eq(at),
        ))
        .returning(t::id)
        .get_result(conn)?)
}

pub fn by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<TokenRow>, AppError> {
    Ok(t::table
        .filter(t::token_hash.eq(hash))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> Result<Option<TokenRow>, AppError> {
    Ok(t::table
        .find(id)
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every token, newest first (revoked ones included: the page shows when they ended).
pub fn all(conn: &mut DbConn) -> Result<Vec<TokenRow>, AppError> {
    Ok(t::table
        .order(t::id.desc())
        .select(TokenRow::as_select())
        .load(conn)?)
}

pub fn touch(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(t::table.find(id))
        .set(t::last_used_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// Revokes a live token; false when it was revoked already.
pub fn revoke(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<bool, AppError> {
    Ok(
        diesel::update(t::table.find(id).filter(t::revoked_at.is_null()))
            .set(t::revoked_at.eq(at))
            .execute(conn)?
            > 0,
    )
}
