//! Key/value rows behind the site settings.

use diesel::prelude::*;

use super::DbConn;
use super::schema::settings;
use crate::error::AppError;

pub fn load_all(conn: &mut DbConn) -> Result<Vec<(String, String)>, AppError> {
    Ok(settings::table
        .select((settings::key, settings::value))
        .load(conn)?)
}

/// Inserts or replaces one setting. The multi-backend dialect has no ON CONFLICT, so this
/// is update-then-insert; two first-ever writes of one key racing on PostgreSQL make the
/// second fail with a unique violation (an error to retry), never a lost value.
pub fn put(conn: &mut DbConn, key: &str, value: &str) -> Result<(), AppError> {
    let now = super::now();
    let updated = diesel::update(settings::table.find(key))
        .set((settings::value.eq(value), settings::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(settings::table)
            .values((
                settings::key.eq(key),
                settings::value.eq(value),
                settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
