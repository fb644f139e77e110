//! Ideas pages: the list of an ideas category (`/c/{slug}` when the category's kind is
//! ideas, with `.json`), votes, staff status changes and merges, the idea box on a topic
//! page, `/roadmap` (with `.json`), `/ideas/new` ("Suggest an improvement") and staff's
//! `/staff/feedback`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{NaiveDate, NaiveDateTime};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::view::{Format, color_class, redirect, textarea_field, urlencode, when};
use super::{RateLimits, blocking};
use crate::accounts::Role;
use crate::db::forum::{CategoryRow, TopicRow};
use crate::db::ideas::IdeaRow;
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::ideas::{self, IdeaList, IdeaSummary, IdeaView, Roadmap, Sort, Status};
use crate::subject::{category_path, topic_path, topic_short_path, user_path};

// ---- the list ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IdeasQuery {
    sort: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

struct Parsed {
    sort: Sort,
    status: Option<Status>,
    page: i64,
}

impl IdeasQuery {
    fn parse(&self) -> Result<Parsed, AppError> {
        let sort = match self.sort.as_deref() {
            None | Some("") => Sort::Votes,
            Some(s) => Sort::parse(s).ok_or_else(|| {
                AppError::BadRequest("Unknown sort: use votes, trending or newest.".into())
            })?,
        };
        let status = match self.status.as_deref() {
            None | Some("") | Some("all") => None,
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                AppError::BadRequest(
                    "Unknown status: use open, under_review, planned, in_progress, shipped or declined."
                        .into(),
                )
            })?),
        };
        let page = super::view::page_number(self.page.as_deref())?;
        Ok(Parsed { sort, status, page })
    }
}

fn list_link(base: &str, sort: Sort, status: Option<Status>, page: i64) -> String {
    let mut parts = Vec::new();
    if sort != Sort::Votes {
        parts.push(format!("sort={}", sort.as_str()));
    }
    if let Some(s) = status {
        parts.push(format!("status={}", s.as_str()));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", parts.join("&"))
    }
}

/// `/c/{slug}` (and `.json`) of an ideas category.
pub async fn category_list(
    ctx: Ctx,
    req: &HttpRequest,
    category: CategoryRow,
    format: Format,
) -> Result<HttpResponse, AppError> {
    let q = web::Query::<IdeasQuery>::from_query(req.query_string())
        .map_err(|_| AppError::BadRequest("That address has a broken query.".into()))?;
    let p = q.parse()?;
    let db = ctx.state.db.clone();
    let viewer = ctx.user.clone();
    let id = category.id;
    let (sort, status, page) = (p.sort, p.status, p.page);
    let rankings = ctx.state.idea_rankings.clone();
    let list = blocking(move || {
        ideas::list(
            &db,
            &rankings,
            Some(id),
            status,
            sort,
            page,
            viewer.as_ref(),
        )
    })
    .await?;
    if let Format::Json = format {
        return Ok(HttpResponse::Ok().json(serde_json::json!({
            "category": &category,
            "sort": p.sort.as_str(),
            "status": p.status.map(Status::as_str),
            "page": p.page,
            "more": list.more,
            "ideas": ideas_json(&list.ideas),
        })));
    }
    Ok(layout::ok(&ctx, list_html(&ctx, &category, &list, &p)))
}

fn list_html(ctx: &Ctx, category: &CategoryRow, list: &IdeaList, p: &Parsed) -> Page {
    let base = category_path(&category.slug);
    let here = list_link(&base, p.sort, p.status, p.page);
    let total: i64 = list.counts.values().sum();
    let body = html! {
        div.list-head {
            div {
                h1 { span.dot.(color_class(&category.color)) {} (category.name) }
                @if !category.description.is_empty() { p.lead { (category.description) } }
                p.small { "Vote for the ideas you want most: we read every one, and the " a href="/roadmap" { "roadmap" } " and the " a href="/changelog" { "changelog" } " show what came of them." }
            }
            a.button.primary href={ "/new-topic?category=" (urlencode(&category.slug)) } { "Suggest an idea" }
        }
        nav.filters aria-label="Sort ideas" {
            @for s in Sort::ALL {
                a href=(list_link(&base, s, p.status, 1)) aria-current=[(s == p.sort).then_some("page")] { (s.label()) }
            }
        }
        nav.filters.statuses aria-label="Filter by status" {
            a href=(list_link(&base, p.sort, None, 1)) aria-current=[p.status.is_none().then_some("page")] { "All " span.small { "(" (total) ")" } }
            @for s in Status::ALL {
                a href=(list_link(&base, p.sort, Some(s), 1)) aria-current=[(Some(s) == p.status).then_some("page")] {
                    (s.label()) " " span.small { "(" (list.counts.get(&s).copied().unwrap_or(0)) ")" }
                }
            }
        }
        @if list.ideas.is_empty() {
            p.empty { "No ideas here yet. " a href={ "/new-topic?category=" (urlencode(&category.slug)) } { "Suggest the first one" } "." }
        } @else {
            ol.idea-list {
                @for i in &list.ideas { (idea_row(ctx, i, &here)) }
            }
        }
        @if list.more {
            p.more { a.button rel="next" href=(list_link(&base, p.sort, p.status, p.page + 1)) { "More ideas" } }
        }
    };
    let mut page = Page::new(category.name.clone(), body)
        .canonical(base.clone())
        .feed(format!("{} (Atom)", category.name), format!("{base}.atom"));
    if !category.description.is_empty() {
        page = page.describe(category.description.clone());
    }
    page
}

pub fn status_badge(status: Status) -> Markup {
    html! { span class={ "badge idea-status s-" (status.as_str()) } { (status.label()) } }
}

/// The vote count and, for members, the button that adds or withdraws their vote.
fn vote_button(ctx: &Ctx, topic_id: i64, idea: &IdeaRow, voted: bool, back: &str) -> Markup {
    let votes = idea.vote_count;
    let label = if votes == 1 { "vote" } else { "votes" };
    html! {
        div.vote-box.voted[voted] {
            @if ctx.user.is_some() && idea.merged_into.is_none() {
                form method="post" action={ "/t/" (topic_id) "/vote" } {
                    (csrf_field(ctx))
                    input type="hidden" name="vote" value=(if voted { "0" } else { "1" });
                    input type="hidden" name="next" value=(back);
                    button.vote type="submit" aria-pressed=(voted)
                        title=(if voted { "Withdraw your vote" } else { "Vote for this idea" }) {
                        span.arrow aria-hidden="true" { "▲" }
                        strong.count { (votes) }
                        span.visually-hidden { " " (label) "; " (if voted { "withdraw your vote" } else { "vote for it" }) }
                    }
                }
            } @else {
                span.vote.static {
                    strong.count { (votes) }
                    span.small { " " (label) }
                }
            }
        }
    }
}

fn idea_row(ctx: &Ctx, i: &IdeaSummary, back: &str) -> Markup {
    let t = &i.topic.topic;
    html! {
        li.idea {
            (vote_button(ctx, t.id, &i.idea, i.voted, back))
            div.main {
                a.title href=(topic_path(&t.slug, t.id)) { (t.title) }
                div.meta {
                    (status_badge(i.status())) " "
                    @if t.has_staff_reply { span.badge.staff title="Our team has replied" { "staff replied" } " " }
                    span.by { "by " a href=(user_path(&i.topic.author.username)) { (i.topic.author.username) } }
                    " · " (t.reply_count) (if t.reply_count == 1 { " comment" } else { " comments" })
                    " · " (when(&t.created_at))
                }
            }
        }
    }
}

#[derive(Serialize)]
struct IdeaJson<'a> {
    id: i64,
    title: &'a str,
    url: String,
    status: &'static str,
    votes: i32,
    voted: bool,
    comments: i32,
    author: &'a str,
    category_id: i64,
    created_at: NaiveDateTime,
    status_changed_at: NaiveDateTime,
    shipped_at: Option<NaiveDateTime>,
}

impl<'a> IdeaJson<'a> {
    fn new(i: &'a IdeaSummary) -> Self {
        let t = &i.topic.topic;
        IdeaJson {
            id: t.id,
            title: &t.title,
            url: topic_path(&t.slug, t.id),
            status: i.status().as_str(),
            votes: i.idea.vote_count,
            voted: i.voted,
            comments: t.reply_count,
            author: &i.topic.author.username,
            category_id: t.category_id,
            created_at: t.created_at,
            status_changed_at: i.idea.status_changed_at,
            shipped_at: i.idea.shipped_at,
        }
    }
}

fn ideas_json(ideas: &[IdeaSummary]) -> Vec<IdeaJson<'_>> {
    ideas.iter().map(IdeaJson::new).collect()
}

// ---- on the topic page --------------------------------------------------------------------

/// The idea's votes and status under its title; and,
/// for any topic, the changelog posts that reference it.
pub fn topic_box(
    ctx: &Ctx,
    topic: &TopicRow,
    idea: Option<&IdeaView>,
    changelog: &[(String, String, NaiveDate)],
) -> Markup {
    let here = topic_path(&topic.slug, topic.id);
    html! {
        @if let Some(v) = idea {
            section.idea-box aria-label="Idea" {
                (vote_button(ctx, topic.id, &v.idea, v.voted, &here))
                div {
                    p { "Status: " (status_badge(v.status())) " "
                        span.small { "since " (when(&v.idea.status_changed_at)) }
                    }
                    @if let Some((title, slug, id)) = &v.merged_into {
                        p.alert.duplicate-of { "This idea was merged into " a href=(topic_path(slug, *id)) { (title) } ": its votes count there. Vote there." }
                    } @else if ctx.user.is_none() {
                        p.small { a href={ "/login?next=" (urlencode(&here)) } { "Log in" } " to vote for this idea." }
                    } @else if v.voted {
                        p.small { "You voted for this idea: you will hear when its status changes." }
                    }
                }
            }
        }
        @if !changelog.is_empty() {
            section.card.changelog-refs aria-label="In the changelog" {
                h2 { "In the changelog" }
                ul.plain {
                    @for (slug, title, on) in changelog {
                        li { a href={ "/changelog/" (slug) } { (title) } " " span.small { (on.format("%b %-d, %Y").to_string()) } }
                    }
                }
            }
        }
    }
}

/// Staff's status and merge forms for an idea (the topic page's staff tools).
pub fn staff_tools(ctx: &Ctx, topic: &TopicRow, idea: Option<&IdeaView>) -> Markup {
    html! {
        @if let Some(v) = idea.filter(|v| v.idea.merged_into.is_none()) {
            div.tool-row {
                form.inline.merge-idea method="post" action={ "/t/" (topic.id) "/merge-idea" } {
                    (csrf_field(ctx))
                    label for="merge-into" { "Merge this duplicate into idea " }
                    input #merge-into type="text" name="into" inputmode="numeric" placeholder="number or address" maxlength="300" required;
                    " " button type="submit" { "Merge" }
                }
            }
            (status_form(ctx, topic.id, v.status(), None, "", &FieldErrors::default()))
        }
    }
}

fn status_form(
    ctx: &Ctx,
    topic_id: i64,
    current: Status,
    chosen: Option<Status>,
    explanation: &str,
    errors: &FieldErrors,
) -> Markup {
    // The usual next step is chosen already.
    let next = chosen.unwrap_or(match current {
        Status::Open => Status::UnderReview,
        Status::UnderReview => Status::Planned,
        Status::Planned => Status::InProgress,
        Status::InProgress => Status::Shipped,
        settled => settled,
    });
    html! {
        form.card.idea-status-form method="post" action={ "/t/" (topic_id) "/idea-status" } {
            h2 { "Change the status" }
            @if let Some(e) = errors.get("status") { p.alert.error role="alert" { (e) } }
            (csrf_field(ctx))
            div.field {
                label for="f-status" { "New status" }
                select #f-status name="status" {
                    @for s in Status::ALL {
                        option value=(s.as_str()) selected[s == next] { (s.label()) @if s == current { " (now)" } }
                    }
                }
            }
            (textarea_field("explanation", "Why (posted in the topic and sent to everyone who voted or took part)", explanation, errors, 4))
            button.primary type="submit" { "Change status" }
        }
    }
}

// ---- writing -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VoteForm {
    vote: String,
    next: String,
}

/// A site-relative address to go back to (never another site's).
fn safe_next(next: &str, fallback: String) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        fallback
    }
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Adds (`vote=1`) or withdraws (`vote=0`) the member's vote; idempotent. Answers JSON
/// (`{"votes": n, "voted": bool}`) to `Accept: application/json`, else goes back.
#[post("/t/{id}/vote")]
pub async fn vote(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<VoteForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let vote = match form.vote.as_str() {
        "1" | "" => true,
        "0" => false,
        _ => {
            return Err(AppError::BadRequest(
                "A vote is 1 (vote) or 0 (withdraw).".into(),
            ));
        }
    };
    RateLimits::check_user(&ctx.state.limits.idea_votes_per_user, &user, "voting")?;
    let topic_id = id.into_inner();
    let db = ctx.state.db.clone();
    let idea = blocking(move || ideas::vote(&db, &user, topic_id, vote)).await?;
    // This node's lists show the vote at once (others' when their follower sees it).
    ctx.state.idea_rankings.invalidate();
    if wants_json(&req) {
        return Ok(HttpResponse::Ok().json(serde_json::json!({
            "id": topic_id,
            "votes": idea.vote_count,
            "voted": vote,
        })));
    }
    Ok(redirect(&safe_next(&form.next, topic_short_path(topic_id))))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    explanation: String,
}

/// Staff move an idea to a status, with the explanation posted in the topic.
#[post("/t/{id}/idea-status")]
pub async fn set_status(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let topic_id = id.into_inner();
    let db = ctx.state.db.clone();
    let (status, explanation) = (form.status.clone(), form.explanation.clone());
    let result =
        blocking(move || ideas::set_status(&db, &user, topic_id, &status, &explanation)).await?;
    ctx.state.idea_rankings.invalidate();
    match result {
        Ok(created) => Ok(redirect(&crate::subject::post_path(
            &created.slug,
            created.topic_id,
            created.post_id,
        ))),
        Err(errors) => {
            let db = ctx.state.db.clone();
            let current = blocking(move || ideas::status_of(&db, topic_id))
                .await?
                .unwrap_or(Status::Open);
            let chosen = Status::parse(&form.status);
            let body = html! {
                nav.breadcrumbs aria-label="Breadcrumbs" { a href=(topic_short_path(topic_id)) { "Back to the idea" } }
                p.alert.error role="alert" { "Please check the fields marked below: your text is kept." }
                (status_form(&ctx, topic_id, current, chosen, &clip(&form.explanation, 6_000), &errors))
            };
            Ok(layout::respond(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Page::new("Change the status", body).noindex(),
            ))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MergeForm {
    into: String,
}

/// Staff merge a duplicate idea into another: votes move, the duplicate points there.
#[post("/t/{id}/merge-idea")]
pub async fn merge(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<MergeForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let from = id.into_inner();
    let db = ctx.state.db.clone();
    let survivor = blocking(move || ideas::merge(&db, &user, from, &form.into)).await?;
    ctx.state.idea_rankings.invalidate();
    Ok(redirect(&topic_path(&survivor.slug, survivor.id)))
}

/// "Suggest an improvement": the new-topic form in the (first) ideas category.
#[get("/ideas/new")]
pub async fn suggest(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let categories = blocking(move || ideas::categories(&db)).await?;
    Ok(redirect(&match categories.first() {
        Some(c) => format!("/new-topic?category={}", urlencode(&c.slug)),
        None => "/new-topic".to_string(),
    }))
}

/// All ideas: the first ideas category's list.
#[get("/ideas")]
pub async fn index(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let categories = blocking(move || ideas::categories(&db)).await?;
    match categories.first() {
        Some(c) => Ok(redirect(&category_path(&c.slug))),
        None => Err(AppError::NotFound),
    }
}

// ---- /roadmap ------------------------------------------------------------------------------

#[get("/roadmap")]
pub async fn roadmap(ctx: Ctx) -> Result<HttpResponse, AppError> {
    roadmap_as(ctx, Format::Html).await
}

#[get("/roadmap.json")]
pub async fn roadmap_json(ctx: Ctx) -> Result<HttpResponse, AppError> {
    roadmap_as(ctx, Format::Json).await
}

async fn roadmap_as(ctx: Ctx, format: Format) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let viewer = ctx.user.clone();
    let rankings = ctx.state.idea_rankings.clone();
    let map = blocking(move || ideas::roadmap(&db, &rankings, viewer.as_ref())).await?;
    if let Format::Html = format {
        return Ok(layout::ok(&ctx, roadmap_html(&ctx, &map)));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "planned": ideas_json(&map.planned),
        "in_progress": ideas_json(&map.in_progress),
        "shipped": ideas_json(&map.shipped),
        "shipped_days": ideas::ROADMAP_SHIPPED_DAYS,
    })))
}

fn roadmap_html(ctx: &Ctx, map: &Roadmap) -> Page {
    let columns = [
        (
            "Planned",
            "We intend to build these.",
            &map.planned,
            Status::Planned,
        ),
        (
            "In progress",
            "Being built now.",
            &map.in_progress,
            Status::InProgress,
        ),
        (
            "Recently shipped",
            "Done in the last 90 days.",
            &map.shipped,
            Status::Shipped,
        ),
    ];
    let body = html! {
        div.list-head {
            div {
                h1 { "Roadmap" }
                p.lead { "What we are working on because you asked, most-voted first. Vote on " a href="/ideas" { "ideas" } " to move them up; see what shipped in the " a href="/changelog" { "changelog" } "." }
            }
            a.button.primary href="/ideas/new" { "Suggest an improvement" }
        }
        div.roadmap {
            @for (title, hint, ideas, status) in columns {
                section.roadmap-column aria-labelledby={ "rm-" (status.as_str()) } {
                    h2 #{ "rm-" (status.as_str()) } { (title) " " span.small { "(" (ideas.len()) ")" } }
                    p.small { (hint) }
                    @if ideas.is_empty() {
                        p.empty { "Nothing here right now." }
                    } @else {
                        ol.plain.roadmap-list {
                            @for i in ideas.iter() {
                                @let t = &i.topic.topic;
                                li.roadmap-card {
                                    a href=(topic_path(&t.slug, t.id)) { (t.title) }
                                    div.small.meta {
                                        strong { (i.idea.vote_count) } (if i.idea.vote_count == 1 { " vote" } else { " votes" })
                                        @if i.voted { " · " span.badge.solved { "you voted" } }
                                        @if let Some(at) = i.idea.shipped_at.filter(|_| status == Status::Shipped) { " · shipped " (when(&at)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if ctx.user.as_ref().is_some_and(|u| u.role.is_staff()) {
            p.small { a href="/staff/feedback" { "Feedback numbers (staff)" } }
        }
    };
    Page::new("Roadmap", body)
        .describe("Planned, in progress and recently shipped: what we are building because customers asked.")
        .canonical("/roadmap")
}

// ---- /staff/feedback ------------------------------------------------------------------------

#[get("/staff/feedback")]
pub async fn feedback(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let n = blocking(move || ideas::feedback_numbers(&db, &user)).await?;
    let share = (n.changes_published > 0)
        .then(|| (n.changes_from_customers as f64 * 100.0 / n.changes_published as f64).round());
    let body = html! {
        h1 { "Feedback numbers" }
        p.lead { "How customer feedback turns into changes." }
        dl.numbers {
            div { dt { "Ideas" } dd { (n.ideas_total) } }
            div { dt { "Votes" } dd { (n.votes_total) } }
            div { dt { "Shipped this quarter" } dd { (n.shipped_this_quarter) span.small.under { "since " (n.quarter_start.format("%b %-d, %Y").to_string()) } } }
            div { dt { "Median days from idea to shipped" } dd {
                @match n.median_days_to_ship { Some(d) => { (format!("{d:.1}")) }, None => { "—" } }
            } }
            div { dt { "Changes that came from customers" } dd {
                @match share { Some(s) => { (s) "%" }, None => { "—" } }
                span.small.under { (n.changes_from_customers) " of " (n.changes_published) " published changelog posts link an idea or topic a customer started" }
            } }
        }
        section.card {
            h2 { "Most-voted open ideas" }
            @if n.top_open.is_empty() {
                p.empty { "No open ideas." }
            } @else {
                table.data {
                    thead { tr { th scope="col" { "Idea" } th scope="col" { "Status" } th.num scope="col" { "Votes" } th scope="col" { "Posted" } } }
                    tbody {
                        @for (t, i) in &n.top_open {
                            tr {
                                td { a href=(topic_path(&t.slug, t.id)) { (t.title) } }
                                td { (status_badge(Status::of(i))) }
                                td.num { (i.vote_count) }
                                td { (when(&t.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/roadmap" { "Roadmap" } " · " a href="/changelog" { "Changelog" } " · " a href="/changelog/new" { "New changelog post" } }
    };
    Ok(layout::ok(
        &ctx,
        Page::new("Feedback numbers", body).noindex(),
    ))
}
