//! Topic lists (/latest, /c/{slug}) with `.json` and `.atom` beside each.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDateTime;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::blocking;
use super::ctx::Ctx;
use super::layout::{self, Page};
use super::view::when;
use super::view::{Format, category_chip, color_class, split_format};
use crate::db::forum::{CategoryRow, ListFilter};
use crate::error::AppError;
use crate::forum::{self, TopicList, TopicSummary};
use crate::subject::{category_path, topic_path, user_path};

// ---- lists ------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    before: Option<String>,
    filter: Option<String>,
}

impl ListQuery {
    fn solved(&self) -> Result<Option<bool>, AppError> {
        match self.filter.as_deref() {
            None | Some("") | Some("all") => Ok(None),
            Some("solved") => Ok(Some(true)),
            Some("unsolved") => Ok(Some(false)),
            Some(_) => Err(AppError::BadRequest(
                "Unknown filter: use solved, unsolved or all.".into(),
            )),
        }
    }

    fn before(&self) -> Result<Option<(NaiveDateTime, i64)>, AppError> {
        match self.before.as_deref() {
            None | Some("") => Ok(None),
            Some(c) => forum::decode_cursor(c).map(Some).ok_or_else(|| {
                AppError::BadRequest(
                    "That page link is broken; start again from the first page.".into(),
                )
            }),
        }
    }
}

#[get("/latest")]
pub async fn latest(ctx: Ctx, q: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    list_page(ctx, None, q.into_inner(), Format::Html).await
}

#[get("/latest.json")]
pub async fn latest_json(ctx: Ctx, q: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    list_page(ctx, None, q.into_inner(), Format::Json).await
}

#[get("/latest.atom")]
pub async fn latest_atom(ctx: Ctx) -> Result<HttpResponse, AppError> {
    list_page(ctx, None, ListQuery::default(), Format::Atom).await
}

#[get("/c/{slug}")]
pub async fn category_page(
    ctx: Ctx,
    req: actix_web::HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (slug, format) = split_format(&slug);
    let slug = slug.to_string();
    let db = ctx.state.db.clone();
    let lookup = slug.clone();
    let category = blocking(move || forum::categories::by_slug(&db, &lookup))
        .await?
        .ok_or(AppError::NotFound)?;
    // An ideas category lists its ideas by votes (its Atom feed is the topic feed).
    if category.is_ideas() && !matches!(format, Format::Atom) {
        return super::ideas::category_list(ctx, &req, category, format).await;
    }
    let q = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|_| AppError::BadRequest("That address has a broken query.".into()))?;
    list_page(ctx, Some(category), q.into_inner(), format).await
}

async fn list_page(
    ctx: Ctx,
    category: Option<CategoryRow>,
    q: ListQuery,
    format: Format,
) -> Result<HttpResponse, AppError> {
    let filter = ListFilter {
        category_id: category.as_ref().map(|c| c.id),
        solved: q.solved()?,
        before: q.before()?,
        pinned: false,
        include_unlisted: false,
    };
    let db = ctx.state.db.clone();
    let watcher = ctx.user.clone().zip(category.as_ref().map(|c| c.id));
    let (list, watch_level) = blocking(move || {
        let list = forum::list_topics(&db, filter)?;
        let level = match &watcher {
            Some((user, category)) => forum::category_watch(&db, user, *category)?,
            None => None,
        };
        Ok((list, level))
    })
    .await?;
    match format {
        Format::Json => Ok(HttpResponse::Ok().json(ListJson::new(&list, category.as_ref()))),
        Format::Atom => super::feeds::topic_feed(&ctx, category.as_ref(), &list.topics).await,
        Format::Html => Ok(layout::ok(
            &ctx,
            list_html(&ctx, category.as_ref(), &list, &q, watch_level),
        )),
    }
}

fn list_html(
    ctx: &Ctx,
    category: Option<&CategoryRow>,
    list: &TopicList,
    q: &ListQuery,
    watch_level: Option<crate::db::forum::WatchLevel>,
) -> Page {
    let base = match category {
        Some(c) => category_path(&c.slug),
        None => "/latest".to_string(),
    };
    let filter = q.filter.as_deref().unwrap_or("all");
    let filter_link = |f: &str| {
        if f == "all" {
            base.clone()
        } else {
            format!("{base}?filter={f}")
        }
    };
    let can_post = ctx
        .user
        .as_ref()
        .is_none_or(|u| category.is_none_or(|c| !c.staff_only || u.role.is_staff()));
    let body = html! {
        div.list-head {
            div {
                @match category {
                    Some(c) => {
                        h1 { span.dot.(color_class(&c.color)) {} (c.name) }
                        @if !c.description.is_empty() { p.lead { (c.description) } }
                        @if c.staff_only { p.small { "Only staff start topics here." } }
                    }
                    None => { h1 { "Latest topics" } }
                }
            }
            @if can_post {
                a.button.primary href={ "/new-topic" @if let Some(c) = category { "?category=" (c.slug) } } { "Ask a question" }
            }
        }
        nav.categories aria-label="Categories" {
            a href="/latest" aria-current=[category.is_none().then_some("page")] { "All" }
            @for c in &list.categories {
                a href=(category_path(&c.slug)) aria-current=[category.is_some_and(|x| x.id == c.id).then_some("page")] {
                    span.dot.(color_class(&c.color)) {} (c.name)
                }
            }
        }
        nav.filters aria-label="Filter" {
            @for (f, label) in [("all", "All"), ("unsolved", "Unsolved"), ("solved", "Solved")] {
                a href=(filter_link(f)) aria-current=[(f == filter).then_some("page")] { (label) }
            }
            @if let Some(c) = category {
                @if ctx.user.is_some() {
                    (super::posts::category_watch_form(ctx, c, watch_level))
                }
            }
        }
        @if list.pinned.is_empty() && list.topics.is_empty() {
            p.empty { "No topics here yet. " a href="/new-topic" { "Start the first one" } "." }
        } @else {
            ol.topic-list {
                @for t in list.pinned.iter().chain(list.topics.iter()) {
                    (topic_row(t, &list.categories, category.is_none()))
                }
            }
        }
        @if let Some(next) = &list.next {
            p.more {
                a.button href={ (base) "?before=" (next) @if filter != "all" { "&filter=" (filter) } } rel="next" { "Load more topics" }
            }
        }
    };
    let title = category.map_or("Latest topics".to_string(), |c| c.name.clone());
    let feed_title = format!("{title} (Atom)");
    let mut page = Page::new(title, body)
        .canonical(base.clone())
        .feed(feed_title, format!("{base}.atom"));
    if let Some(c) = category.filter(|c| !c.description.is_empty()) {
        page = page.describe(c.description.clone());
    }
    page
}

fn topic_row(t: &TopicSummary, categories: &[CategoryRow], show_category: bool) -> Markup {
    let topic = &t.topic;
    html! {
        li.topic.pinned[topic.pinned].solved[topic.solved_post_id.is_some()] {
            div.main {
                a.title href=(topic_path(&topic.slug, topic.id)) { (topic.title) }
                div.meta {
                    @if topic.pinned { span.badge.pin { "pinned" } " " }
                    @if topic.solved_post_id.is_some() { span.badge.solved title="Has an accepted answer" { "✓ solved" } " " }
                    @if topic.has_staff_reply { span.badge.staff title="Our team has replied" { "staff replied" } " " }
                    @if topic.locked { span.badge.locked { "locked" } " " }
                    @if show_category {
                        @if let Some(c) = categories.iter().find(|c| c.id == topic.category_id) { (category_chip(c)) " " }
                    }
                    @for tag in &t.tags { a.tag href={ "/search?q=tag:" (tag) } { "#" (tag) } " " }
                    span.by { "by " a href=(user_path(&t.author.username)) { (t.author.username) } }
                }
            }
            div.stats {
                span.replies { strong { (topic.reply_count) } (if topic.reply_count == 1 { " reply" } else { " replies" }) }
                span.likes { (topic.like_count) (if topic.like_count == 1 { " like" } else { " likes" }) }
                span.activity { (when(&topic.bumped_at)) }
            }
        }
    }
}

// ---- JSON -------------------------------------------------------------------------------

#[derive(Serialize)]
struct TopicListItemJson<'a> {
    id: i64,
    title: &'a str,
    slug: &'a str,
    url: String,
    category_id: i64,
    author: &'a str,
    created_at: NaiveDateTime,
    bumped_at: NaiveDateTime,
    reply_count: i32,
    like_count: i32,
    solved: bool,
    staff_replied: bool,
    pinned: bool,
    locked: bool,
    tags: &'a [String],
}

#[derive(Serialize)]
struct ListJson<'a> {
    category: Option<&'a CategoryRow>,
    topics: Vec<TopicListItemJson<'a>>,
    /// Pass as `?before=` for the next page; null on the last page.
    next: Option<&'a str>,
}

impl<'a> ListJson<'a> {
    fn new(list: &'a TopicList, category: Option<&'a CategoryRow>) -> Self {
        ListJson {
            category,
            topics: list
                .pinned
                .iter()
                .chain(list.topics.iter())
                .map(|t| TopicListItemJson {
                    id: t.topic.id,
                    title: &t.topic.title,
                    slug: &t.topic.slug,
                    url: topic_path(&t.topic.slug, t.topic.id),
                    category_id: t.topic.category_id,
                    author: &t.author.username,
                    created_at: t.topic.created_at,
                    bumped_at: t.topic.bumped_at,
                    reply_count: t.topic.reply_count,
                    like_count: t.topic.like_count,
                    solved: t.topic.solved_post_id.is_some(),
                    staff_replied: t.topic.has_staff_reply,
                    pinned: t.topic.pinned,
                    locked: t.topic.locked,
                    tags: &t.tags,
                })
                .collect(),
            next: list.next.as_deref(),
        }
    }
}
