//! Admin settings: site identity, the support contact block and the first-response promise.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use maud::html;
use serde::Deserialize;

use super::accounts::redirect;
use super::blocking;
use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Field, Page, csrf_field, field};
use crate::accounts::Role;
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
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

fn page<'a>(ctx: &Ctx, form: &SettingsForm, errors: &FieldErrors, saved: bool) -> Page<'a> {
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
    Page {
        title: "Site settings",
        description: None,
        body,
    }
}
