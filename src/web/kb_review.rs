//! `/staff/kb/candidates`: which solved problems still need an article (ranked by how often
//! customers reach them) and which published articles need attention.

use actix_web::{HttpResponse, get};
use maud::html;

use super::blocking;
use super::ctx::Ctx;
use super::layout::{self, Page, csrf_field};
use super::view::when;
use crate::accounts::Role;
use crate::error::AppError;
use crate::kb::{self, Attention};
use crate::subject::{article_path, topic_path};

/// How many candidates the page lists.
const CANDIDATES_SHOWN: i64 = 50;

#[get("/staff/kb/candidates")]
pub async fn candidates(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let review_days = ctx.settings.kb_review_days;
    let db = ctx.state.db.clone();
    let (candidates, attention) = blocking(move || {
        Ok((
            kb::candidates(&db, &user, CANDIDATES_SHOWN)?,
            kb::needs_attention(&db, &user, review_days, crate::db::now())?,
        ))
    })
    .await?;
    let w = &kb::CANDIDATE_WEIGHTS;
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/kb" { "Knowledge base" } " › " a href="/staff/kb" { "Staff" } " › Candidates" }
        h1 { "Which problems need an article" }
        section #candidates aria-labelledby="candidates-h" {
            h2 #candidates-h { "Solved topics without an article" }
            p.small {
                "Ranked by how often customers reach them: each view counts " (w.view)
                ", each visit from search results " (w.search_click)
                ", each time it was opened from the suggestions while someone wrote a question " (w.deflection_open)
                ", each topic marked a duplicate of it " (w.duplicate)
                " and each like " (w.like) ". Write the top ones first: they save the most questions."
            }
            @if candidates.is_empty() {
                p.empty { "Every solved topic is answered in the knowledge base." }
            } @else {
                div.table-scroll { table.admin-table.stack {
                    thead { tr {
                        th scope="col" { "Topic" } th scope="col" { "Views" } th scope="col" { "From search" }
                        th scope="col" { "From suggestions" } th scope="col" { "Duplicates" } th scope="col" { "Likes" }
                        th scope="col" { "Score" } th scope="col" { span.visually-hidden { "Action" } }
                    } }
                    tbody {
                        @for c in &candidates {
                            tr.candidate {
                                td { a href=(topic_path(&c.slug, c.id)) { (c.title) } br; span.small { "active " (when(&c.bumped_at)) } }
                                td data-label="Views" { (c.views) }
                                td data-label="From search" { (c.search_clicks) }
                                td data-label="From suggestions" { (c.deflection_opens) }
                                td data-label="Duplicates" { (c.duplicates) }
                                td data-label="Likes" { (c.likes) }
                                td data-label="Score" { strong { (c.score) } }
                                td {
                                    form.inline method="post" action={ "/t/" (c.id) "/to-article" } {
                                        (csrf_field(&ctx))
                                        button type="submit" { "Turn into article" span.visually-hidden { ": " (c.title) } }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section #attention aria-labelledby="attention-h" {
            h2 #attention-h { "Needs attention" }
            p.small {
                "Published articles where fewer than " (kb::LOW_HELPFUL_PERCENT) "% of at least "
                (kb::MIN_VOTES_FOR_SCORE) " answers said “helpful”, with " (kb::RECENT_NO_VOTES)
                " or more “no” answers in the last " (kb::RECENT_DAYS) " days, or not updated for "
                (ctx.settings.kb_review_days) " days"
                @if ctx.is_admin() { " (" a href="/admin/settings" { "change" } ")" }
                "."
            }
            @if attention.is_empty() {
                p.empty { "No article needs attention." }
            } @else {
                div.table-scroll { table.admin-table.stack {
                    thead { tr { th scope="col" { "Article" } th scope="col" { "Why" } th scope="col" { "Views" } th scope="col" { "Updated" } } }
                    tbody {
                        @for n in &attention {
                            tr.attention {
                                td { a href=(article_path(&n.article.slug)) { (n.article.title) } }
                                td { ul.plain {
                                    @for r in &n.reasons {
                                        li { @match r {
                                            Attention::LowHelpful { percent, votes } => { "Helpful for " (percent) "% of " (votes) " answers" }
                                            Attention::RecentNo(no) => { (no) " “not helpful” in " (kb::RECENT_DAYS) " days" }
                                            Attention::NotReviewed(days) => { "Not updated for " (days) " days" }
                                        } }
                                    }
                                } }
                                td data-label="Views" { (n.article.views) }
                                td data-label="Updated" { (when(&n.article.updated_at)) " · " a href={ (article_path(&n.article.slug)) "/edit" } { "Edit" } }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(layout::ok(
        &ctx,
        Page::new("Which problems need an article", body).noindex(),
    ))
}
