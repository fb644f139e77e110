//! API tokens for scripts: a monitoring check that opens an incident, a deploy that posts a
//! maintenance window. Admins create them (web or CLI); the token is shown once and only its
//! hash is kept; each has scopes, can be revoked, and records when it was last used.

use crate::db::api_tokens::{self as q, TokenRow};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::events::{self, Event};
use crate::forms::FieldErrors;
use crate::tokens;

/// Tokens start with this, so that a leaked one is recognisable (secret scanners, logs).
pub const PREFIX: &str = "th_";
pub const MAX_NAME_CHARS: usize = 80;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY_SECS: i64 = 60;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Open, update and resolve incidents; set component status.
    Status,
}

impl Scope {
    pub const ALL: [Scope; 1] = [Scope::Status];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scope::Status => "open, update and resolve incidents; set component status",
        }
    }
}

/// A token that authenticated a request.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub token_id: i64,
    pub name: String,
    /// The admin who created the token: writes made with it are theirs.
    pub acting_user: Option<i64>,
}

pub fn scopes_of(row: &TokenRow) -> Vec<Scope> {
    row.scopes
        .split_whitespace()
        .filter_map(Scope::parse)
        .collect()
}

/// Creates a token; returns its id and the token itself (shown once, never stored).
pub fn create(
    db: &Db,
    name: &str,
    scopes: &[String],
    created_by: Option<i64>,
) -> Result<Result<(i64, String), FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        errors.add(
            "name",
            "Name the token after what uses it, like “uptime monitor”.",
        );
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.add("name", format!("At most {MAX_NAME_CHARS} characters."));
    }
    let mut parsed: Vec<Scope> = Vec::new();
    for s in scopes {
        match Scope::parse(s.trim()) {
            Some(scope) if !parsed.contains(&scope) => parsed.push(scope),
            Some(_) => {}
            None => errors.add(
                "scopes",
                format!(
                    "Unknown scope “{}”: choose from {}.",
                    s.trim(),
                    Scope::ALL.map(Scope::as_str).join(", ")
                ),
            ),
        }
    }
    if parsed.is_empty() && errors.get("scopes").is_none() {
        errors.add("scopes", "Choose at least one scope.");
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let token = format!("{PREFIX}{}", tokens::random_token());
    let hash = tokens::hash_token(&token);
    let scopes = parsed
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let id = db.write_sync(|conn| {
        let id = q::insert(conn, &name, &hash, &scopes, created_by, db::now())?;
        let event = Event::ApiTokenCreated {
            name: name.clone(),
            scopes: scopes.clone(),
        };
        events::append(conn, &event, Some(id), created_by)?;
        Ok(id)
    })?;
    Ok(Ok((id, token)))
}

pub fn list(db: &Db) -> Result<Vec<TokenRow>, AppError> {
    db.read_sync(q::all)
}

/// Revokes a token (admins only; the caller checked the role).
pub fn revoke(db: &Db, id: i64, by: i64) -> Result<(), AppError> {
    db.write_sync(|conn| {
        if q::by_id(conn, id)?.is_none() {
            return Err(AppError::NotFound);
        }
        if q::revoke(conn, id, db::now())? {
            events::append(conn, &Event::ApiTokenRevoked {}, Some(id), Some(by))?;
        }
        Ok(())
    })
}

/// Checks an `Authorization` header's bearer token for `scope`: 401 when it is missing,
/// unknown or revoked, 403 when it lacks the scope. Records when it was last used.
pub fn authenticate(
    db: &Db,
    authorization: Option<&str>,
    scope: Scope,
) -> Result<ApiClient, AppError> {
    let token = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
                .or_else(|| h.strip_prefix("OAuth ")) // Statuspage's own scheme
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::Unauthorized(
                "Send an API token as “Authorization: Bearer TOKEN” (admins create tokens at /admin/tokens).".into(),
            )
        })?;
    let hash = tokens::hash_token(token);
    let row = db
        .read_sync(|c| q::by_hash(c, &hash))?
        .filter(|r| tokens::constant_time_eq(&r.hash, &hash));
    let Some(row) = row else {
        return Err(AppError::Unauthorized(
            "This API token is not valid.".into(),
        ));
    };
    if row.revoked_at.is_some() {
        return Err(AppError::Unauthorized("This API token was revoked.".into()));
    }
    if !scopes_of(&row).contains(&scope) {
        return Err(AppError::Forbidden(format!(
            "This API token does not have the “{}” scope.",
            scope.as_str()
        )));
    }
    let now = db::now();
    let stale = row
        .last_used_at
        .is_none_or(|t| (now - t).num_seconds() >= TOUCH_EVERY_SECS);
    if stale {
        db.write_sync(|c| q::touch(c, row.id, now))?;
    }
    Ok(ApiClient {
        token_id: row.id,
        name: row.name,
        acting_user: row.created_by,
    })
}
