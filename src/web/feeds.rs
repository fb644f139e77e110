//! Atom feeds (/latest.atom, /c/{slug}.atom) and /sitemap.xml, for feed readers and crawlers.

use actix_web::{HttpResponse, get};
use maud::{PreEscaped, html};

use super::blocking;
use super::ctx::Ctx;
use crate::db::forum::CategoryRow;
use crate::error::AppError;
use crate::forum;
use crate::forum::TopicSummary;
use crate::subject::{Named, Subject, category_path, topic_path};

fn rfc3339(at: &chrono::NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub async fn topic_feed(
    ctx: &Ctx,
    category: Option<&CategoryRow>,
    topics: &[TopicSummary],
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let listed = topics.to_vec();
    let firsts = blocking(move || forum::public_first_posts(&db, &listed)).await?;
    let s = &ctx.settings;
    let (title, path) = match category {
        Some(c) => (
            format!("{} — {}", c.name, s.site_name),
            category_path(&c.slug),
        ),
        None => (
            format!("Latest topics — {}", s.site_name),
            "/latest".to_string(),
        ),
    };
    let updated = topics
        .iter()
        .map(|t| t.topic.bumped_at)
        .max()
        .unwrap_or_else(crate::db::now);
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { (title) }
            id { (s.public_url) (path) }
            link rel="alternate" type="text/html" href={ (s.public_url) (path) } {}
            link rel="self" type="application/atom+xml" href={ (s.public_url) (path) ".atom" } {}
            updated { (rfc3339(&updated)) }
            @for t in topics {
                @let url = format!("{}{}", s.public_url, topic_path(&t.topic.slug, t.topic.id));
                entry {
                    title { (t.topic.title) }
                    id { (url) }
                    link rel="alternate" type="text/html" href=(url) {}
                    published { (rfc3339(&t.topic.created_at)) }
                    updated { (rfc3339(&t.topic.bumped_at)) }
                    author { name { (t.author.username) } }
                    @for tag in &t.tags { category term=(tag) {} }
                    @if let Some(first) = firsts.get(&t.topic.id) {
                        content type="html" { (first.cooked) }
                    }
                }
            }
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .body(xml.into_string()))
}

/// The sitemap index: one file for the fixed pages and categories, and one per range of
/// topic ids (at most 50,000 URLs each, as the sitemaps protocol requires).
#[get("/sitemap.xml")]
pub async fn sitemap(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let chunks = blocking(move || forum::sitemap_chunks(&db)).await?;
    let base = &ctx.settings.public_url;
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"))
        sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" {
            sitemap { loc { (base) "/sitemap-pages.xml" } }
            @for chunk in &chunks {
                sitemap {
                    loc { (base) "/sitemap-topics-" (chunk.chunk + 1) ".xml" }
                    lastmod { (rfc3339(&chunk.lastmod)) }
                }
            }
        }
    };
    Ok(xml_response(xml))
}

#[get("/sitemap-pages.xml")]
pub async fn sitemap_pages(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    // Published articles only (a sitemap holds at most 50,000 URLs; a knowledge base stays
    // far below that).
    let (categories, sections, articles, incidents, changes) = blocking(move || {
        Ok((
            forum::categories::all(&db)?,
            crate::kb::sections(&db)?,
            crate::kb::published(&db, 40_000)?,
            crate::status::sitemap_entries(&db, 2_000)?,
            crate::changelog::sitemap_entries(&db, 5_000)?,
        ))
    })
    .await?;
    let base = &ctx.settings.public_url;
    let kb_path = |slug: &str| Subject::Article(0).path(Named::slug(slug));
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"))
        urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" {
            @for path in ["/", "/latest", "/contact", "/kb", "/status", "/status/history", "/changelog", "/roadmap"] {
                url { loc { (base) (path) } }
            }
            @for c in &categories {
                url { loc { (base) (category_path(&c.slug)) } }
            }
            @for s in &sections {
                url { loc { (base) (kb_path(&s.slug)) } }
            }
            @for a in &articles {
                url { loc { (base) (kb_path(&a.slug)) } lastmod { (rfc3339(&a.updated_at)) } }
            }
            @for (id, updated) in &incidents {
                url { loc { (base) (Subject::Incident(*id).path(Named::slug(""))) } lastmod { (rfc3339(updated)) } }
            }
            @for (slug, updated) in &changes {
                url { loc { (base) (Subject::ChangelogPost(0).path(Named::slug(slug))) } lastmod { (rfc3339(updated)) } }
            }
        }
    };
    Ok(xml_response(xml))
}

/// `/sitemap-topics-{n}.xml`, n from 1.
#[get("/sitemap-topics-{n}.xml")]
pub async fn sitemap_topics(
    ctx: Ctx,
    n: actix_web::web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let chunk = match n.parse::<i64>() {
        Ok(n) if (1..=i64::MAX / crate::db::forum::SITEMAP_CHUNK - 1).contains(&n) => n - 1,
        _ => return Err(AppError::NotFound),
    };
    let db = ctx.state.db.clone();
    let topics = blocking(move || forum::sitemap_topics(&db, chunk)).await?;
    if topics.is_empty() {
        return Err(AppError::NotFound);
    }
    let base = &ctx.settings.public_url;
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"))
        urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" {
            @for (id, slug, bumped) in &topics {
                url {
                    loc { (base) (topic_path(slug, *id)) }
                    lastmod { (rfc3339(bumped)) }
                }
            }
        }
    };
    Ok(xml_response(xml))
}

fn xml_response(xml: maud::Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .body(xml.into_string())
}

#[get("/robots.txt")]
pub async fn robots(ctx: Ctx) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "User-agent: *\nDisallow: /admin\nDisallow: /notifications\nSitemap: {}/sitemap.xml\n",
            ctx.settings.public_url
        ))
}
