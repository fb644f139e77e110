//! Home, contact, health check and the not-found page.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use maud::html;

use super::AppState;
use super::ctx::Ctx;
use super::layout::{self, Page, contact_block};
use crate::accounts;
use crate::error::AppError;

#[get("/")]
pub async fn home(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let needs_setup = !super::blocking(move || accounts::admin_exists(&db)).await?;
    let s = &ctx.settings;
    let body = html! {
        section.hero {
            h1 { (s.site_name) }
            @if !s.tagline.is_empty() { p.lead { (s.tagline) } }
            form.search.big role="search" action="/search" method="get" {
                label for="hero-search" { "What do you need help with?" }
                div.row {
                    input #hero-search type="search" name="q" placeholder="Describe your problem in a few words" maxlength="500";
                    button.primary type="submit" { "Search" }
                }
            }
        }
        @if needs_setup {
            section.notice {
                h2 { "Welcome to your new community" }
                p { "Nobody administers this site yet. " a href="/setup" { "Create the admin account" } " to configure it." }
            }
        }
        section.grid {
            div.card {
                h2 { "Ask the community" }
                p { "Customers and our staff answer questions in public, so the next person finds the answer too." }
                p { a href="/latest" { "Browse the forum" } }
            }
            div.card {
                h2 { "Talk to a person" }
                p { "Every new question gets an answer within " (layout::hours(s.first_response_hours)) "." }
                p { a href="/contact" { "Phone, email and hours" } }
            }
            div.card.suggest {
                h2 { "Suggest an improvement" }
                p { "Tell us what would make the product better, or vote for an idea someone already had. The " a href="/changelog" { "changelog" } " shows what changed because of you." }
                p.button-row { a.button href="/ideas/new" { "Suggest an improvement" } " " a href="/roadmap" { "See the roadmap" } }
            }
        }
    };
    Ok(layout::ok(
        &ctx,
        Page::new("Home", body)
            .canonical("/")
            .feed("Latest topics", "/latest.atom"),
    ))
}

#[get("/contact")]
pub async fn contact(ctx: Ctx) -> HttpResponse {
    let s = &ctx.settings;
    let body = html! {
        h1 { "Contact support" }
        p.lead {
            "Search first: most questions have been answered before. When you need a person, we are here."
        }
        div.card { (contact_block(s)) }
        p { "Prefer to ask in public? " a href="/latest" { "Post in the forum" } " and we reply within "
            (layout::hours(s.first_response_hours)) "." }
        section.card.suggest {
            h2 { "Suggest an improvement" }
            p { "Not a problem, but an idea? Suggest it where others can vote on it: we read every one and tell everyone who voted when it ships." }
            p { a.button href="/ideas/new" { "Suggest an improvement" } }
        }
    };
    layout::ok(
        &ctx,
        Page::new("Contact support", body)
            .describe("Phone, email and hours of our support team.")
            .canonical("/contact"),
    )
}

/// 200 when the database answers, 503 otherwise; for load balancers and monitors.
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    let ok = web::block(move || db.ping(Duration::from_secs(2)))
        .await
        .unwrap_or(false);
    let (status, body) = if ok {
        (
            StatusCode::OK,
            serde_json::json!({ "status": "ok", "database": "ok" }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "unavailable", "database": "not answering" }),
        )
    };
    let mut res = HttpResponse::build(status);
    res.insert_header(("Cache-Control", "no-store"));
    if !ok {
        res.insert_header(("Retry-After", crate::error::RETRY_AFTER_SECS.to_string()));
    }
    res.json(body)
}

/// Takes `Ctx` only so the error page knows who is logged in.
pub async fn not_found(_ctx: Ctx) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
