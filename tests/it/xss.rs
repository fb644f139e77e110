//! Every payload of tests/xss/payloads.txt, typed wherever people type on the forum (topic
//! title, body and tags, replies, edits, quotes), must come back as inert text or as safe
//! markup: on topic pages, lists, profiles, revisions, notifications, feeds, JSON, and in
//! forms that echo rejected input. Pages are tokenized like a browser would (tags,
//! attributes, raw-text elements, entity decoding), so a payload that escapes its text or
//! attribute context shows up as a tag, an event handler or a script URL.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::support::{
    Client, Resp, Server, TestDb, assert_well_formed_xml, forum_with_category, member,
    parse_topic_location, staff,
};

// ---- the payloads -------------------------------------------------------------------------

fn payloads() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xss/payloads.txt");
    let text = std::fs::read_to_string(path).expect("tests/xss/payloads.txt");
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        // The two characters backslash-n stand for a newline; other backslashes stay.
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

/// A title the form accepts (8 to 150 characters once spaces are collapsed) that keeps as
/// much of `payload` as possible.
fn title_for(payload: &str) -> String {
    let collapsed = payload.split_whitespace().collect::<Vec<_>>().join(" ");
    let title = if collapsed.chars().count() < 8 {
        format!("{collapsed} xss title")
    } else {
        collapsed.chars().take(150).collect()
    };
    title.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---- a small browser-like HTML tokenizer --------------------------------------------------

#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Elements whose content is text up to their end tag (raw text and RCDATA).
const RAW_TEXT: [&str; 9] = [
    "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
];

/// Start tags in document order, with lower-cased names and attribute names and raw values.
fn scan(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let lower = html.to_ascii_lowercase();
    let len = b.len();
    let slice = |from: usize, to: usize| html.get(from..to).unwrap_or("").to_string();
    let find_from = |needle: &str, from: usize| {
        lower
            .get(from..)
            .and_then(|s| s.find(needle))
            .map(|at| from + at)
    };
    let ws = |c: u8| c.is_ascii_whitespace() || c == 0x0c;
    let mut out = Vec::new();
    let mut i = 0;
    while i < len {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if lower[i..].starts_with("<!--") {
            i = find_from("-->", i + 4).map_or(len, |e| e + 3);
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        if next == b'!' || next == b'?' || next == b'/' {
            i = find_from(">", i + 1).map_or(len, |e| e + 1);
            continue;
        }
        if !next.is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < len && !(ws(b[j]) || b[j] == b'/' || b[j] == b'>') {
            j += 1;
        }
        let name = lower.get(i + 1..j).unwrap_or("").to_string();
        let mut attrs = Vec::new();
        loop {
            while j < len && (ws(b[j]) || b[j] == b'/') {
                j += 1;
            }
            if j >= len {
                break;
            }
            if b[j] == b'>' {
                j += 1;
                break;
            }
            let start = j;
            j += 1;
            while j < len && !(ws(b[j]) || b[j] == b'/' || b[j] == b'>' || b[j] == b'=') {
                j += 1;
            }
            let attr = lower.get(start..j).unwrap_or("").to_string();
            while j < len && ws(b[j]) {
                j += 1;
            }
            let mut value = String::new();
            if j < len && b[j] == b'=' {
                j += 1;
                while j < len && ws(b[j]) {
                    j += 1;
                }
                if j < len && (b[j] == b'"' || b[j] == b'\'') {
                    let quote = b[j];
                    let from = j + 1;
                    j = from;
                    while j < len && b[j] != quote {
                        j += 1;
                    }
                    value = slice(from, j);
                    j = (j + 1).min(len);
                } else {
                    let from = j;
                    while j < len && !ws(b[j]) && b[j] != b'>' {
                        j += 1;
                    }
                    value = slice(from, j);
                }
            }
            attrs.push((attr, value));
        }
        i = j;
        if name == "plaintext" {
            out.push(Tag { name, attrs });
            break;
        }
        if RAW_TEXT.contains(&name.as_str()) {
            i = find_from(&format!("</{name}"), i).unwrap_or(len);
        }
        out.push(Tag { name, attrs });
    }
    out
}

/// Decodes character references once, as a browser does in attribute values.
fn decode_entities(s: &str) -> String {
    const NAMED: [(&str, char); 14] = [
        ("amp", '&'),
        ("lt", '<'),
        ("gt", '>'),
        ("quot", '"'),
        ("apos", '\''),
        ("colon", ':'),
        ("Tab", '\t'),
        ("NewLine", '\n'),
        ("lpar", '('),
        ("rpar", ')'),
        ("sol", '/'),
        ("nbsp", '\u{a0}'),
        ("period", '.'),
        ("comma", ','),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'outer: while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(num) = rest.strip_prefix("&#") {
            let hex = num.starts_with(['x', 'X']);
            let digits = if hex { &num[1..] } else { num };
            let n = digits
                .chars()
                .take_while(|c| {
                    if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    }
                })
                .count();
            if n > 0 {
                let value = u32::from_str_radix(&digits[..n.min(8)], if hex { 16 } else { 10 })
                    .unwrap_or(0xfffd);
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                rest = &rest[2 + usize::from(hex) + n..];
                rest = rest.strip_prefix(';').unwrap_or(rest);
                continue;
            }
        } else {
            for (name, c) in NAMED {
                if rest[1..].starts_with(name) {
                    out.push(c);
                    rest = &rest[1 + name.len()..];
                    rest = rest.strip_prefix(';').unwrap_or(rest);
                    continue 'outer;
                }
            }
        }
        out.push('&');
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

/// Would a browser run or render this URL as active content? (Leading/embedded whitespace
/// and control characters are dropped, as URL parsing does, and more.)
fn dangerous_url(value: &str) -> bool {
    let squeezed: String = decode_entities(value)
        .chars()
        .filter(|c| *c > ' ' && *c != '\u{7f}')
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "livescript:", "data:"]
        .iter()
        .any(|scheme| squeezed.starts_with(scheme))
}

/// Elements that never belong in user content (the site's own pages may load a script
/// of their own: those are compared with the page without payloads).
const FORBIDDEN: [&str; 22] = [
    "script",
    "iframe",
    "object",
    "embed",
    "style",
    "svg",
    "math",
    "base",
    "applet",
    "frame",
    "frameset",
    "noscript",
    "template",
    "xmp",
    "plaintext",
    "isindex",
    "noembed",
    "noframes",
    "keygen",
    "bgsound",
    "layer",
    "portal",
];

/// Elements the site's shell and forms use; user content must not add any.
const COUNTED: [&str; 13] = [
    "form", "input", "button", "textarea", "select", "option", "link", "meta", "title", "html",
    "head", "body", "script",
];

const URL_ATTRS: [&str; 20] = [
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "background",
    "poster",
    "lowsrc",
    "dynsrc",
    "code",
    "codebase",
    "cite",
    "longdesc",
    "ping",
    "manifest",
    "icon",
    "profile",
    "usemap",
    "archive",
];

/// Everything executable in `html`, described.
fn findings(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in scan(html) {
        let name = tag.name.as_str();
        if FORBIDDEN.contains(&name) && !(name == "script" && own_script(&tag)) {
            found.push(format!("<{name}> element"));
        }
        if name == "meta" && tag.attr("http-equiv").is_some() {
            found.push("<meta http-equiv>".into());
        }
        for (attr, value) in &tag.attrs {
            if attr.starts_with("on") {
                found.push(format!("event handler {attr}={value:?} on <{name}>"));
            }
            if attr == "style" {
                found.push(format!("style={value:?} on <{name}>"));
            }
            if attr == "srcdoc" {
                found.push(format!("srcdoc on <{name}>"));
            }
            if URL_ATTRS.contains(&attr.as_str()) && dangerous_url(value) {
                found.push(format!("{attr}={value:?} on <{name}>"));
            }
            if attr == "srcset" || attr == "imagesrcset" {
                let decoded = decode_entities(value);
                if decoded.split(',').any(|c| dangerous_url(c.trim())) {
                    found.push(format!("{attr}={value:?} on <{name}>"));
                }
            }
        }
    }
    found
}

/// A script of the site itself: loaded from its own /assets/, with no other attributes.
fn own_script(tag: &Tag) -> bool {
    tag.attr("src")
        .is_some_and(|s| s.starts_with("/assets/") && !s.contains(':'))
        && tag
            .attrs
            .iter()
            .all(|(n, _)| n == "src" || n == "defer" || n == "async")
}

/// How many of each COUNTED element (inputs other than task-list checkboxes).
fn counts(html: &str) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = COUNTED.iter().map(|n| (n.to_string(), 0)).collect();
    for tag in scan(html) {
        if tag.name == "input"
            && tag
                .attr("type")
                .is_some_and(|t| t.eq_ignore_ascii_case("checkbox"))
        {
            continue;
        }
        if let Some(n) = counts.get_mut(&tag.name) {
            *n += 1;
        }
    }
    counts
}

/// Checks one page (or fragment) against the counts of the same kind of page without payloads.
struct Checker {
    /// Executable or page-altering output: scripts, handlers, script URLs, forms, styles.
    failures: Vec<String>,
    /// Form controls (inputs, buttons, text areas, selects) added by user content.
    controls: Vec<String>,
    pages: usize,
}

const CONTROLS: [&str; 5] = ["input", "button", "textarea", "select", "option"];

impl Checker {
    fn check(&mut self, what: &str, html: &str, baseline: &BTreeMap<String, usize>) {
        self.pages += 1;
        for f in findings(html) {
            self.failures.push(format!("{what}: {f}"));
        }
        let got = counts(html);
        for (name, n) in &got {
            let want = baseline.get(name).copied().unwrap_or(0);
            if *n != want {
                let message =
                    format!("{what}: {n} <{name}> elements, the page without payloads has {want}");
                if CONTROLS.contains(&name.as_str()) {
                    self.controls.push(message);
                } else {
                    self.failures.push(message);
                }
            }
        }
    }

    fn check_status(&mut self, what: &str, r: &Resp, expected: &[u16]) {
        if !expected.contains(&r.status) {
            self.failures.push(format!(
                "{what}: status {} (expected {expected:?})",
                r.status
            ));
        }
    }

    /// Every `cooked` HTML fragment in a topic's JSON.
    fn check_json(&mut self, what: &str, r: &Resp) {
        self.check_status(what, r, &[200]);
        if !r
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/json")
        {
            self.failures.push(format!("{what}: not served as JSON"));
        }
        let Ok(v) = serde_json::from_str::<Value>(&r.body) else {
            self.failures.push(format!("{what}: not JSON"));
            return;
        };
        let none = counts("");
        for p in v["posts"].as_array().into_iter().flatten() {
            let cooked = p["cooked"].as_str().unwrap_or("");
            self.check(&format!("{what} post {}", p["id"]), cooked, &none);
        }
    }

    fn finish(self) {
        let first = |v: &[String]| v.iter().take(60).cloned().collect::<Vec<_>>().join("\n");
        assert!(
            self.failures.is_empty(),
            "{} unsafe outputs in {} pages checked; first ones:\n{}",
            self.failures.len(),
            self.pages,
            first(&self.failures)
        );
        assert!(
            self.controls.is_empty(),
            "nothing executable got through ({} pages checked), but user content adds form \
             controls in {} places (the sanitizer allows <input> and drops a type other than checkbox, \
             leaving a text field):\n{}",
            self.pages,
            self.controls.len(),
            first(&self.controls)
        );
    }
}

// ---- the test ------------------------------------------------------------------------------

/// A logged-in client that reuses one CSRF token for many posts.
struct Writer<'a> {
    client: &'a Client,
    token: String,
}

impl Writer<'_> {
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.token.as_str())];
        all.extend_from_slice(fields);
        self.client.post_form(path, &all)
    }
}

#[test]
fn no_payload_survives_as_markup_anywhere_it_is_shown() {
    let started = Instant::now();
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "xss_agent");
    let watcher = member(&server, "xss_watcher");
    let anon = server.client();
    let w = Writer {
        client: &agent,
        token: agent.token(),
    };
    let payloads = payloads();
    assert!(
        payloads.len() > 400,
        "the corpus has {} payloads",
        payloads.len()
    );
    let mut checker = Checker {
        failures: Vec::new(),
        controls: Vec::new(),
        pages: 0,
    };

    // The watcher hears about every new topic: payload titles in notification sentences.
    let r = watcher.post_with_token("/c/billing/watch", &[("level", "watching")]);
    assert_eq!(r.status, 303);

    // Baselines: the same pages with harmless content.
    let (_, btid) = agent.create_topic(
        &cat,
        "A harmless baseline topic",
        "Plain *text* with a [link](https://example.com).\n\n- [x] done",
        "plain",
    );
    let bfirst = agent.json(&format!("/t/{btid}.json"))["posts"][0]["id"]
        .as_i64()
        .unwrap();
    let r = w.post(
        &format!("/p/{bfirst}/edit"),
        &[
            ("raw", "Plain text, edited."),
            ("title", "A harmless baseline topic, edited"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let bslug2 = parse_topic_location(r.location()).0;
    let base_topic = counts(&anon.get(&format!("/t/{bslug2}/{btid}")).body);
    let base_revisions = counts(&anon.get(&format!("/p/{bfirst}/revisions")).body);
    let base_edit = counts(&agent.get(&format!("/p/{bfirst}/edit")).body);
    let base_new_topic_errors = {
        let r = w.post(
            "/new-topic",
            &[
                ("category", &cat),
                ("title", "x"),
                ("raw", ""),
                ("tags", "bad tag!"),
                ("confirmed", "1"),
            ],
        );
        assert_eq!(r.status, 422);
        counts(&r.body)
    };
    let base_latest = counts(&anon.get("/latest").body);
    let base_profile = counts(&anon.get("/u/xss_agent").body);
    let base_search = counts(&anon.get("/search?q=harmless").body);
    let base_notifications = {
        let started = Instant::now();
        loop {
            let page = watcher.get("/notifications").body;
            if page.contains("<li class=\"unread\">") {
                break counts(&page);
            }
            assert!(
                started.elapsed().as_secs() < 5,
                "the watcher hears about the baseline topic"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    for (what, base) in [
        ("baseline topic", &base_topic),
        ("baseline revisions", &base_revisions),
        ("baseline edit form", &base_edit),
        ("baseline form errors", &base_new_topic_errors),
    ] {
        assert!(
            base.get("form").copied().unwrap_or(0) >= 1,
            "{what} has the search form"
        );
    }
    for (what, html) in [
        (
            "baseline topic",
            anon.get(&format!("/t/{bslug2}/{btid}")).body,
        ),
        (
            "baseline staff topic",
            agent.get(&format!("/t/{bslug2}/{btid}")).body,
        ),
        ("baseline latest", anon.get("/latest").body),
    ] {
        assert_eq!(
            findings(&html),
            Vec::<String>::new(),
            "{what}: the shell itself is clean"
        );
    }

    // One topic collects every payload as a reply.
    let (aslug, atid) = agent.create_topic(&cat, "Every payload as a reply", "Replies below.", "");
    let mut replies: Vec<(i64, usize)> = Vec::new();
    let mut topics: Vec<(String, i64, usize)> = Vec::new();

    for (i, payload) in payloads.iter().enumerate() {
        let label = format!("payload #{i} {payload:?}");

        // Rejected input echoed back: title, body and tags in the new-topic form.
        let r = w.post(
            "/new-topic",
            &[
                ("category", &cat),
                ("title", payload),
                ("raw", payload),
                ("tags", payload),
            ],
        );
        // 200: the no-script "do these answer your question?" step; 422: the tags.
        checker.check_status(
            &format!("{label}: new topic with payload tags"),
            &r,
            &[200, 422],
        );
        if r.status == 422 || r.status == 200 {
            checker.check(
                &format!("{label}: echoed in the new-topic form"),
                &r.body,
                &base_new_topic_errors,
            );
        }

        // Title and body of a new topic.
        let title = title_for(payload);
        let r = w.post(
            "/new-topic",
            &[
                ("category", &cat),
                ("title", &title),
                ("raw", payload),
                ("tags", "xss"),
                ("confirmed", "1"),
            ],
        );
        checker.check_status(&format!("{label}: new topic"), &r, &[303]);
        if r.status != 303 {
            continue;
        }
        let (slug, tid, _) = parse_topic_location(r.location());
        let page = anon.get(&format!("/t/{slug}/{tid}"));
        checker.check_status(&format!("{label}: topic page"), &page, &[200]);
        checker.check(
            &format!("{label}: topic page (title and body)"),
            &page.body,
            &base_topic,
        );
        let json = anon.get(&format!("/t/{tid}.json"));
        checker.check_json(&format!("{label}: topic JSON"), &json);
        let first = serde_json::from_str::<Value>(&json.body)
            .ok()
            .and_then(|v| v["posts"][0]["id"].as_i64());

        // A reply.
        let r = w.post(&format!("/t/{atid}/reply"), &[("raw", payload)]);
        checker.check_status(&format!("{label}: reply"), &r, &[303]);
        if let (303, Some(post)) = (r.status, parse_topic_location(r.location()).2) {
            replies.push((post, i));
        }

        // An edit of the topic's first post, title included.
        let Some(first) = first else { continue };
        let edit_title = title_for(&format!("{payload} (edited)"));
        let r = w.post(
            &format!("/p/{first}/edit"),
            &[
                ("raw", &format!("{payload}\n\nedited")),
                ("title", &edit_title),
            ],
        );
        checker.check_status(&format!("{label}: edit"), &r, &[303]);
        let (slug, _, _) = if r.status == 303 {
            parse_topic_location(r.location())
        } else {
            (slug, tid, None)
        };
        let page = anon.get(&format!("/t/{slug}/{tid}"));
        checker.check(
            &format!("{label}: topic page after the edit"),
            &page.body,
            &base_topic,
        );
        checker.check_json(
            &format!("{label}: topic JSON after the edit"),
            &anon.get(&format!("/t/{tid}.json")),
        );
        let revisions = anon.get(&format!("/p/{first}/revisions"));
        checker.check_status(&format!("{label}: revisions"), &revisions, &[200]);
        checker.check(
            &format!("{label}: revisions page"),
            &revisions.body,
            &base_revisions,
        );
        let form = agent.get(&format!("/p/{first}/edit"));
        checker.check(&format!("{label}: edit form"), &form.body, &base_edit);
        topics.push((slug, tid, i));
    }
    assert!(
        topics.len() > payloads.len() * 9 / 10,
        "most payloads made a topic"
    );

    // The reply topic, page by page, with each reply quoted into the reply box.
    let pages = anon.json(&format!("/t/{atid}.json"))["pages"]
        .as_i64()
        .unwrap();
    for page in 1..=pages {
        let path = format!("/t/{aslug}/{atid}?page={page}");
        let r = if page == 1 {
            anon.get(&format!("/t/{aslug}/{atid}"))
        } else {
            anon.get(&path)
        };
        checker.check(&format!("replies page {page}"), &r.body, &base_topic);
        checker.check_json(
            &format!("replies JSON page {page}"),
            &anon.get(&format!("/t/{atid}.json?page={page}")),
        );
        let staff_page = agent.get(&path).body;
        checker.check(
            &format!("replies page {page} seen by staff"),
            &staff_page,
            &counts(&staff_page),
        );
    }
    let reply_page = |page: usize| format!("/t/{aslug}/{atid}?page={page}");
    let mut staff_baselines: BTreeMap<usize, BTreeMap<String, usize>> = BTreeMap::new();
    for (n, (post, i)) in replies.iter().enumerate() {
        let page = (n + 1) / 50 + 1; // post number n+2
        let base = staff_baselines
            .entry(page)
            .or_insert_with(|| counts(&agent.get(&reply_page(page)).body))
            .clone();
        let quoted = agent.get(&format!("{}&quote={post}", reply_page(page)));
        checker.check(
            &format!("payload #{i} {:?}: quoted in the reply box", payloads[*i]),
            &quoted.body,
            &base,
        );
    }

    // Search: the query echoed back, and result snippets around "alert".
    for (i, payload) in payloads.iter().enumerate() {
        let q: String = url::form_urlencoded::byte_serialize(payload.as_bytes()).collect();
        let r = anon.get(&format!("/search?q={q}"));
        let what = format!("payload #{i} {payload:?}: searched for");
        checker.check_status(&what, &r, &[200]);
        checker.check(&what, &r.body, &base_search);
    }
    let indexed = Instant::now();
    while !anon
        .get("/search?q=alert")
        .body
        .contains("<li class=\"result\">")
        && indexed.elapsed().as_secs() < 10
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    if !anon
        .get("/search?q=alert")
        .body
        .contains("<li class=\"result\">")
    {
        checker
            .failures
            .push("search for \"alert\" found nothing: snippets unchecked".into());
    }
    let mut next = Some("/search?q=alert".to_string());
    let mut search_pages = 0;
    let mut search_hits = 0;
    while let Some(path) = next.take().filter(|_| search_pages < 30) {
        let page = anon.get(&path);
        search_hits += page.body.matches("<li class=\"result\">").count();
        checker.check(&format!("search results {path}"), &page.body, &base_search);
        search_pages += 1;
        if let Some(at) = page.body.find("rel=\"next\" href=\"") {
            let start = at + "rel=\"next\" href=\"".len();
            next = Some(
                page.body[start..start + page.body[start..].find('"').unwrap()]
                    .replace("&amp;", "&"),
            );
        }
    }

    // Lists, feeds, profile, notifications.
    let mut next = Some("/latest".to_string());
    let mut list_pages = 0;
    while let Some(path) = next.take() {
        let page = anon.get(&path);
        checker.check(&format!("list {path}"), &page.body, &base_latest);
        list_pages += 1;
        if let Some(at) = page.body.find("rel=\"next\"") {
            let start = page.body[..at].rfind("href=\"").unwrap() + 6;
            next = Some(
                page.body[start..start + page.body[start..].find('"').unwrap()]
                    .replace("&amp;", "&"),
            );
        }
    }
    assert!(list_pages >= topics.len() / 30, "walked every list page");
    checker.check_status("latest JSON", &anon.get("/latest.json"), &[200]);
    checker.check("profile", &anon.get("/u/xss_agent").body, &base_profile);
    for feed in ["/latest.atom", "/c/billing.atom"] {
        let xml = anon.get(feed).body;
        assert_well_formed_xml(&xml);
        let mut rest = xml.as_str();
        while let Some(at) = rest.find("<content type=\"html\">") {
            rest = &rest[at + "<content type=\"html\">".len()..];
            let end = rest.find("</content>").unwrap();
            checker.check(
                &format!("{feed} entry content"),
                &crate::support::unescape(&rest[..end]),
                &counts(""),
            );
        }
    }
    // Notifications are derived in the background: wait for all of them.
    let waiting = Instant::now();
    loop {
        let header = watcher.get("/latest").body;
        let unread: usize = header
            .split("<span class=\"count\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if unread > topics.len() || waiting.elapsed().as_secs() >= 15 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut next = Some("/notifications".to_string());
    let mut seen = 0;
    while let Some(path) = next.take() {
        let page = watcher.get(&path);
        checker.check(
            &format!("notifications {path}"),
            &page.body,
            &base_notifications,
        );
        seen += page.body.matches("<li class=\"unread\">").count();
        if let Some(at) = page.body.find("href=\"/notifications?before=") {
            let start = at + 6;
            next =
                Some(page.body[start..start + page.body[start..].find('"').unwrap()].to_string());
        }
    }
    assert!(
        seen >= topics.len(),
        "the watcher was told about every topic ({seen})"
    );
    eprintln!(
        "xss: {} payloads, {search_hits} search snippets, {} pages checked in {:?}",
        payloads.len(),
        checker.pages,
        started.elapsed()
    );
    checker.finish();
}

// ---- the checker checks itself ---------------------------------------------------------------

#[test]
fn the_checker_spots_what_an_unsanitized_page_would_contain() {
    let flagged = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<IMG SRC=x OnErRoR=alert(1)>",
        "<img/src/onerror=alert(1)>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<a href=\"java&Tab;script:alert(1)\">x</a>",
        "<a href=\" &#14;  javascript:alert(1)\">x</a>",
        "<a href=javascript&colon;alert&lpar;1&rpar;>x</a>",
        "<a href='vbscript:msgbox(1)'>x</a>",
        "<iframe srcdoc=\"x\"></iframe>",
        "<div style=\"x:expression(alert(1))\">x</div>",
        "<img srcset=\"x 1x, javascript:alert(1) 2x\">",
        "<svg><a xlink:href=\"javascript:alert(1)\">x</a></svg>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<form action=\"https://x.example\"><button formaction=\"javascript:alert(1)\">x</button></form>",
        "<textarea></textarea><script>alert(1)</script>",
        "<object data=\"data:text/html;base64,PHNjcmlwdD4=\"></object>",
        "<base href=\"https://evil.example/\">",
    ];
    for html in flagged {
        let in_page = format!("<p>before</p>{html}<p>after</p>");
        let extra = counts(&in_page) != counts("<p>before</p><p>after</p>");
        assert!(
            !findings(&in_page).is_empty() || extra,
            "not flagged: {html}"
        );
    }
    let clean = [
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "<a href=\"https://x.example/?q=javascript:alert(1)\" rel=\"nofollow\">x</a>",
        "<code>&lt;img src=x onerror=alert(1)&gt;</code>",
        "<textarea name=\"raw\">&lt;/textarea&gt;&lt;script&gt;alert(1)</textarea>",
        "<title>&lt;/title&gt;&lt;script&gt;</title>",
        "<input type=\"checkbox\" disabled=\"\"> done",
        "<img src=\"x\" alt=\"javascript:alert(1)\">",
        "<a href=\"/t/x/1#p-2\">javascript:alert(1)</a>",
        "<p title=\"onerror=alert(1)\">x</p>",
    ];
    for html in clean {
        assert_eq!(findings(html), Vec::<String>::new(), "false alarm: {html}");
    }
    assert_eq!(
        decode_entities("&#x6A&#x61;&#0000106;&colon;&amp;#106;"),
        "jaj:&#106;"
    );
    assert!(dangerous_url("&#x20;JaVaScRiPt:alert(1)"));

    // Without the sanitizer (Markdown rendered as is), most payloads would be caught.
    let all = payloads();
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    options.insert(pulldown_cmark::Options::ENABLE_TASKLISTS);
    options.insert(pulldown_cmark::Options::ENABLE_FOOTNOTES);
    let unsanitized: Vec<&String> = all
        .iter()
        .filter(|p| {
            let mut html = String::new();
            pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(p, options));
            !findings(&html).is_empty() || counts(&html) != counts("")
        })
        .collect();
    assert!(
        unsanitized.len() * 10 > all.len() * 7,
        "only {} of {} payloads would be caught unsanitized",
        unsanitized.len(),
        all.len()
    );
    assert!(
        unsanitized
            .iter()
            .any(|p| *p == "<script>alert(1)</script>")
    );
    assert!(!dangerous_url("https://example.com/javascript:x"));
    assert!(payloads().iter().filter(|p| p.contains('\n')).count() > 10);
    assert!(
        payloads()
            .iter()
            .any(|p| p == "\\<script>alert(1)\\</script>"),
        "backslashes kept"
    );
}
