//! Changelog pages: `/changelog` (filter by label, with `.json` and `.atom`), a post at
//! `/changelog/{slug}` (with `.json`; an old slug redirects), and staff's editor and
//! "Publish" button. Opening the changelog clears a member's "What's new" marker.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{NaiveDate, NaiveDateTime};
use maud::{Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};

use super::blocking;
use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::view::{Format, NoFields, redirect, split_format, textarea_field, when};
use crate::accounts::Role;
use crate::changelog::{self, BecauseYouAsked, ChangelogInput, ChangelogList, Entry, Found};
use crate::changelog::{Label, PostPage};
use crate::db::changelog::ChangelogRow;
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::subject::{Viewer, article_path, topic_path};

fn rfc3339(at: &NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn day(d: &NaiveDate) -> String {
    d.format("%B %-d, %Y").to_string()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    label: Option<String>,
    page: Option<String>,
}

impl ListQuery {
    fn parse(&self) -> Result<(Option<Label>, i64), AppError> {
        let label = match self.label.as_deref() {
            None | Some("") | Some("all") => None,
            Some(l) => Some(Label::parse(l).ok_or_else(|| {
                AppError::BadRequest("Unknown label: use new, improved or fixed.".into())
            })?),
        };
        let page = super::view::page_number(self.page.as_deref())?;
        Ok((label, page))
    }
}

fn list_link(label: Option<Label>, page: i64) -> String {
    match (label, page) {
        (None, 1) => "/changelog".into(),
        (None, p) => format!("/changelog?page={p}"),
        (Some(l), 1) => format!("/changelog?label={}", l.as_str()),
        (Some(l), p) => format!("/changelog?label={}&page={p}", l.as_str()),
    }
}

// ---- JSON ----------------------------------------------------------------------------------

#[derive(Serialize)]
struct EntryJson<'a> {
    id: i64,
    slug: &'a str,
    title: &'a str,
    url: String,
    labels: Vec<&'static str>,
    status: &'a str,
    published_on: NaiveDate,
    published_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
    because_you_asked: BecauseYouAsked,
    html: &'a str,
}

impl<'a> EntryJson<'a> {
    fn new(e: &'a Entry) -> Self {
        EntryJson {
            id: e.post.id,
            slug: &e.post.slug,
            title: &e.post.title,
            url: changelog::path(&e.post),
            labels: e.labels.iter().map(|l| l.as_str()).collect(),
            status: &e.post.status,
            published_on: e.post.published_on,
            published_at: e.post.published_at,
            updated_at: e.post.updated_at,
            because_you_asked: e.because,
            html: &e.post.cooked,
        }
    }
}

// ---- /changelog ----------------------------------------------------------------------------

#[get("/changelog")]
pub async fn index(ctx: Ctx, q: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    list_as(ctx, q.into_inner(), Format::Html).await
}

#[get("/changelog.json")]
pub async fn index_json(ctx: Ctx, q: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    list_as(ctx, q.into_inner(), Format::Json).await
}

#[get("/changelog.atom")]
pub async fn feed(ctx: Ctx, q: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    list_as(ctx, q.into_inner(), Format::Atom).await
}

/// A member who opens the changelog has seen what is new (one write, only when it was).
async fn clear_whats_new(ctx: &Ctx) -> Result<(), AppError> {
    if let Some(user) = ctx.user.clone()
        && ctx.state.whats_new.is_new_for(&user)
    {
        let db = ctx.state.db.clone();
        blocking(move || changelog::mark_seen(&db, &user)).await?;
    }
    Ok(())
}

async fn list_as(ctx: Ctx, q: ListQuery, format: Format) -> Result<HttpResponse, AppError> {
    let (label, page) = q.parse()?;
    let db = ctx.state.db.clone();
    let viewer = Viewer::of(ctx.user.as_ref());
    let list = blocking(move || changelog::list(&db, label, page, viewer)).await?;
    match format {
        Format::Json => Ok(HttpResponse::Ok().json(serde_json::json!({
            "label": label.map(Label::as_str),
            "page": page,
            "more": list.more,
            "posts": list.entries.iter().map(EntryJson::new).collect::<Vec<_>>(),
        }))),
        Format::Atom => Ok(atom(&ctx, label, &list.entries)),
        Format::Html => {
            clear_whats_new(&ctx).await?;
            Ok(layout::ok(&ctx, list_html(&ctx, label, page, &list)))
        }
    }
}

fn labels_html(labels: &[Label]) -> Markup {
    html! {
        @for l in labels {
            a class={ "badge label l-" (l.as_str()) } href=(list_link(Some(*l), 1)) { (l.title()) } " "
        }
    }
}

fn because_html(b: &BecauseYouAsked) -> Markup {
    let n = |count: i64, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    // Only what there is: "1 idea, 6 votes", "1 topic", "2 ideas, 3 topics, 40 votes".
    let mut parts = Vec::new();
    if b.ideas > 0 {
        parts.push(n(b.ideas, "idea", "ideas"));
    }
    if b.topics > 0 {
        parts.push(n(b.topics, "topic", "topics"));
    }
    if b.ideas > 0 {
        parts.push(n(b.votes, "vote", "votes"));
    }
    html! {
        @if !b.is_empty() {
            p.because-you-asked {
                strong { "Because you asked: " }
                (parts.join(", "))
            }
        }
    }
}

fn list_html(ctx: &Ctx, label: Option<Label>, page: i64, list: &ChangelogList) -> Page {
    let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
    let body = html! {
        div.list-head {
            div {
                h1 { "Changelog" }
                p.lead { "What we changed, and who asked for it. See what is coming on the " a href="/roadmap" { "roadmap" } "." }
            }
            div.actions {
                a.button href="/ideas/new" { "Suggest an improvement" }
                @if staff { " " a.button.primary href="/changelog/new" { "New post" } }
            }
        }
        nav.filters aria-label="Labels" {
            a href=(list_link(None, 1)) aria-current=[label.is_none().then_some("page")] { "All" }
            @for l in Label::ALL {
                a href=(list_link(Some(l), 1)) aria-current=[(label == Some(l)).then_some("page")] { (l.title()) }
            }
            a href={ "/changelog.atom" @if let Some(l) = label { "?label=" (l.as_str()) } } { "Atom feed" }
        }
        @if !list.drafts.is_empty() {
            section.card.drafts aria-label="Drafts" {
                h2 { "Drafts (only staff see these)" }
                ul.plain {
                    @for d in &list.drafts {
                        li { a href=(changelog::path(d)) { (d.title) } " " span.small { "dated " (day(&d.published_on)) " · edited " (when(&d.updated_at)) } }
                    }
                }
            }
        }
        @if list.entries.is_empty() {
            p.empty { "Nothing published here yet." }
        } @else {
            ol.changelog-list {
                @for e in &list.entries {
                    li {
                        article.changelog-entry {
                            header {
                                p.small.date { time datetime=(e.post.published_on.to_string()) { (day(&e.post.published_on)) } }
                                h2 { a href=(changelog::path(&e.post)) { (e.post.title) } }
                                p.labels { (labels_html(&e.labels)) }
                            }
                            div.cooked { (PreEscaped(&e.post.cooked)) }
                            (because_html(&e.because))
                        }
                    }
                }
            }
        }
        @if list.more {
            p.more { a.button rel="next" href=(list_link(label, page + 1)) { "Older posts" } }
        }
    };
    let title = match label {
        Some(l) => format!("Changelog: {}", l.title()),
        None => "Changelog".to_string(),
    };
    let feed_path = match label {
        Some(l) => format!("/changelog.atom?label={}", l.as_str()),
        None => "/changelog.atom".to_string(),
    };
    Page::new(title, body)
        .describe("What changed, and which customer ideas and questions led to it.")
        .canonical(list_link(label, page))
        .feed("Changelog (Atom)", feed_path)
}

fn atom(ctx: &Ctx, label: Option<Label>, entries: &[Entry]) -> HttpResponse {
    let s = &ctx.settings;
    let updated = entries
        .iter()
        .map(|e| e.post.updated_at)
        .max()
        .unwrap_or_else(crate::db::now);
    let self_path = match label {
        Some(l) => format!("/changelog.atom?label={}", l.as_str()),
        None => "/changelog.atom".into(),
    };
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { "Changelog — " (s.site_name) }
            id { (s.public_url) "/changelog" }
            link rel="alternate" type="text/html" href={ (s.public_url) "/changelog" } {}
            link rel="self" type="application/atom+xml" href={ (s.public_url) (self_path) } {}
            updated { (rfc3339(&updated)) }
            @for e in entries {
                @let url = format!("{}{}", s.public_url, changelog::path(&e.post));
                entry {
                    title { (e.post.title) }
                    id { (s.public_url) "/changelog/" (e.post.id) }
                    link rel="alternate" type="text/html" href=(url) {}
                    published { (rfc3339(&e.post.published_at.unwrap_or(e.post.updated_at))) }
                    updated { (rfc3339(&e.post.updated_at)) }
                    author { name { (s.site_name) } }
                    @for l in &e.labels { category term=(l.as_str()) label=(l.title()) {} }
                    content type="html" { (e.post.cooked) }
                }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .body(xml.into_string())
}

// ---- /changelog/{slug} -----------------------------------------------------------------------

#[get("/changelog/{slug}")]
pub async fn show(ctx: Ctx, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = slug.into_inner();
    let (slug, format) = split_format(&name);
    if matches!(format, Format::Atom) {
        return Err(AppError::NotFound);
    }
    let slug = slug.to_string();
    let db = ctx.state.db.clone();
    let viewer = Viewer::of(ctx.user.as_ref());
    let found = blocking(move || changelog::find(&db, &slug, viewer)).await?;
    let json = matches!(format, Format::Json);
    let page = match found {
        Found::Moved(to) => {
            return Ok(HttpResponse::MovedPermanently()
                .insert_header(("Location", if json { format!("{to}.json") } else { to }))
                .finish());
        }
        Found::Post(p) => p,
    };
    if json {
        return Ok(HttpResponse::Ok().json(post_json(&page)));
    }
    if page.entry.post.is_published() {
        clear_whats_new(&ctx).await?;
    }
    Ok(layout::ok(&ctx, post_html(&ctx, &page)))
}

fn post_json(p: &PostPage) -> serde_json::Value {
    serde_json::json!({
        "post": EntryJson::new(&p.entry),
        "author": p.author,
        "ideas": p.ideas.iter().map(|(t, i)| serde_json::json!({
            "id": t.id, "title": t.title, "url": topic_path(&t.slug, t.id),
            "status": i.status, "votes": i.vote_count,
        })).collect::<Vec<_>>(),
        "topics": p.topics.iter().map(|t| serde_json::json!({
            "id": t.id, "title": t.title, "url": topic_path(&t.slug, t.id),
        })).collect::<Vec<_>>(),
        "articles": p.articles.iter().map(|(slug, title)| serde_json::json!({
            "title": title, "url": article_path(slug),
        })).collect::<Vec<_>>(),
        "incidents": p.incidents.iter().map(|(id, name)| serde_json::json!({
            "id": id, "name": name,
            "url": crate::subject::Subject::Incident(*id).path(crate::subject::Named::slug("")),
        })).collect::<Vec<_>>(),
    })
}

fn post_html(ctx: &Ctx, p: &PostPage) -> Page {
    let post = &p.entry.post;
    let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
    let path = changelog::path(post);
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/changelog" { "Changelog" } }
        article.changelog-entry.single {
            header {
                h1 {
                    (post.title)
                    @if !post.is_published() { " " span.badge.locked { "draft" } }
                }
                p.small.meta {
                    time datetime=(post.published_on.to_string()) { (day(&post.published_on)) }
                    @if !p.author.is_empty() { " · by " (p.author) " from our team" }
                }
                p.labels { (labels_html(&p.entry.labels)) }
            }
            div.cooked { (PreEscaped(&post.cooked)) }
        }
        @if !p.entry.because.is_empty() || !p.articles.is_empty() || !p.incidents.is_empty() {
            section.card.because aria-label="What prompted this change" {
                (because_html(&p.entry.because))
                @if !p.ideas.is_empty() {
                    h2 { "Ideas" }
                    ul.plain {
                        @for (t, i) in &p.ideas {
                            li { a href=(topic_path(&t.slug, t.id)) { (t.title) } " " span.small { (i.vote_count) (if i.vote_count == 1 { " vote" } else { " votes" }) } }
                        }
                    }
                }
                @if !p.topics.is_empty() {
                    h2 { "Support topics" }
                    ul.plain {
                        @for t in &p.topics { li { a href=(topic_path(&t.slug, t.id)) { (t.title) } } }
                    }
                }
                @if !p.articles.is_empty() {
                    h2 { "Updated articles" }
                    ul.plain {
                        @for (slug, title) in &p.articles { li { a href=(article_path(slug)) { (title) } } }
                    }
                }
                @if !p.incidents.is_empty() {
                    h2 { "Incidents" }
                    ul.plain {
                        @for (id, name) in &p.incidents {
                            li { a href=(crate::subject::Subject::Incident(*id).path(crate::subject::Named::slug(""))) { (name) } }
                        }
                    }
                }
            }
        }
        p.button-row { a.button href="/ideas/new" { "Suggest an improvement" } " " a href="/changelog" { "All changes" } }
        @if staff {
            section.card.staff-tools {
                h2 { "Staff" }
                p {
                    a.button href={ (path) "/edit" } { "Edit" }
                    @if !post.is_published() {
                        " "
                        form.inline method="post" action={ (path) "/publish" } {
                            (csrf_field(ctx))
                            button.primary type="submit" { "Publish" }
                        }
                    }
                }
                @if post.loop_closed_at.is_none() {
                    p.small { "Publishing ships the linked ideas, replies in each linked topic and tells everyone who voted or took part, once." }
                }
            }
        }
    };
    let mut page = Page::new(post.title.clone(), body)
        .describe(crate::markdown::excerpt(&post.raw, 160))
        .canonical(path)
        .feed("Changelog (Atom)", "/changelog.atom");
    if !post.is_published() {
        page = page.noindex();
    }
    page
}

// ---- staff: writing ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    /// A topic or idea the post is about ("Write a changelog post" on its page).
    topic: String,
}

#[get("/changelog/new")]
pub async fn new_form(ctx: Ctx, q: web::Query<NewQuery>) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let input = if q.topic.is_empty() {
        ChangelogInput {
            status: "draft".into(),
            published_on: crate::db::now().date().to_string(),
            ..Default::default()
        }
    } else {
        let topic_id: i64 = q
            .topic
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| AppError::BadRequest("topic must be a topic number.".into()))?;
        let db = ctx.state.db.clone();
        blocking(move || changelog::draft_about_topic(&db, &user, topic_id)).await?
    };
    Ok(editor(
        &ctx,
        None,
        &input,
        &FieldErrors::default(),
        StatusCode::OK,
    ))
}

#[post("/changelog/new")]
pub async fn create(
    ctx: Ctx,
    CsrfForm(input): CsrfForm<ChangelogInput>,
) -> Result<HttpResponse, AppError> {
    save(ctx, None, input).await
}

#[get("/changelog/{slug}/edit")]
pub async fn edit_form(ctx: Ctx, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let (post, links) = blocking(move || changelog::for_edit(&db, &user, &slug)).await?;
    let input = ChangelogInput::from_post(&post, &links);
    Ok(editor(
        &ctx,
        Some(&post),
        &input,
        &FieldErrors::default(),
        StatusCode::OK,
    ))
}

#[post("/changelog/{slug}/edit")]
pub async fn update(
    ctx: Ctx,
    slug: web::Path<String>,
    CsrfForm(input): CsrfForm<ChangelogInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let (post, _) = blocking(move || changelog::for_edit(&db, &user, &slug)).await?;
    save(ctx, Some(post), input).await
}

async fn save(
    ctx: Ctx,
    existing: Option<ChangelogRow>,
    input: ChangelogInput,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let limits = ctx.state.config.limits();
    let submitted = input.clone();
    let id = existing.as_ref().map(|p| p.id);
    let result = blocking(move || changelog::save(&db, &user, id, &submitted, &limits)).await?;
    match result {
        Ok(saved) => {
            refresh_whats_new(&ctx).await?;
            ctx.state.idea_rankings.invalidate();
            Ok(redirect(&changelog::path(&saved)))
        }
        Err(errors) => Ok(editor(
            &ctx,
            existing.as_ref(),
            &input,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
    }
}

/// This node's "What's new" follows a publication at once (others within a poll).
async fn refresh_whats_new(ctx: &Ctx) -> Result<(), AppError> {
    let db = ctx.state.db.clone();
    let whats_new = ctx.state.whats_new.clone();
    blocking(move || whats_new.refresh(&db)).await
}

#[post("/changelog/{slug}/publish")]
pub async fn publish(
    ctx: Ctx,
    slug: web::Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let post = blocking(move || changelog::publish(&db, &user, &slug)).await?;
    refresh_whats_new(&ctx).await?;
    // Linked ideas are shipped now.
    ctx.state.idea_rankings.invalidate();
    Ok(redirect(&changelog::path(&post)))
}

fn editor(
    ctx: &Ctx,
    existing: Option<&ChangelogRow>,
    input: &ChangelogInput,
    errors: &FieldErrors,
    status: StatusCode,
) -> HttpResponse {
    let action = match existing {
        Some(p) => format!("{}/edit", changelog::path(p)),
        None => "/changelog/new".to_string(),
    };
    let text = |label, name, kind, value: &str, hint, maxlength, required| {
        layout::field(
            layout::Field {
                label,
                name,
                kind,
                value: &clip(value, 2_000),
                hint,
                autocomplete: "off",
                maxlength,
                required,
            },
            errors,
        )
    };
    let checked = [
        input.label_new.is_some(),
        input.label_improved.is_some(),
        input.label_fixed.is_some(),
    ];
    let heading = if existing.is_some() {
        "Edit changelog post"
    } else {
        "New changelog post"
    };
    let published = existing.is_some_and(|p| p.loop_closed_at.is_some());
    let date_kind = match input.published_on.trim() {
        "" => "date",
        d if NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok() => "date",
        _ => "text",
    };
    let body = html! {
        section.card {
            h1 { (heading) }
            @if !errors.is_empty() { p.alert.error role="alert" { "Please check the fields marked below: your text is kept." } }
            form method="post" action=(action) {
                (csrf_field(ctx))
                (text("Title", "title", "text", &input.title, Some("What changed, in a few words."), 150, true))
                (text("Address", "slug", "text", &input.slug, Some("The part after /changelog/. Leave empty to make one from the title; renaming keeps the old address working."), 80, false))
                fieldset.field {
                    legend { "Labels" }
                    @for (l, on) in Label::ALL.iter().zip(checked) {
                        label.check {
                            input type="checkbox" name={ "label_" (l.as_str()) } value="on" checked[on];
                            " " (l.title())
                        }
                        " "
                    }
                }
                // A date field (with its picker) unless what came back is not a date.
                (text("Date", "published_on", date_kind, &input.published_on, Some("Shown on the post; a draft published later gets the day it is published."), 10, false))
                (textarea_field("raw", "What changed (Markdown)", &clip(&input.raw, 70_000), errors, 14))
                (textarea_field("links", "What prompted it: one address per line (ideas, support topics /t/…, articles /kb/…, incidents /status/incidents/…)", &clip(&input.links, 20_000), errors, 5))
                div.field.has-error[errors.get("status").is_some()] {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        option value="draft" selected[input.status != "published"] { "Draft (only staff see it)" }
                        option value="published" selected[input.status == "published"] { "Published" }
                    }
                    @if let Some(e) = errors.get("status") { p.error { (e) } }
                }
                @if !published {
                    p.hint.small { "When it is published the first time, linked ideas become shipped, each linked topic gets a reply pointing here, and everyone who voted or took part hears about it, once." }
                }
                button.primary type="submit" { "Save" }
                @if let Some(p) = existing { " " a href=(changelog::path(p)) { "Cancel" } }
            }
        }
    };
    layout::respond(ctx, status, Page::new(heading, body).noindex())
}
