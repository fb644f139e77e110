//! The page shell every page shares: header with search and navigation, the support
//! contact block (on every page, never hidden), main content and footer.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use super::AppState;
use super::ctx::Ctx;
use crate::forms::FieldErrors;
use crate::settings::SiteSettings;

/// What a page tells the shell about itself.
pub struct Page {
    pub title: String,
    pub description: Option<String>,
    pub body: Markup,
    /// Site-relative canonical path (e.g. "/t/slug/12"); also used for Open Graph.
    pub canonical: Option<String>,
    /// Feed to advertise in <head>: (title, site-relative URL).
    pub feed: Option<(String, String)>,
    /// Ask search engines not to index it (drafts, staff pages).
    pub noindex: bool,
}

impl Page {
    pub fn new(title: impl Into<String>, body: Markup) -> Page {
        Page {
            title: title.into(),
            description: None,
            body,
            canonical: None,
            feed: None,
            noindex: false,
        }
    }

    pub fn noindex(mut self) -> Page {
        self.noindex = true;
        self
    }

    pub fn describe(mut self, description: impl Into<String>) -> Page {
        self.description = Some(description.into());
        self
    }

    pub fn canonical(mut self, path: impl Into<String>) -> Page {
        self.canonical = Some(path.into());
        self
    }

    pub fn feed(mut self, title: impl Into<String>, path: impl Into<String>) -> Page {
        self.feed = Some((title.into(), path.into()));
        self
    }
}

pub fn render(ctx: &Ctx, page: Page) -> Markup {
    shell(&ctx.state, Some(ctx), &ctx.settings, page)
}

pub fn respond(ctx: &Ctx, status: StatusCode, page: Page) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(render(ctx, page).into_string())
}

pub fn ok(ctx: &Ctx, page: Page) -> HttpResponse {
    respond(ctx, StatusCode::OK, page)
}

pub fn error_page(
    state: &AppState,
    ctx: Option<&Ctx>,
    status: StatusCode,
    message: &str,
) -> Markup {
    error_page_with(state, ctx, status, message, None)
}

/// `error_page` with more below the message (the form of a write that could not be saved).
pub fn error_page_with(
    state: &AppState,
    ctx: Option<&Ctx>,
    status: StatusCode,
    message: &str,
    more: Option<&Markup>,
) -> Markup {
    let settings = state.settings.get();
    let title = status.canonical_reason().unwrap_or("Error");
    let heading = if status == StatusCode::SERVICE_UNAVAILABLE {
        "Back in a moment"
    } else {
        title
    };
    let body = html! {
        section.notice.error-page {
            h1 { (heading) }
            p { (message) }
            @if let Some(more) = more { (more) }
            p {
                a href="/" { "Go to the home page" }
                " or search above. Still stuck? "
                a href="/contact" { "Contact support" }
                "."
            }
        }
    };
    shell(state, ctx, &settings, Page::new(title, body))
}

fn shell(state: &AppState, ctx: Option<&Ctx>, s: &SiteSettings, page: Page) -> Markup {
    let user = ctx.and_then(|c| c.user.as_ref());
    let stylesheet = state.assets.url(&s.theme, "style.css");
    let description = page.description.as_deref().unwrap_or(&s.tagline);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (&page.title) " · " (s.site_name) }
                meta name="description" content=(description);
                @if page.noindex { meta name="robots" content="noindex"; }
                @if let Some(href) = stylesheet {
                    link rel="stylesheet" href=(href);
                }
                @if let Some(path) = &page.canonical {
                    link rel="canonical" href={ (s.public_url) (path) };
                    meta property="og:url" content={ (s.public_url) (path) };
                }
                meta property="og:site_name" content=(s.site_name);
                meta property="og:title" content=(&page.title);
                meta property="og:description" content=(description);
                meta property="og:type" content="website";
                @if let Some((title, path)) = &page.feed {
                    link rel="alternate" type="application/atom+xml" title=(title) href=(path);
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (support_bar(s))
                (status_banner(&state.status.get()))
                header.site-header {
                    div.wrap.header-row {
                        a.brand href="/" {
                            @if let Some(logo) = state.assets.url(&s.theme, "logo.svg") {
                                img src=(logo) alt="" width="28" height="28";
                            }
                            span { (s.site_name) }
                        }
                        form.search role="search" action="/search" method="get" {
                            label.visually-hidden for="site-search" { "Search" }
                            input #site-search type="search" name="q" placeholder="Search answers…" maxlength="500";
                            button type="submit" { "Search" }
                        }
                        nav.account aria-label="Account" {
                            @if let Some(u) = user {
                                span.me {
                                    (u.username)
                                    @if u.role.is_staff() { " " span.badge.staff { (u.role.as_str()) } }
                                }
                                a.notifications href="/notifications" title="Notifications" {
                                    "Notifications"
                                    @if u.unread_notifications > 0 {
                                        " " span.count { (u.unread_notifications) }
                                    }
                                }
                                a href="/account" { "Account" }
                                @if u.role == crate::accounts::Role::Admin {
                                    a href="/admin" { "Admin" }
                                }
                                form.inline action="/logout" method="post" {
                                    input type="hidden" name="csrf" value=(ctx.map(|c| c.csrf.as_str()).unwrap_or(""));
                                    button.link type="submit" { "Log out" }
                                }
                            } @else {
                                a href="/login" { "Log in" }
                                a.button href="/register" { "Sign up" }
                            }
                        }
                    }
                    nav.wrap.sections aria-label="Sections" {
                        a href="/kb" { "Knowledge base" }
                        a href="/latest" { "Forum" }
                        a href="/changelog" {
                            "Changelog"
                            // Members only (visitors' pages are shared from the cache).
                            @if user.is_some_and(|u| state.whats_new.is_new_for(u)) {
                                " " span.count.whats-new title="Published since your last visit" { "new" }
                            }
                        }
                        a href="/status" { "Status" }
                        a href="/contact" { "Contact" }
                    }
                }
                main #main .wrap { (page.body) }
                footer.site-footer {
                    div.wrap {
                        (contact_block(s))
                        p.small { (s.site_name) " runs on Townhall." }
                    }
                }
            }
        }
    }
}

/// While an incident is unresolved or maintenance is under way: a strip at the top of every
/// page (cached pages too: the cache empties on every status event).
fn status_banner(board: &crate::status::board::Board) -> Markup {
    html! {
        @if !board.active.is_empty() {
            aside.status-banner aria-label="Service status" {
                div.wrap {
                    @for i in &board.active {
                        p class={ "status-line " @if i.kind() == crate::status::Kind::Maintenance { "maintenance" } @else { "incident" } } {
                            strong {
                                @if i.kind() == crate::status::Kind::Maintenance { "Maintenance in progress: " } @else { "Ongoing incident: " }
                            }
                            a href=(crate::subject::Subject::Incident(i.row.id).path(crate::subject::Named::slug(""))) { (i.row.name) }
                            " — " (i.status().label())
                        }
                    }
                }
            }
        }
    }
}

/// The always-visible strip at the top: how to reach a person right now.
fn support_bar(s: &SiteSettings) -> Markup {
    html! {
        aside.support-bar aria-label="Support contact" {
            div.wrap {
                strong { "Need help? " }
                @if !s.contact_phone.is_empty() {
                    "Call " a.phone href=(s.tel_uri()) { (s.contact_phone) }
                }
                @if !s.contact_email.is_empty() {
                    @if !s.contact_phone.is_empty() { " · " }
                    a href={ "mailto:" (s.contact_email) } { (s.contact_email) }
                }
                @if !s.support_hours.is_empty() {
                    " · " span.hours { (s.support_hours) }
                }
                @if !s.has_contact() {
                    a href="/contact" { "Contact support" }
                }
            }
        }
    }
}

/// The full contact block: footer of every page and the /contact page.
pub fn contact_block(s: &SiteSettings) -> Markup {
    html! {
        section.contact aria-label="Contact support" {
            h2 { "Talk to a person" }
            @if s.has_contact() {
                dl {
                    @if !s.contact_phone.is_empty() {
                        dt { "Phone" }
                        dd { a.phone href=(s.tel_uri()) { (s.contact_phone) } }
                    }
                    @if !s.contact_email.is_empty() {
                        dt { "Email" }
                        dd { a href={ "mailto:" (s.contact_email) } { (s.contact_email) } }
                    }
                    @if !s.support_hours.is_empty() {
                        dt { "Hours" }
                        dd { (s.support_hours) }
                    }
                }
            } @else {
                p { "Contact details have not been set up yet." }
            }
            p.promise { "We answer every new question within " (hours(s.first_response_hours)) "." }
        }
    }
}

pub fn hours(h: u32) -> String {
    if h == 1 {
        "1 hour".into()
    } else if h.is_multiple_of(24) && h >= 48 {
        format!("{} days", h / 24)
    } else {
        format!("{h} hours")
    }
}

/// One labelled form field with its message (if any) right under it.
pub struct Field<'a> {
    pub label: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub autocomplete: &'a str,
    pub maxlength: usize,
    pub required: bool,
}

pub fn field(f: Field, errors: &FieldErrors) -> Markup {
    let error = errors.get(f.name);
    let id = format!("f-{}", f.name);
    let described = format!("{id}-msg");
    // A URL field is a text field with a URL keyboard: type=url would make a rejected
    // value (echoed back for correction) invalid HTML.
    let (input_type, input_mode) = match f.kind {
        "url" => ("text", Some("url")),
        kind => (kind, None),
    };
    let text_like = matches!(
        f.kind,
        "text" | "email" | "password" | "search" | "tel" | "url"
    );
    html! {
        div.field.has-error[error.is_some()] {
            label for=(id) { (f.label) }
            input id=(id) name=(f.name) type=(input_type) inputmode=[input_mode] value=(f.value)
                autocomplete=(f.autocomplete) maxlength=[text_like.then_some(f.maxlength)]
                min=[(f.kind == "number").then_some("0")] required[f.required]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.or(f.hint).map(|_| described.as_str())];
            @if let Some(message) = error {
                p.error id=(described) { (message) }
            } @else if let Some(hint) = f.hint {
                p.hint id=(described) { (hint) }
            }
        }
    }
}

pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}
