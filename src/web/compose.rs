//! Writing in the forum: the new-topic form and replies.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use maud::html;
use serde::Deserialize;

use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, csrf_field};
use super::topic::{TopicQuery, show_topic};
use super::view::Format;
use super::view::{redirect, textarea_field, urlencode};
use super::{RateLimits, blocking};
use crate::accounts::Role;
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::forum::{self, TopicInput};
use crate::subject::{post_path, topic_path};

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
        Ok(created) => Ok(redirect(&post_path(
            &created.slug,
            created.topic_id,
            created.post_id,
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
    /// "Ask the community" at the end of an article: the question starts with a link to it.
    article: String,
}

#[get("/new-topic")]
pub async fn new_topic_form(
    ctx: Ctx,
    q: web::Query<NewTopicQuery>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let db = ctx.state.db.clone();
    let slug = q.article.clone();
    let article =
        blocking(move || crate::kb::linked_from_question(&db, Some(&user), &slug)).await?;
    let raw = match &article {
        Some((slug, title)) => format!(
            "I read [{}]({}) and still need help:\n\n",
            title.replace(['[', ']'], ""),
            crate::subject::article_path(slug)
        ),
        None => String::new(),
    };
    let input = TopicInput {
        category: q.category.clone(),
        flow: crate::tokens::random_token(),
        raw,
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
        let (offered, _) =
            super::search::suggestions(&ctx, &input.title, &input.flow, &input.category).await?;
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
        Ok(created) => {
            // A new idea is in its list at once on this node.
            ctx.state.idea_rankings.invalidate();
            Ok(redirect(&topic_path(&created.slug, created.topic_id)))
        }
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
    let categories = blocking(move || forum::categories::all(&db)).await?;
    let staff = ctx.user.as_ref().is_some_and(|u| u.role >= Role::Staff);
    let s = &ctx.settings;
    let category_error = errors.get("category");
    // "Suggest an improvement" leads here with an ideas category chosen.
    let idea = categories
        .iter()
        .any(|c| c.slug == input.category && c.is_ideas());
    let board = ctx.state.status.get();
    let incidents: Vec<_> = board
        .active
        .iter()
        .filter(|i| i.kind() == crate::status::Kind::Incident)
        .collect();
    let body = html! {
        @for i in &incidents {
            @let affected: Vec<&str> = i.components.iter().filter_map(|c| board.component(*c)).map(|c| c.name.as_str()).collect();
            @let path = crate::subject::Subject::Incident(i.row.id).path(crate::subject::Named::slug(""));
            section.notice.incident-notice aria-label="Ongoing incident" {
                p {
                    strong { "We are aware of an ongoing incident" }
                    @if !affected.is_empty() { " affecting " (affected.join(", ")) }
                    ": " a href=(path) { (i.row.name) } "."
                }
                p { "If that is what you are seeing, you don't need to post: follow the incident and we will tell you when it is fixed." }
                form method="post" action={ (path) "/follow" } {
                    (csrf_field(ctx))
                    input type="hidden" name="next" value=(path);
                    button.primary type="submit" { "Follow the incident instead" }
                }
            }
        }
        section.card {
            @if idea {
                h1 { "Suggest an improvement" }
                p.lead { "Say what you would like and why it matters to you. Others can vote for it; we tell everyone who voted when its status changes and when it ships." }
            } @else {
                h1 { "Ask a question" }
                p.lead { "Tell us what you are trying to do and what happens instead. We answer every new question within "
                    (layout::hours(s.first_response_hours)) "; often the community is faster." }
            }
            @if !errors.is_empty() { p.alert.error role="alert" { "Please check the fields marked below: your text is kept." } }
            @if !offered.is_empty() {
                section.suggestions.offered aria-label="Existing answers" {
                    h2 { (if idea { "Before you post: is your idea already here? Vote for it instead." } else { "Before you post: do these answer your question?" }) }
                    ul {
                        @for hit in offered {
                            li {
                                @if hit.kind == "kb" {
                                    a href=(hit.url) { (hit.title) } " " span.badge.kb { "Knowledge base" }
                                } @else {
                                    a href={ "/search/open?flow=" (urlencode(&input.flow)) "&topic=" (hit.topic_id) } { (hit.title) }
                                }
                                @if hit.solved { " " span.badge.solved { "✓ solved" } }
                            }
                        }
                    }
                    p { (if idea { "If none of them is your idea, post it below: everything you wrote is kept." } else { "If none of them helps, post your question below: everything you wrote is kept." }) }
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
                    hint: Some(if idea { "One sentence: what would you like to be able to do?" } else { "One sentence: what do you need help with?" }), autocomplete: "off",
                    maxlength: ctx.state.config.max_title_chars, required: true }, errors))
                section #suggestions .suggestions data-flow=(input.flow) aria-live="polite" hidden {}
                (textarea_field("raw", "Details", &clip(&input.raw, 70_000), errors, 12))
                (layout::field(layout::Field { label: "Tags (optional)", name: "tags", kind: "text", value: &clip(&input.tags, 300),
                    hint: Some("Up to 5 words, separated by commas: dns, ssl"), autocomplete: "off", maxlength: 200, required: false }, errors))
                button.primary type="submit" { (match (idea, offered.is_empty()) {
                    (true, true) => "Post idea",
                    (true, false) => "Post my idea anyway",
                    (false, true) => "Post question",
                    (false, false) => "Post my question anyway",
                }) }
            }
        }
        @if let Some(src) = ctx.state.assets.url(&ctx.settings.theme, "suggest.js") {
            script src=(src) defer {}
        }
    };
    Ok(layout::respond(
        ctx,
        status,
        Page::new(
            if idea {
                "Suggest an improvement"
            } else {
                "Ask a question"
            },
            body,
        )
        .canonical("/new-topic"),
    ))
}
