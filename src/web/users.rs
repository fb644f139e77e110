//! Public profiles: /u/{username}.

use actix_web::{HttpResponse, get, web};
use maud::html;

use super::blocking;
use super::ctx::Ctx;
use super::layout::{self, Page};
use super::view::{staff_badge, when};
use crate::error::AppError;
use crate::markdown;
use crate::subject::{post_path, topic_path, user_path};

#[get("/u/{username}")]
pub async fn profile(ctx: Ctx, name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let database = ctx.state.db.clone();
    let lookup = name.clone();
    let crate::forum::Profile {
        user,
        topics,
        replies,
        counts: (topic_count, reply_count, solutions),
    } = blocking(move || crate::forum::profile(&database, &lookup)).await?;
    if user.username != *name {
        // Another spelling of the same name: send people to the one true URL.
        return Ok(super::view::redirect(&user_path(&user.username)));
    }
    let body = html! {
        header.profile.card {
            h1 { (user.username) (staff_badge(&user.role)) }
            p.small { "Member since " (user.created_at.format("%B %Y")) " · " (when(&user.created_at)) }
            ul.stats {
                li { strong { (topic_count) } " topics" }
                li { strong { (reply_count) } " replies" }
                li { strong { (solutions) } " accepted answers" }
            }
        }
        div.grid {
            section.card {
                h2 { "Topics" }
                @if topics.is_empty() { p.small { "No topics yet." } }
                ul.plain {
                    @for t in &topics {
                        li {
                            a href=(topic_path(&t.slug, t.id)) { (t.title) }
                            @if t.solved_post_id.is_some() { " " span.badge.solved { "✓ solved" } }
                            " " span.small { (when(&t.created_at)) }
                        }
                    }
                }
            }
            section.card {
                h2 { "Replies" }
                @if replies.is_empty() { p.small { "No replies yet." } }
                ul.plain {
                    @for (p, t) in &replies {
                        li {
                            a href=(post_path(&t.slug, t.id, p.id)) { (t.title) }
                            @if t.solved_post_id == Some(p.id) { " " span.badge.solved { "✓ answer" } }
                            p.small { (markdown::excerpt(&p.raw, 140)) }
                        }
                    }
                }
            }
        }
    };
    let description = format!(
        "{} on {}: {topic_count} topics, {reply_count} replies, {solutions} accepted answers.",
        user.username, ctx.settings.site_name
    );
    Ok(layout::ok(
        &ctx,
        Page::new(user.username.clone(), body)
            .describe(description)
            .canonical(user_path(&user.username)),
    ))
}
