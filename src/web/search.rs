//! /search (page) and /api/search (JSON): the same query language and filters.

use actix_web::{HttpResponse, get, web};
use maud::{Markup, PreEscaped, html};

use super::blocking;
use super::ctx::Ctx;
use super::layout::{self, Page};
use super::view::urlencode;
use crate::error::AppError;
use crate::search::{Results, SearchParams};

async fn run(ctx: &Ctx, params: SearchParams) -> Result<Results, AppError> {
    let index = ctx.state.search.clone();
    blocking(move || index.search(&params)).await
}

#[get("/api/search")]
pub async fn api(ctx: Ctx, q: web::Query<SearchParams>) -> Result<HttpResponse, AppError> {
    let params = q.into_inner();
    if params.q.trim().is_empty() && params.tag.is_none() && params.category.is_none() {
        return Err(AppError::BadRequest(
            "Pass a query in q, e.g. /api/search?q=ssl+renewal".into(),
        ));
    }
    let results = run(&ctx, params).await?;
    Ok(HttpResponse::Ok().json(results))
}

#[get("/search")]
pub async fn page(ctx: Ctx, q: web::Query<SearchParams>) -> Result<HttpResponse, AppError> {
    let params = q.into_inner();
    let results = run(&ctx, params.clone()).await?;
    let link = |extra: &str| -> String {
        let mut url = format!("/search?q={}", urlencode(&params.q));
        for (k, v) in [
            ("kind", &params.kind),
            ("category", &params.category),
            ("tag", &params.tag),
            ("solved", &params.solved),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty())
                && !extra.starts_with(&format!("&{k}="))
            {
                url.push_str(&format!("&{k}={}", urlencode(v)));
            }
        }
        url.push_str(extra);
        url
    };
    let body = html! {
        h1 { "Search" }
        form.search.big role="search" action="/search" method="get" {
            label.visually-hidden for="search-q" { "Search for" }
            div.row {
                input #search-q type="search" name="q" value=(params.q) maxlength="500" placeholder="Describe your problem, e.g. ssl certificate renewal";
                button.primary type="submit" { "Search" }
            }
            p.small { "Tips: " code { "\"exact phrase\"" } " " code { "-exclude" } " " code { "tag:dns" } " " code { "category:billing-accounts" } " " code { "is:solved" } " " code { "by:username" } }
        }
        @for notice in &results.notices { p.notice { (notice) } }
        @if let Some(better) = &results.did_you_mean {
            p.did-you-mean { "Did you mean " a href={ "/search?q=" (urlencode(better)) } { strong { (better) } } "?" }
        }
        @if results.query.is_empty() {
            p.lead { "Type a few words about your problem: we search every question, answer and guide." }
        } @else if results.hits.is_empty() {
            section.card {
                h2 { "Nothing found for “" (results.query) "”" }
                p { "Try fewer or different words, or check the spelling." }
                p { "Still stuck? " a href="/new-topic" { "Ask the community" } " or " a href="/contact" { "contact support" } "." }
            }
        } @else {
            div.search-layout {
                aside.facets aria-label="Filter results" {
                    (facet("Where", "kind", &results.facets.kind, &link))
                    (facet("Solved", "solved", &results.facets.solved, &link))
                    (facet("Category", "category", &results.facets.category, &link))
                    (facet("Tag", "tag", &results.facets.tag, &link))
                }
                div {
                    p.small {
                        (results.topics_found) @if results.topics_found >= 100 { "+" } " topics found"
                        @if results.fuzzy { " (including close spellings)" }
                    }
                    ol.results {
                        @for hit in &results.hits {
                            li.result {
                                a.title href=(hit.url) { (hit.title) }
                                div.meta.small {
                                    @if hit.solved { span.badge.solved { "✓ solved" } " " }
                                    @if hit.kind == "kb" { span.badge.kb { "Knowledge base" } " " }
                                    @if hit.kind == "status" { span.badge.staff { "Status" } " " }
                                    @if hit.kind == "changelog" { span.badge.staff { "Changelog" } " " }
                                    @if hit.kind == "reply" { "reply · " }
                                    (hit.category)
                                    @for t in &hit.tags { " #" (t) }
                                }
                                p.snippet { (PreEscaped(&hit.snippet)) }
                            }
                        }
                    }
                    nav.pager aria-label="Result pages" {
                        @if results.page > 1 { a rel="prev" href=(link(&format!("&page={}", results.page - 1))) { "‹ Previous" } }
                        span { "Page " (results.page) }
                        @if results.has_more { a rel="next" href=(link(&format!("&page={}", results.page + 1))) { "Next ›" } }
                    }
                }
            }
        }
    };
    let title = if results.query.is_empty() {
        "Search".to_string()
    } else {
        format!("Search: {}", results.query)
    };
    Ok(layout::ok(&ctx, Page::new(title, body)))
}

/// How a facet value reads: kinds by the name of their section of the site.
fn facet_label<'a>(key: &str, value: &'a str) -> &'a str {
    match (key, value) {
        ("kind", "kb") => "Knowledge base",
        ("kind", "status") => "Status",
        ("kind", "changelog") => "Changelog",
        ("kind", "forum") => "Forum",
        _ => value,
    }
}

fn facet(
    title: &str,
    key: &str,
    values: &[(String, usize)],
    link: &dyn Fn(&str) -> String,
) -> Markup {
    html! {
        @if !values.is_empty() {
            section.facet {
                h2 { (title) }
                ul.plain {
                    @for (value, count) in values {
                        li { a href=(link(&format!("&{key}={}", urlencode(value)))) { (facet_label(key, value)) } " " span.small { (count) } }
                    }
                }
            }
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SuggestQuery {
    q: String,
    flow: String,
    /// The category chosen on the form: an ideas category gets its matching ideas first.
    category: String,
}

/// Solved topics that may answer a question being typed (the new-topic page's script).
#[get("/api/suggest")]
pub async fn suggest(ctx: Ctx, q: web::Query<SuggestQuery>) -> Result<HttpResponse, AppError> {
    let SuggestQuery { q, flow, category } = q.into_inner();
    let (hits, ideas) = suggestions(&ctx, &q, &flow, &category).await?;
    let heading = if ideas {
        "Is your idea already here? Vote for it instead"
    } else {
        "These answers may help"
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "hits": hits, "heading": heading })))
}

/// Up to five likely answers for a question title; records that they were offered. In an
/// ideas category, matching ideas come first (a vote instead of a duplicate); the flag says
/// the category is one.
pub async fn suggestions(
    ctx: &Ctx,
    title: &str,
    flow: &str,
    category: &str,
) -> Result<(Vec<crate::search::Hit>, bool), AppError> {
    if title.trim().chars().count() < 4 {
        return Ok((Vec::new(), false));
    }
    let category = category.trim().to_string();
    let index = ctx.state.search.clone();
    let db = ctx.state.db.clone();
    let state = ctx.state.clone();
    let (title, flow) = (title.to_string(), flow.to_string());
    let user_id = ctx.user.as_ref().map(|u| u.id);
    blocking(move || {
        let ideas = !category.is_empty()
            && crate::forum::categories::by_slug(&db, &category)?.is_some_and(|c| c.is_ideas());
        let mut hits = if ideas {
            index.similar_in_category(&title, &category, 5)?
        } else {
            Vec::new()
        };
        for h in index.similar(&title, None, 5)? {
            if hits.len() < 5
                && !hits
                    .iter()
                    .any(|x| x.topic_id == h.topic_id && x.url == h.url)
            {
                hits.push(h);
            }
        }
        let ids: Vec<u64> = hits
            .iter()
            .map(|h| h.topic_id)
            .filter(|id| *id != 0)
            .collect();
        crate::search::deflection::record_suggested(
            &db,
            &state.deflection,
            &flow,
            user_id,
            &title,
            &ids,
        )?;
        Ok((hits, ideas))
    })
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct OpenQuery {
    flow: String,
    topic: i64,
}

/// A suggested answer was opened: record it, then go there.
#[get("/search/open")]
pub async fn open(ctx: Ctx, q: web::Query<OpenQuery>) -> Result<HttpResponse, AppError> {
    let OpenQuery { flow, topic } = q.into_inner();
    let db = ctx.state.db.clone();
    let user_id = ctx.user.as_ref().map(|u| u.id);
    let row =
        blocking(move || crate::search::deflection::open_suggestion(&db, &flow, user_id, topic))
            .await?;
    Ok(super::view::redirect(&crate::subject::topic_path(
        &row.slug, row.id,
    )))
}
