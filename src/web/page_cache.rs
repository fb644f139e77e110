//! Rendered public pages for anonymous visitors, kept per node, ready in plain and gzip form.
//!
//! Most page views on a public forum come from people who are not logged in, and they all
//! see the same page for a URL. Rendering it (queries, templates, compression) costs about a
//! millisecond of CPU; answering from here costs a map lookup. The cache is derived data like
//! the search index: it subscribes to this node's event follower (`src/followers.rs`), which
//! hands it every batch of new events, and any event that can change what a visitor sees
//! ([`Event::visible_to_visitors`], and any event this version cannot read) empties the cache
//! (a generation counter, so it is one atomic increment). A write is therefore visible to
//! anonymous visitors within one follower poll (≤ 250 ms), on every node, and entries also
//! expire after [`PageCache::TTL`] so that relative times ("5 minutes ago") stay right.
//!
//! Only safe responses are kept: GET, no session cookie, a public path, status 200, no
//! cookie set by the handler, and a body that does not contain the visitor's own CSRF token.
//!
//! The store is `moka`: bounded by bytes, and its TinyLFU admission keeps pages that are read
//! often over pages seen once (a crawler walking 100,000 old topics would otherwise evict the
//! front page over and over, at a cost on every request).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse, web};

use super::AppState;
use super::ctx::{AnonCsrf, SESSION_COOKIE};
use crate::events::{Event, StoredEvent};

struct Entry {
    generation: u64,
    content_type: HeaderValue,
    plain: Bytes,
    gzip: Bytes,
}

impl Entry {
    fn size(&self) -> usize {
        self.plain.len() + self.gzip.len()
    }
}

pub struct PageCache {
    generation: AtomicU64,
    entries: moka::sync::Cache<String, std::sync::Arc<Entry>>,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            generation: AtomicU64::new(0),
            entries: moka::sync::Cache::builder()
                .max_capacity(Self::MAX_BYTES as u64)
                .weigher(|key: &String, e: &std::sync::Arc<Entry>| {
                    (key.len() + e.size()).try_into().unwrap_or(u32::MAX)
                })
                .time_to_live(Self::TTL)
                .build(),
        }
    }
}

impl crate::followers::Subscriber for PageCache {
    fn name(&self) -> &'static str {
        "visitors' page cache"
    }

    fn apply(&self, batch: &[StoredEvent]) {
        self.note_events(batch);
    }
}

impl PageCache {
    pub const TTL: Duration = Duration::from_secs(30);
    /// Plain and compressed bytes together: a few hundred topic pages.
    const MAX_BYTES: usize = 32 * 1024 * 1024;

    /// Called by the event follower with each batch of new events: empties the cache when
    /// one of them may change a public page (including kinds this version does not know).
    pub fn note_events(&self, events: &[StoredEvent]) {
        let public = |e: &StoredEvent| e.event.as_ref().is_none_or(Event::visible_to_visitors);
        if events.iter().any(public) {
            self.invalidate();
        }
    }

    /// Forgets every page: entries of an older generation are never served, and moka drops
    /// them in the background.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    fn get(&self, key: &str) -> Option<std::sync::Arc<Entry>> {
        let generation = self.generation.load(Ordering::Acquire);
        self.entries.get(key).filter(|e| e.generation == generation)
    }

    fn put(&self, key: String, entry: Entry) -> std::sync::Arc<Entry> {
        let entry = std::sync::Arc::new(entry);
        if entry.generation != self.generation.load(Ordering::Acquire) {
            return entry; // an event arrived while this page was rendered: already stale
        }
        if entry.size() <= Self::MAX_BYTES {
            self.entries.insert(key, entry.clone());
        }
        entry
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.run_pending_tasks();
        self.entries.entry_count() as usize
    }
}

/// Public pages whose content is the same for every anonymous visitor.
fn cacheable_path(path: &str) -> bool {
    path == "/"
        || path == "/latest"
        || path == "/latest.json"
        || path.starts_with("/c/")
        || path.starts_with("/t/")
        || path.starts_with("/sitemap")
        || path == "/kb"
        || path == "/kb.json"
        || path == "/kb.atom"
        || (path.starts_with("/kb/") && !path[4..].contains('/'))
        || path == "/status"
        || path == "/status/history"
        || path.starts_with("/status/incidents/") && !path[18..].contains('/')
        || matches!(
            path,
            "/status.atom" | "/status.rss" | "/history.atom" | "/history.rss"
        )
        || path.starts_with("/api/v2/")
        || matches!(
            path,
            "/changelog" | "/changelog.json" | "/changelog.atom" | "/roadmap" | "/roadmap.json"
        )
        || (path.starts_with("/changelog/")
            && !path[11..].contains('/')
            && path != "/changelog/new")
}

/// Whether the request follows a link on a results page of this site's search (`/search`):
/// the browser's `Referer` (same-origin requests carry the whole URL by default).
fn came_from_search(req: &ServiceRequest) -> bool {
    let Some(referer) = req
        .headers()
        .get(actix_web::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Ok(url) = url::Url::parse(referer) else {
        return false;
    };
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return false,
    };
    url.path() == "/search" && host == req.connection_info().host()
}

/// Middleware (innermost): answers anonymous GETs of public pages from the cache, and keeps
/// what the handlers render for them.
pub async fn anonymous_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        // A write on this node shows at once here; other nodes learn of it from its events.
        // Signing in or out, and "was this helpful?" (its counts are shown to staff only,
        // as `Event::KbVoted::visible_to_visitors` says), change no page visitors see.
        let invisible = matches!(req.path(), "/login" | "/logout")
            || (req.path().starts_with("/kb/") && req.path().ends_with("/vote"));
        let res = next.call(req).await?;
        if !invisible && (res.status().is_success() || res.status().is_redirection()) {
            state.pages.invalidate();
        }
        return Ok(res.map_into_left_body());
    }
    if req.method() == Method::GET {
        // Only topic views count visits from search: no URL parsing for other pages.
        let from_search = req.path().starts_with("/t/") && came_from_search(&req);
        state.views.record(req.path(), from_search);
    }
    let candidate = req.method() == Method::GET
        && req.cookie(SESSION_COOKIE).is_none()
        && cacheable_path(req.path());
    if !candidate {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let key = match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    let gzip_ok = accepts_gzip(&req);
    if let Some(entry) = state.pages.get(&key) {
        let res = respond(
            &entry,
            gzip_ok,
            HeaderValue::from_static("cache;desc=\"hit\""),
        );
        return Ok(req.into_response(res).map_into_right_body());
    }
    let generation = state.pages.generation.load(Ordering::Acquire);
    let csrf = req.extensions().get::<AnonCsrf>().map(|c| c.0.clone());
    let res = next.call(req).await?;
    let keep = res.status() == StatusCode::OK
        && !res.headers().contains_key(header::SET_COOKIE)
        && !res.headers().contains_key(header::CONTENT_ENCODING)
        && res.headers().contains_key(header::CONTENT_TYPE);
    if !keep {
        return Ok(res.map_into_left_body());
    }
    let (req, res) = res.into_parts();
    let timing = res.headers().get("server-timing").cloned();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("text/html; charset=utf-8"));
    let body = match actix_web::body::to_bytes(res.into_body()).await {
        Ok(b) => b,
        Err(_) => {
            let res = HttpResponse::InternalServerError().finish();
            return Ok(ServiceResponse::new(req, res).map_into_right_body());
        }
    };
    // A page that carries this visitor's token is theirs alone.
    let personal = csrf
        .filter(|t| !t.is_empty())
        .is_some_and(|t| contains(&body, t.as_bytes()));
    let entry = Entry {
        generation,
        content_type,
        gzip: gzip(&body),
        plain: body,
    };
    let entry = if personal {
        std::sync::Arc::new(entry)
    } else {
        state.pages.put(key, entry)
    };
    // A miss keeps the handler's own timing (query count and time).
    let timing = timing.unwrap_or(HeaderValue::from_static("cache;desc=\"miss\""));
    let res = respond(&entry, gzip_ok, timing);
    Ok(ServiceResponse::new(req, res).map_into_right_body())
}

fn respond(entry: &Entry, gzip_ok: bool, timing: HeaderValue) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, entry.content_type.clone()))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("Server-Timing", timing));
    if gzip_ok && !entry.gzip.is_empty() {
        res.insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(entry.gzip.clone())
    } else {
        res.body(entry.plain.clone())
    }
}

fn accepts_gzip(req: &ServiceRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Compressed once per entry, so at a better level than per-response compression can afford.
/// Level 1: a page is compressed once per miss, and on a crawl of old topics nearly every
/// request is a miss (the default level was a quarter of such a page's CPU); the output is
/// about a tenth larger.
fn gzip(body: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::fast(),
    );
    match enc.write_all(body).and_then(|_| enc.finish()) {
        Ok(v) => Bytes::from(v),
        Err(_) => Bytes::new(), // never for a Vec; served uncompressed if it were
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cache: &PageCache, size: usize) -> Entry {
        Entry {
            generation: cache.generation.load(Ordering::Acquire),
            content_type: HeaderValue::from_static("text/html"),
            plain: Bytes::from(vec![b'x'; size]),
            gzip: Bytes::new(),
        }
    }

    fn event(kind: &str, payload: &str) -> StoredEvent {
        StoredEvent::from(crate::db::events::EventRow {
            id: 1,
            kind: kind.into(),
            subject_id: None,
            actor_id: None,
            created_at: crate::db::now(),
            payload: payload.into(),
        })
    }

    #[test]
    fn public_events_empty_the_cache_and_private_ones_do_not() {
        let cache = PageCache::default();
        cache.put("/t/a/1".into(), entry(&cache, 10));
        cache.note_events(&[
            event("session.started", "{}"),
            event("notifications.read", "{}"),
        ]);
        assert!(cache.get("/t/a/1").is_some());
        let reply = r#"{"mentions":[],"post_number":2,"quotes":[],"staff":false,"topic_id":1}"#;
        assert!(event("post.created", reply).event.is_some());
        cache.note_events(&[event("session.started", "{}"), event("post.created", reply)]);
        assert!(cache.get("/t/a/1").is_none());
        // A kind nobody listed yet counts as public.
        cache.put("/t/a/1".into(), entry(&cache, 10));
        cache.note_events(&[event("incident.created", "{}")]);
        assert!(cache.get("/t/a/1").is_none());
    }

    #[test]
    fn a_page_rendered_before_an_event_is_not_kept() {
        let cache = PageCache::default();
        let stale = entry(&cache, 10);
        cache.invalidate();
        cache.put("/latest".into(), stale);
        assert!(cache.get("/latest").is_none());
    }

    #[test]
    fn memory_stays_within_the_budget_and_often_read_pages_survive_a_crawl() {
        let cache = PageCache::default();
        let page = PageCache::MAX_BYTES / 10;
        cache.put("/latest".into(), entry(&cache, page));
        for i in 0..50 {
            for _ in 0..5 {
                assert!(
                    cache.get("/latest").is_some(),
                    "the front page was pushed out"
                );
            }
            cache.put(format!("/t/x/{i}"), entry(&cache, page));
            cache.get(&format!("/t/x/{i}"));
        }
        cache.entries.run_pending_tasks();
        assert!(cache.entries.weighted_size() <= PageCache::MAX_BYTES as u64);
        assert!(cache.len() <= 10);
        assert!(cache.get("/latest").is_some(), "the page people read stays");
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let body = b"<p>hello hello hello hello</p>".repeat(100);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&body)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
