//! /account: a member's own settings. Change the password or the email (both ask for the
//! current password), see where they are logged in, end one session or all of them.
//! Every route is for logged-in members only; everyone else is sent to log in.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use maud::html;
use serde::Deserialize;

use super::accounts::Empty;
use super::ctx::{CsrfForm, Ctx, expired_session_cookie};
use super::layout::{self, Field, Page, csrf_field, field};
use super::view::redirect;
use super::view::when;
use super::{RateLimits, blocking};
use crate::accounts::settings::{self, Ended};
use crate::accounts::{self, User};
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::subject::user_path;

/// A form that also answers "log in first" (rather than "form expired") to a visitor
/// whose session has ended: the login check comes before the CSRF check.
type LoggedInForm<T> = Result<CsrfForm<T>, AppError>;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    email: String,
    password: String,
}

#[get("/account")]
pub async fn overview(ctx: Ctx, q: web::Query<DoneQuery>) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let db = ctx.state.db.clone();
    let (user_id, token) = (user.id, ctx.session_token.clone());
    let sessions =
        blocking(move || settings::list_sessions(&db, user_id, token.as_deref())).await?;
    let notice = match q.done.as_str() {
        "password" => Some("Your password was changed. Every other device was logged out."),
        "email" => Some("Your email address was changed."),
        "session" => Some("That session was ended: the device is logged out."),
        _ => None,
    };
    let body = html! {
        section.card {
            h1 { "Your account" }
            @if let Some(notice) = notice { p.alert.success role="status" { (notice) } }
            dl {
                dt { "Username" }
                dd { a href=(user_path(&user.username)) { (user.username) } }
                dt { "Email" }
                dd { (user.email) " " span.small { "(never shown publicly)" } }
            }
            p {
                a.button href="/account/email" { "Change email" }
                " "
                a.button href="/account/password" { "Change password" }
            }
        }
        section.card {
            h2 { "Where you are logged in" }
            // Scrolls sideways on a phone rather than spilling out of the card.
            div.table-scroll { table.admin-table {
                thead { tr { th { "Device" } th { "Logged in" } th { "Last active" } th { "Address" } th { span.visually-hidden { "Log out" } } } }
                tbody {
                    @for s in &sessions {
                        tr {
                            td {
                                strong { (s.device) }
                                @if s.current { " " span.badge.solved { "this device" } }
                                @if !s.user_agent.is_empty() { br; span.small { (s.user_agent) } }
                            }
                            td { (when(&s.created_at)) }
                            td { (when(&s.last_seen_at)) }
                            td { (s.ip.as_deref().unwrap_or("")) }
                            td {
                                form.inline method="post" action={ "/account/sessions/" (s.id) "/end" } {
                                    (csrf_field(&ctx))
                                    button.link.danger type="submit" {
                                        @if s.current { "Log out" } @else { "End session" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
            p.small { "Last active is approximate (updated every few minutes)." }
            form method="post" action="/account/logout-everywhere" {
                (csrf_field(&ctx))
                button.danger type="submit" { "Log out everywhere" }
            }
            p.small { "Ends every session above, this one included. Do this if you used a shared computer or think someone else has access." }
        }
    };
    Ok(layout::ok(&ctx, Page::new("Your account", body)))
}

#[get("/account/password")]
pub async fn password_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    Ok(layout::ok(
        &ctx,
        password_page(&ctx, &FieldErrors::default()),
    ))
}

#[post("/account/password")]
pub async fn change_password(
    ctx: Ctx,
    form: LoggedInForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let user_id = ctx.user()?.id;
    let CsrfForm(form) = form?;
    limit_password_checks(&ctx, ctx.user()?)?;
    let db = ctx.state.db.clone();
    let keep = ctx.session_token.clone();
    let (current, new) = (form.current_password, form.new_password);
    let result =
        blocking(move || settings::change_password(&db, user_id, keep.as_deref(), &current, &new))
            .await?;
    match result {
        Ok(_) => Ok(redirect("/account?done=password")),
        Err(errors) => Ok(layout::respond(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            password_page(&ctx, &errors),
        )),
    }
}

fn password_page(ctx: &Ctx, errors: &FieldErrors) -> Page {
    let body = html! {
        section.card.narrow {
            h1 { "Change password" }
            @if !errors.is_empty() {
                p.alert.error role="alert" { "Your password was not changed: please correct the fields marked below." }
            }
            form method="post" action="/account/password" novalidate {
                (csrf_field(ctx))
                (field(Field { label: "Current password", name: "current_password", kind: "password", value: "",
                    hint: None, autocomplete: "current-password",
                    maxlength: accounts::PASSWORD_MAX_CHARS, required: true }, errors))
                (field(Field { label: "New password", name: "new_password", kind: "password", value: "",
                    hint: Some("At least 8 characters. Every other device you are logged in on will be logged out."),
                    autocomplete: "new-password", maxlength: accounts::PASSWORD_MAX_CHARS, required: true }, errors))
                button.primary type="submit" { "Change password" }
            }
            p { a href="/account" { "Back to your account" } }
        }
    };
    Page::new("Change password", body)
}

#[get("/account/email")]
pub async fn email_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let email = ctx.user()?.email.clone();
    Ok(layout::ok(
        &ctx,
        email_page(&ctx, &email, &FieldErrors::default()),
    ))
}

#[post("/account/email")]
pub async fn change_email(
    ctx: Ctx,
    form: LoggedInForm<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let user_id = ctx.user()?.id;
    let CsrfForm(form) = form?;
    limit_password_checks(&ctx, ctx.user()?)?;
    let db = ctx.state.db.clone();
    let (email, password) = (form.email.clone(), form.password);
    let result = blocking(move || settings::change_email(&db, user_id, &email, &password)).await?;
    match result {
        Ok(_) => Ok(redirect("/account?done=email")),
        Err(errors) => Ok(layout::respond(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            email_page(&ctx, &clip(&form.email, 300), &errors),
        )),
    }
}

fn email_page(ctx: &Ctx, email: &str, errors: &FieldErrors) -> Page {
    let body = html! {
        section.card.narrow {
            h1 { "Change email" }
            // A form-level notice (an address another account has) is not tied to a field.
            @if let Some(notice) = errors.get("form") {
                p.alert.error role="alert" { (notice) }
            }
            @if errors.iter().any(|(f, _)| *f != "form") {
                p.alert.error role="alert" { "Your email was not changed: please correct the fields marked below." }
            }
            form method="post" action="/account/email" novalidate {
                (csrf_field(ctx))
                (field(Field { label: "New email", name: "email", kind: "email", value: email,
                    hint: Some("Never shown publicly. You log in with it or with your username."),
                    autocomplete: "email", maxlength: 254, required: true }, errors))
                (field(Field { label: "Current password", name: "password", kind: "password", value: "",
                    hint: None, autocomplete: "current-password",
                    maxlength: accounts::PASSWORD_MAX_CHARS, required: true }, errors))
                button.primary type="submit" { "Change email" }
            }
            p { a href="/account" { "Back to your account" } }
        }
    };
    Page::new("Change email", body)
}

/// Ends one of the member's own sessions; any other id is "not found".
#[post("/account/sessions/{id}/end")]
pub async fn end_session(
    ctx: Ctx,
    id: web::Path<i64>,
    form: LoggedInForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let user_id = ctx.user()?.id;
    form?;
    let db = ctx.state.db.clone();
    let (session_id, token) = (id.into_inner(), ctx.session_token.clone());
    let ended =
        blocking(move || settings::end_own_session(&db, user_id, session_id, token.as_deref()))
            .await?;
    match ended {
        Ended::NotFound => Err(AppError::NotFound),
        Ended::Other => Ok(redirect("/account?done=session")),
        Ended::Current => Ok(logged_out(&ctx)),
    }
}

#[post("/account/logout-everywhere")]
pub async fn log_out_everywhere(
    ctx: Ctx,
    form: LoggedInForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let user_id = ctx.user()?.id;
    form?;
    let db = ctx.state.db.clone();
    blocking(move || settings::end_all_sessions(&db, user_id)).await?;
    Ok(logged_out(&ctx))
}

fn logged_out(ctx: &Ctx) -> HttpResponse {
    let mut res = redirect("/");
    let _ = res.add_cookie(&expired_session_cookie(ctx.settings.is_https()));
    res
}

/// Each check of the current password costs an argon2 run: a few per member, then slowly.
fn limit_password_checks(ctx: &Ctx, user: &User) -> Result<(), AppError> {
    RateLimits::check(&ctx.state.limits.password_checks_per_user, &user.id).map_err(|wait| {
        AppError::TooManyRequests {
            message: format!("Too many password checks. Please wait {wait} seconds and try again."),
            retry_after_secs: wait,
        }
    })
}
