//! `/admin/tokens`: API tokens for scripts (create, shown once; revoke; last used).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use maud::html;
use serde::Deserialize;

use super::blocking;
use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::view::NoFields;
use super::view::{redirect, when};
use crate::accounts::Role;
use crate::accounts::api_tokens::{self, Scope};
use crate::error::AppError;
use crate::forms::FieldErrors;

#[derive(Deserialize, Default, Clone)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    /// One checkbox per scope.
    #[serde(default)]
    scope_status: Option<String>,
}

#[get("/admin/tokens")]
pub async fn list(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    page(
        &ctx,
        &TokenForm::default(),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn page(
    ctx: &Ctx,
    form: &TokenForm,
    errors: &FieldErrors,
    created: Option<(String, String)>,
    code: StatusCode,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let tokens = blocking(move || api_tokens::list(&db)).await?;
    let base = &ctx.settings.public_url;
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/admin" { "Admin" } " › API tokens" }
        h1 { "API tokens" }
        p { "Scripts use a token to open, update and resolve incidents (a monitoring check, a deploy). Send it as "
            code { "Authorization: Bearer TOKEN" } ". See the README for " code { "curl" } " examples." }
        @if let Some((name, token)) = &created {
            section.notice role="status" {
                h2 { "Token “" (name) "” created" }
                p { strong { "Copy it now: it is shown only once." } " Only a hash of it is kept." }
                p { code.token { (token) } }
                p.small { "Try it: " code { "curl -H 'Authorization: Bearer " (token) "' -X PATCH " (base) "/api/status/components/1 -d '{\"component\":{\"status\":\"operational\"}}'" } }
            }
        }
        section.card {
            h2 { "Tokens" }
            @if tokens.is_empty() { p { "No tokens yet." } }
            @else {
                table.admin-table.stack {
                    thead { tr { th { "Name" } th { "Scopes" } th { "Created" } th { "Last used" } th { "State" } } }
                    tbody {
                        @for t in &tokens {
                            tr {
                                td data-label="Name" { (t.name) }
                                td data-label="Scopes" { (t.scopes) }
                                td data-label="Created" { (when(&t.created_at)) }
                                td data-label="Last used" { @match &t.last_used_at { Some(at) => { (when(at)) } None => { "never" } } }
                                td data-label="State" {
                                    @if let Some(at) = &t.revoked_at { "revoked " (when(at)) }
                                    @else {
                                        form.inline method="post" action={ "/admin/tokens/" (t.id) "/revoke" } {
                                            (csrf_field(ctx))
                                            button.danger type="submit" aria-label={ "Revoke " (t.name) } { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Create a token" }
            form method="post" action="/admin/tokens" {
                (csrf_field(ctx))
                (layout::field(layout::Field { label: "Name", name: "name", kind: "text", value: &form.name, hint: Some("What uses it, like “uptime monitor”."), autocomplete: "off", maxlength: api_tokens::MAX_NAME_CHARS, required: true }, errors))
                fieldset.field.has-error[errors.get("scopes").is_some()] {
                    legend { "Scopes" }
                    @for s in Scope::ALL {
                        label { input type="checkbox" name={ "scope_" (s.as_str()) } value="on" checked[form.scope_status.is_some() || created.is_none() && form.name.is_empty()]; " " strong { (s.as_str()) } ": " (s.describe()) }
                    }
                    @if let Some(m) = errors.get("scopes") { p.error { (m) } }
                }
                button.primary type="submit" { "Create token" }
            }
        }
    };
    Ok(layout::respond(
        ctx,
        code,
        Page::new("API tokens", body).noindex(),
    ))
}

#[post("/admin/tokens")]
pub async fn create(
    ctx: Ctx,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Admin)?.clone();
    let db = ctx.state.db.clone();
    let mut scopes = Vec::new();
    if form.scope_status.is_some() {
        scopes.push(Scope::Status.as_str().to_string());
    }
    let name = form.name.clone();
    match blocking(move || api_tokens::create(&db, &name, &scopes, Some(user.id))).await? {
        Ok((_, token)) => {
            let mut res = page(
                &ctx,
                &TokenForm::default(),
                &FieldErrors::default(),
                Some((form.name.trim().to_string(), token)),
                StatusCode::OK,
            )
            .await?;
            // The token is in this page: never kept by a cache or the browser's history.
            res.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        Err(errors) => page(&ctx, &form, &errors, None, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

#[post("/admin/tokens/{id}/revoke")]
pub async fn revoke(
    ctx: Ctx,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let user = ctx.require(Role::Admin)?.clone();
    let db = ctx.state.db.clone();
    blocking(move || api_tokens::revoke(&db, id, user.id)).await?;
    Ok(redirect("/admin/tokens"))
}
