//! /notifications: what happened that concerns me; reading one marks it read.

use actix_web::{HttpResponse, get, post, web};
use maud::html;
use serde::Deserialize;

use super::blocking;
use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::view::NoFields;
use super::view::redirect;
use super::view::when;
use crate::error::AppError;
use crate::notifications;

const PER_PAGE: i64 = 30;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Before {
    before: Option<i64>,
}

#[get("/notifications")]
pub async fn list(ctx: Ctx, q: web::Query<Before>) -> Result<HttpResponse, AppError> {
    let user_id = ctx.user()?.id;
    let database = ctx.state.db.clone();
    let before = q.before;
    let items =
        blocking(move || notifications::list(&database, user_id, before, PER_PAGE + 1)).await?;
    let more = items.len() as i64 > PER_PAGE;
    let items = &items[..items.len().min(PER_PAGE as usize)];
    let body = html! {
        div.list-head {
            h1 { "Notifications" }
            @if items.iter().any(|n| n.row.read_at.is_none()) {
                form method="post" action="/notifications/read" {
                    (csrf_field(&ctx))
                    button type="submit" { "Mark all read" }
                }
            }
        }
        @if items.is_empty() {
            p.empty { "Nothing yet. You will hear here about replies to topics you watch, mentions, likes and answers." }
        }
        ol.notifications {
            @for n in items {
                li.unread[n.row.read_at.is_none()] {
                    a href={ "/notifications/" (n.row.id) } { (n.sentence()) }
                    " " span.small { (when(&n.row.created_at)) }
                }
            }
        }
        @if more {
            @if let Some(last) = items.last() {
                p.more { a.button href={ "/notifications?before=" (last.row.id) } { "Older notifications" } }
            }
        }
    };
    Ok(layout::ok(&ctx, Page::new("Notifications", body)))
}

/// Opening a notification marks it read and goes to what it is about.
#[get("/notifications/{id}")]
pub async fn open(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let user_id = ctx.user()?.id;
    let id = id.into_inner();
    let database = ctx.state.db.clone();
    let target = blocking(move || notifications::open(&database, user_id, id)).await?;
    Ok(redirect(&target))
}

#[post("/notifications/read")]
pub async fn mark_all_read(ctx: Ctx, _f: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let user_id = ctx.user()?.id;
    let database = ctx.state.db.clone();
    blocking(move || notifications::mark_read(&database, user_id, None)).await?;
    Ok(redirect("/notifications"))
}
