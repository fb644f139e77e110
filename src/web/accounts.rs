//! Log in, sign up, log out, and the first-run setup of the admin account.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::ctx::{ClientIp, CsrfForm, Ctx, safe_next, session_cookie};
use super::layout::{self, Field, Page, csrf_field, field};
use super::view::redirect;
use super::{RateLimits, blocking};
use crate::accounts::{self, Device, Registration, Role, User};
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterForm {
    username: String,
    email: String,
    password: String,
    next: String,
}

#[derive(Deserialize, Default)]
pub struct Empty {}

#[get("/login")]
pub async fn login_form(ctx: Ctx, q: web::Query<NextQuery>) -> HttpResponse {
    if ctx.user.is_some() {
        return redirect(&safe_next(&q.next));
    }
    layout::ok(&ctx, login_page(&ctx, "", &q.next, None))
}

/// Where a request comes from: the client address rate limits count against, and the
/// User-Agent a new session is listed with.
pub struct ClientDevice {
    pub ip: IpAddr,
    pub user_agent: String,
}

impl ClientDevice {
    pub fn device(&self) -> Device {
        Device {
            user_agent: clip(&self.user_agent, accounts::USER_AGENT_MAX_CHARS),
            ip: Some(self.ip.to_string()),
        }
    }
}

impl FromRequest for ClientDevice {
    type Error = AppError;
    type Future = Ready<Result<ClientDevice, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ip = ClientIp::from_request(req, payload).into_inner();
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| clip(ua, accounts::USER_AGENT_MAX_CHARS))
            .unwrap_or_default();
        ready(ip.map(|ClientIp(ip)| ClientDevice { ip, user_agent }))
    }
}

/// Login throttling. Refused outright (429): more than 20 attempts from one address, or
/// more than 5 on one account from one address, each then refilling slowly. Never refused:
/// a correct password from an address that did not guess, even while others guess at the
/// account; many recent failures on the account only delay its attempts by a few seconds.
#[post("/login")]
pub async fn login(
    ctx: Ctx,
    client: ClientDevice,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let limits = &ctx.state.limits;
    let account_key = accounts::identifier_key(&clip(&form.username, 254));
    let ip = client.ip;
    if let Err(wait) = RateLimits::check(&limits.login_per_ip, &ip).and_then(|_| {
        RateLimits::check(&limits.login_per_account_and_ip, &(account_key.clone(), ip))
    }) {
        return Err(AppError::TooManyRequests {
            message: format!("Too many login attempts. Please wait {wait} seconds and try again."),
            retry_after_secs: wait,
        });
    }
    let delay = limits.login_failures.delay(&account_key);
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let db = ctx.state.db.clone();
    let (identifier, password) = (form.username.clone(), form.password.clone());
    let user = blocking(move || accounts::authenticate(&db, &identifier, &password)).await?;
    match user {
        Some(user) => start_session_and_redirect(&ctx, user, &form.next, &client.device()).await,
        None => {
            limits.login_failures.record_failure(&account_key);
            Ok(layout::respond(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                login_page(
                    &ctx,
                    &clip(&form.username, 254),
                    &form.next,
                    Some(
                        "That username or email and password do not match. Check them and try again.",
                    ),
                ),
            ))
        }
    }
}

fn login_page(ctx: &Ctx, username: &str, next: &str, error: Option<&str>) -> Page {
    let body = html! {
        section.card.narrow {
            h1 { "Log in" }
            @if let Some(e) = error { p.alert.error role="alert" { (e) } }
            form method="post" action="/login" {
                (csrf_field(ctx))
                input type="hidden" name="next" value=(safe_next(next));
                (field(Field { label: "Username or email", name: "username", kind: "text", value: username,
                    hint: None, autocomplete: "username", maxlength: 254, required: true }, &FieldErrors::default()))
                (field(Field { label: "Password", name: "password", kind: "password", value: "",
                    hint: None, autocomplete: "current-password", maxlength: accounts::PASSWORD_MAX_CHARS, required: true }, &FieldErrors::default()))
                button.primary type="submit" { "Log in" }
            }
            p { "New here? " a href="/register" { "Create an account" } "." }
        }
    };
    Page::new("Log in", body)
}

#[get("/register")]
pub async fn register_form(ctx: Ctx, q: web::Query<NextQuery>) -> HttpResponse {
    if ctx.user.is_some() {
        return redirect(&safe_next(&q.next));
    }
    let form = RegisterForm {
        next: q.next.clone(),
        ..Default::default()
    };
    layout::ok(
        &ctx,
        registration_page(&ctx, Purpose::SignUp, &form, &FieldErrors::default()),
    )
}

#[post("/register")]
pub async fn register(
    ctx: Ctx,
    client: ClientDevice,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    if let Err(wait) = RateLimits::check(&ctx.state.limits.register_per_ip, &client.ip) {
        return Err(AppError::TooManyRequests {
            message: format!(
                "Too many new accounts from your network. Please wait {wait} seconds and try again."
            ),
            retry_after_secs: wait,
        });
    }
    create_account(ctx, form, Purpose::SignUp, client.device()).await
}

#[get("/setup")]
pub async fn setup_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ensure_no_admin(&ctx).await?;
    Ok(layout::ok(
        &ctx,
        registration_page(
            &ctx,
            Purpose::Setup,
            &RegisterForm::default(),
            &FieldErrors::default(),
        ),
    ))
}

#[post("/setup")]
pub async fn setup(
    ctx: Ctx,
    client: ClientDevice,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    ensure_no_admin(&ctx).await?;
    create_account(ctx, form, Purpose::Setup, client.device()).await
}

#[post("/logout")]
pub async fn logout(ctx: Ctx, _form: CsrfForm<Empty>) -> Result<HttpResponse, AppError> {
    if let (Some(token), Some(user)) = (ctx.session_token.clone(), ctx.user.as_ref()) {
        let db = ctx.state.db.clone();
        let user_id = user.id;
        blocking(move || accounts::end_session(&db, &token, user_id)).await?;
    }
    let mut res = redirect("/");
    let _ = res.add_cookie(&super::ctx::expired_session_cookie(ctx.settings.is_https()));
    Ok(res)
}

#[derive(Clone, Copy, PartialEq)]
enum Purpose {
    SignUp,
    Setup,
}

async fn ensure_no_admin(ctx: &Ctx) -> Result<(), AppError> {
    let db = ctx.state.db.clone();
    if blocking(move || accounts::admin_exists(&db)).await? {
        return Err(AppError::Forbidden(
            "Setup is complete: this site already has an administrator. Log in instead.".into(),
        ));
    }
    Ok(())
}

async fn create_account(
    ctx: Ctx,
    form: RegisterForm,
    purpose: Purpose,
    device: Device,
) -> Result<HttpResponse, AppError> {
    let input = Registration {
        username: form.username.clone(),
        email: form.email.clone(),
        password: form.password.clone(),
    };
    let db = ctx.state.db.clone();
    let (role, only_if_no_admin) = match purpose {
        Purpose::SignUp => (Role::Member, false),
        Purpose::Setup => (Role::Admin, true),
    };
    let result = blocking(move || accounts::register(&db, &input, role, only_if_no_admin)).await?;
    match result {
        Ok(user) => {
            let next = match purpose {
                Purpose::Setup => "/admin/settings".to_string(),
                Purpose::SignUp => form.next.clone(),
            };
            start_session_and_redirect(&ctx, user, &next, &device).await
        }
        Err(errors) => Ok(layout::respond(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            registration_page(&ctx, purpose, &form, &errors),
        )),
    }
}

async fn start_session_and_redirect(
    ctx: &Ctx,
    user: User,
    next: &str,
    device: &Device,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let device = device.clone();
    let session = blocking(move || accounts::start_session(&db, &user, &device)).await?;
    let mut res = redirect(&safe_next(next));
    let _ = res.add_cookie(&session_cookie(&session.token, ctx.settings.is_https()));
    Ok(res)
}

fn registration_page(
    ctx: &Ctx,
    purpose: Purpose,
    form: &RegisterForm,
    errors: &FieldErrors,
) -> Page {
    let (title, action, button) = match purpose {
        Purpose::SignUp => ("Create an account", "/register", "Create account"),
        Purpose::Setup => (
            "Set up your community",
            "/setup",
            "Create the admin account",
        ),
    };
    let body: Markup = html! {
        section.card.narrow {
            h1 { (title) }
            @if purpose == Purpose::Setup {
                p { "Nobody administers this site yet. The account you create now becomes its administrator; this page closes as soon as it exists." }
            }
            // A form-level notice (an email another account has) is not tied to a field.
            @if let Some(notice) = errors.get("form") {
                p.alert.error role="alert" { (notice) }
            }
            @if errors.iter().any(|(f, _)| *f != "form") {
                p.alert.error role="alert" { "Please correct the fields marked below." }
            }
            form method="post" action=(action) novalidate {
                (csrf_field(ctx))
                input type="hidden" name="next" value=(safe_next(&form.next));
                (field(Field { label: "Username", name: "username", kind: "text", value: &clip(&form.username, 100),
                    hint: Some("3–20 letters, digits, '_', '-' or '.'; shown with your posts."),
                    autocomplete: "username", maxlength: 20, required: true }, errors))
                (field(Field { label: "Email", name: "email", kind: "email", value: &clip(&form.email, 300),
                    hint: Some("Never shown publicly."), autocomplete: "email", maxlength: 254, required: true }, errors))
                (field(Field { label: "Password", name: "password", kind: "password", value: "",
                    hint: Some("At least 8 characters."), autocomplete: "new-password",
                    maxlength: accounts::PASSWORD_MAX_CHARS, required: true }, errors))
                button.primary type="submit" { (button) }
            }
            @if purpose == Purpose::SignUp {
                p { "Already have an account? " a href="/login" { "Log in" } "." }
            }
        }
    };
    Page::new(title, body)
}
