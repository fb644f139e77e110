//! Actions on posts and topics: edit (with revisions), delete, hide, like, accept as the
//! answer, staff moderation, and watching. Every route checks the role in the domain.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::view::NoFields;
use super::view::redirect;
use super::view::{textarea_field, when};
use super::{RateLimits, blocking};
use crate::db::forum::{CategoryRow, PostRow, TopicRow, WatchLevel};
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::forum::{self, EditInput, TopicAction};
use crate::subject::{self, category_path, post_path, topic_path, user_path};

/// Back to the topic (at the post) after an action, or to the list once the topic is gone.
fn back_to(topic: &TopicRow, post_id: Option<i64>) -> HttpResponse {
    if !subject::is_public(forum::topic_visibility(topic)) {
        return redirect("/latest");
    }
    match post_id {
        Some(p) => redirect(&post_path(&topic.slug, topic.id, p)),
        None => redirect(&topic_path(&topic.slug, topic.id)),
    }
}

// ---- edit -------------------------------------------------------------------------------

#[get("/p/{id}/edit")]
pub async fn edit_form(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let post_id = id.into_inner();
    let db = ctx.state.db.clone();
    let (post, topic) = blocking(move || forum::post_for_edit(&db, &user, post_id)).await?;
    let input = EditInput {
        raw: post.raw.clone(),
        title: (post.post_number == 1).then(|| topic.title.clone()),
    };
    Ok(edit_page(
        &ctx,
        &post,
        &topic,
        &input,
        &FieldErrors::default(),
        StatusCode::OK,
    ))
}

#[post("/p/{id}/edit")]
pub async fn edit(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(input): CsrfForm<EditInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let post_id = id.into_inner();
    let db = ctx.state.db.clone();
    let limits = ctx.state.config.limits();
    let (post, topic) = {
        let (db, user) = (db.clone(), user.clone());
        blocking(move || forum::post_for_edit(&db, &user, post_id)).await?
    };
    if let Err(AppError::TooManyRequests { message, .. }) =
        RateLimits::check_user(&ctx.state.limits.edits_per_user, &user, "editing")
    {
        let mut errors = FieldErrors::default();
        errors.add("raw", message);
        return Ok(edit_page(
            &ctx,
            &post,
            &topic,
            &input,
            &errors,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let submitted = input.clone();
    match blocking(move || forum::edit_post(&db, &user, post_id, &submitted, &limits)).await? {
        Ok(done) => Ok(redirect(&post_path(&done.slug, done.topic_id, post_id))),
        Err(errors) => Ok(edit_page(
            &ctx,
            &post,
            &topic,
            &input,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
    }
}

fn edit_page(
    ctx: &Ctx,
    post: &PostRow,
    topic: &TopicRow,
    input: &EditInput,
    errors: &FieldErrors,
    status: StatusCode,
) -> HttpResponse {
    let body = html! {
        section.card {
            h1 { "Edit post" }
            p { "In " a href=(topic_path(&topic.slug, topic.id)) { (topic.title) } ". Earlier versions stay readable by everyone." }
            @if !errors.is_empty() { p.alert.error role="alert" { "Please check the fields marked below: your text is kept." } }
            form method="post" action={ "/p/" (post.id) "/edit" } {
                (csrf_field(ctx))
                @if let Some(title) = &input.title {
                    (layout::field(layout::Field { label: "Title", name: "title", kind: "text", value: &clip(title, 500),
                        hint: None, autocomplete: "off", maxlength: ctx.state.config.max_title_chars, required: true }, errors))
                }
                (textarea_field("raw", "Post", &clip(&input.raw, 70_000), errors, 14))
                button.primary type="submit" { "Save changes" }
                " " a href=(post_path(&topic.slug, topic.id, post.id)) { "Cancel" }
            }
        }
    };
    layout::respond(ctx, status, Page::new("Edit post", body))
}

#[get("/p/{id}/revisions")]
pub async fn revisions_page(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let post_id = id.into_inner();
    let db = ctx.state.db.clone();
    let viewer = ctx.user.clone();
    let forum::PostHistory {
        post,
        topic,
        revisions,
        editors,
    } = blocking(move || forum::post_history(&db, viewer.as_ref(), post_id)).await?;
    let name_of = |id: i64| {
        editors
            .iter()
            .find(|e| e.id == id)
            .map_or("unknown", |e| e.username.as_str())
    };
    // Version n's text is the next revision's "before", or the current text for the last.
    let texts: Vec<&str> = revisions
        .iter()
        .skip(1)
        .map(|r| r.raw_before.as_str())
        .chain(std::iter::once(post.raw.as_str()))
        .collect();
    let body = html! {
        h1 { "Edit history" }
        p { "Post in " a href=(post_path(&topic.slug, topic.id, post.id)) { (topic.title) } ", now at version " (post.version) "." }
        @if revisions.is_empty() { p { "This post has not been edited." } }
        @for (rev, after) in revisions.iter().zip(texts.iter()).rev() {
            section.revision.card {
                h2 { "Version " (rev.version + 1) }
                p.small { "Edited by " a href=(user_path(name_of(rev.editor_id))) { (name_of(rev.editor_id)) } " " (when(&rev.created_at)) }
                @if let Some(title) = &rev.title_before { p { "Title was: " em { (title) } } }
                pre.diff {
                    @for change in similar::TextDiff::from_lines(rev.raw_before.as_str(), *after).iter_all_changes() {
                        @match change.tag() {
                            similar::ChangeTag::Delete => del { "- " (change.value()) },
                            similar::ChangeTag::Insert => ins { "+ " (change.value()) },
                            similar::ChangeTag::Equal => span { "  " (change.value()) },
                        }
                    }
                }
            }
        }
    };
    Ok(layout::ok(&ctx, Page::new("Edit history", body)))
}

// ---- delete, hide, like, accept -----------------------------------------------------------

#[post("/p/{id}/delete")]
pub async fn delete(
    ctx: Ctx,
    id: web::Path<i64>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let post_id = id.into_inner();
    let db = ctx.state.db.clone();
    let topic = blocking(move || forum::delete_post(&db, &user, post_id)).await?;
    Ok(back_to(&topic, None))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HideForm {
    reason: String,
    hide: String,
}

#[post("/p/{id}/hide")]
pub async fn hide(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<HideForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let post_id = id.into_inner();
    let db = ctx.state.db.clone();
    let reason = (form.hide != "0").then_some(form.reason);
    let topic = blocking(move || forum::hide_post(&db, &user, post_id, reason.as_deref())).await?;
    Ok(back_to(&topic, Some(post_id)))
}

pub fn hide_form(ctx: &Ctx, post: &PostRow) -> Markup {
    html! {
        @if post.hidden_reason.is_some() {
            form.inline method="post" action={ "/p/" (post.id) "/hide" } {
                (csrf_field(ctx))
                input type="hidden" name="hide" value="0";
                button.link type="submit" { "Unhide" }
            }
        } @else {
            details.hide-post {
                summary { "Hide" }
                form method="post" action={ "/p/" (post.id) "/hide" } {
                    (csrf_field(ctx))
                    input type="hidden" name="hide" value="1";
                    label for={ "hide-" (post.id) } { "Reason (shown in place of the post)" }
                    input id={ "hide-" (post.id) } type="text" name="reason" maxlength="300" required;
                    button type="submit" { "Hide post" }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ToggleForm {
    like: String,
    accept: String,
}

#[post("/p/{id}/like")]
pub async fn like(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ToggleForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    RateLimits::check_user(&ctx.state.limits.likes_per_user, &user, "liking")?;
    let post_id = id.into_inner();
    let db = ctx.state.db.clone();
    let on = form.like != "0";
    let topic = blocking(move || forum::set_like(&db, &user, post_id, on)).await?;
    Ok(back_to(&topic, Some(post_id)))
}

#[post("/p/{id}/solution")]
pub async fn solution(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ToggleForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let post_id = id.into_inner();
    let db = ctx.state.db.clone();
    let accept = form.accept != "0";
    let topic = blocking(move || forum::set_solution(&db, &user, post_id, accept)).await?;
    Ok(back_to(&topic, Some(post_id)))
}

// ---- staff moderation -----------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ModerateForm {
    action: String,
    category_id: Option<i64>,
}

#[post("/t/{id}/moderate")]
pub async fn moderate(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ModerateForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let action = TopicAction::parse(&form.action, form.category_id).ok_or_else(|| {
        AppError::BadRequest(
            "Unknown action: use lock, unlock, pin, unpin, unlist, relist or move.".into(),
        )
    })?;
    let topic_id = id.into_inner();
    let db = ctx.state.db.clone();
    let topic = blocking(move || forum::moderate_topic(&db, &user, topic_id, action)).await?;
    Ok(back_to(&topic, None))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DuplicateForm {
    of: String,
}

/// Marks a topic as a duplicate of another (an empty `of` removes the mark).
#[post("/t/{id}/duplicate")]
pub async fn mark_duplicate(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<DuplicateForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let topic_id = id.into_inner();
    let db = ctx.state.db.clone();
    let topic = blocking(move || forum::mark_duplicate(&db, &user, topic_id, &form.of)).await?;
    Ok(back_to(&topic, None))
}

/// The forum's rows of the topic page's staff tools: lock, pin, list, move, duplicate.
pub fn staff_tools(
    ctx: &Ctx,
    t: &TopicRow,
    category: &CategoryRow,
    categories: &[CategoryRow],
    duplicate_of: Option<&TopicRow>,
) -> Markup {
    let toggles = [
        (t.locked, "unlock", "Unlock", "lock", "Lock"),
        (t.pinned, "unpin", "Unpin", "pin", "Pin"),
        (t.unlisted, "relist", "List again", "unlist", "Unlist"),
    ];
    html! {
        div.tool-row {
            @for (on, off_action, off_label, on_action, on_label) in toggles {
                form.inline method="post" action={ "/t/" (t.id) "/moderate" } {
                    (csrf_field(ctx))
                    input type="hidden" name="action" value=(if on { off_action } else { on_action });
                    button type="submit" { (if on { off_label } else { on_label }) }
                }
                " "
            }
            form.inline.move-topic method="post" action={ "/t/" (t.id) "/moderate" } {
                (csrf_field(ctx))
                input type="hidden" name="action" value="move";
                label for="move-to" { "Move to " }
                select #move-to name="category_id" {
                    @for c in categories {
                        option value=(c.id) selected[c.id == category.id] { (c.name) }
                    }
                }
                " " button type="submit" { "Move" }
            }
        }
        div.tool-row {
            form.inline method="post" action={ "/t/" (t.id) "/duplicate" } {
                (csrf_field(ctx))
                label for="duplicate-of" { "Duplicate of topic " }
                input #duplicate-of type="text" name="of" inputmode="numeric" placeholder="number or address" maxlength="300"
                    value=[duplicate_of.map(|d| d.id.to_string())];
                " " button type="submit" { (if duplicate_of.is_some() { "Change" } else { "Mark" }) }
            }
        }
    }
}

// ---- watching -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WatchForm {
    level: String,
}

#[post("/t/{id}/watch")]
pub async fn watch_topic(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<WatchForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let topic_id = id.into_inner();
    let db = ctx.state.db.clone();
    let topic = blocking(move || forum::watch_topic(&db, &user, topic_id, &form.level)).await?;
    Ok(back_to(&topic, None))
}

#[post("/c/{slug}/watch")]
pub async fn watch_category(
    ctx: Ctx,
    slug: web::Path<String>,
    CsrfForm(form): CsrfForm<WatchForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let slug = slug.into_inner();
    let db = ctx.state.db.clone();
    let lookup = slug.clone();
    blocking(move || forum::watch_category(&db, &user, &lookup, &form.level)).await?;
    Ok(redirect(&category_path(&slug)))
}

fn level_select(current: WatchLevel) -> Markup {
    let label = |level: WatchLevel| match level {
        WatchLevel::Watching => "Watching: every reply",
        WatchLevel::Normal => "Normal: mentions and answers",
        WatchLevel::Muted => "Muted: nothing",
    };
    html! {
        select name="level" aria-label="Notification level" {
            @for level in WatchLevel::ALL {
                option value=(level.as_str()) selected[level == current] { (label(level)) }
            }
        }
    }
}

pub fn watch_form(ctx: &Ctx, topic_id: i64, level: Option<WatchLevel>) -> Markup {
    html! {
        form.watch method="post" action={ "/t/" (topic_id) "/watch" } {
            (csrf_field(ctx))
            span { "Notify me:" }
            (level_select(level.unwrap_or(WatchLevel::Normal)))
            " " button type="submit" { "Update" }
        }
    }
}

pub fn category_watch_form(ctx: &Ctx, c: &CategoryRow, level: Option<WatchLevel>) -> Markup {
    html! {
        form.watch.inline method="post" action={ "/c/" (c.slug) "/watch" } {
            (csrf_field(ctx))
            (level_select(level.unwrap_or(WatchLevel::Normal)))
            " " button type="submit" { "Set" }
        }
    }
}
