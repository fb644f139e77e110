//! What every handler needs to know about the request: who is asking, the site settings,
//! and the CSRF token; plus the form extractor that refuses a POST without that token.

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::accounts::{self, Role, User};
use crate::error::AppError;
use crate::settings::SiteSettings;
use crate::tokens;

pub const SESSION_COOKIE: &str = "townhall_session";
pub const CSRF_COOKIE: &str = "townhall_csrf";

/// The CSRF token of a visitor without a session, from (or freshly made for) their cookie.
#[derive(Clone)]
pub struct AnonCsrf(pub String);

pub struct CtxData {
    pub user: Option<User>,
    pub settings: Arc<SiteSettings>,
    /// The token forms must echo: the session's when logged in, the cookie's otherwise.
    pub csrf: String,
    pub session_token: Option<String>,
    /// Path and query of this request, for "log in and come back here".
    pub here: String,
    pub state: web::Data<AppState>,
}

/// Cheap to clone; built once per request and cached in the request's extensions.
#[derive(Clone)]
pub struct Ctx(Rc<CtxData>);

impl Deref for Ctx {
    type Target = CtxData;
    fn deref(&self) -> &CtxData {
        &self.0
    }
}

impl Ctx {
    pub fn user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or_else(|| AppError::LoginRequired {
            next: self.here.clone(),
        })
    }

    /// The user, if their role is at least `role`; anonymous visitors are sent to log in.
    pub fn require(&self, role: Role) -> Result<&User, AppError> {
        let user = self.user()?;
        if user.role >= role {
            Ok(user)
        } else {
            Err(AppError::Forbidden(format!(
                "This page is for {} only.",
                match role {
                    Role::Admin => "administrators",
                    Role::Staff => "staff",
                    Role::Member => "members",
                }
            )))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Admin)
    }
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Ctx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(ctx) = req.extensions().get::<Ctx>() {
            let ctx = ctx.clone();
            return Box::pin(async move { Ok(ctx) });
        }
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::Internal("application state missing".into()))?;
            let settings = state.settings.get();
            let token = req
                .cookie(SESSION_COOKIE)
                .map(|c| c.value().to_string())
                .filter(|t| tokens::looks_like_token(t));
            let session = match token.clone() {
                Some(token) => {
                    let db = state.db.clone();
                    web::block(move || accounts::session_user(&db, &token))
                        .await
                        .map_err(|e| AppError::Internal(e.to_string()))??
                }
                None => None,
            };
            let (user, csrf) = match session {
                Some((user, csrf)) => (Some(user), csrf),
                None => (
                    None,
                    req.extensions()
                        .get::<AnonCsrf>()
                        .map(|c| c.0.clone())
                        .unwrap_or_default(),
                ),
            };
            let here = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let ctx = Ctx(Rc::new(CtxData {
                session_token: if user.is_some() { token } else { None },
                user,
                settings,
                csrf,
                here,
                state,
            }));
            req.extensions_mut().insert(ctx.clone());
            Ok(ctx)
        })
    }
}

/// A urlencoded form whose `csrf` field (or `X-CSRF-Token` header) matches the
/// visitor's token; anything else is refused with 403 before the handler runs.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<CsrfForm<T>, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ctx = Ctx::from_request(req, &mut Payload::None);
        let body = web::Bytes::from_request(req, payload);
        let header = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(async move {
            let ctx = ctx.await?;
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code() == 413 {
                    AppError::PayloadTooLarge {
                        limit_kib: super::MAX_FORM_BYTES / 1024,
                    }
                } else {
                    AppError::BadRequest("The form could not be read.".into())
                }
            })?;
            #[derive(serde::Deserialize)]
            struct Token {
                csrf: Option<String>,
            }
            let sent = serde_urlencoded::from_bytes::<Token>(&body)
                .ok()
                .and_then(|t| t.csrf)
                .or(header)
                .unwrap_or_default();
            if ctx.csrf.is_empty() || !tokens::constant_time_eq(&sent, &ctx.csrf) {
                return Err(AppError::Forbidden(
                    "This form expired or did not come from this site. Go back, reload the page and try again."
                        .into(),
                ));
            }
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}.")))
        })
    }
}

/// The client address that rate limits count against.
pub struct ClientIp(pub IpAddr);

impl FromRequest for ClientIp {
    type Error = AppError;
    type Future = Ready<Result<ClientIp, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust_proxy = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.config.trust_proxy);
        let forwarded = trust_proxy
            .then(|| {
                req.connection_info()
                    .realip_remote_addr()
                    .and_then(|a| a.parse::<IpAddr>().ok())
            })
            .flatten();
        let ip = forwarded
            .or_else(|| req.peer_addr().map(|a| a.ip()))
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        ready(Ok(ClientIp(ip)))
    }
}

pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(CookieDuration::days(accounts::SESSION_DAYS))
        .finish()
}

pub fn csrf_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(CSRF_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie("", secure);
    cookie.make_removal();
    cookie
}

/// Only same-site paths are followed after logging in, never another host.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n'])
        && next.len() <= 500;
    if ok { next.to_string() } else { "/".into() }
}
