//! The thin HTTP layer: parse and check input, check the role, call the domain, render.

pub mod account;
pub mod accounts;
pub mod admin;
pub mod api_tokens;
pub mod assets;
pub mod changelog;
pub mod compose;
pub mod ctx;
pub mod feeds;
pub mod forum;
pub mod ideas;
pub mod kb;
pub mod kb_review;
pub mod layout;
pub mod notifications;
pub mod page_cache;
pub mod pages;
pub mod posts;
pub mod search;
pub mod status;
pub mod status_api;
pub mod topic;
pub mod users;
pub mod view;
pub mod views;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Compress, Next};
use actix_web::{App, HttpMessage, HttpResponse, HttpServer, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, ErrorInfo};
use crate::settings::Snapshot;
use ctx::{AnonCsrf, CSRF_COOKIE};

/// Largest request body accepted: room for a 64 KiB post, percent-encoded.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

pub struct AppState {
    pub db: Db,
    pub settings: Snapshot,
    pub config: Config,
    pub assets: assets::Assets,
    pub limits: RateLimits,
    pub search: crate::search::SearchIndex,
    pub deflection: crate::search::deflection::Recorded,
    pub pages: std::sync::Arc<page_cache::PageCache>,
    pub views: std::sync::Arc<views::Views>,
    pub status: crate::status::snapshot::Snapshot,
    pub whats_new: crate::changelog::whats_new::WhatsNew,
    pub idea_rankings: crate::ideas::rankings::Rankings,
}

/// Per-node login and sign-up limits (kept in memory: a burst spread over several nodes
/// gets at most nodes × quota tries, which still stops password guessing).
pub struct RateLimits {
    pub login_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// The strict per-account limit counts one account from one address: guesses from
    /// elsewhere never lock the owner out (see `crate::accounts::FailedLogins`).
    pub login_per_account_and_ip: DefaultKeyedRateLimiter<(String, IpAddr)>,
    /// Account-wide failures: they slow further attempts on the account, never refuse them.
    pub login_failures: crate::accounts::FailedLogins,
    /// Checks of the current password on the account page (argon2 work per member).
    pub password_checks_per_user: DefaultKeyedRateLimiter<i64>,
    pub register_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Per member (staff are exempt): new topics and replies, likes, edits.
    pub posts_per_user: DefaultKeyedRateLimiter<i64>,
    pub likes_per_user: DefaultKeyedRateLimiter<i64>,
    pub edits_per_user: DefaultKeyedRateLimiter<i64>,
    /// "Was this helpful?" answers per voter (member or visitor cookie).
    pub votes_per_voter: DefaultKeyedRateLimiter<String>,
    /// Idea votes per member (staff are exempt).
    pub idea_votes_per_user: DefaultKeyedRateLimiter<i64>,
}

fn quota(burst: u32, one_every: Duration) -> Quota {
    Quota::with_period(one_every)
        .expect("non-zero period")
        .allow_burst(NonZeroU32::new(burst).expect("non-zero burst"))
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            login_per_ip: RateLimiter::keyed(quota(20, Duration::from_secs(3))),
            login_per_account_and_ip: RateLimiter::keyed(quota(5, Duration::from_secs(12))),
            login_failures: crate::accounts::FailedLogins::default(),
            password_checks_per_user: RateLimiter::keyed(quota(5, Duration::from_secs(12))),
            register_per_ip: RateLimiter::keyed(quota(20, Duration::from_secs(30))),
            posts_per_user: RateLimiter::keyed(quota(10, Duration::from_secs(6))),
            likes_per_user: RateLimiter::keyed(quota(30, Duration::from_secs(2))),
            edits_per_user: RateLimiter::keyed(quota(20, Duration::from_secs(3))),
            votes_per_voter: RateLimiter::keyed(quota(10, Duration::from_secs(2))),
            // Enough to go down a list voting for everything that matters; not a script.
            idea_votes_per_user: RateLimiter::keyed(quota(30, Duration::from_secs(1))),
        }
    }
}

impl RateLimits {
    /// A member's action against one of the per-user limits; staff are never limited.
    pub fn check_user(
        limiter: &DefaultKeyedRateLimiter<i64>,
        user: &crate::accounts::User,
        what: &str,
    ) -> Result<(), AppError> {
        if user.role.is_staff() {
            return Ok(());
        }
        RateLimits::check(limiter, &user.id).map_err(|wait| AppError::TooManyRequests {
            message: format!(
                "You are {what} faster than we allow. Please wait {wait} seconds and try again."
            ),
            retry_after_secs: wait,
        })
    }

    /// `Err` says how long to wait, in whole seconds.
    pub fn check<K: std::hash::Hash + Eq + Clone>(
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), u64> {
        limiter.check_key(key).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(pages::home)
        .service(pages::contact)
        .service(pages::healthz)
        .service(assets::serve)
        .service(accounts::login_form)
        .service(accounts::login)
        .service(accounts::register_form)
        .service(accounts::register)
        .service(accounts::logout)
        .service(accounts::setup_form)
        .service(accounts::setup)
        .service(account::overview)
        .service(account::password_form)
        .service(account::change_password)
        .service(account::email_form)
        .service(account::change_email)
        .service(account::end_session)
        .service(account::log_out_everywhere)
        .service(admin::index)
        .service(admin::settings_form)
        .service(admin::save_settings)
        .service(admin::categories_admin)
        .service(admin::category_form)
        .service(admin::create_category)
        .service(admin::update_category)
        .service(admin::audit)
        .service(api_tokens::list)
        .service(api_tokens::create)
        .service(api_tokens::revoke)
        // Forum. Fixed paths before patterns that could swallow them.
        .service(forum::latest)
        .service(forum::latest_json)
        .service(forum::latest_atom)
        .service(compose::new_topic_form)
        .service(compose::create_topic)
        .service(forum::category_page)
        .service(topic::topic_by_slug)
        .service(topic::topic_by_id)
        .service(compose::reply)
        .service(ideas::vote)
        .service(ideas::set_status)
        .service(ideas::merge)
        .service(ideas::suggest)
        .service(ideas::index)
        .service(ideas::roadmap)
        .service(ideas::roadmap_json)
        .service(ideas::feedback)
        .service(posts::edit_form)
        .service(posts::edit)
        .service(posts::revisions_page)
        .service(posts::delete)
        .service(posts::hide)
        .service(posts::like)
        .service(posts::solution)
        .service(posts::moderate)
        .service(posts::mark_duplicate)
        .service(posts::watch_topic)
        .service(posts::watch_category)
        .service(kb::index)
        .service(kb::home_json)
        .service(kb::feed)
        .service(kb::new_form)
        .service(kb::create)
        .service(kb::overview)
        .service(kb_review::candidates)
        .service(kb::sections_page)
        .service(kb::save_section)
        .service(kb::edit_form)
        .service(kb::update)
        .service(kb::history)
        .service(kb::restore)
        .service(kb::vote)
        .service(kb::show)
        .service(kb::from_topic)
        .service(kb::link_topic)
        .service(changelog::index)
        .service(changelog::index_json)
        .service(changelog::feed)
        .service(changelog::new_form)
        .service(changelog::create)
        .service(changelog::show)
        .service(changelog::edit_form)
        .service(changelog::update)
        .service(changelog::publish)
        .service(status::status_page)
        .service(status::history)
        .service(status::incident)
        .service(status::post_update)
        .service(status::link_topic)
        .service(status::follow)
        .service(status::to_article)
        .service(status::subscribe)
        .service(status::atom)
        .service(status::rss)
        .service(status::manage)
        .service(status::open_incident)
        .service(status::schedule_maintenance)
        .service(status::create_component)
        .service(status::component_new)
        .service(status::component_edit)
        .service(status::update_component)
        .service(status_api::open)
        .service(status_api::update)
        .service(status_api::component)
        .service(status::statuspage_api)
        .service(users::profile)
        .service(notifications::list)
        .service(notifications::mark_all_read)
        .service(notifications::open)
        .service(search::page)
        .service(search::api)
        .service(search::suggest)
        .service(search::open)
        .service(feeds::sitemap)
        .service(feeds::sitemap_pages)
        .service(feeds::sitemap_topics)
        .service(feeds::robots);
}

/// Runs the HTTP server until SIGINT/SIGTERM, then drains in-flight requests.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let addr = state
        .config
        .bind_addr()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.0))?;
    let workers = match state.config.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let state = web::Data::new(state);
    let server = HttpServer::new({
        let state = state.clone();
        move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(MAX_FORM_BYTES))
                .configure(configure)
                .default_service(web::to(pages::not_found))
                .wrap(actix_web::middleware::from_fn(page_cache::anonymous_pages))
                .wrap(actix_web::middleware::from_fn(anon_csrf_cookie))
                .wrap(actix_web::middleware::from_fn(error_pages))
                .wrap(actix_web::middleware::from_fn(security_headers))
                .wrap(Compress::default())
                .wrap(actix_web::middleware::from_fn(head_as_get))
                .wrap(actix_web::middleware::from_fn(access_log))
        }
    })
    .workers(workers)
    // Blocking work (queries, markdown, search, argon2) needs no more threads than the
    // database pool has connections: by default each worker may start 512, and 64 busy
    // connections left ~64 threads holding their own allocator caches (peak RSS 259 MiB).
    .worker_max_blocking_threads(12)
    // Compressed pages go out in several writes; without this, Nagle's algorithm and the
    // client's delayed ACK add up to 40 ms to a response on an idle keep-alive connection.
    .tcp_nodelay(true)
    .shutdown_timeout(10)
    .bind(addr)?;
    tracing::info!(%addr, workers, "listening");
    // Idle rate-limit keys are dropped now and then so the maps stay small.
    let limits_state = state.clone();
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(Duration::from_secs(60)).await;
            limits_state.limits.login_per_ip.retain_recent();
            limits_state.limits.login_per_account_and_ip.retain_recent();
            limits_state.limits.login_failures.retain_recent();
            limits_state.limits.password_checks_per_user.retain_recent();
            limits_state.limits.register_per_ip.retain_recent();
            limits_state.limits.posts_per_user.retain_recent();
            limits_state.limits.likes_per_user.retain_recent();
            limits_state.limits.edits_per_user.retain_recent();
            limits_state.limits.votes_per_voter.retain_recent();
            limits_state.limits.idea_votes_per_user.retain_recent();
        }
    });
    server.run().await
}

/// Gives every visitor without a session a CSRF token cookie, so anonymous forms
/// (log in, sign up, setup) are protected as well as logged-in ones.
async fn anon_csrf_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let existing = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| crate::tokens::looks_like_token(t));
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(crate::tokens::random_token);
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.get().is_https());
    let wants_cookie = fresh && !req.path().starts_with("/assets/") && req.path() != "/healthz";
    req.extensions_mut().insert(AnonCsrf(token.clone()));
    let mut res = next.call(req).await?;
    if wants_cookie {
        let _ = res
            .response_mut()
            .add_cookie(&ctx::csrf_cookie(&token, secure));
    }
    Ok(res)
}

/// Renders error responses (from `AppError` or from actix itself) as a page in the site
/// shell, or as JSON for API paths, so that no error ever reaches a person as a bare line.
async fn error_pages(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    keep_form(&mut req).await?;
    let res = next.call(req).await?;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_left_body());
    }
    let info = res.response().extensions().get::<ErrorInfo>().cloned();
    let already_rendered = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if already_rendered && info.is_none() {
        // A handler already rendered its own page (a form with messages, say).
        return Ok(res.map_into_left_body());
    }
    let message = info.map(|i| i.message).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("Something went wrong")
            .to_string()
            + "."
    });
    let (req, res) = res.into_parts();
    let wants_json = req.path().ends_with(".json") || req.path().starts_with("/api/");
    let mut page = if wants_json {
        HttpResponse::build(status).json(serde_json::json!({
            "error": { "status": status.as_u16(), "message": message }
        }))
    } else {
        let ctx = req.extensions().get::<ctx::Ctx>().cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        match state {
            Some(state) => {
                // A write the database could not take: its form comes back filled in.
                let kept = (status == StatusCode::SERVICE_UNAVAILABLE)
                    .then(|| req.extensions().get::<KeptForm>().cloned())
                    .flatten()
                    .and_then(|k| kept_form(req.path(), &k.0));
                let markup =
                    layout::error_page_with(&state, ctx.as_ref(), status, &message, kept.as_ref());
                let mut page = HttpResponse::build(status);
                if kept.is_some() {
                    page.insert_header((header::CACHE_CONTROL, "no-store"));
                }
                page.content_type("text/html; charset=utf-8")
                    .body(markup.into_string())
            }
            None => HttpResponse::build(status).body(message),
        }
    };
    for (name, value) in res.headers() {
        if name == header::RETRY_AFTER
            || name == header::SET_COOKIE
            || name == header::ALLOW
            || name == header::WWW_AUTHENTICATE
            || name == header::ACCESS_CONTROL_ALLOW_ORIGIN
        {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, page).map_into_right_body())
}

/// The body of a form post, read before any extractor so that an error page can give back
/// what was typed (see `kept_form`).
#[derive(Clone)]
struct KeptForm(web::Bytes);

async fn keep_form(req: &mut ServiceRequest) -> Result<(), AppError> {
    use futures_util::StreamExt;
    let is_form = req.method() == actix_web::http::Method::POST
        && req.content_type() == "application/x-www-form-urlencoded";
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let Some(length) = length.filter(|n| is_form && *n <= MAX_FORM_BYTES) else {
        return Ok(()); // left to the extractors and their limits
    };
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::with_capacity(length);
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    req.extensions_mut().insert(KeptForm(body.clone()));
    req.set_payload(actix_web::dev::Payload::from(body));
    Ok(())
}

/// The form of a post (a reply, a new topic, an edit) that the database could not take,
/// filled in again so that nothing typed is lost: the text in its text area, the rest in
/// hidden fields (the CSRF token included: it is checked again when the form is resent).
fn kept_form(path: &str, body: &[u8]) -> Option<maud::Markup> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    if !fields.iter().any(|(name, _)| name == "raw") {
        return None;
    }
    let no_errors = crate::forms::FieldErrors::default();
    Some(maud::html! {
        section.card.kept-form {
            h2 { "Your text is kept" }
            p { "Nothing you wrote is lost: send it again in a moment." }
            form method="post" action=(path) {
                @for (name, value) in &fields {
                    @match name.as_str() {
                        "raw" => { (view::textarea_field("raw", "Your text", value, &no_errors, 12)) }
                        "title" => {
                            div.field {
                                label for="f-title" { "Title" }
                                input #f-title type="text" name="title" value=(value);
                            }
                        }
                        n if n.contains("password") => {}
                        _ => { input type="hidden" name=(name) value=(value); }
                    }
                }
                button.primary type="submit" { "Send again" }
            }
        }
    })
}

/// Answers HEAD like GET: every layer below (routes, the page cache, compression) sees a GET,
/// and the HTTP codec, which remembers the request was HEAD, sends the status and headers
/// (Content-Length included) without the body. Monitors and link checkers probe with HEAD.
async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

/// One structured log line per request.
async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let res = next.call(req).await?;
    tracing::info!(
        target: "townhall::access",
        %method,
        %path,
        status = res.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
    );
    Ok(res)
}

async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let public_read_api = req.method() == actix_web::http::Method::GET
        && (req.path().starts_with("/api/v2/")
            || matches!(
                req.path(),
                "/status.atom" | "/status.rss" | "/history.atom" | "/history.rss"
            ));
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if public_read_api {
        // Status widgets on other sites read these from the browser.
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; \
                 frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
            ),
        );
    }
    Ok(res)
}

/// After a status write: this node's status board (and so its pages, banner and JSON)
/// shows it at once; other nodes follow within a poll of their event followers.
pub async fn refresh_status(state: &AppState) -> Result<(), AppError> {
    let db = state.db.clone();
    let snapshot = state.status.clone();
    blocking(move || snapshot.refresh(&db)).await
}

/// Runs blocking domain code (diesel, argon2) off the async workers.
pub async fn blocking<T, F>(f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    web::block(f)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}
