//! Status pages: `/status` (overall state, components with 90-day uptime bars, incidents
//! under way, upcoming maintenance), one incident, the history by month, the feeds, the
//! Statuspage-compatible `/api/v2/*.json`, and the staff tools to open, update and resolve
//! incidents, schedule maintenance and manage components. The public pages read this node's
//! snapshot (`crate::status::snapshot`): no query per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::blocking;
use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::view::NoFields;
use super::view::{redirect, textarea_field};
use crate::accounts::Role;
use crate::db::status::ComponentRow;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::status::board::{self, Board, Incident};
use crate::status::statuspage::{self, Endpoint};
use crate::status::uptime::Bars;
use crate::status::{
    self, By, ComponentInput, ComponentStatus, IncidentStatus, Kind, OpenIncident, UpdateIncident,
};
use crate::subject::{Named, Subject, topic_path};

fn incident_path(id: i64) -> String {
    Subject::Incident(id).path(Named::slug(""))
}

/// `2026-12-03 14:05 UTC`: status pages show exact times (people compare them with logs).
fn exact(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn status_chip(s: ComponentStatus) -> Markup {
    html! { span class={ "chip st-" (s.as_str()) } { (s.label()) } }
}

fn incident_chip(i: &Incident) -> Markup {
    let s = i.status();
    let class = if s.is_closed() {
        "chip st-operational"
    } else if i.kind() == Kind::Maintenance {
        "chip st-under_maintenance"
    } else {
        match i.impact() {
            status::Impact::Critical => "chip st-major_outage",
            status::Impact::Major => "chip st-partial_outage",
            _ => "chip st-degraded_performance",
        }
    };
    html! { span class=(class) { (s.label()) } }
}

// ---- /status ---------------------------------------------------------------------------

#[get("/status")]
pub async fn status_page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let board = ctx.state.status.get();
    let subscribed = match ctx.user.clone() {
        Some(u) => {
            let db = ctx.state.db.clone();
            Some(blocking(move || status::is_subscribed(&db, &u)).await?)
        }
        None => None,
    };
    let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
    let body = html! {
        div.status-head {
            h1 { "System status" }
            p.small {
                a href="/status/history" { "Incident history" } " · "
                a href="/status.atom" { "Atom feed" } " · "
                a href="/status.rss" { "RSS" } " · "
                a href="/api/v2/summary.json" { "JSON" }
                @if staff { " · " a href="/staff/status" { "Manage" } }
            }
        }
        (overall(&board))
        @if !board.active.is_empty() {
            section aria-labelledby="active-h" {
                h2 #active-h { "Happening now" }
                @for i in &board.active { (incident_card(&board, i)) }
            }
        }
        (PreEscaped(components_section(&board).as_str()))
        @if !board.upcoming.is_empty() {
            section aria-labelledby="upcoming-h" {
                h2 #upcoming-h { "Scheduled maintenance" }
                @for i in &board.upcoming { (incident_card(&board, i)) }
            }
        }
        @if let Some(on) = subscribed {
            section.card {
                h2 { "Hear about it" }
                form method="post" action="/status/subscribe" {
                    (csrf_field(&ctx))
                    @if on {
                        p { "You are notified of every incident and maintenance." }
                        input type="hidden" name="on" value="0";
                        button type="submit" { "Stop status notifications" }
                    } @else {
                        p { "Get a notification when we open, update or resolve an incident." }
                        input type="hidden" name="on" value="1";
                        button.primary type="submit" { "Notify me about incidents" }
                    }
                }
            }
        } @else {
            p.small { a href="/login?next=/status" { "Log in" } " to be notified of incidents, or follow " a href="/status.atom" { "the feed" } "." }
        }
    };
    Ok(layout::ok(
        &ctx,
        Page::new("System status", body)
            .describe(board.indicator.description())
            .canonical("/status")
            .feed("Status updates", "/status.atom"),
    ))
}

/// The components with their 90-day bars: the same for every viewer and changed only when
/// the board is rebuilt, so it is rendered once per board (a logged-in `/status` rendered
/// 2,000 bars per request).
fn components_section(board: &Arc<Board>) -> Arc<String> {
    type Rendered = Option<(usize, NaiveDateTime, Arc<String>)>;
    static RENDERED: Mutex<Rendered> = Mutex::new(None);
    // The board's address and build time name it (a board is never changed in place).
    let key = (Arc::as_ptr(board) as usize, board.built_at);
    let mut cache = RENDERED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((ptr, built, html)) = cache.as_ref()
        && (*ptr, *built) == key
    {
        return html.clone();
    }
    let html = Arc::new(
        html! {
            section.card.components aria-labelledby="components-h" {
                h2 #components-h { "Components" }
                @if board.components.is_empty() {
                    p { "No components are listed yet." }
                }
                ul.component-list {
                    @for c in board.top_level().filter(|c| board.shown(c)) {
                        @if c.is_group {
                            li.group {
                                div.component-row {
                                    span.name { (c.name) }
                                    (status_chip(board.status_of(c)))
                                }
                                @if !c.description.is_empty() { p.small { (c.description) } }
                                ul.component-list {
                                    @for child in board.children(c.id).filter(|x| board.shown(x)) {
                                        (component_item(board, child))
                                    }
                                }
                            }
                        } @else {
                            (component_item(board, c))
                        }
                    }
                }
                p.small.legend {
                    "Each bar is one day (UTC), coloured by the worst status of that day. "
                    span.key.st-operational {} " operational "
                    span.key.st-degraded_performance {} " degraded "
                    span.key.st-partial_outage {} " partial outage "
                    span.key.st-major_outage {} " major outage "
                    span.key.st-under_maintenance {} " maintenance "
                    span.key.st-none {} " no data"
                }
            }
        }
        .into_string(),
    );
    *cache = Some((key.0, key.1, html.clone()));
    html
}

fn overall(board: &Board) -> Markup {
    let class = match board.indicator {
        status::Impact::None => "overall ok",
        status::Impact::Maintenance => "overall maintenance",
        status::Impact::Minor => "overall minor",
        status::Impact::Major => "overall major",
        status::Impact::Critical => "overall critical",
    };
    html! {
        div class=(class) role="status" {
            strong { (board.indicator.description()) }
            span.small { " · updated " (exact(&board.updated_at())) }
        }
    }
}

fn component_item(board: &Board, c: &ComponentRow) -> Markup {
    let bars = board.uptime.get(&c.id);
    html! {
        li.component {
            div.component-row {
                span.name { (c.name) }
                (status_chip(board.status_of(c)))
            }
            @if !c.description.is_empty() { p.small { (c.description) } }
            @if let Some(bars) = bars { (uptime_bars(c, bars)) }
        }
    }
}

fn uptime_bars(c: &ComponentRow, bars: &Bars) -> Markup {
    let first = bars.days.first().map(|d| d.date);
    html! {
        figure.uptime {
            ol.bars aria-label={ "Last 90 days of " (c.name) } {
                @for d in &bars.days {
                    @let (class, label) = match d.worst {
                        None => ("st-none", "No data".to_string()),
                        Some(s) => (s.as_str(), s.label().to_string()),
                    };
                    li class={ "day st-" (class.trim_start_matches("st-")) } tabindex="0" {
                        span.tip {
                            strong { (d.date.format("%b %-d, %Y")) } ": " (label)
                            @if d.down_secs > 0.0 {
                                " (" (downtime(d.down_secs)) " of downtime)"
                            }
                            @for (id, name) in &d.incidents {
                                br; a href=(incident_path(*id)) { (name) }
                            }
                        }
                    }
                }
            }
            figcaption.small {
                @if let Some(first) = first { span { (first.format("%b %-d")) } }
                span.pct {
                    @match bars.uptime_percent {
                        Some(p) => { (format!("{:.2}", p)) " % uptime" }
                        None => { "No data yet" }
                    }
                }
                span { "Today" }
            }
        }
    }
}

fn downtime(secs: f64) -> String {
    let mins = (secs / 60.0).round() as i64;
    if mins < 60 {
        format!("{} min", mins.max(1))
    } else {
        format!("{} h {} min", mins / 60, mins % 60)
    }
}

fn incident_card(board: &Board, i: &Incident) -> Markup {
    let names: Vec<&str> = i
        .components
        .iter()
        .filter_map(|id| board.component(*id))
        .map(|c| c.name.as_str())
        .collect();
    html! {
        article.card.incident {
            h3 {
                a href=(incident_path(i.row.id)) { (i.row.name) }
                " " (incident_chip(i))
            }
            @if i.kind() == Kind::Maintenance {
                @if let (Some(from), Some(until)) = (i.row.scheduled_for, i.row.scheduled_until) {
                    p.small { "Scheduled for " (exact(&from)) " to " (exact(&until)) }
                }
            }
            @if !names.is_empty() { p.small { "Affects: " (names.join(", ")) } }
            @if let Some(u) = i.updates.first() {
                div.update {
                    p.small { strong { (IncidentStatus::of(&u.row.status).label()) } " · " (exact(&u.row.created_at)) }
                    div.cooked { (PreEscaped(&u.row.cooked)) }
                }
            }
            @if i.reports > 0 {
                p.small { (i.reports) @if i.reports == 1 { " customer report" } @else { " customer reports" } " linked" }
            }
        }
    }
}

// ---- one incident ------------------------------------------------------------------------

#[get("/status/incidents/{id}")]
pub async fn incident(ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    incident_html(&ctx, id, &FieldErrors::default(), StatusCode::OK).await
}

async fn incident_html(
    ctx: &Ctx,
    id: i64,
    errors: &FieldErrors,
    code: StatusCode,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let user = ctx.user.clone();
    let (page, follows) = blocking(move || {
        let page = board::incident_page(&db, id)?;
        let follows = match &user {
            Some(u) if page.is_some() => status::follows(&db, u, id)?,
            _ => false,
        };
        Ok((page, follows))
    })
    .await?;
    let page = page.ok_or(AppError::NotFound)?;
    let i = &page.incident;
    let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
    let name_of: HashMap<i64, &str> = page
        .components
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    let affected: Vec<&str> = i
        .components
        .iter()
        .filter_map(|c| name_of.get(c).copied())
        .collect();
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/status" { "Status" } " › " a href="/status/history" { "History" } }
        h1 { (i.row.name) " " (incident_chip(i)) }
        p.small {
            @if i.kind() == Kind::Maintenance { "Scheduled maintenance" } @else { "Incident" }
            @if i.kind() == Kind::Incident { " · impact: " (i.row.impact) }
            @if !affected.is_empty() { " · affects " (affected.join(", ")) }
        }
        @if let (Some(from), Some(until)) = (i.row.scheduled_for, i.row.scheduled_until) {
            p { "Window: " (exact(&from)) " to " (exact(&until)) }
        }
        @if i.reports > 0 {
            p.reports { strong { (i.reports) @if i.reports == 1 { " customer reported this" } @else { " customers reported this" } } }
        }
        ol.timeline {
            @for u in &i.updates {
                li {
                    p.small { strong { (IncidentStatus::of(&u.row.status).label()) } " · " time datetime=(statuspage::timestamp(u.row.created_at)) { (exact(&u.row.created_at)) } }
                    @if !u.row.cooked.is_empty() { div.cooked { (PreEscaped(&u.row.cooked)) } }
                    @let changed: Vec<_> = u.changes.iter().filter(|c| c.old_status != c.new_status).collect();
                    @if !changed.is_empty() {
                        ul.changes.small {
                            @for c in changed {
                                li {
                                    (name_of.get(&c.component_id).copied().unwrap_or("A component")) ": "
                                    (ComponentStatus::of(&c.old_status).label()) " → " (ComponentStatus::of(&c.new_status).label())
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !page.topics.is_empty() {
            section.card {
                h2 { "Reports from the community" }
                ul { @for (tid, title, slug) in &page.topics { li { a href=(topic_path(slug, *tid)) { (title) } } } }
            }
        }
        @if let Some(_u) = &ctx.user {
            @if !i.status().is_closed() {
                form method="post" action={ (incident_path(id)) "/follow" } {
                    (csrf_field(ctx))
                    @if follows { p { "You follow this incident: you are notified of each update." } }
                    @else { button type="submit" { "Notify me of updates" } }
                }
            }
        }
        @if staff { (staff_tools(ctx, &page, errors)) }
    };
    Ok(layout::respond(
        ctx,
        code,
        Page::new(i.row.name.clone(), body)
            .describe(format!("{} — {}", i.status().label(), i.row.name))
            .canonical(incident_path(id)),
    ))
}

fn component_selects(components: &[ComponentRow], maintenance: bool) -> Markup {
    html! {
        fieldset.components {
            legend { @if maintenance { "Components under maintenance" } @else { "Affected components" } }
            @for c in components.iter().filter(|c| !c.is_group) {
                div.field.inline-field {
                    @if maintenance {
                        label { input type="checkbox" name={ "m_" (c.id) } value="1"; " " (c.name) }
                    } @else {
                        label for={ "c-" (c.id) } { (c.name) }
                        select id={ "c-" (c.id) } name={ "c_" (c.id) } {
                            option value="" { "Unchanged (" (ComponentStatus::of(&c.status).label()) ")" }
                            @for s in ComponentStatus::ALL { option value=(s.as_str()) { (s.label()) } }
                        }
                    }
                }
            }
        }
    }
}

fn staff_tools(ctx: &Ctx, page: &board::IncidentPage, errors: &FieldErrors) -> Markup {
    let i = &page.incident;
    let id = i.row.id;
    let statuses: Vec<IncidentStatus> = IncidentStatus::for_kind(i.kind())
        .iter()
        .copied()
        .filter(|s| !i.status().is_closed() || *s == IncidentStatus::Postmortem)
        .collect();
    let closed = i.status().is_closed();
    html! {
        section.card.staff-tools aria-labelledby="post-update-h" {
            h2 #post-update-h { @if closed { "Write the postmortem" } @else { "Post an update" } }
            @if !errors.is_empty() { p.alert.error role="alert" { "The update was not posted: see below." } }
            @if closed && i.status() != IncidentStatus::Resolved {
                p { "This " @if i.kind() == Kind::Maintenance { "maintenance is completed" } @else { "incident has its postmortem" } ": it takes no more updates." }
            } @else {
                form method="post" action={ (incident_path(id)) "/updates" } {
                    (csrf_field(ctx))
                    div.field.has-error[errors.get("status").is_some()] {
                        label for="f-status" { "Status" }
                        select #f-status name="status" {
                            @for s in &statuses { option value=(s.as_str()) selected[*s == i.status()] { (s.label()) } }
                        }
                        @if let Some(m) = errors.get("status") { p.error { (m) } }
                    }
                    (textarea_field("body", "Message (Markdown)", "", errors, 5))
                    @if !closed { (component_selects(&page.components, false)) }
                    @if let Some(m) = errors.get("components") { p.error { (m) } }
                    button.primary type="submit" { "Post update" }
                }
            }
        }
        @if i.status() == IncidentStatus::Postmortem {
            section.card.staff-tools aria-labelledby="to-kb-h" {
                h2 #to-kb-h { "Knowledge base" }
                p { "Make the postmortem and the timeline a knowledge-base draft, to publish where customers look for answers." }
                form method="post" action={ (incident_path(id)) "/article" } {
                    (csrf_field(ctx))
                    button type="submit" { "Turn into a knowledge-base article" }
                }
            }
        }
        section.card.staff-tools aria-labelledby="link-topic-h" {
            h2 #link-topic-h { "Link a customer report" }
            form method="post" action={ (incident_path(id)) "/topics" } {
                (csrf_field(ctx))
                (layout::field(layout::Field { label: "Topic (number or address)", name: "topic", kind: "text", value: "", hint: Some("Resolving the incident replies in every linked topic."), autocomplete: "off", maxlength: 300, required: true }, errors))
                button type="submit" { "Link topic" }
            }
        }
    }
}

/// A staff form with dynamic field names (`c_<id>`, `m_<id>`): read as pairs.
type Pairs = Vec<(String, String)>;

fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn component_changes(pairs: &Pairs) -> Vec<(i64, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("c_")?.parse().ok()?;
            (!v.is_empty()).then(|| (id, v.clone()))
        })
        .collect()
}

fn checked_components(pairs: &Pairs) -> Vec<i64> {
    pairs
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("m_")?.parse().ok())
        .collect()
}

#[post("/status/incidents/{id}/updates")]
pub async fn post_update(
    ctx: Ctx,
    path: web::Path<String>,
    CsrfForm(pairs): CsrfForm<Pairs>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let by = By::staff(ctx.user()?)?;
    let input = UpdateIncident {
        status: field(&pairs, "status").to_string(),
        body: field(&pairs, "body").to_string(),
        components: component_changes(&pairs),
        ..Default::default()
    };
    let db = ctx.state.db.clone();
    let outcome = blocking(move || status::update(&db, by, id, &input)).await?;
    super::refresh_status(&ctx.state).await?;
    match outcome {
        Ok(_) => Ok(redirect(&incident_path(id))),
        Err(errors) => incident_html(&ctx, id, &errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

#[derive(Deserialize)]
pub struct TopicForm {
    #[serde(default)]
    topic: String,
}

#[post("/status/incidents/{id}/topics")]
pub async fn link_topic(
    ctx: Ctx,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<TopicForm>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    blocking(move || status::link_topic(&db, &user, id, &form.topic)).await?;
    super::refresh_status(&ctx.state).await?;
    Ok(redirect(&incident_path(id)))
}

#[post("/status/incidents/{id}/article")]
pub async fn to_article(
    ctx: Ctx,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = blocking(move || status::postmortem_to_article(&db, &user, id)).await?;
    Ok(redirect(&format!(
        "{}/edit",
        crate::subject::article_path(&slug)
    )))
}

#[derive(Deserialize, Default)]
pub struct FollowForm {
    /// From `/new-topic`: where to go back to.
    #[serde(default)]
    next: String,
}

#[post("/status/incidents/{id}/follow")]
pub async fn follow(
    ctx: Ctx,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<FollowForm>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let user = ctx.user()?.clone();
    let db = ctx.state.db.clone();
    blocking(move || status::follow(&db, &user, id)).await?;
    let next = match form.next.as_str() {
        "" => incident_path(id),
        n => super::ctx::safe_next(n),
    };
    Ok(redirect(&next))
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    on: String,
}

#[post("/status/subscribe")]
pub async fn subscribe(
    ctx: Ctx,
    CsrfForm(form): CsrfForm<SubscribeForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let on = match form.on.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(AppError::BadRequest("Choose to subscribe or not.".into())),
    };
    let db = ctx.state.db.clone();
    blocking(move || status::subscribe(&db, &user, on)).await?;
    Ok(redirect("/status"))
}

// ---- history -----------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct HistoryQuery {
    month: Option<String>,
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

fn prev_month(d: NaiveDate) -> NaiveDate {
    month_start(month_start(d) - TimeDelta::days(1))
}

#[get("/status/history")]
pub async fn history(ctx: Ctx, q: web::Query<HistoryQuery>) -> Result<HttpResponse, AppError> {
    let today = crate::db::now().date();
    let month = match q.month.as_deref() {
        None | Some("") => month_start(today),
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| {
            AppError::BadRequest(format!("“{m}” is not a month: use the form 2026-11."))
        })?,
    };
    let from = month.and_hms_opt(0, 0, 0).unwrap_or_default();
    let to = next_month(month).and_hms_opt(0, 0, 0).unwrap_or_default();
    let db = ctx.state.db.clone();
    let (incidents, range) = blocking(move || board::month(&db, from, to)).await?;
    let board = ctx.state.status.get();
    let earliest = range.map(|(first, _)| month_start(first.date()));
    let has_prev = earliest.is_some_and(|e| e < month);
    let has_next = month < month_start(today);
    let label = month.format("%B %Y").to_string();
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/status" { "Status" } " › History" }
        h1 { "Incident history: " (label) }
        @if incidents.is_empty() {
            p { "No incidents or maintenance this month." }
        }
        @for i in &incidents { (incident_card(&board, i)) }
        nav.pager aria-label="Months" {
            @if has_prev { a rel="prev" href={ "/status/history?month=" (prev_month(month).format("%Y-%m")) } { "← " (prev_month(month).format("%B %Y")) } }
            @if has_next { a rel="next" href={ "/status/history?month=" (next_month(month).format("%Y-%m")) } { (next_month(month).format("%B %Y")) " →" } }
        }
    };
    Ok(layout::ok(
        &ctx,
        Page::new(format!("Incident history: {label}"), body)
            .canonical(format!("/status/history?month={}", month.format("%Y-%m")))
            .feed("Status updates", "/status.atom"),
    ))
}

// ---- feeds -------------------------------------------------------------------------------

/// Incidents and maintenance newest first (by their last update), for the feeds.
fn feed_items(board: &Board) -> Vec<&Incident> {
    let mut items: Vec<&Incident> = board
        .recent_incidents
        .iter()
        .chain(&board.recent_maintenance)
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse((i.row.updated_at, i.row.id)));
    items.truncate(board::RECENT as usize);
    items
}

fn updates_html(i: &Incident) -> String {
    html! {
        @for u in &i.updates {
            p { small { (exact(&u.row.created_at)) } br; strong { (IncidentStatus::of(&u.row.status).label()) } " - " (PreEscaped(&u.row.cooked)) }
        }
    }
    .into_string()
}

/// `/status.atom`, and `/history.atom` where Statuspage has it.
#[get("/{name:(status|history)}.atom")]
pub async fn atom(ctx: Ctx) -> HttpResponse {
    let board = ctx.state.status.get();
    let s = &ctx.settings;
    let rfc = |t: &NaiveDateTime| {
        t.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { (s.site_name) " status" }
            id { (s.public_url) "/status" }
            link rel="alternate" type="text/html" href={ (s.public_url) "/status" } {}
            link rel="self" type="application/atom+xml" href={ (s.public_url) "/status.atom" } {}
            updated { (rfc(&board.updated_at())) }
            @for i in feed_items(&board) {
                @let url = format!("{}{}", s.public_url, incident_path(i.row.id));
                entry {
                    title { (i.row.name) }
                    id { (url) }
                    link rel="alternate" type="text/html" href=(url) {}
                    published { (rfc(&i.row.created_at)) }
                    updated { (rfc(&i.row.updated_at)) }
                    author { name { (s.site_name) } }
                    content type="html" { (updates_html(i)) }
                }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .body(xml.into_string())
}

/// `/status.rss`, and `/history.rss` where Statuspage has it.
#[get("/{name:(status|history)}.rss")]
pub async fn rss(ctx: Ctx) -> HttpResponse {
    let board = ctx.state.status.get();
    let s = &ctx.settings;
    let rfc2822 = |t: &NaiveDateTime| t.and_utc().to_rfc2822();
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        rss version="2.0" {
            channel {
                title { (s.site_name) " status" }
                link { (s.public_url) "/status" }
                description { "Incidents and maintenance of " (s.site_name) }
                lastBuildDate { (rfc2822(&board.updated_at())) }
                @for i in feed_items(&board) {
                    @let url = format!("{}{}", s.public_url, incident_path(i.row.id));
                    item {
                        title { (i.row.name) }
                        description { (updates_html(i)) }
                        pubDate { (rfc2822(&i.row.created_at)) }
                        link { (url) }
                        guid { (url) }
                    }
                }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("application/rss+xml; charset=utf-8")
        .body(xml.into_string())
}

// ---- the Statuspage v2 read API ------------------------------------------------------

/// `/api/v2/*.json`, from this node's snapshot. CORS and HEAD: see `web::mod`.
#[get("/api/v2/{tail:.*}")]
pub async fn statuspage_api(ctx: Ctx, tail: web::Path<String>) -> Result<HttpResponse, AppError> {
    let endpoint = Endpoint::from_path(&tail).ok_or_else(|| {
        AppError::Missing(format!(
            "No such endpoint /api/v2/{}: see /api/v2/summary.json.",
            tail.as_str()
        ))
    })?;
    let board = ctx.state.status.get();
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(statuspage::render(endpoint, &board, &ctx.settings)))
}

// ---- staff: /staff/status ---------------------------------------------------------------

#[get("/staff/status")]
pub async fn manage(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Staff)?;
    manage_html(&ctx, &FieldErrors::default(), None, StatusCode::OK).await
}

/// Which staff form came back with problems (its values are kept).
enum Rejected<'a> {
    Incident(&'a Pairs),
    Maintenance(&'a Pairs),
}

async fn manage_html(
    ctx: &Ctx,
    errors: &FieldErrors,
    rejected: Option<Rejected<'_>>,
    code: StatusCode,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let components = blocking(move || status::component_rows(&db)).await?;
    let board = ctx.state.status.get();
    let admin = ctx.is_admin();
    let (incident_errors, maintenance_errors, kept_incident, kept_maintenance) = match &rejected {
        Some(Rejected::Incident(p)) => (errors, &FieldErrors::default(), Some(*p), None),
        Some(Rejected::Maintenance(p)) => (&FieldErrors::default(), errors, None, Some(*p)),
        None => (&FieldErrors::default(), &FieldErrors::default(), None, None),
    };
    let kept =
        |p: Option<&Pairs>, name: &str| p.map(|p| field(p, name).to_string()).unwrap_or_default();
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/status" { "Status" } " › Manage" }
        h1 { "Manage the status page" }
        (overall(&board))
        @if !board.active.is_empty() || !board.upcoming.is_empty() {
            section.card {
                h2 { "Open now" }
                ul {
                    @for i in board.active.iter().chain(&board.upcoming) {
                        li { a href=(incident_path(i.row.id)) { (i.row.name) } " " (incident_chip(i)) }
                    }
                }
            }
        }
        section.card aria-labelledby="open-h" {
            h2 #open-h { "Open an incident" }
            @if !incident_errors.is_empty() { p.alert.error role="alert" { "The incident was not opened: see below." } }
            form method="post" action="/staff/status/incidents" {
                (csrf_field(ctx))
                (layout::field(layout::Field { label: "Name", name: "name", kind: "text", value: &kept(kept_incident, "name"), hint: Some("What customers notice, like “Delayed email delivery”."), autocomplete: "off", maxlength: status::MAX_NAME_CHARS, required: true }, incident_errors))
                div.field {
                    label for="f-istatus" { "Status" }
                    select #f-istatus name="status" {
                        @for s in &IncidentStatus::INCIDENT[..4] { option value=(s.as_str()) { (s.label()) } }
                    }
                }
                div.field.has-error[incident_errors.get("impact_override").is_some()] {
                    label for="f-impact" { "Impact" }
                    select #f-impact name="impact_override" {
                        option value="" { "From the components" }
                        @for i in ["none", "minor", "major", "critical"] { option value=(i) { (i) } }
                    }
                    @if let Some(m) = incident_errors.get("impact_override") { p.error { (m) } }
                }
                (textarea_field("body", "First update (Markdown)", &kept(kept_incident, "body"), incident_errors, 4))
                (component_selects(&components, false))
                @if let Some(m) = incident_errors.get("components") { p.error { (m) } }
                button.primary type="submit" { "Open incident" }
            }
        }
        section.card aria-labelledby="maint-h" {
            h2 #maint-h { "Schedule maintenance" }
            @if !maintenance_errors.is_empty() { p.alert.error role="alert" { "The maintenance was not scheduled: see below." } }
            form method="post" action="/staff/status/maintenance" {
                (csrf_field(ctx))
                (layout::field(layout::Field { label: "Name", name: "title", kind: "text", value: &kept(kept_maintenance, "title"), hint: None, autocomplete: "off", maxlength: status::MAX_NAME_CHARS, required: true }, maintenance_errors))
                (layout::field(layout::Field { label: "Starts (UTC)", name: "scheduled_for", kind: "datetime-local", value: &kept(kept_maintenance, "scheduled_for"), hint: None, autocomplete: "off", maxlength: 20, required: true }, maintenance_errors))
                (layout::field(layout::Field { label: "Ends (UTC)", name: "scheduled_until", kind: "datetime-local", value: &kept(kept_maintenance, "scheduled_until"), hint: Some("It starts and ends by itself at these times."), autocomplete: "off", maxlength: 20, required: true }, maintenance_errors))
                (textarea_field("details", "What happens (Markdown)", &kept(kept_maintenance, "details"), maintenance_errors, 3))
                (component_selects(&components, true))
                @if let Some(m) = maintenance_errors.get("components") { p.error { (m) } }
                button.primary type="submit" { "Schedule" }
            }
        }
        section.card aria-labelledby="components-h" {
            h2 #components-h { "Components" }
            table.admin-table.stack {
                thead { tr { th { "Order" } th { "Component" } th { "Group" } th { "Status" } @if admin { th { span.visually-hidden { "Edit" } } } } }
                tbody {
                    @for c in &components {
                        tr {
                            td data-label="Order" { (c.position) }
                            td data-label="Component" { (c.name) @if c.is_group { " " span.badge { "group" } } }
                            td data-label="Group" { (c.group_id.and_then(|g| components.iter().find(|x| x.id == g)).map(|g| g.name.as_str()).unwrap_or("—")) }
                            td data-label="Status" { @if c.is_group { "—" } @else { (status_chip(ComponentStatus::of(&c.status))) } }
                            @if admin { td { a href={ "/staff/status/components/" (c.id) } aria-label={ "Edit " (c.name) } { "Edit" } } }
                        }
                    }
                }
            }
            @if admin {
                p { a.button href="/staff/status/components/new" { "Add a component or group" } }
            }
        }
        @if admin {
            p { a href="/admin/tokens" { "API tokens" } " let a monitoring script open and resolve incidents." }
        }
    };
    Ok(layout::respond(
        ctx,
        code,
        Page::new("Manage the status page", body).noindex(),
    ))
}

fn component_form(
    ctx: &Ctx,
    components: &[ComponentRow],
    id: Option<i64>,
    input: &ComponentInput,
    errors: &FieldErrors,
) -> Markup {
    let action = match id {
        Some(id) => format!("/staff/status/components/{id}"),
        None => "/staff/status/components".into(),
    };
    let groups: Vec<&ComponentRow> = components
        .iter()
        .filter(|c| c.is_group && Some(c.id) != id)
        .collect();
    let text = |label, name, value: &str, hint, kind, required| {
        layout::field(
            layout::Field {
                label,
                name,
                kind,
                value,
                hint,
                autocomplete: "off",
                maxlength: 500,
                required,
            },
            errors,
        )
    };
    html! {
        form method="post" action=(action) {
            (csrf_field(ctx))
            (text("Name", "name", &input.name, None, "text", true))
            (text("Description", "description", &input.description, Some("Optional: shown under the name."), "text", false))
            div.field.has-error[errors.get("group").is_some()] {
                label for="f-group" { "Group" }
                select #f-group name="group" {
                    option value="" { "None" }
                    @for g in &groups { option value=(g.id) selected[input.group == g.id.to_string()] { (g.name) } }
                }
                @if let Some(m) = errors.get("group") { p.error { (m) } }
            }
            (text("Order", "position", &input.position, Some("Lower numbers come first."), "number", false))
            (text("Start date", "start_date", &input.start_date, Some("YYYY-MM-DD. Days before it show as “no data” in the uptime bars."), "text", false))
            div.field { label { input type="checkbox" name="only_show_if_degraded" value="on" checked[input.only_show_if_degraded.is_some()]; " Only show it when it is not operational" } }
            @if id.is_none() {
                div.field { label { input type="checkbox" name="is_group" value="on" checked[input.is_group.is_some()]; " This is a group of components" } }
            }
            button.primary type="submit" { @if id.is_some() { "Save component" } @else { "Add component" } }
        }
    }
}

#[post("/staff/status/components")]
pub async fn create_component(
    ctx: Ctx,
    CsrfForm(input): CsrfForm<ComponentInput>,
) -> Result<HttpResponse, AppError> {
    save_component(ctx, None, input).await
}

#[get("/staff/status/components/{id}")]
pub async fn component_edit(ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    ctx.require(Role::Admin)?;
    let db = ctx.state.db.clone();
    let row = blocking(move || status::component_row(&db, id))
        .await?
        .ok_or(AppError::NotFound)?;
    component_edit_html(
        &ctx,
        id,
        &ComponentInput::from_row(&row),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn component_edit_html(
    ctx: &Ctx,
    id: i64,
    input: &ComponentInput,
    errors: &FieldErrors,
    code: StatusCode,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let components = blocking(move || status::component_rows(&db)).await?;
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/status" { "Status" } " › " a href="/staff/status" { "Manage" } }
        h1 { "Edit component" }
        section.card { (component_form(ctx, &components, Some(id), input, errors)) }
    };
    Ok(layout::respond(
        ctx,
        code,
        Page::new("Edit component", body).noindex(),
    ))
}

#[post("/staff/status/components/{id}")]
pub async fn update_component(
    ctx: Ctx,
    path: web::Path<String>,
    CsrfForm(input): CsrfForm<ComponentInput>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    save_component(ctx, Some(id), input).await
}

async fn save_component(
    ctx: Ctx,
    id: Option<i64>,
    input: ComponentInput,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Admin)?.clone();
    let db = ctx.state.db.clone();
    let submitted = input.clone();
    let outcome = blocking(move || status::save_component(&db, &user, id, &submitted)).await?;
    super::refresh_status(&ctx.state).await?;
    match (outcome, id) {
        (Ok(_), _) => Ok(redirect("/staff/status")),
        (Err(errors), Some(id)) => {
            component_edit_html(&ctx, id, &input, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        (Err(errors), None) => {
            component_new_html(&ctx, &input, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[get("/staff/status/components/new")]
pub async fn component_new(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    component_new_html(
        &ctx,
        &ComponentInput::default(),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn component_new_html(
    ctx: &Ctx,
    input: &ComponentInput,
    errors: &FieldErrors,
    code: StatusCode,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let components = blocking(move || status::component_rows(&db)).await?;
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/status" { "Status" } " › " a href="/staff/status" { "Manage" } }
        h1 { "Add a component" }
        @if !errors.is_empty() { p.alert.error role="alert" { "The component was not added: see below." } }
        section.card { (component_form(ctx, &components, None, input, errors)) }
    };
    Ok(layout::respond(
        ctx,
        code,
        Page::new("Add a component", body).noindex(),
    ))
}

#[post("/staff/status/incidents")]
pub async fn open_incident(
    ctx: Ctx,
    CsrfForm(pairs): CsrfForm<Pairs>,
) -> Result<HttpResponse, AppError> {
    let by = By::staff(ctx.user()?)?;
    let input = OpenIncident {
        name: field(&pairs, "name").into(),
        status: field(&pairs, "status").into(),
        impact_override: field(&pairs, "impact_override").into(),
        body: field(&pairs, "body").into(),
        components: component_changes(&pairs),
        ..Default::default()
    };
    let db = ctx.state.db.clone();
    let outcome = blocking(move || status::open(&db, by, &input)).await?;
    super::refresh_status(&ctx.state).await?;
    match outcome {
        Ok(w) => Ok(redirect(&incident_path(w.incident_id))),
        Err(errors) => {
            manage_html(
                &ctx,
                &errors,
                Some(Rejected::Incident(&pairs)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// A `datetime-local` value (`2026-12-03T14:00`), read as UTC.
fn local_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

#[post("/staff/status/maintenance")]
pub async fn schedule_maintenance(
    ctx: Ctx,
    CsrfForm(pairs): CsrfForm<Pairs>,
) -> Result<HttpResponse, AppError> {
    let by = By::staff(ctx.user()?)?;
    let mut errors = FieldErrors::default();
    let from = local_time(field(&pairs, "scheduled_for"));
    let until = local_time(field(&pairs, "scheduled_until"));
    if from.is_none() {
        errors.add("scheduled_for", "A date and time, like 2026-12-05T02:00.");
    }
    if until.is_none() {
        errors.add("scheduled_until", "A date and time, like 2026-12-05T04:00.");
    }
    let outcome = match (from, until) {
        (Some(from), Some(until)) => {
            let input = OpenIncident {
                name: field(&pairs, "title").into(),
                body: field(&pairs, "details").into(),
                component_ids: checked_components(&pairs),
                scheduled_for: Some(from),
                scheduled_until: Some(until),
                ..Default::default()
            };
            let db = ctx.state.db.clone();
            let outcome = blocking(move || status::open(&db, by, &input)).await?;
            super::refresh_status(&ctx.state).await?;
            // This form names its fields apart from the incident form's on the same page.
            outcome.map_err(|e| {
                let mut renamed = FieldErrors::default();
                for (field, message) in e.iter() {
                    let field = match *field {
                        "name" => "title",
                        "body" => "details",
                        f => f,
                    };
                    renamed.add(field, message.clone());
                }
                renamed
            })
        }
        _ => Err(errors),
    };
    match outcome {
        Ok(w) => Ok(redirect(&incident_path(w.incident_id))),
        Err(errors) => {
            manage_html(
                &ctx,
                &errors,
                Some(Rejected::Maintenance(&pairs)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
