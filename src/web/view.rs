//! Shared view helpers for every page module: times, badges, form fields and redirects
//! (paths come from `crate::subject`). Page modules depend on this one and never on each other's helpers, so `src/web/`
//! has no import cycles (checked by `tests/architecture.rs`).

use actix_web::HttpResponse;
use chrono::{Datelike, NaiveDateTime, Timelike};
use maud::{Markup, html};

use crate::accounts::Role;
use crate::db::forum::CategoryRow;
use crate::forms::FieldErrors;
use crate::subject::category_path;

/// "3 hours ago", with the exact UTC time on hover and in `datetime`.
pub fn when(at: &NaiveDateTime) -> Markup {
    let now = chrono::Utc::now().naive_utc();
    let secs = (now - *at).num_seconds().max(0);
    let text = match secs {
        0..=59 => "just now".to_string(),
        60..=3599 => plural(secs / 60, "minute"),
        3600..=86_399 => plural(secs / 3600, "hour"),
        86_400..=2_591_999 => plural(secs / 86_400, "day"),
        _ => format!(
            "{} {}, {}",
            MONTHS[at.month0() as usize],
            at.day(),
            at.year()
        ),
    };
    // Formatted by hand: chrono's strftime parses its pattern on every call, and a topic
    // page shows a timestamp per post (7% of the page's CPU).
    let (d, t) = (at.date(), at.time());
    let date = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    html! {
        time datetime=(format_args!("{date}T{:02}:{:02}:{:02}Z", t.hour(), t.minute(), t.second()))
            title=(format_args!("{date} {:02}:{:02} UTC", t.hour(), t.minute())) { (text) }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

pub fn staff_badge(role: &str) -> Markup {
    html! {
        @if Role::parse(role).is_some_and(Role::is_staff) {
            " " span.badge.staff title="Works for us" { "staff" }
        }
    }
}

pub fn textarea_field(
    name: &str,
    label: &str,
    value: &str,
    errors: &FieldErrors,
    rows: u32,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.has-error[error.is_some()] {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows=(rows) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-msg"))] { (value) }
            @if let Some(e) = error { p.error id={ (id) "-msg" } { (e) } }
        }
    }
}

/// The form of a button that sends nothing but its CSRF token (`CsrfForm<NoFields>`).
#[derive(serde::Deserialize, Default)]
pub struct NoFields {}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to.to_string()))
        .finish()
}

pub fn category_chip(c: &CategoryRow) -> Markup {
    html! { a.chip href=(category_path(&c.slug)) data-color=(c.color) { span.dot.(color_class(&c.color)) {} (c.name) } }
}

/// Category colours become one of a fixed set of classes: user colours never reach a
/// style attribute (the CSP forbids inline styles anyway).
pub fn color_class(color: &str) -> &'static str {
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

/// A list's `?page=` (1-based, at most 10,000; none is the first).
pub fn page_number(page: Option<&str>) -> Result<i64, crate::error::AppError> {
    match page {
        None | Some("") => Ok(1),
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| crate::error::AppError::BadRequest("Pages are numbered from 1.".into())),
    }
}

/// The representation a route was asked for by its suffix: `.json`, `.atom` or a page.
pub enum Format {
    Html,
    Json,
    Atom,
}

pub fn split_format(name: &str) -> (&str, Format) {
    if let Some(s) = name.strip_suffix(".json") {
        (s, Format::Json)
    } else if let Some(s) = name.strip_suffix(".atom") {
        (s, Format::Atom)
    } else {
        (name, Format::Html)
    }
}
