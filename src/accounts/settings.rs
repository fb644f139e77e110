//! Account settings: what members change about their own account (password, email) and
//! the sessions they see and end. Every change is checked here and appends its event.

use chrono::NaiveDateTime;

use super::{
    EMAIL_CHANGE_REFUSED, check_password, devices, hash_password, normalize_email, verify_password,
};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{self, Event, SessionEnd};
use crate::forms::FieldErrors;
use crate::tokens::hash_token;

const WRONG_PASSWORD: &str = "That is not your current password.";
const NO_PASSWORD: &str = "Enter your current password.";

/// One of a member's live sessions, as the account page lists it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: i64,
    /// A short description such as "Firefox on Linux".
    pub device: String,
    pub user_agent: String,
    pub ip: Option<String>,
    pub created_at: NaiveDateTime,
    /// Approximate: refreshed at most every `LAST_SEEN_EVERY_SECS`.
    pub last_seen_at: NaiveDateTime,
    /// The session of the request asking.
    pub current: bool,
}

/// `user_id`'s live sessions, most recently used first; `current_token` marks the asker's.
pub fn list_sessions(
    db: &Db,
    user_id: i64,
    current_token: Option<&str>,
) -> Result<Vec<SessionInfo>, AppError> {
    let current = current_token.map(hash_token);
    let rows = db.read_sync(|conn| db::users::sessions_of(conn, user_id))?;
    Ok(rows
        .into_iter()
        .map(|row| SessionInfo {
            id: row.id,
            device: devices::describe(&row.user_agent),
            current: current.as_deref() == Some(row.token_hash.as_str()),
            user_agent: row.user_agent,
            ip: row.ip,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at.unwrap_or(row.created_at),
        })
        .collect())
}

/// What ending one session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Another of the member's sessions.
    Other,
    /// The session of the request that asked: the member is now logged out here.
    Current,
    /// No such session among the member's own (someone else's id, or already gone).
    NotFound,
}

/// Ends session `session_id` if, and only if, it is one of `user_id`'s.
pub fn end_own_session(
    db: &Db,
    user_id: i64,
    session_id: i64,
    current_token: Option<&str>,
) -> Result<Ended, AppError> {
    let current = current_token.map(hash_token);
    db.write_sync(|conn| {
        let Some(hash) = db::users::session_hash_of(conn, user_id, session_id)? else {
            return Ok(Ended::NotFound);
        };
        if db::users::delete_session_of(conn, user_id, session_id)? == 0 {
            return Ok(Ended::NotFound);
        }
        events::append(
            conn,
            &Event::SessionEnded(SessionEnd::One { session_id }),
            Some(user_id),
            Some(user_id),
        )?;
        Ok(if current.as_deref() == Some(hash.as_str()) {
            Ended::Current
        } else {
            Ended::Other
        })
    })
}

/// "Log out everywhere": ends every session of `user_id`, the asker's included.
pub fn end_all_sessions(db: &Db, user_id: i64) -> Result<usize, AppError> {
    db.write_sync(|conn| {
        let ended = db::users::delete_sessions_of(conn, user_id, None)?;
        events::append(
            conn,
            &Event::SessionEnded(SessionEnd::Everywhere {
                everywhere: true,
                count: ended as u64,
            }),
            Some(user_id),
            Some(user_id),
        )?;
        Ok(ended)
    })
}

/// Checks the current password, then sets the new one (same rules as at sign-up) and ends
/// every other session of the account; the one with `keep_token` stays. Returns how many
/// sessions were ended. Runs argon2 twice: call it off the async workers.
pub fn change_password(
    db: &Db,
    user_id: i64,
    keep_token: Option<&str>,
    current_password: &str,
    new_password: &str,
) -> Result<Result<usize, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    if let Err(e) = check_password(new_password) {
        errors.add("new_password", e);
    }
    let row = db
        .read_sync(|conn| db::users::by_id(conn, user_id))?
        .ok_or(AppError::NotFound)?;
    if current_password.is_empty() {
        errors.add("current_password", NO_PASSWORD);
    } else if !verify_password(current_password, &row.password_hash) {
        errors.add("current_password", WRONG_PASSWORD);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let new_hash = hash_password(new_password)?;
    let keep = keep_token.map(hash_token);
    db.write_sync(|conn| {
        if db::users::replace_password_hash(conn, user_id, &row.password_hash, &new_hash)? == 0 {
            // Changed by another request since it was checked above.
            let mut errors = FieldErrors::default();
            errors.add("current_password", WRONG_PASSWORD);
            return Ok(Err(errors));
        }
        let ended = db::users::delete_sessions_of(conn, user_id, keep.as_deref())?;
        events::append(
            conn,
            &Event::PasswordChanged {
                other_sessions_ended: ended as u64,
            },
            Some(user_id),
            Some(user_id),
        )?;
        Ok(Ok(ended))
    })
}

/// Checks the current password, then changes the account's email (same rules as at
/// sign-up). An address another account has gets the neutral `EMAIL_CHANGE_REFUSED`
/// under "form", not a field error. Returns the email as stored.
pub fn change_email(
    db: &Db,
    user_id: i64,
    new_email: &str,
    password: &str,
) -> Result<Result<String, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let email = normalize_email(new_email)
        .map_err(|e| errors.add("email", e))
        .ok();
    let row = db
        .read_sync(|conn| db::users::by_id(conn, user_id))?
        .ok_or(AppError::NotFound)?;
    if password.is_empty() {
        errors.add("password", NO_PASSWORD);
    } else if !verify_password(password, &row.password_hash) {
        errors.add("password", WRONG_PASSWORD);
    }
    let Some((email, email_key)) = email else {
        return Ok(Err(errors));
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    if email == row.email {
        return Ok(Ok(email));
    }
    let refused = || {
        let mut errors = FieldErrors::default();
        errors.add("form", EMAIL_CHANGE_REFUSED);
        errors
    };
    let result = db.write_sync(|conn| {
        if db::users::email_key_taken_by_other(conn, &email_key, user_id)? {
            return Ok(Err(refused()));
        }
        db::users::set_email(conn, user_id, &email, &email_key)?;
        // No addresses in the payload: the event log is kept for good and shown in the audit.
        events::append(conn, &Event::EmailChanged {}, Some(user_id), Some(user_id))?;
        Ok(Ok(()))
    });
    match result {
        Ok(Ok(())) => Ok(Ok(email)),
        Ok(Err(errors)) => Ok(Err(errors)),
        // Another account took the address between the check and the update.
        Err(AppError::Db(e)) if db::is_unique_violation(&e) => Ok(Err(refused())),
        Err(e) => Err(e),
    }
}
