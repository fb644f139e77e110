//! Accounts: registration, credentials, roles and server-side sessions.

pub mod api_tokens;
mod devices;
mod names;
mod passwords;
pub mod settings;
mod throttle;

pub use devices::USER_AGENT_MAX_CHARS;
pub use names::{normalize_email, normalize_username, username_key};
pub use passwords::{hash_password, verify_password};
pub use throttle::FailedLogins;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event, SessionEnd};
use crate::forms::FieldErrors;

/// Sessions last this long; logging out or an admin ending them deletes the row earlier.
pub const SESSION_DAYS: i64 = 30;
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 256;
/// A session's "last seen" time is written at most this often, so that page views by
/// logged-in members do not each cost a write.
pub const LAST_SEEN_EVERY_SECS: i64 = 300;

/// The answer when an email address cannot be used because another account has it. It
/// reads the same whether or not the address is known, and is not shown on the email field,
/// so that the form does not tell anyone which addresses have accounts.
pub const SIGN_UP_REFUSED: &str = "We could not create an account with these details. \
    If you already have an account, log in instead.";
pub const EMAIL_CHANGE_REFUSED: &str =
    "We could not change your email to this address. Check it, or use another address.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Staff,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "staff" => Some(Role::Staff),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Staff and admins speak for the company: their posts get the staff badge.
    pub fn is_staff(self) -> bool {
        self >= Role::Staff
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub created_at: NaiveDateTime,
    pub unread_notifications: i32,
    /// When the member last opened the changelog (the header's "What's new" marker).
    pub changelog_seen_at: Option<NaiveDateTime>,
}

impl From<db::users::UserRow> for User {
    fn from(row: db::users::UserRow) -> User {
        User {
            id: row.id,
            role: Role::parse(&row.role).unwrap_or(Role::Member),
            username: row.username,
            email: row.email,
            created_at: row.created_at,
            unread_notifications: row.unread_notifications,
            changelog_seen_at: row.changelog_seen_at,
        }
    }
}

/// What a registration form (or the CLI) submits.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
}

/// Checks every field and creates the account with `role`; field errors come back together.
/// `only_if_no_admin` makes the check-and-create of first-run setup atomic.
pub fn register(
    db: &Db,
    input: &Registration,
    role: Role,
    only_if_no_admin: bool,
) -> Result<Result<User, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let username = normalize_username(&input.username)
        .map_err(|e| errors.add("username", e))
        .ok();
    let email = normalize_email(&input.email)
        .map_err(|e| errors.add("email", e))
        .ok();
    if let Err(e) = check_password(&input.password) {
        errors.add("password", e);
    }
    let (Some((username, username_key)), Some((email, email_key))) = (username, email) else {
        return Ok(Err(errors));
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    // Hash outside the write transaction: argon2 takes tens of milliseconds.
    let password_hash = hash_password(&input.password)?;
    let result = db.write_sync(|conn| {
        db::serialize_writers(conn)?;
        if only_if_no_admin && db::users::admin_exists(conn)? {
            return Err(AppError::Forbidden(
                "This site already has an administrator. Log in instead.".into(),
            ));
        }
        let mut errors = FieldErrors::default();
        if db::users::username_key_taken(conn, &username_key)? {
            errors.add(
                "username",
                "That username (or one that looks just like it) is taken.",
            );
        }
        if db::users::email_key_taken(conn, &email_key)? {
            // Not a field error saying the address is registered: see SIGN_UP_REFUSED.
            errors.add("form", SIGN_UP_REFUSED);
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let id = create_user_in(
            conn,
            &NewAccount {
                username: &username,
                username_key: &username_key,
                email: &email,
                email_key: &email_key,
                password_hash: &password_hash,
                role,
            },
            CreatedBy::Owner,
        )?;
        Ok(Ok(id))
    });
    match result {
        Ok(Ok(id)) => Ok(Ok(User {
            id,
            username,
            email,
            role,
            created_at: db::now(),
            unread_notifications: 0,
            changelog_seen_at: None,
        })),
        Ok(Err(errors)) => Ok(Err(errors)),
        // A concurrent registration won the race for the same name or email.
        Err(AppError::Db(e)) if db::is_unique_violation(&e) => {
            let mut errors = FieldErrors::default();
            errors.add("form", SIGN_UP_REFUSED);
            Ok(Err(errors))
        }
        Err(e) => Err(e),
    }
}

/// A checked, normalised account ready to write (see `normalize_username`, `normalize_email`).
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

/// Who created an account: its owner signing up, or nobody (the demo loader, fixtures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedBy {
    Owner,
    System,
}

/// Who does a write: enough of a user for the domain's rules (the demo loader and test
/// fixtures write without a session, so the domain does not need a whole `User`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: i64,
    pub role: Role,
}

impl From<&User> for Actor {
    fn from(u: &User) -> Actor {
        Actor {
            id: u.id,
            role: u.role,
        }
    }
}

/// Inserts an account with its event inside the caller's transaction.
pub fn create_user_in(
    conn: &mut DbConn,
    new: &NewAccount,
    created_by: CreatedBy,
) -> Result<i64, AppError> {
    let id = db::users::insert(
        conn,
        &db::users::NewUser {
            username: new.username,
            username_key: new.username_key,
            email: new.email,
            email_key: new.email_key,
            password_hash: new.password_hash,
            role: new.role.as_str(),
        },
    )?;
    events::append(
        conn,
        &Event::UserRegistered {
            username: new.username.to_string(),
            role: new.role.as_str().into(),
        },
        Some(id),
        (created_by == CreatedBy::Owner).then_some(id),
    )?;
    Ok(id)
}

pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if password.is_empty() {
        Err("Choose a password.".into())
    } else if chars < PASSWORD_MIN_CHARS {
        Err(format!(
            "Use at least {PASSWORD_MIN_CHARS} characters for your password."
        ))
    } else if chars > PASSWORD_MAX_CHARS {
        Err(format!(
            "Passwords can be at most {PASSWORD_MAX_CHARS} characters."
        ))
    } else {
        Ok(())
    }
}

/// The user whose username or email is `identifier` and whose password matches.
/// Takes the same time whether or not the account exists, so timing reveals nothing.
pub fn authenticate(db: &Db, identifier: &str, password: &str) -> Result<Option<User>, AppError> {
    let row = db.read_sync(|conn| find_by_identifier(conn, identifier))?;
    match row {
        Some(row) if verify_password(password, &row.password_hash) => Ok(Some(row.into())),
        Some(_) => Ok(None),
        None => {
            passwords::burn_equivalent_time(password);
            Ok(None)
        }
    }
}

/// The key that login rate limits count against: the same for every spelling of one name.
pub fn identifier_key(identifier: &str) -> String {
    let trimmed = identifier.trim();
    if trimmed.contains('@') {
        trimmed.to_lowercase()
    } else {
        names::username_key(trimmed)
    }
}

fn find_by_identifier(
    conn: &mut DbConn,
    identifier: &str,
) -> Result<Option<db::users::UserRow>, AppError> {
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.chars().count() > 254 {
        return Ok(None);
    }
    if identifier.contains('@') {
        db::users::by_email_key(conn, &identifier.to_lowercase())
    } else {
        db::users::by_username_key(conn, &names::username_key(identifier))
    }
}

/// A new session: the cookie value (returned once, never stored) and its CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

/// Where a session is used from, as shown in the list of a member's sessions.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: String,
    pub ip: Option<String>,
}

pub fn start_session(db: &Db, user: &User, device: &Device) -> Result<NewSession, AppError> {
    let token = crate::tokens::random_token();
    let csrf = crate::tokens::random_token();
    let hash = crate::tokens::hash_token(&token);
    let expires = db::now() + chrono::TimeDelta::days(SESSION_DAYS);
    let user_id = user.id;
    let user_agent = crate::forms::clip(&device.user_agent, USER_AGENT_MAX_CHARS);
    db.write_sync(|conn| {
        db::users::insert_session(
            conn,
            &db::users::NewSession {
                token_hash: &hash,
                user_id,
                csrf_token: &csrf,
                expires_at: expires,
                user_agent: &user_agent,
                ip: device.ip.as_deref(),
            },
        )?;
        events::append(
            conn,
            &Event::SessionStarted {},
            Some(user_id),
            Some(user_id),
        )?;
        Ok(())
    })?;
    Ok(NewSession { token, csrf })
}

/// The user and CSRF token behind a session cookie value; `None` for unknown, expired or malformed.
pub fn session_user(db: &Db, token: &str) -> Result<Option<(User, String)>, AppError> {
    if !crate::tokens::looks_like_token(token) {
        return Ok(None);
    }
    let hash = crate::tokens::hash_token(token);
    let Some((row, session)) = db.read_sync(|conn| db::users::by_session(conn, &hash))? else {
        return Ok(None);
    };
    let now = db::now();
    let stale = session
        .last_seen_at
        .is_none_or(|at| (now - at).num_seconds() >= LAST_SEEN_EVERY_SECS);
    if stale {
        // Bookkeeping only: a failure here must not fail the page.
        if let Err(e) = db.write_sync(|conn| db::users::touch_session(conn, session.id, now)) {
            tracing::warn!(error = %e, "could not record when a session was last seen");
        }
    }
    Ok(Some((row.into(), session.csrf_token)))
}

pub fn end_session(db: &Db, token: &str, user_id: i64) -> Result<(), AppError> {
    let hash = crate::tokens::hash_token(token);
    db.write_sync(|conn| {
        if db::users::delete_session(conn, &hash)? > 0 {
            events::append(
                conn,
                &Event::SessionEnded(SessionEnd::Logout {}),
                Some(user_id),
                Some(user_id),
            )?;
        }
        Ok(())
    })
}

pub fn admin_exists(db: &Db) -> Result<bool, AppError> {
    db.read_sync(db::users::admin_exists)
}
