//! One error type for the domain and the web layer. Every variant maps to a status code
//! and a message a person can act on; the web layer renders it as a page or as JSON.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Page not found.")]
    NotFound,
    /// Not found, saying what was missing (JSON API callers read the message).
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    /// A JSON API call without valid credentials (a missing, unknown or revoked token).
    #[error("{0}")]
    Unauthorized(String),
    /// The request is well formed but the thing is not in a state that allows it (an
    /// update to a resolved incident).
    #[error("{0}")]
    Conflict(String),
    /// Well-formed JSON whose values the domain refuses (every problem, one per line).
    #[error("{0}")]
    Unprocessable(String),
    #[error("Please log in to continue.")]
    LoginRequired { next: String },
    #[error("The request is too large (at most {limit_kib} KiB).")]
    PayloadTooLarge { limit_kib: usize },
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// The database cannot be reached (down, restarting, or the connection was lost):
    /// answered 503 with `Retry-After`, and logged as a warning, not as our bug.
    #[error(
        "The forum cannot reach its database just now; we'll be right back. Please try again in a few seconds."
    )]
    Unavailable(String),
    #[error("Something went wrong on our side; it has been logged.")]
    Db(#[source] diesel::result::Error),
    #[error("Something went wrong on our side; it has been logged.")]
    Internal(String),
}

/// Seconds a client is asked to wait before trying again after a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// A lost or refused database connection is `Unavailable` (503, "try again"); any other
/// database error is `Db` (500, logged as an error).
impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_connection_error(&e) {
            AppError::Unavailable(crate::db::one_line(&format!(
                "lost the database connection: {e}"
            )))
        } else {
            AppError::Db(e)
        }
    }
}

/// Attached to error responses so that the page middleware can render the site shell
/// around the message (ResponseError has no access to the request).
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound | AppError::Missing(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            // Two requests wrote the same unique thing at the same moment (on PostgreSQL a
            // second node does not wait for the first): the loser is told, not given a 500.
            AppError::Db(e) if crate::db::is_unique_violation(e) => StatusCode::CONFLICT,
            AppError::Db(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Db(e) if crate::db::is_unique_violation(e) => {
                tracing::warn!(error = %e, "concurrent duplicate write")
            }
            AppError::Db(e) => tracing::error!(error = %e, "database error"),
            AppError::Internal(e) => tracing::error!(error = %e, "internal error"),
            AppError::Unavailable(e) if crate::db::is_outage(e) => {
                tracing::debug!(error = %e, "database unavailable")
            }
            AppError::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            _ => {}
        }
        if let AppError::LoginRequired { next } = self {
            let target = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return HttpResponse::SeeOther()
                .insert_header(("Location", target))
                .finish();
        }
        let message = match self {
            AppError::Db(e) if crate::db::is_unique_violation(e) => {
                "Someone saved the same thing at the same moment. Reload the page to see it, and try again if it is still needed.".to_string()
            }
            _ => self.to_string(),
        };
        let mut builder = HttpResponse::build(self.status_code());
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            builder.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if let AppError::Unauthorized(_) = self {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let AppError::Unavailable(_) = self {
            builder.insert_header(("Retry-After", RETRY_AFTER_SECS.to_string()));
        }
        let mut res = builder
            .content_type("text/plain; charset=utf-8")
            .body(message.clone());
        res.extensions_mut().insert(ErrorInfo { message });
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn db_error(kind: DatabaseErrorKind) -> AppError {
        AppError::Db(Error::DatabaseError(kind, Box::new("detail".to_string())))
    }

    #[test]
    fn a_concurrent_duplicate_write_is_a_conflict_with_a_message_not_a_500() {
        let e = db_error(DatabaseErrorKind::UniqueViolation);
        assert_eq!(e.status_code(), StatusCode::CONFLICT);
        let res = e.error_response();
        let info = res.extensions().get::<ErrorInfo>().cloned().expect("info");
        assert!(
            info.message.starts_with("Someone saved the same thing"),
            "{}",
            info.message
        );
        let other = db_error(DatabaseErrorKind::ForeignKeyViolation);
        assert_eq!(other.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
