//! Forum pages: topic lists (/latest, /c/{slug}), the topic page, new topics and replies,
//! with `.json` beside each page for its data.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDateTime;
use maud::{Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};

use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::view::{redirect, staff_badge, textarea_field, topic_path, urlencode, when};
use super::{RateLimits, blocking};
use crate::accounts::Role;
use crate::db::forum::{CategoryRow, ListFilter};
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::forum::{self, PageNo, PostView, TopicInput, TopicList, TopicPage, TopicSummary};
use crate::markdown;

// ---- shared bits ------------------------------------------------------------------------

fn category_chip(c: &CategoryRow) -> Markup {
    html! { a.chip href={ "/c/" (c.slug) } data-color=(c.color) { span.dot.(color_class(&c.color)) {} (c.name) } }
}

/// Category colours become one of a fixed set of classes: user colours never reach a
/// style attribute (the CSP forbids inline styles anyway).
fn color_class(color: &str) -> &'static str {
    const PALETTE: [(&str, u32); 8] = [
        ("c-blue", 0x1f5fd1),
        ("c-green", 0x1b7f3b),
        ("c-red", 0xb3261e),
        ("c-orange", 0xd9730d),
        ("c-purple", 0x7b3fb5),
        ("c-teal", 0x0f8a8a),
        ("c-grey", 0x6b7280),
        ("c-pink", 0xc2185b),
    ];
    let rgb = u32::from_str_radix(color.trim_start_matches('#'), 16).unwrap_or(0x1f5fd1);
    let dist = |c: u32| {
        let d = |shift: u32| ((rgb >> shift & 0xff) as i32 - (c >> shift & 0xff) as i32).pow(2);
        d(16) + d(8) + d(0)
    };
    PALETTE
        .iter()
        .min_by_key(|(_, c)| dist(*c))
        .map(|(n, _)| *n)
        .unwrap_or("c-blue")
}

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

enum Format {
    Html,
    Json,
    Atom,
}

fn split_format(name: &str) -> (&str, Format) {
    if let Some(s) = name.strip_suffix(".json") {
        (s, Format::Json)
    } else if let Some(s) = name.strip_suffix(".atom") {
        (s, Format::Atom)
    } else {
        (name, Format::Html)
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
    slug: web::Path<String>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (slug, format) = split_format(&slug);
    let slug = slug.to_string();
    let db = ctx.state.db.clone();
    let lookup = slug.clone();
    let category =
        blocking(move || db.read_sync(|c| crate::db::forum::category_by_slug(c, &lookup)))
            .await?
            .ok_or(AppError::NotFound)?;
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
    let watcher = ctx
        .user
        .as_ref()
        .map(|u| u.id)
        .zip(category.as_ref().map(|c| c.id));
    let (list, watch_level) = blocking(move || {
        let list = forum::list_topics(&db, filter)?;
        let level = match watcher {
            Some((user, category)) => {
                db.read_sync(|c| crate::db::forum::category_watch(c, user, category))?
            }
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
            list_html(&ctx, category.as_ref(), &list, &q, watch_level.as_deref()),
        )),
    }
}

fn list_html(
    ctx: &Ctx,
    category: Option<&CategoryRow>,
    list: &TopicList,
    q: &ListQuery,
    watch_level: Option<&str>,
) -> Page {
    let base = match category {
        Some(c) => format!("/c/{}", c.slug),
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
                a href={ "/c/" (c.slug) } aria-current=[category.is_some_and(|x| x.id == c.id).then_some("page")] {
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
                    span.by { "by " a href={ "/u/" (t.author.username) } { (t.author.username) } }
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

#[derive(Serialize)]
struct PostJson<'a> {
    id: i64,
    post_number: i32,
    username: &'a str,
    staff: bool,
    cooked: &'a str,
    created_at: NaiveDateTime,
    edited_at: Option<NaiveDateTime>,
    version: i32,
    like_count: i32,
    accepted_answer: bool,
    deleted: bool,
    hidden: bool,
}

#[derive(Serialize)]
struct TopicJson<'a> {
    id: i64,
    title: &'a str,
    slug: &'a str,
    url: String,
    category: &'a CategoryRow,
    tags: &'a [String],
    created_at: NaiveDateTime,
    bumped_at: NaiveDateTime,
    reply_count: i32,
    like_count: i32,
    solved_post_id: Option<i64>,
    locked: bool,
    pinned: bool,
    page: i32,
    pages: i32,
    posts: Vec<PostJson<'a>>,
}

// ---- topic page -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TopicQuery {
    page: Option<String>,
    quote: Option<i64>,
    post: Option<i64>,
}

#[get("/t/{slug}/{id}")]
pub async fn topic_by_slug(
    ctx: Ctx,
    path: web::Path<(String, String)>,
    q: web::Query<TopicQuery>,
) -> Result<HttpResponse, AppError> {
    let (slug, id) = path.into_inner();
    let (id, format) = split_format(&id);
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    show_topic(
        ctx,
        Some(slug),
        id,
        q.into_inner(),
        format,
        None,
        String::new(),
    )
    .await
}

/// `/t/{id}.json` (and `/t/{id}` which redirects to the full URL).
#[get("/t/{id}")]
pub async fn topic_by_id(
    ctx: Ctx,
    id: web::Path<String>,
    q: web::Query<TopicQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, format) = split_format(&id);
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    show_topic(ctx, None, id, q.into_inner(), format, None, String::new()).await
}

#[allow(clippy::too_many_arguments)]
async fn show_topic(
    ctx: Ctx,
    slug: Option<String>,
    id: i64,
    q: TopicQuery,
    format: Format,
    reply_errors: Option<(StatusCode, FieldErrors)>,
    reply_text: String,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    // ?post=ID jumps to the page holding that post.
    let page = match (&q.page, q.post) {
        (Some(p), _) if p == "last" => PageNo::Last,
        (Some(p), _) => PageNo::Number(p.parse().map_err(|_| AppError::NotFound)?),
        (None, Some(post_id)) => {
            let db = db.clone();
            let found =
                blocking(move || db.read_sync(|c| crate::db::forum::post_number(c, post_id)))
                    .await?;
            match found {
                Some((topic_id, number)) if topic_id == id => {
                    PageNo::Number(forum::page_of(number))
                }
                _ => PageNo::Number(1),
            }
        }
        (None, None) => PageNo::Number(1),
    };
    let viewer = ctx.user.clone();
    let started = std::time::Instant::now();
    let (data, queries) = blocking(move || {
        Ok(crate::db::count_queries(|| {
            forum::topic_page(&db, id, page, viewer.as_ref())
        }))
    })
    .await?;
    let data = data?;
    let timing = format!(
        "db;desc=\"{queries} queries\";dur={:.1}",
        started.elapsed().as_secs_f64() * 1000.0
    );
    // A failed reply re-renders here without redirecting, so the typed text survives.
    if matches!(format, Format::Html)
        && reply_errors.is_none()
        && slug.as_deref() != Some(data.topic.slug.as_str())
    {
        let mut to = topic_path(&data.topic.slug, id);
        if data.page > 1 {
            to.push_str(&format!("?page={}", data.page));
        }
        return Ok(HttpResponse::MovedPermanently()
            .insert_header(("Location", to))
            .finish());
    }
    if let Format::Json = format {
        let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
        let body = TopicJson {
            id: data.topic.id,
            title: &data.topic.title,
            slug: &data.topic.slug,
            url: topic_path(&data.topic.slug, data.topic.id),
            category: &data.category,
            tags: &data.tags,
            created_at: data.topic.created_at,
            bumped_at: data.topic.bumped_at,
            reply_count: data.topic.reply_count,
            like_count: data.topic.like_count,
            solved_post_id: data.topic.solved_post_id,
            locked: data.topic.locked,
            pinned: data.topic.pinned,
            page: data.page,
            pages: data.pages,
            posts: data
                .posts
                .iter()
                .map(|p| {
                    let visible = p.is_visible_to(ctx.user.as_ref())
                        || (staff && p.post.deleted_at.is_none());
                    PostJson {
                        id: p.post.id,
                        post_number: p.post.post_number,
                        username: &p.author.username,
                        staff: p.author.is_staff(),
                        cooked: if visible { &p.post.cooked } else { "" },
                        created_at: p.post.created_at,
                        edited_at: p.post.edited_at,
                        version: p.post.version,
                        like_count: p.post.like_count,
                        accepted_answer: data.topic.solved_post_id == Some(p.post.id),
                        deleted: p.post.deleted_at.is_some(),
                        hidden: p.post.hidden_reason.is_some(),
                    }
                })
                .collect(),
        };
        return Ok(HttpResponse::Ok()
            .insert_header(("Server-Timing", timing))
            .json(body));
    }
    let quote = match q.quote {
        Some(post_id) if reply_text.is_empty() => quote_text(&ctx, &data, post_id).await?,
        _ => String::new(),
    };
    let text = if reply_text.is_empty() {
        quote
    } else {
        reply_text
    };
    let (status, errors) = reply_errors.unwrap_or((StatusCode::OK, FieldErrors::default()));
    let page = topic_html(&ctx, &data, &text, &errors);
    let mut res = layout::respond(&ctx, status, page);
    res.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("server-timing"),
        actix_web::http::header::HeaderValue::from_str(&timing).expect("ascii"),
    );
    Ok(res)
}

/// The reply box pre-filled to quote a post, with a link back to it.
async fn quote_text(ctx: &Ctx, data: &TopicPage, post_id: i64) -> Result<String, AppError> {
    let found = match data.posts.iter().find(|p| p.post.id == post_id) {
        Some(p) => Some(p.clone()),
        None => {
            let db = ctx.state.db.clone();
            blocking(move || db.read_sync(|c| crate::db::forum::post_with_author(c, post_id)))
                .await?
                .map(|(post, author)| PostView { post, author })
        }
    };
    let Some(p) =
        found.filter(|p| p.post.topic_id == data.topic.id && p.is_visible_to(ctx.user.as_ref()))
    else {
        return Ok(String::new());
    };
    let quoted: String = p.post.raw.lines().map(|l| format!("> {l}\n")).collect();
    Ok(format!(
        "[@{} wrote]({}#p-{}):\n{}\n",
        p.author.username,
        topic_path(&data.topic.slug, data.topic.id),
        p.post.id,
        quoted
    ))
}

fn topic_html(ctx: &Ctx, data: &TopicPage, reply_text: &str, errors: &FieldErrors) -> Page {
    let t = &data.topic;
    let user = ctx.user.as_ref();
    let staff = user.is_some_and(|u| u.role.is_staff());
    let path = topic_path(&t.slug, t.id);
    let first = data.posts.first().filter(|p| p.post.post_number == 1);
    // Public metadata only from a question everyone may read.
    let description = first
        .filter(|p| p.post.hidden_reason.is_none() && p.post.deleted_at.is_none())
        .map(|p| markdown::excerpt(&p.post.raw, 160))
        .unwrap_or_default();
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" {
            a href="/latest" { "Forum" } " › " (category_chip(&data.category))
        }
        header.topic-head {
            h1 { (t.title) }
            div.meta {
                @if t.solved_post_id.is_some() { span.badge.solved { "✓ solved" } " " }
                @if t.locked { span.badge.locked { "locked" } " " }
                @if t.pinned { span.badge.pin { "pinned" } " " }
                @if t.unlisted { span.badge.locked { "unlisted" } " " }
                @if t.deleted_at.is_some() { span.badge.locked { "deleted" } " " }
                @for tag in &data.tags { a.tag href={ "/search?q=tag:" (tag) } { "#" (tag) } " " }
            }
        }
        @if data.page == 1 {
            @if let Some(first) = first {
                (post_html(ctx, data, first))
            }
            @if let Some(answer) = &data.accepted {
                @if answer.is_visible_to(user) {
                    section.solution aria-label="Accepted answer" {
                        h2 { "✓ Solution" }
                        p.small {
                            "Accepted answer by " a href={ "/u/" (answer.author.username) } { (answer.author.username) }
                            (staff_badge(&answer.author.role))
                        }
                        blockquote { (markdown::excerpt(&answer.post.raw, 400)) }
                        p { a href={ (topic_path(&t.slug, t.id)) "?post=" (answer.post.id) "#p-" (answer.post.id) } { "Read the whole answer" } }
                    }
                }
            }
        }
        @for p in data.posts.iter().filter(|p| p.post.post_number > 1) {
            (post_html(ctx, data, p))
        }
        @if data.pages > 1 {
            nav.pager aria-label="Pages" {
                @if data.page > 1 { a rel="prev" href={ (path) "?page=" (data.page - 1) } { "‹ Previous" } }
                span { "Page " (data.page) " of " (data.pages) }
                @if data.page < data.pages { a rel="next" href={ (path) "?page=" (data.page + 1) } { "Next ›" } }
            }
        }
        section #reply .reply-box {
            @if t.locked && !staff {
                p.notice { "This topic is locked and no longer accepts replies." }
            }
            @if let Some(message) = errors.get("locked") {
                p.alert.error role="alert" { (message) }
            }
            @match user {
                None => p { a href={ "/login?next=" (urlencode(&path)) } { "Log in" } " or " a href="/register" { "sign up" } " to reply." },
                Some(_) if t.locked && !staff && reply_text.is_empty() => {},
                Some(_) => {
                    h2 { "Your reply" }
                    form method="post" action={ "/t/" (t.id) "/reply" } {
                        (csrf_field(ctx))
                        (textarea_field("raw", "Reply", reply_text, errors, 10))
                        p.hint.small { "Markdown works: **bold**, `code`, lists, > quotes, [links](https://example.com), @username." }
                        button.primary type="submit" { "Post reply" }
                    }
                }
            }
        }
        @if !data.related.is_empty() {
            section.related aria-label="Related topics" {
                h2 { "Related solved topics" }
                ul.plain {
                    @for r in &data.related {
                        li { a href=(topic_path(&r.slug, r.id)) { (r.title) } " " span.small { (r.category) } }
                    }
                }
            }
        }
        @if let Some(u) = user {
            aside.topic-tools aria-label="Topic tools" {
                (super::posts::watch_form(ctx, t.id, data.watch_level.as_deref()))
                @if u.role.is_staff() {
                    (super::posts::staff_tools(ctx, t, &data.category, &data.categories))
                }
            }
        }
    };
    let canonical = if data.page > 1 {
        format!("{path}?page={}", data.page)
    } else {
        path
    };
    Page::new(t.title.clone(), body)
        .describe(description)
        .canonical(canonical)
}

fn post_html(ctx: &Ctx, data: &TopicPage, p: &PostView) -> Markup {
    let user = ctx.user.as_ref();
    let post = &p.post;
    let t = &data.topic;
    let is_answer = t.solved_post_id == Some(post.id);
    let staff_viewer = user.is_some_and(|u| u.role.is_staff());
    let can_accept =
        user.is_some_and(|u| u.id == t.user_id || u.role.is_staff()) && post.post_number > 1;
    let mine = user.is_some_and(|u| u.id == post.user_id);
    let liked = data.liked.contains(&post.id);
    html! {
        article.post #{ "p-" (post.id) } .staff[p.author.is_staff()] .answer[is_answer] {
            header {
                a.author href={ "/u/" (p.author.username) } { (p.author.username) }
                (staff_badge(&p.author.role))
                " · " a.permalink href={ (topic_path(&t.slug, t.id)) "?post=" (post.id) "#p-" (post.id) } { (when(&post.created_at)) }
                @if post.version > 1 {
                    " · " a.edited href={ "/p/" (post.id) "/revisions" } { "edited" }
                }
                @if is_answer { " " span.badge.solved { "✓ accepted answer" } }
            }
            @if post.deleted_at.is_some() {
                p.removed { "(This post was deleted.)" }
            } @else if let Some(reason) = &post.hidden_reason {
                p.removed { "This post was hidden by staff: " (reason) }
                @if staff_viewer { div.cooked.hidden-content { (PreEscaped(&post.cooked)) } }
            } @else {
                div.cooked { (PreEscaped(&post.cooked)) }
            }
            @if post.deleted_at.is_none() {
                footer.actions {
                    @if mine || user.is_none() {
                        span.likes { "♥ " (post.like_count) }
                    } @else {
                        form.inline method="post" action={ "/p/" (post.id) "/like" } {
                            (csrf_field(ctx))
                            input type="hidden" name="like" value=(if liked { "0" } else { "1" });
                            button.like.on[liked] type="submit" aria-pressed=(liked) title=(if liked { "Remove your like" } else { "Like this post" }) {
                                "♥ " (post.like_count)
                            }
                        }
                    }
                    @if user.is_some() && post.hidden_reason.is_none() && (staff_viewer || !t.locked) {
                        a href={ (topic_path(&t.slug, t.id)) "?quote=" (post.id) "#reply" } { "Quote" }
                    }
                    @if can_accept && post.hidden_reason.is_none() {
                        form.inline method="post" action={ "/p/" (post.id) "/solution" } {
                            (csrf_field(ctx))
                            input type="hidden" name="accept" value=(if is_answer { "0" } else { "1" });
                            button.link type="submit" { (if is_answer { "Undo accepted answer" } else { "✓ Accept as answer" }) }
                        }
                    }
                    @if user.is_some_and(|u| crate::forum::can_edit(u, post)) {
                        a href={ "/p/" (post.id) "/edit" } { "Edit" }
                        form.inline method="post" action={ "/p/" (post.id) "/delete" } {
                            (csrf_field(ctx))
                            button.link.danger type="submit" { (if post.post_number == 1 { "Delete topic" } else { "Delete" }) }
                        }
                    }
                    @if staff_viewer {
                        (super::posts::hide_form(ctx, post))
                    }
                }
            }
        }
    }
}

// ---- writing ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    raw: String,
}

#[post("/t/{id}/reply")]
pub async fn reply(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let topic_id = id.into_inner();
    if let Err(AppError::TooManyRequests { message, .. }) =
        RateLimits::check_user(&ctx.state.limits.posts_per_user, &user, "posting")
    {
        let mut errors = FieldErrors::default();
        errors.add("raw", message);
        return show_topic(
            ctx,
            None,
            topic_id,
            TopicQuery::default(),
            Format::Html,
            Some((StatusCode::TOO_MANY_REQUESTS, errors)),
            form.raw,
        )
        .await
        .map(|r| with_status(r, StatusCode::TOO_MANY_REQUESTS));
    }
    let db = ctx.state.db.clone();
    let limits = ctx.state.config.limits();
    let raw = form.raw.clone();
    let result = blocking(move || forum::reply(&db, &user, topic_id, &raw, &limits)).await?;
    match result {
        Ok(created) => Ok(redirect(&format!(
            "{}?post={}#p-{}",
            topic_path(&created.slug, created.topic_id),
            created.post_id,
            created.post_id
        ))),
        Err(errors) => {
            let status = if errors.get("locked").is_some() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let raw = clip(&form.raw, 70_000);
            show_topic(
                ctx,
                None,
                topic_id,
                TopicQuery {
                    page: Some("last".into()),
                    ..Default::default()
                },
                Format::Html,
                Some((status, errors)),
                raw,
            )
            .await
            .map(|r| with_status(r, status))
        }
    }
}

/// Sets the status of a topic page re-rendered for a failed reply.
fn with_status(mut res: HttpResponse, status: StatusCode) -> HttpResponse {
    *res.status_mut() = status;
    res
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewTopicQuery {
    category: String,
}

#[get("/new-topic")]
pub async fn new_topic_form(
    ctx: Ctx,
    q: web::Query<NewTopicQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let input = TopicInput {
        category: q.category.clone(),
        flow: crate::tokens::random_token(),
        ..Default::default()
    };
    new_topic_page(&ctx, &input, &FieldErrors::default(), StatusCode::OK, &[]).await
}

#[post("/new-topic")]
pub async fn create_topic(
    ctx: Ctx,
    CsrfForm(input): CsrfForm<TopicInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    // Before a question is posted, show answers that already exist: the no-script path
    // (with the script they appeared while typing and `confirmed` is set). This step does
    // not count against the posting limit.
    if input.confirmed != "1" && !input.title.trim().is_empty() {
        let offered = super::search::suggestions(&ctx, &input.title, &input.flow).await?;
        if !offered.is_empty() {
            let input = TopicInput {
                confirmed: "1".into(),
                ..input
            };
            return new_topic_page(
                &ctx,
                &input,
                &FieldErrors::default(),
                StatusCode::OK,
                &offered,
            )
            .await;
        }
    }
    if let Err(AppError::TooManyRequests { message, .. }) =
        RateLimits::check_user(&ctx.state.limits.posts_per_user, &user, "posting")
    {
        let mut errors = FieldErrors::default();
        errors.add("raw", message);
        return new_topic_page(&ctx, &input, &errors, StatusCode::TOO_MANY_REQUESTS, &[]).await;
    }
    let db = ctx.state.db.clone();
    let limits = ctx.state.config.limits();
    let submitted = input.clone();
    let result = blocking(move || forum::create_topic(&db, &user, &submitted, &limits)).await?;
    match result {
        Ok(created) => Ok(redirect(&topic_path(&created.slug, created.topic_id))),
        Err(errors) => {
            new_topic_page(&ctx, &input, &errors, StatusCode::UNPROCESSABLE_ENTITY, &[]).await
        }
    }
}

async fn new_topic_page(
    ctx: &Ctx,
    input: &TopicInput,
    errors: &FieldErrors,
    status: StatusCode,
    offered: &[crate::search::Hit],
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let categories = blocking(move || db.read_sync(crate::db::forum::categories)).await?;
    let staff = ctx.user.as_ref().is_some_and(|u| u.role >= Role::Staff);
    let s = &ctx.settings;
    let category_error = errors.get("category");
    let body = html! {
        section.card {
            h1 { "Ask a question" }
            p.lead { "Tell us what you are trying to do and what happens instead. We answer every new question within "
                (layout::hours(s.first_response_hours)) "; often the community is faster." }
            @if !errors.is_empty() { p.alert.error role="alert" { "Please check the fields marked below: your text is kept." } }
            @if !offered.is_empty() {
                section.suggestions.offered aria-label="Existing answers" {
                    h2 { "Before you post: do these answer your question?" }
                    ul {
                        @for hit in offered {
                            li {
                                a href={ "/search/open?flow=" (urlencode(&input.flow)) "&topic=" (hit.topic_id) } { (hit.title) }
                                @if hit.solved { " " span.badge.solved { "✓ solved" } }
                            }
                        }
                    }
                    p { "If none of them helps, post your question below: everything you wrote is kept." }
                }
            }
            form method="post" action="/new-topic" {
                (csrf_field(ctx))
                input type="hidden" name="flow" value=(input.flow);
                input #f-confirmed type="hidden" name="confirmed" value=(input.confirmed);
                div.field.has-error[category_error.is_some()] {
                    label for="f-category" { "Category" }
                    select #f-category name="category" {
                        option value="" { "Choose a category…" }
                        @for c in categories.iter().filter(|c| !c.staff_only || staff) {
                            option value=(c.slug) selected[c.slug == input.category] { (c.name) }
                        }
                    }
                    @if let Some(e) = category_error { p.error { (e) } }
                }
                (layout::field(layout::Field { label: "Title", name: "title", kind: "text", value: &clip(&input.title, 500),
                    hint: Some("One sentence: what do you need help with?"), autocomplete: "off",
                    maxlength: ctx.state.config.max_title_chars, required: true }, errors))
                section #suggestions .suggestions data-flow=(input.flow) aria-live="polite" hidden {}
                (textarea_field("raw", "Details", &clip(&input.raw, 70_000), errors, 12))
                (layout::field(layout::Field { label: "Tags (optional)", name: "tags", kind: "text", value: &clip(&input.tags, 300),
                    hint: Some("Up to 5 words, separated by commas: dns, ssl"), autocomplete: "off", maxlength: 200, required: false }, errors))
                button.primary type="submit" { (if offered.is_empty() { "Post question" } else { "Post my question anyway" }) }
            }
        }
        @if let Some(src) = ctx.state.assets.url(&ctx.settings.theme, "suggest.js") {
            script src=(src) defer {}
        }
    };
    Ok(layout::respond(
        ctx,
        status,
        Page::new("Ask a question", body).canonical("/new-topic"),
    ))
}
