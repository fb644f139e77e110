//! The topic page (/t/{slug}/{id}) and its `.json`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use chrono::NaiveDateTime;
use maud::{Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};

use super::blocking;
use super::ctx::Ctx;
use super::layout::{self, Page, csrf_field};
use super::view::{Format, category_chip, split_format};
use super::view::{staff_badge, textarea_field, urlencode, when};
use crate::db::forum::CategoryRow;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::forum::{self, PageNo, PostView, TopicPage};
use crate::markdown;
use crate::subject::{article_path, post_path, topic_path, user_path};

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
    pub page: Option<String>,
    pub quote: Option<i64>,
    pub post: Option<i64>,
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
pub(super) async fn show_topic(
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
            let found = blocking(move || forum::post_location(&db, post_id)).await?;
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
                    let visible = p.is_visible_to(&data.topic, ctx.user.as_ref());
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
        Some(p) => Some(p.clone()).filter(|p| p.is_visible_to(&data.topic, ctx.user.as_ref())),
        None => {
            let db = ctx.state.db.clone();
            let topic = data.topic.clone();
            let viewer = ctx.user.clone();
            blocking(move || forum::quotable_post(&db, &topic, post_id, viewer.as_ref())).await?
        }
    };
    let Some(p) = found else {
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
        .filter(|p| p.is_public(t))
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
        (super::kb::topic_banner(data.kb_answer.as_ref()))
        (super::ideas::topic_box(ctx, t, data.idea.as_ref(), &data.changelog))
        @if let Some(original) = &data.duplicate_of {
            p.alert.duplicate-of {
                @if original.solved_post_id.is_some() { "The same question is answered in: " } @else { "The same question is discussed in: " }
                a href=(topic_path(&original.slug, original.id)) { (original.title) }
            }
        }
        @if data.page == 1 {
            @if let Some(first) = first {
                (post_html(ctx, data, first))
            }
            @if let Some(answer) = &data.accepted {
                @if answer.is_visible_to(t, user) {
                    section.solution aria-label="Accepted answer" {
                        h2 { "✓ Solution" }
                        p.small {
                            "Accepted answer by " a href=(user_path(&answer.author.username)) { (answer.author.username) }
                            (staff_badge(&answer.author.role))
                        }
                        blockquote { (markdown::excerpt(&answer.post.raw, 400)) }
                        p { a href=(post_path(&t.slug, t.id, answer.post.id)) { "Read the whole answer" } }
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
                    @for r in data.related.iter().filter(|r| !(r.article && data.kb_answer.as_ref().is_some_and(|(slug, _)| *slug == r.slug))) {
                        @if r.article {
                            li { a href=(article_path(&r.slug)) { (r.title) } " " span.badge.kb { "Knowledge base" } " " span.small { (r.category) } }
                        } @else {
                            li { a href=(topic_path(&r.slug, r.id)) { (r.title) } " " span.small { (r.category) } }
                        }
                    }
                }
            }
        }
        @if let Some(u) = user {
            aside.topic-tools aria-label="Topic tools" {
                (super::posts::watch_form(ctx, t.id, data.watch_level))
                @if u.role.is_staff() {
                    // One box, a row per capability: the forum's, the knowledge base's, the idea's.
                    section.staff-tools aria-labelledby="staff-tools-h" {
                        h2 #staff-tools-h { "Staff tools" }
                        (super::posts::staff_tools(ctx, t, &data.category, &data.categories, data.duplicate_of.as_ref()))
                        (super::kb::topic_staff_tools(ctx, t.id, t.solved_post_id.is_some(), data.kb_answer.is_some()))
                        (super::ideas::staff_tools(ctx, t, data.idea.as_ref()))
                        p.tool-row { a href={ "/changelog/new?topic=" (t.id) } { "Write a changelog post about this" } }
                    }
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
                a.author href=(user_path(&p.author.username)) { (p.author.username) }
                (staff_badge(&p.author.role))
                " · " a.permalink href=(post_path(&t.slug, t.id, post.id)) { (when(&post.created_at)) }
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
