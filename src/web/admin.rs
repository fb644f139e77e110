//! Admin settings: site identity, the support contact block and the first-response promise.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use maud::html;
use serde::Deserialize;

use super::blocking;
use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Field, Page, csrf_field, field};
use super::view::redirect;
use crate::accounts::Role;
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::forum::categories::{self, CategoryInput};
use crate::settings::{self, SettingsForm, SiteSettings};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SavedQuery {
    saved: Option<String>,
}

#[get("/admin/settings")]
pub async fn settings_form(ctx: Ctx, q: web::Query<SavedQuery>) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    let form = SettingsForm::from(&*ctx.settings);
    Ok(layout::ok(
        &ctx,
        page(&ctx, &form, &FieldErrors::default(), q.saved.is_some()),
    ))
}

#[post("/admin/settings")]
pub async fn save_settings(
    ctx: Ctx,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let admin = ctx.require(Role::Admin)?.id;
    let themes = ctx.state.assets.themes();
    match SiteSettings::from_form(&form, &themes) {
        Ok(new) => {
            let db = ctx.state.db.clone();
            let stored = new.clone();
            blocking(move || settings::save(&db, &stored, Some(admin))).await?;
            // This node shows the change at once; others pick it up from the event.
            ctx.state.settings.set(new);
            Ok(redirect("/admin/settings?saved=1"))
        }
        Err(errors) => Ok(layout::respond(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&ctx, &form, &errors, false),
        )),
    }
}

fn page(ctx: &Ctx, form: &SettingsForm, errors: &FieldErrors, saved: bool) -> Page {
    let themes = ctx.state.assets.themes();
    let theme_error = errors.get("theme");
    let body = html! {
        section.card {
            h1 { "Site settings" }
            @if saved { p.alert.success role="status" { "Settings saved. Every page shows them now." } }
            @if !errors.is_empty() { p.alert.error role="alert" { "Nothing was saved: please correct the fields marked below." } }
            form method="post" action="/admin/settings" novalidate {
                (csrf_field(ctx))
                fieldset {
                    legend { "Identity" }
                    (field(Field { label: "Site name", name: "site_name", kind: "text", value: &clip(&form.site_name, 200),
                        hint: None, autocomplete: "off", maxlength: 60, required: true }, errors))
                    (field(Field { label: "Tagline", name: "tagline", kind: "text", value: &clip(&form.tagline, 400),
                        hint: Some("One line under the name on the home page and in search results."),
                        autocomplete: "off", maxlength: 140, required: false }, errors))
                    (field(Field { label: "Public URL", name: "public_url", kind: "url", value: &clip(&form.public_url, 400),
                        hint: Some("The address people use; https turns on secure cookies."),
                        autocomplete: "url", maxlength: 200, required: true }, errors))
                }
                fieldset {
                    legend { "Support contact (shown on every page)" }
                    (field(Field { label: "Phone", name: "contact_phone", kind: "tel", value: &clip(&form.contact_phone, 100),
                        hint: Some("Like +1 555 010 0199."), autocomplete: "tel", maxlength: 40, required: false }, errors))
                    (field(Field { label: "Email", name: "contact_email", kind: "email", value: &clip(&form.contact_email, 300),
                        hint: None, autocomplete: "email", maxlength: 254, required: false }, errors))
                    (field(Field { label: "Hours", name: "support_hours", kind: "text", value: &clip(&form.support_hours, 300),
                        hint: Some("Like: Mon–Fri 8:00–18:00 CET."), autocomplete: "off", maxlength: 120, required: false }, errors))
                    (field(Field { label: "First response promise (hours)", name: "first_response_hours", kind: "number",
                        value: &clip(&form.first_response_hours, 20),
                        hint: Some("Every new question is acknowledged with this promise."),
                        autocomplete: "off", maxlength: 4, required: true }, errors))
                }
                fieldset {
                    legend { "Knowledge base" }
                    (field(Field { label: "Review articles after (days)", name: "kb_review_days", kind: "number",
                        value: &clip(&form.kb_review_days, 20),
                        hint: Some("Published articles not updated for this long are listed under “Needs attention”."),
                        autocomplete: "off", maxlength: 4, required: false }, errors))
                }
                fieldset {
                    legend { "Look" }
                    div.field.has-error[theme_error.is_some()] {
                        label for="f-theme" { "Theme" }
                        select #f-theme name="theme" {
                            @for t in &themes {
                                option value=(t) selected[*t == form.theme] { (t) }
                            }
                        }
                        @if let Some(e) = theme_error { p.error { (e) } }
                    }
                }
                button.primary type="submit" { "Save settings" }
            }
        }
    };
    Page::new("Site settings", body)
}

#[get("/admin")]
pub async fn index(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    let body = html! {
        h1 { "Administration" }
        div.grid {
            a.card href="/admin/settings" { h2 { "Site settings" } p { "Name, support contact, first-response promise, theme." } }
            a.card href="/admin/categories" { h2 { "Categories" } p { "Where topics live; who may start them." } }
            a.card href="/admin/audit" { h2 { "Audit log" } p { "Every change, who made it and when." } }
        }
    };
    Ok(layout::ok(&ctx, Page::new("Administration", body)))
}

#[get("/admin/categories")]
pub async fn categories_admin(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    categories_page(
        &ctx,
        None,
        &CategoryInput::default(),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[get("/admin/categories/{id}")]
pub async fn category_form(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    let id = id.into_inner();
    let db = ctx.state.db.clone();
    let row = blocking(move || crate::forum::categories::by_id(&db, id))
        .await?
        .ok_or(AppError::NotFound)?;
    categories_page(
        &ctx,
        Some(id),
        &CategoryInput::from(&row),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[post("/admin/categories")]
pub async fn create_category(
    ctx: Ctx,
    CsrfForm(input): CsrfForm<CategoryInput>,
) -> Result<HttpResponse, AppError> {
    save_category(ctx, None, input).await
}

#[post("/admin/categories/{id}")]
pub async fn update_category(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(input): CsrfForm<CategoryInput>,
) -> Result<HttpResponse, AppError> {
    save_category(ctx, Some(id.into_inner()), input).await
}

async fn save_category(
    ctx: Ctx,
    id: Option<i64>,
    input: CategoryInput,
) -> Result<HttpResponse, AppError> {
    let admin = ctx.require(Role::Admin)?.clone();
    let db = ctx.state.db.clone();
    let submitted = input.clone();
    match blocking(move || categories::save(&db, &admin, id, &submitted)).await? {
        Ok(_) => Ok(redirect("/admin/categories")),
        Err(errors) => {
            categories_page(&ctx, id, &input, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn categories_page(
    ctx: &Ctx,
    editing: Option<i64>,
    input: &CategoryInput,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let all = blocking(move || crate::forum::categories::all(&db)).await?;
    let action = match editing {
        Some(id) => format!("/admin/categories/{id}"),
        None => "/admin/categories".into(),
    };
    let body = html! {
        h1 { "Categories" }
        table.admin-table {
            thead { tr { th { "Name" } th { "Slug" } th { "Order" } th { "Who starts topics" } th { "Kind" } th { span.visually-hidden { "Edit" } } } }
            tbody {
                @for c in &all {
                    tr {
                        td { (c.name) }
                        td { code { (c.slug) } }
                        td { (c.position) }
                        td { (if c.staff_only { "staff only" } else { "everyone" }) }
                        td { (if c.is_ideas() { "ideas (votes, statuses)" } else { "discussion" }) }
                        td { a href={ "/admin/categories/" (c.id) } { "Edit" } }
                    }
                }
            }
        }
        section.card {
            h2 { (if editing.is_some() { "Edit category" } else { "New category" }) }
            @if !errors.is_empty() { p.alert.error role="alert" { "Nothing was saved: please correct the fields marked below." } }
            form method="post" action=(action) {
                (csrf_field(ctx))
                (field(Field { label: "Name", name: "name", kind: "text", value: &clip(&input.name, 200), hint: None, autocomplete: "off", maxlength: 50, required: true }, errors))
                (field(Field { label: "Slug", name: "slug", kind: "text", value: &clip(&input.slug, 200), hint: Some("In the address: /c/slug. Left empty, made from the name."), autocomplete: "off", maxlength: 50, required: false }, errors))
                (field(Field { label: "Description", name: "description", kind: "text", value: &clip(&input.description, 600), hint: None, autocomplete: "off", maxlength: 300, required: false }, errors))
                (field(Field { label: "Colour", name: "color", kind: "text", value: &clip(&input.color, 20), hint: Some("Like #1f5fd1."), autocomplete: "off", maxlength: 7, required: false }, errors))
                (field(Field { label: "Order", name: "position", kind: "number", value: &clip(&input.position, 20), hint: Some("Lower numbers come first."), autocomplete: "off", maxlength: 6, required: false }, errors))
                div.field.checkbox {
                    input #f-staff_only type="checkbox" name="staff_only" checked[input.staff_only.is_some()];
                    label for="f-staff_only" { "Only staff may start topics (announcements)" }
                }
                div.field.checkbox {
                    input #f-kind type="checkbox" name="kind" value="ideas" checked[input.kind == "ideas"];
                    label for="f-kind" { "Ideas: members vote on topics here and staff give each a status (planned, shipped…)" }
                }
                button.primary type="submit" { (if editing.is_some() { "Save category" } else { "Create category" }) }
            }
        }
    };
    Ok(layout::respond(ctx, status, Page::new("Categories", body)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// Every event, newest first: the audit trail of who changed what.
#[get("/admin/audit")]
pub async fn audit(ctx: Ctx, q: web::Query<AuditQuery>) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    let before = q.before;
    let db = ctx.state.db.clone();
    let (events, actors) = blocking(move || crate::events::audit(&db, before, 100)).await?;
    let name = |id: Option<i64>| {
        id.and_then(|id| actors.iter().find(|a| a.id == id))
            .map_or("system", |a| a.username.as_str())
    };
    let body = html! {
        h1 { "Audit log" }
        p.lead { "Every change to this site is recorded here, in order." }
        table.admin-table {
            thead { tr { th { "#" } th { "When (UTC)" } th { "Who" } th { "What" } th { "Subject" } th { "Details" } } }
            tbody {
                @for e in &events {
                    tr {
                        td { (e.id) }
                        td { (e.created_at.format("%Y-%m-%d %H:%M:%S")) }
                        td { (name(e.actor_id)) }
                        td { code { (e.kind) } }
                        td { (e.subject_id.map(|s| s.to_string()).unwrap_or_default()) }
                        td.small { (clip(&e.payload, 300)) }
                    }
                }
            }
        }
        @if events.len() == 100 {
            @if let Some(last) = events.last() {
                p.more { a.button href={ "/admin/audit?before=" (last.id) } { "Older" } }
            }
        }
    };
    Ok(layout::ok(&ctx, Page::new("Audit log", body)))
}
