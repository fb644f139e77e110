//! Knowledge-base pages: `/kb`, sections and articles at `/kb/{slug}` (with `.json`),
//! `/kb.atom`, "was this helpful?", and the staff editor, history and tools.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDateTime;
use maud::{Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};

use super::blocking;
use super::ctx::{CsrfForm, Ctx};
use super::layout::{self, Page, contact_block, csrf_field};
use super::view::NoFields;
use super::view::{Format, redirect, split_format, textarea_field, urlencode, when};
use crate::accounts::Role;
use crate::db::kb::{ArticleListRow, SectionRow};
use crate::error::AppError;
use crate::forms::{FieldErrors, clip};
use crate::kb::{self, ArticleInput, ArticlePage, Found, SectionInput, Status, Voter};
use crate::subject::{article_path, topic_path};

/// The first-party cookie that lets a visitor's "was this helpful?" count once.
const VOTER_COOKIE: &str = "townhall_voter";

fn rfc3339(at: &NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn helpful_share(a: &ArticleListRow) -> Option<u32> {
    let total = a.helpful_yes + a.helpful_no;
    (total > 0).then(|| (a.helpful_yes as f64 * 100.0 / total as f64).round() as u32)
}

// ---- JSON --------------------------------------------------------------------------------

#[derive(Serialize)]
struct ArticleItemJson<'a> {
    id: i64,
    slug: &'a str,
    title: &'a str,
    summary: &'a str,
    url: String,
    section_id: i64,
    updated_at: NaiveDateTime,
    published_at: Option<NaiveDateTime>,
}

impl<'a> ArticleItemJson<'a> {
    fn new(a: &'a ArticleListRow) -> Self {
        ArticleItemJson {
            id: a.id,
            slug: &a.slug,
            title: &a.title,
            summary: &a.summary,
            url: article_path(&a.slug),
            section_id: a.section_id,
            updated_at: a.updated_at,
            published_at: a.published_at,
        }
    }
}

#[derive(Serialize)]
struct SectionJson<'a> {
    #[serde(flatten)]
    section: &'a SectionRow,
    url: String,
    articles: i64,
}

#[derive(Serialize)]
struct HomeJson<'a> {
    sections: Vec<SectionJson<'a>>,
    articles: Vec<ArticleItemJson<'a>>,
}

#[derive(Serialize)]
struct ArticleJson<'a> {
    id: i64,
    slug: &'a str,
    title: &'a str,
    summary: &'a str,
    url: String,
    section: &'a SectionRow,
    tags: Vec<&'a str>,
    applies_to: Vec<&'a str>,
    status: &'a str,
    version: i32,
    cooked: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    published_at: Option<NaiveDateTime>,
    topics: Vec<TopicLinkJson<'a>>,
}

#[derive(Serialize)]
struct TopicLinkJson<'a> {
    id: i64,
    title: &'a str,
    url: String,
}

// ---- /kb ---------------------------------------------------------------------------------

#[get("/kb")]
pub async fn index(ctx: Ctx) -> Result<HttpResponse, AppError> {
    home_as(ctx, Format::Html).await
}

#[get("/kb.json")]
pub async fn home_json(ctx: Ctx) -> Result<HttpResponse, AppError> {
    home_as(ctx, Format::Json).await
}

#[get("/kb.atom")]
pub async fn feed(ctx: Ctx) -> Result<HttpResponse, AppError> {
    home_as(ctx, Format::Atom).await
}

async fn home_as(ctx: Ctx, format: Format) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    match format {
        Format::Json => {
            let (home, all) =
                blocking(move || Ok((kb::home(&db)?, kb::published(&db, 5_000)?))).await?;
            let body = HomeJson {
                sections: home
                    .sections
                    .iter()
                    .map(|(s, n)| SectionJson {
                        section: s,
                        url: article_path(&s.slug),
                        articles: *n,
                    })
                    .collect(),
                articles: all.iter().map(ArticleItemJson::new).collect(),
            };
            Ok(HttpResponse::Ok().json(body))
        }
        Format::Atom => {
            let articles = blocking(move || kb::published(&db, 50)).await?;
            Ok(atom(&ctx, &articles))
        }
        Format::Html => {
            let home = blocking(move || kb::home(&db)).await?;
            Ok(layout::ok(&ctx, home_html(&ctx, &home)))
        }
    }
}

fn search_box(label: &str) -> Markup {
    html! {
        form.search role="search" action="/search" method="get" {
            input type="hidden" name="kind" value="kb";
            label for="kb-search" { (label) }
            div.row {
                input #kb-search type="search" name="q" placeholder="Search the articles" maxlength="500";
                button.primary type="submit" { "Search" }
            }
        }
    }
}

fn article_list(articles: &[ArticleListRow], staff: bool) -> Markup {
    html! {
        ul.kb-articles {
            @for a in articles {
                li {
                    a href=(article_path(&a.slug)) { (a.title) }
                    @if a.status != "published" { " " span.badge.locked { (a.status) } }
                    @if !a.summary.is_empty() { p.small { (a.summary) } }
                    @if staff {
                        p.small {
                            (a.views) " views"
                            @if let Some(share) = helpful_share(a) {
                                " · " (share) "% helpful (" (a.helpful_yes + a.helpful_no) " votes)"
                            }
                        }
                    }
                }
            }
        }
    }
}

fn staff_links(ctx: &Ctx) -> Markup {
    let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
    html! {
        @if staff {
            p.staff-tools {
                a.button href="/staff/kb/new" { "New article" } " "
                a href="/staff/kb" { "All articles and helpfulness" } " · "
                a href="/staff/kb/candidates" { "Needs an article, needs attention" }
                @if ctx.is_admin() { " · " a href="/staff/kb/sections" { "Sections" } }
            }
        }
    }
}

fn home_html(ctx: &Ctx, home: &kb::Home) -> Page {
    let body = html! {
        h1 { "Knowledge base" }
        p.lead { "Answers to common questions, kept up to date by our team and built from what the community solved." }
        (search_box("Search the knowledge base"))
        (staff_links(ctx))
        @if home.sections.is_empty() {
            p { "No articles yet. In the meantime, " a href="/latest" { "ask the community" } "." }
        }
        section.grid.kb-sections aria-label="Sections" {
            @for (s, n) in &home.sections {
                div.card {
                    h2 { a href=(article_path(&s.slug)) { (s.name) } }
                    @if !s.description.is_empty() { p { (s.description) } }
                    p.small { (n) (if *n == 1 { " article" } else { " articles" }) }
                }
            }
        }
        div.grid {
            @if !home.most_viewed.is_empty() {
                section.card {
                    h2 { "Most viewed" }
                    (article_list(&home.most_viewed, false))
                }
            }
            @if !home.recent.is_empty() {
                section.card {
                    h2 { "Recently updated" }
                    (article_list(&home.recent, false))
                }
            }
        }
    };
    Page::new("Knowledge base", body)
        .describe("Answers to common questions, built from what the community solved.")
        .canonical("/kb")
        .feed("Knowledge base", "/kb.atom")
}

fn atom(ctx: &Ctx, articles: &[ArticleListRow]) -> HttpResponse {
    let s = &ctx.settings;
    let updated = articles
        .iter()
        .map(|a| a.updated_at)
        .max()
        .unwrap_or_else(crate::db::now);
    let xml = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { "Knowledge base — " (s.site_name) }
            id { (s.public_url) "/kb" }
            link rel="alternate" type="text/html" href={ (s.public_url) "/kb" } {}
            link rel="self" type="application/atom+xml" href={ (s.public_url) "/kb.atom" } {}
            updated { (rfc3339(&updated)) }
            @for a in articles {
                @let url = format!("{}{}", s.public_url, article_path(&a.slug));
                entry {
                    title { (a.title) }
                    id { (url) }
                    link rel="alternate" type="text/html" href=(url) {}
                    published { (rfc3339(&a.published_at.unwrap_or(a.updated_at))) }
                    updated { (rfc3339(&a.updated_at)) }
                    author { name { (s.site_name) } }
                    summary { (a.summary) }
                }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .body(xml.into_string())
}

// ---- /kb/{slug} --------------------------------------------------------------------------

fn voter_of(ctx: &Ctx, req: &HttpRequest) -> Option<Voter> {
    match &ctx.user {
        Some(u) => Some(Voter::Member(u.id)),
        None => req
            .cookie(VOTER_COOKIE)
            .map(|c| c.value().to_string())
            .filter(|v| crate::tokens::looks_like_token(v))
            .map(|v| Voter::Visitor(crate::tokens::hash_token(&v))),
    }
}

#[get("/kb/{slug}")]
pub async fn show(
    ctx: Ctx,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = slug.into_inner();
    let (slug, format) = split_format(&name);
    let slug = slug.to_string();
    if matches!(format, Format::Atom) {
        return Err(AppError::NotFound);
    }
    let db = ctx.state.db.clone();
    let viewer = ctx.user.clone();
    // Visitors' pages are cached and shared: their own vote is not part of the page.
    let voter = ctx.user.as_ref().and(voter_of(&ctx, &req));
    let lookup = slug.clone();
    let found = blocking(move || kb::find(&db, viewer.as_ref(), voter.as_ref(), &lookup)).await?;
    let json = matches!(format, Format::Json);
    match found {
        Found::MovedTo(to) => Ok(HttpResponse::MovedPermanently()
            .insert_header((
                "Location",
                format!("{}{}", article_path(&to), if json { ".json" } else { "" }),
            ))
            .finish()),
        Found::Section(section) if json => Ok(HttpResponse::Ok().json(serde_json::json!({
            "section": section.section,
            "articles": section.articles.iter().map(ArticleItemJson::new).collect::<Vec<_>>(),
        }))),
        Found::Section(section) => Ok(layout::ok(&ctx, section_html(&ctx, &section))),
        Found::Article(page) if json => Ok(HttpResponse::Ok().json(article_json(&page))),
        Found::Article(page) => Ok(layout::ok(&ctx, article_html(&ctx, &page, None))),
    }
}

fn article_json(p: &ArticlePage) -> ArticleJson<'_> {
    let a = &p.article;
    ArticleJson {
        id: a.id,
        slug: &a.slug,
        title: &a.title,
        summary: &a.summary,
        url: article_path(&a.slug),
        section: &p.section,
        tags: a.tags.split_whitespace().collect(),
        applies_to: a.applies_to.lines().collect(),
        status: &a.status,
        version: a.version,
        cooked: &a.cooked,
        created_at: a.created_at,
        updated_at: a.updated_at,
        published_at: a.published_at,
        topics: p
            .topics
            .iter()
            .map(|(id, slug, title)| TopicLinkJson {
                id: *id,
                title,
                url: topic_path(slug, *id),
            })
            .collect(),
    }
}

fn section_html(ctx: &Ctx, s: &kb::SectionPage) -> Page {
    let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/kb" { "Knowledge base" } " › " (s.section.name) }
        h1 { (s.section.name) }
        @if !s.section.description.is_empty() { p.lead { (s.section.description) } }
        (staff_links(ctx))
        @if s.articles.is_empty() {
            p { "No articles in this section yet." }
        } @else {
            (article_list(&s.articles, staff))
        }
        nav.kb-other aria-label="Other sections" {
            h2 { "Other sections" }
            ul {
                @for other in s.sections.iter().filter(|o| o.id != s.section.id) {
                    li { a href=(article_path(&other.slug)) { (other.name) } }
                }
            }
        }
    };
    Page::new(format!("{} — Knowledge base", s.section.name), body)
        .describe(s.section.description.clone())
        .canonical(article_path(&s.section.slug))
}

/// The article page; `thanks` is the message after a vote (shown only to that voter).
fn article_html(ctx: &Ctx, p: &ArticlePage, thanks: Option<&str>) -> Page {
    let a = &p.article;
    let staff = ctx.user.as_ref().is_some_and(|u| u.role.is_staff());
    let path = article_path(&a.slug);
    let status = Status::of(a);
    let applies: Vec<&str> = a.applies_to.lines().collect();
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" {
            a href="/kb" { "Knowledge base" } " › " a href=(article_path(&p.section.slug)) { (p.section.name) }
        }
        article.kb-article {
            header {
                h1 {
                    (a.title)
                    @if status != Status::Published { " " span.badge.locked { (status.as_str()) } }
                }
                p.small.meta {
                    "Updated " (when(&a.updated_at))
                    @if let Some(author) = &p.author { " · by " (author) " from our team" }
                    @if !applies.is_empty() {
                        " · Applies to: "
                        @for (i, label) in applies.iter().enumerate() {
                            @if i > 0 { ", " }
                            span.label { (label) }
                        }
                    }
                }
                @if status == Status::Archived {
                    p.alert { "This article is archived: it may be out of date." }
                }
            }
            @if !p.topics.is_empty() {
                aside.based-on {
                    p {
                        "Based on a community discussion: "
                        @for (i, (id, slug, title)) in p.topics.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href=(topic_path(slug, *id)) { (title) }
                        }
                    }
                }
            }
            @if !p.changes.is_empty() {
                aside.updated-because {
                    p {
                        strong { "Updated because of this change: " }
                        @for (i, (slug, title, _)) in p.changes.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href={ "/changelog/" (slug) } { (title) }
                        }
                    }
                }
            }
            div.cooked { (PreEscaped(&a.cooked)) }
            @if !a.tags.is_empty() {
                p.small.tags { "Tags: "
                    @for t in a.tags.split_whitespace() { span.tag { (t) } " " }
                }
            }
        }
        @if kb::listed(status) {
            (helpful_box(ctx, p, thanks))
        }
        section.card.still-need-help {
            h2 { "Still need help?" }
            p { "If this did not solve it, ask the community: we will link this article in your question so people know what you tried." }
            p { a.button.primary href={ "/new-topic?article=" (urlencode(&a.slug)) } { "Ask the community" } }
            p.small { "Something we could do better? " a href="/ideas/new" { "Suggest an improvement" } "." }
        }
        (contact_block(&ctx.settings))
        @if staff {
            section.card.staff-tools {
                h2 { "Staff" }
                p {
                    a.button href={ (path) "/edit" } { "Edit" } " "
                    a href={ (path) "/history" } { "History (version " (a.version) ")" } " · "
                    (a.views) " views · "
                    (a.helpful_yes) " found it helpful, " (a.helpful_no) " did not"
                }
                @if !p.comments.is_empty() {
                    h3 { "What readers said could be better" }
                    ul.kb-comments {
                        @for (helpful, text, at) in &p.comments {
                            li { span.small { (if *helpful { "Helpful" } else { "Not helpful" }) " · " (when(at)) } p { (text) } }
                        }
                    }
                }
            }
        }
    };
    let mut page = Page::new(a.title.clone(), body)
        .describe(a.summary.clone())
        .canonical(path);
    if status != Status::Published {
        page = page.noindex();
    }
    page
}

fn helpful_box(ctx: &Ctx, p: &ArticlePage, thanks: Option<&str>) -> Markup {
    let action = format!("{}/vote", article_path(&p.article.slug));
    html! {
        section.card.helpful aria-labelledby="helpful-h" {
            h2 #helpful-h { "Was this article helpful?" }
            @if let Some(message) = thanks {
                p.alert.success role="status" { (message) }
            }
            form method="post" action=(action) {
                @if ctx.user.is_some() { (csrf_field(ctx)) }
                div.row {
                    button type="submit" name="helpful" value="yes" aria-pressed=[p.my_vote.map(|v| if v { "true" } else { "false" })] { "Yes" }
                    button type="submit" name="helpful" value="no" aria-pressed=[p.my_vote.map(|v| if v { "false" } else { "true" })] { "No" }
                }
                details {
                    summary { "What could we improve? (optional)" }
                    (textarea_field("comment", "Only our team sees this.", "", &FieldErrors::default(), 3))
                }
            }
        }
    }
}

// ---- voting ------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VoteForm {
    helpful: String,
    comment: String,
    csrf: String,
}

/// Visitors' article pages are cached and shared, so their vote form carries no CSRF token;
/// a cross-site vote is refused by the headers browsers send with every form POST instead
/// (`Sec-Fetch-Site`, `Origin`). Members' pages carry their token as every form does.
fn same_origin(req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[post("/kb/{slug}/vote")]
pub async fn vote(
    ctx: Ctx,
    req: HttpRequest,
    slug: web::Path<String>,
    form: web::Form<VoteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let token_ok = crate::tokens::constant_time_eq(&form.csrf, &ctx.csrf);
    if (ctx.user.is_some() && !token_ok) || !same_origin(&req) {
        return Err(AppError::Forbidden(
            "This form has expired or came from another site. Reload the page and try again."
                .into(),
        ));
    }
    let helpful = match form.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Answer yes or no: was the article helpful?".into(),
            ));
        }
    };
    let (voter, new_cookie) = match voter_of(&ctx, &req) {
        Some(v) => (v, None),
        None => {
            let token = crate::tokens::random_token();
            (
                Voter::Visitor(crate::tokens::hash_token(&token)),
                Some(token),
            )
        }
    };
    super::RateLimits::check(&ctx.state.limits.votes_per_voter, &voter.key()).map_err(|wait| {
        AppError::TooManyRequests {
            message: format!("You are voting very fast; wait {wait} s and try again."),
            retry_after_secs: wait,
        }
    })?;
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let lookup = slug.clone();
    let viewer = ctx.user.clone();
    let comment = form.comment.clone();
    let page = blocking(move || {
        let found = kb::find(&db, viewer.as_ref(), Some(&voter), &lookup)?;
        let Found::Article(page) = found else {
            return Err(AppError::NotFound);
        };
        let comment = Some(comment.as_str()).filter(|c| !c.trim().is_empty());
        kb::vote(&db, &voter, page.article.id, helpful, comment)?;
        match kb::find(&db, viewer.as_ref(), Some(&voter), &lookup)? {
            Found::Article(page) => Ok(page),
            _ => Err(AppError::NotFound),
        }
    })
    .await?;
    let thanks = if helpful {
        "Thank you: glad it helped."
    } else {
        "Thank you: we will use this to improve the article."
    };
    let mut res = layout::ok(&ctx, article_html(&ctx, &page, Some(thanks)));
    if let Some(token) = new_cookie {
        let cookie = Cookie::build(VOTER_COOKIE, token)
            .path("/kb")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(ctx.settings.is_https())
            .max_age(CookieDuration::days(365))
            .finish();
        res.add_cookie(&cookie)
            .map_err(|e| AppError::Internal(format!("cookie: {e}")))?;
    }
    Ok(res)
}

// ---- editor ------------------------------------------------------------------------------

#[get("/staff/kb/new")]
pub async fn new_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Staff)?;
    let db = ctx.state.db.clone();
    let sections = blocking(move || kb::sections(&db)).await?;
    let input = ArticleInput {
        section: sections.first().map(|s| s.slug.clone()).unwrap_or_default(),
        status: "draft".into(),
        ..Default::default()
    };
    Ok(editor(
        &ctx,
        None,
        &input,
        &sections,
        &FieldErrors::default(),
        StatusCode::OK,
    ))
}

#[post("/staff/kb/new")]
pub async fn create(
    ctx: Ctx,
    CsrfForm(input): CsrfForm<ArticleInput>,
) -> Result<HttpResponse, AppError> {
    save(ctx, None, input).await
}

#[get("/kb/{slug}/edit")]
pub async fn edit_form(ctx: Ctx, slug: web::Path<String>) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let (article, section, sections) = blocking(move || {
        let (a, s) = kb::for_edit(&db, &user, &slug)?;
        Ok((a, s, kb::sections(&db)?))
    })
    .await?;
    let input = ArticleInput::from_article(&article, &section);
    Ok(editor(
        &ctx,
        Some(&article.slug),
        &input,
        &sections,
        &FieldErrors::default(),
        StatusCode::OK,
    ))
}

#[post("/kb/{slug}/edit")]
pub async fn update(
    ctx: Ctx,
    slug: web::Path<String>,
    CsrfForm(input): CsrfForm<ArticleInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let (article, _) = blocking(move || kb::for_edit(&db, &user, &slug)).await?;
    save(ctx, Some((article.id, article.slug)), input).await
}

async fn save(
    ctx: Ctx,
    existing: Option<(i64, String)>,
    input: ArticleInput,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let limits = ctx.state.config.limits();
    let submitted = input.clone();
    let id = existing.as_ref().map(|(id, _)| *id);
    let result = blocking(move || kb::save(&db, &user, id, &submitted, &limits)).await?;
    match result {
        Ok(saved) => Ok(redirect(&article_path(&saved.article.slug))),
        Err(errors) => {
            let db = ctx.state.db.clone();
            let sections = blocking(move || kb::sections(&db)).await?;
            Ok(editor(
                &ctx,
                existing.as_ref().map(|(_, s)| s.as_str()),
                &input,
                &sections,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

fn editor(
    ctx: &Ctx,
    slug: Option<&str>,
    input: &ArticleInput,
    sections: &[SectionRow],
    errors: &FieldErrors,
    status: StatusCode,
) -> HttpResponse {
    let action = match slug {
        Some(s) => format!("{}/edit", article_path(s)),
        None => "/staff/kb/new".to_string(),
    };
    let max_title = ctx.state.config.max_title_chars;
    let text = |label, name, value: &str, hint, maxlength, required| {
        layout::field(
            layout::Field {
                label,
                name,
                kind: "text",
                value: &clip(value, 2_000),
                hint,
                autocomplete: "off",
                maxlength,
                required,
            },
            errors,
        )
    };
    let select_error = |name: &str| errors.get(name);
    let body = html! {
        section.card {
            h1 { (if slug.is_some() { "Edit article" } else { "New article" }) }
            @if sections.is_empty() {
                p.alert.error role="alert" { "Add a section first: " a href="/staff/kb/sections" { "Knowledge-base sections" } "." }
            }
            @if !errors.is_empty() { p.alert.error role="alert" { "Please check the fields marked below: your text is kept." } }
            form method="post" action=(action) {
                (csrf_field(ctx))
                (text("Title", "title", &input.title, None, max_title, true))
                (text("Address", "slug", &input.slug, Some("The part after /kb/. Leave empty to make one from the title; renaming keeps the old address working."), kb::MAX_SLUG_CHARS, false))
                div.field.has-error[select_error("section").is_some()] {
                    label for="f-section" { "Section" }
                    select #f-section name="section" aria-invalid=[select_error("section").map(|_| "true")] aria-describedby=[select_error("section").map(|_| "f-section-msg")] {
                        @for s in sections {
                            option value=(s.slug) selected[s.slug == input.section] { (s.name) }
                        }
                    }
                    @if let Some(e) = select_error("section") { p.error #f-section-msg { (e) } }
                }
                (text("Summary", "summary", &input.summary, Some("One or two sentences, shown in lists and search results."), kb::MAX_SUMMARY_CHARS, false))
                (textarea_field("raw", "Article (Markdown)", &clip(&input.raw, 70_000), errors, 18))
                (text("Tags", "tags", &input.tags, Some("Separated by commas, e.g. dns, ssl."), 200, false))
                (text("Applies to", "applies_to", &input.applies_to, Some("Products or plans, separated by commas (optional)."), 250, false))
                div.field.has-error[select_error("status").is_some()] {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        @for st in Status::ALL {
                            option value=(st.as_str()) selected[st.as_str() == input.status] { (st.as_str()) }
                        }
                    }
                    @if let Some(e) = select_error("status") { p.error { (e) } }
                }
                (text("Change note", "note", &input.note, Some("What changed, for the history (optional)."), kb::MAX_NOTE_CHARS, false))
                button.primary type="submit" { "Save" }
                @if let Some(s) = slug { " " a href=(article_path(s)) { "Cancel" } }
            }
        }
    };
    layout::respond(
        ctx,
        status,
        Page::new(
            if slug.is_some() {
                "Edit article"
            } else {
                "New article"
            },
            body,
        ),
    )
}

// ---- history -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DiffQuery {
    from: Option<i32>,
    to: Option<i32>,
}

#[get("/kb/{slug}/history")]
pub async fn history(
    ctx: Ctx,
    slug: web::Path<String>,
    q: web::Query<DiffQuery>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let h = blocking(move || kb::history(&db, &user, &slug)).await?;
    let path = article_path(&h.article.slug);
    let latest = h.article.version;
    let to = q.to.unwrap_or(latest);
    let from = q.from.unwrap_or(to - 1);
    let text_of = |v: i32| {
        h.revisions
            .iter()
            .find(|(r, _)| r.version == v)
            .map(|(r, _)| r)
    };
    let (old, new) = (text_of(from), text_of(to));
    if (q.from.is_some() && old.is_none()) || (q.to.is_some() && new.is_none()) {
        return Err(AppError::BadRequest(format!(
            "Choose versions between 1 and {latest}."
        )));
    }
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/kb" { "Knowledge base" } " › " a href=(path) { (h.article.title) } }
        h1 { "History" }
        form.inline method="get" action={ (path) "/history" } {
            label for="from" { "Compare version " }
            select #from name="from" { @for (r, _) in &h.revisions { option value=(r.version) selected[r.version == from] { (r.version) } } }
            label for="to" { " with " }
            select #to name="to" { @for (r, _) in &h.revisions { option value=(r.version) selected[r.version == to] { (r.version) } } }
            " " button type="submit" { "Compare" }
        }
        @if let (Some(old), Some(new)) = (old, new) {
            section.card {
                h2 { "Changes from version " (old.version) " to " (new.version) }
                @if old.title != new.title { p { "Title: " del { (old.title) } " → " ins { (new.title) } } }
                @if old.slug != new.slug { p { "Address: " del { "/kb/" (old.slug) } " → " ins { "/kb/" (new.slug) } } }
                @if old.status != new.status { p { "Status: " del { (old.status) } " → " ins { (new.status) } } }
                @if old.summary != new.summary { p { "Summary: " del { (old.summary) } " → " ins { (new.summary) } } }
                pre.diff {
                    @for change in similar::TextDiff::from_lines(old.raw.as_str(), new.raw.as_str()).iter_all_changes() {
                        @match change.tag() {
                            similar::ChangeTag::Delete => del { "- " (change.value()) },
                            similar::ChangeTag::Insert => ins { "+ " (change.value()) },
                            similar::ChangeTag::Equal => span { "  " (change.value()) },
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Versions" }
            table.sessions {
                thead { tr { th { "Version" } th { "Saved" } th { "By" } th { "Note" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for (r, editor) in &h.revisions {
                        tr {
                            td { (r.version) " " span.small { (r.status) } }
                            td { (when(&r.created_at)) }
                            td { (editor.as_deref().unwrap_or("import")) }
                            td { (r.note) }
                            td {
                                @if r.version > 1 { a href={ (path) "/history?from=" (r.version - 1) "&to=" (r.version) } { "Changes" } }
                                @if r.version != latest {
                                    form.inline method="post" action={ (path) "/restore" } {
                                        (csrf_field(&ctx))
                                        input type="hidden" name="version" value=(r.version);
                                        " " button.link type="submit" { "Restore" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::ok(
        &ctx,
        Page::new(format!("History — {}", h.article.title), body).noindex(),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RestoreForm {
    version: i32,
}

#[post("/kb/{slug}/restore")]
pub async fn restore(
    ctx: Ctx,
    slug: web::Path<String>,
    CsrfForm(form): CsrfForm<RestoreForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let slug = slug.into_inner();
    let saved = blocking(move || {
        let (article, _) = kb::for_edit(&db, &user, &slug)?;
        kb::restore(&db, &user, article.id, form.version)
    })
    .await?;
    Ok(redirect(&format!(
        "{}/history",
        article_path(&saved.article.slug)
    )))
}

// ---- from the forum ----------------------------------------------------------------------

#[post("/t/{id}/to-article")]
pub async fn from_topic(
    ctx: Ctx,
    id: web::Path<i64>,
    _f: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let topic_id = id.into_inner();
    let limits = ctx.state.config.limits();
    let article = blocking(move || kb::draft_from_topic(&db, &user, topic_id, &limits)).await?;
    Ok(redirect(&format!("{}/edit", article_path(&article.slug))))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkForm {
    article: String,
}

#[post("/t/{id}/kb-link")]
pub async fn link_topic(
    ctx: Ctx,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<LinkForm>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let topic_id = id.into_inner();
    blocking(move || kb::link_topic(&db, &user, topic_id, &form.article)).await?;
    Ok(redirect(&crate::subject::topic_short_path(topic_id)))
}

/// On a topic page: the banner linking its article, and for staff the tools to make one.
pub fn topic_banner(answer: Option<&(String, String)>) -> Markup {
    html! {
        @if let Some((slug, title)) = answer {
            p.alert.kb-answer {
                "Answered in the knowledge base: " a href=(article_path(slug)) { (title) }
            }
        }
    }
}

pub fn topic_staff_tools(ctx: &Ctx, topic_id: i64, solved: bool, linked: bool) -> Markup {
    html! {
        div.tool-row {
            @if solved && !linked {
                form.inline method="post" action={ "/t/" (topic_id) "/to-article" } {
                    (csrf_field(ctx))
                    button type="submit" { "Turn into article" }
                }
                " "
            }
            form.inline method="post" action={ "/t/" (topic_id) "/kb-link" } {
                (csrf_field(ctx))
                label for="kb-link" { "Answered by article " }
                input #kb-link type="text" name="article" placeholder="article-slug" maxlength="120" required;
                " " button type="submit" { "Link" }
            }
        }
    }
}

// ---- staff overview and sections -----------------------------------------------------------

#[get("/staff/kb")]
pub async fn overview(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Staff)?.clone();
    let db = ctx.state.db.clone();
    let articles = blocking(move || kb::staff_overview(&db, &user)).await?;
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/kb" { "Knowledge base" } " › Staff" }
        h1 { "All articles" }
        (staff_links(&ctx))
        table.sessions {
            thead { tr { th { "Article" } th { "Status" } th { "Views" } th { "Helpful" } th { "Updated" } } }
            tbody {
                @for a in &articles {
                    tr {
                        td { a href=(article_path(&a.slug)) { (a.title) } }
                        td { (a.status) }
                        td { (a.views) }
                        td {
                            @match helpful_share(a) {
                                Some(share) => { (share) "% of " (a.helpful_yes + a.helpful_no) }
                                None => { "no votes" }
                            }
                        }
                        td { (when(&a.updated_at)) }
                    }
                }
            }
        }
    };
    Ok(layout::ok(&ctx, Page::new("All articles", body).noindex()))
}

#[get("/staff/kb/sections")]
pub async fn sections_page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Role::Admin)?;
    sections_html(
        &ctx,
        &SectionInput::default(),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[post("/staff/kb/sections")]
pub async fn save_section(
    ctx: Ctx,
    CsrfForm(input): CsrfForm<SectionInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Role::Admin)?.clone();
    let db = ctx.state.db.clone();
    let submitted = input.clone();
    let existing = {
        let db = db.clone();
        let slug = input.slug.trim().to_string();
        blocking(move || {
            Ok(kb::sections(&db)?
                .into_iter()
                .find(|s| s.slug == slug)
                .map(|s| s.id))
        })
        .await?
    };
    match blocking(move || kb::save_section(&db, &user, existing, &submitted)).await? {
        Ok(_) => Ok(redirect("/staff/kb/sections")),
        Err(errors) => sections_html(&ctx, &input, &errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

async fn sections_html(
    ctx: &Ctx,
    input: &SectionInput,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let db = ctx.state.db.clone();
    let sections = blocking(move || kb::sections(&db)).await?;
    let text = |label, name, value: &str, hint, required| {
        layout::field(
            layout::Field {
                label,
                name,
                kind: "text",
                value,
                hint,
                autocomplete: "off",
                maxlength: 300,
                required,
            },
            errors,
        )
    };
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumbs" { a href="/kb" { "Knowledge base" } " › Sections" }
        h1 { "Knowledge-base sections" }
        table.sessions {
            thead { tr { th { "Order" } th { "Section" } th { "Address" } th { "Description" } } }
            tbody {
                @for s in &sections {
                    tr { td { (s.position) } td { (s.name) } td { "/kb/" (s.slug) } td { (s.description) } }
                }
            }
        }
        section.card {
            h2 { "Add or change a section" }
            p.small { "Saving with the address of an existing section changes that section." }
            @if !errors.is_empty() { p.alert.error role="alert" { "Please check the fields marked below." } }
            form method="post" action="/staff/kb/sections" {
                (csrf_field(ctx))
                (text("Name", "name", &input.name, None, true))
                (text("Address", "slug", &input.slug, Some("The part after /kb/; empty to make one from the name."), false))
                (text("Description", "description", &input.description, None, false))
                (text("Order", "position", &input.position, Some("Lower comes first."), false))
                button.primary type="submit" { "Save section" }
            }
        }
    };
    Ok(layout::respond(
        ctx,
        status,
        Page::new("Knowledge-base sections", body).noindex(),
    ))
}
