//! `townhall seed-bench`: fills an empty database with a large, generated support community
//! for benchmarks (see BENCHMARKS.md). Deterministic for a given seed: the same users,
//! topics, posts, likes and events every run; only the clock moves (timestamps end at the
//! hour the generator runs).
//!
//! Speed comes from three choices: post bodies are drawn from a pool of a few thousand
//! markdown texts cooked once with the real renderer, each post then made unique by a
//! generated plain-text closing paragraph whose HTML is known without cooking; rows get
//! their ids up front and go in as multi-row inserts, tens of thousands per transaction;
//! and one thread generates while another writes.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::schema::{
    categories, events, likes, posts, tags, topic_tags, topic_watches, topics, users,
};
use crate::db::{self, Backend, Db, DbConn, bulk_insert};
use crate::error::AppError;
use crate::events::{CategoryPayload, Event, Seed};

/// Every generated account logs in with this password.
pub const PASSWORD: &str = "bench-password";
/// Every `STAFF_EVERY`th user (bench33, bench66, …) is staff; bench0 is the admin.
pub const STAFF_EVERY: u32 = 33;
/// The topic the load suite reads as "1,000+ replies": 1,250 posts, 25 full pages.
pub const LONG_REPLIES: u64 = 1_249;
/// The topic the load suite reads as "50 replies".
pub const FIFTY_REPLIES: u64 = 50;

/// SQLite's limit on bound parameters per statement (PostgreSQL allows 65,535).
const MAX_PARAMS: usize = 32_766;
/// Posts per write transaction (with their topics, likes, watches and events).
const POSTS_PER_BATCH: usize = 50_000;
const QUESTION_POOL: usize = 1_024;
const REPLY_POOL: usize = 4_096;
/// Share of topics with an accepted answer, and of replies written by staff.
const SOLVED_SHARE: f64 = 0.40;
const STAFF_REPLY_SHARE: f64 = 0.15;
const HISTORY_DAYS: i64 = 730;

#[derive(Debug, Clone)]
pub struct Options {
    pub users: u32,
    pub topics: u32,
    /// All posts, first posts included.
    pub posts: u64,
    /// Knowledge-base articles, each built from a solved topic (as staff would) and linked to it.
    pub kb: u32,
    /// Status-page incidents over the last year (with 20 components in 4 groups).
    pub incidents: u32,
    /// Ideas (in one ideas category) with votes and statuses; the first has up to
    /// `BIG_IDEA_VOTERS` voters and stays open, for the publishing benchmark.
    pub ideas: u32,
    /// Published changelog posts, each linking ideas (which ship) and a solved topic.
    pub changelog: u32,
    pub seed: u64,
    /// No progress lines (tests and benches).
    pub quiet: bool,
}

/// What was generated, and where the load suite's special pages are.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub users: u64,
    pub staff: u64,
    pub categories: u64,
    pub tags: u64,
    pub topics: u64,
    pub posts: u64,
    pub replies: u64,
    pub staff_replies: u64,
    pub solved: u64,
    pub likes: u64,
    pub watches: u64,
    pub topic_tags: u64,
    pub events: u64,
    pub rows: u64,
    pub last_event_id: i64,
    pub seconds: f64,
    /// (id, path) of the topic with `LONG_REPLIES` replies, when there were enough posts.
    pub long_topic: Option<(i64, String)>,
    pub fifty_topic: Option<(i64, String)>,
    /// (slug, topics) of the biggest category.
    pub biggest_category: (String, u64),
    /// (id, replies, path) of the longest topic.
    pub longest_topic: (i64, u64, String),
    /// Status-page incidents and maintenances written.
    pub incidents: u64,
    /// Knowledge-base articles written (published and drafts) and their votes.
    pub articles: u64,
    pub article_votes: u64,
    /// The path of a published article, for the load suite.
    pub sample_article: Option<String>,
    /// Ideas, their votes, and changelog posts written.
    pub ideas: u64,
    pub idea_votes: u64,
    pub changelog_posts: u64,
    /// (id, voters) of the open idea with the most voters (the publishing benchmark's).
    pub big_idea: Option<(i64, u64)>,
}

// ---- text -------------------------------------------------------------------------------

/// The English-like support vocabulary: several hundred words that searches can find.
#[rustfmt::skip]
mod words {
    pub const NOUNS: &[&str] = &[
        "domain", "subdomain", "nameserver", "record", "zone", "resolver", "registrar", "transfer",
        "certificate", "redirect", "cache", "firewall", "port", "database", "backup", "snapshot",
        "mailbox", "inbox", "alias", "forwarder", "webmail", "quota", "invoice", "payment",
        "refund", "subscription", "plan", "renewal", "coupon", "receipt", "card", "account",
        "login", "password", "session", "cookie", "token", "webhook", "deployment", "build",
        "pipeline", "release", "rollback", "container", "cron", "job", "queue", "worker", "log",
        "error", "timeout", "outage", "incident", "status", "uptime", "bandwidth", "storage",
        "disk", "inode", "memory", "CPU", "load", "traffic", "visitor", "plugin", "theme",
        "permalink", "sitemap", "crawler", "migration", "propagation", "address", "gateway",
        "proxy", "healthcheck", "dashboard", "panel", "setting", "profile", "team", "role",
        "permission", "ticket", "agent", "chat", "phone", "notification", "alert", "limit", "usage",
        "metric", "graph", "report", "export", "import", "file", "folder", "upload", "download",
        "archive", "image", "video", "library", "checkout", "cart", "store", "order", "customer",
        "form", "captcha", "blocklist", "reputation", "bounce", "header", "signature", "key",
        "secret", "variable", "environment", "configuration", "version", "update", "patch",
        "dependency", "package", "module", "extension", "runtime", "framework", "website", "site",
        "page", "homepage", "staging", "server", "instance", "cluster", "volume", "network",
        "hostname", "endpoint", "request", "response", "browser", "app", "client", "invoice", "tax",
        "discount", "trial", "balance", "charge", "bill", "contract", "seat", "license",
    ];
    pub const TECH: &[&str] = &[
        "DNS", "SSL", "TLS", "HTTPS", "CNAME", "MX", "TXT", "SPF", "DKIM", "DMARC", "TTL", "SSH",
        "SFTP", "FTP", "MySQL", "PostgreSQL", "IMAP", "SMTP", "POP3", "2FA", "API", "CDN",
        "WordPress", "PHP", "Node", "Python", "Laravel", "Django", "nginx", "Apache", "htaccess",
        "WHOIS", "DNSSEC", "IPv6", "IPv4", "cPanel", "Git", "Docker", "Redis", "CSV", "JSON",
        "OAuth", "SSO", "SAML", "VAT", "PayPal", "Stripe", "Cloudflare", "Letsencrypt", "HSTS",
    ];
    pub const ADJECTIVES: &[&str] = &[
        "slow", "broken", "expired", "invalid", "missing", "wrong", "new", "old", "custom",
        "default", "primary", "secondary", "shared", "dedicated", "managed", "free", "paid",
        "annual", "monthly", "temporary", "intermittent", "blank", "empty", "duplicate", "outdated",
        "insecure", "mixed", "strange", "different", "correct", "public", "private", "internal",
        "external", "automatic", "manual", "pending", "failed", "suspended", "unexpected", "cached",
        "stale", "huge", "partial", "unreachable", "encrypted", "self-signed", "wildcard",
    ];
    /// (base, past, -ing, third person)
    pub const VERBS: &[(&str, &str, &str, &str)] = &[
        ("deploy", "deployed", "deploying", "deploys"),
        ("renew", "renewed", "renewing", "renews"),
        ("configure", "configured", "configuring", "configures"),
        ("install", "installed", "installing", "installs"),
        ("update", "updated", "updating", "updates"),
        ("upgrade", "upgraded", "upgrading", "upgrades"),
        ("restart", "restarted", "restarting", "restarts"),
        ("migrate", "migrated", "migrating", "migrates"),
        ("transfer", "transferred", "transferring", "transfers"),
        ("point", "pointed", "pointing", "points"),
        ("verify", "verified", "verifying", "verifies"),
        ("enable", "enabled", "enabling", "enables"),
        ("disable", "disabled", "disabling", "disables"),
        ("reset", "reset", "resetting", "resets"),
        ("change", "changed", "changing", "changes"),
        ("remove", "removed", "removing", "removes"),
        ("add", "added", "adding", "adds"),
        ("create", "created", "creating", "creates"),
        ("move", "moved", "moving", "moves"),
        ("rename", "renamed", "renaming", "renames"),
        ("clear", "cleared", "clearing", "clears"),
        ("flush", "flushed", "flushing", "flushes"),
        ("purge", "purged", "purging", "purges"),
        ("check", "checked", "checking", "checks"),
        ("test", "tested", "testing", "tests"),
        ("cancel", "cancelled", "cancelling", "cancels"),
        ("charge", "charged", "charging", "charges"),
        ("resolve", "resolved", "resolving", "resolves"),
        ("expire", "expired", "expiring", "expires"),
        ("load", "loaded", "loading", "loads"),
        ("block", "blocked", "blocking", "blocks"),
        ("connect", "connected", "connecting", "connects"),
        ("upload", "uploaded", "uploading", "uploads"),
        ("export", "exported", "exporting", "exports"),
        ("restore", "restored", "restoring", "restores"),
        ("schedule", "scheduled", "scheduling", "schedules"),
        ("rebuild", "rebuilt", "rebuilding", "rebuilds"),
        ("publish", "published", "publishing", "publishes"),
        ("redirect", "redirected", "redirecting", "redirects"),
        ("rotate", "rotated", "rotating", "rotates"),
        ("whitelist", "whitelisted", "whitelisting", "whitelists"),
        ("regenerate", "regenerated", "regenerating", "regenerates"),
        ("reinstall", "reinstalled", "reinstalling", "reinstalls"),
        ("downgrade", "downgraded", "downgrading", "downgrades"),
        ("sync", "synced", "syncing", "syncs"),
        ("import", "imported", "importing", "imports"),
    ];
    pub const FAILURES: &[&str] = &[
        "fails", "times out", "returns a 500", "returns a 502", "returns a 404",
        "shows a blank page", "keeps loading", "is rejected", "bounces", "gets stuck",
        "does nothing", "logs me out", "hangs for a minute", "shows an old version",
    ];
    pub const WHEN: &[&str] = &[
        "since yesterday", "this morning", "after the update", "since last week",
        "every few hours", "since Monday", "after the migration", "right after checkout",
        "only on mobile", "only in Chrome", "for some customers", "at random times",
        "after I changed plans", "since the renewal", "on the staging site only",
    ];
    pub const NAMES: &[&str] = &[
        "blue", "bakery", "north", "studio", "pixel", "garden", "river", "craft", "urban", "coffee",
        "atlas", "nova", "maple", "harbor", "summit", "lumen", "orbit", "cedar", "fox", "ember",
        "willow", "stone", "bright", "cloud", "fresh", "green", "metro", "prime",
    ];
    pub const TLDS: &[&str] = &["com", "net", "org", "io", "de", "co.uk", "shop", "dev"];
    pub const TAGS: &[&str] = &[
        "dns", "ssl", "email", "billing", "wordpress", "php", "nginx", "apache", "mysql", "backup",
        "migration", "domain-transfer", "renewal", "invoice", "refund", "login", "2fa", "sso",
        "api", "webhooks", "deploy", "git", "docker", "cron", "cdn", "cache", "redirects",
        "performance", "timeout", "outage", "spf", "dkim", "dmarc", "spam", "ftp", "ssh", "python",
        "node", "laravel", "vat",
    ];
    pub const DOC_SECTIONS: &[&str] = &[
        "dns", "ssl", "email", "billing", "hosting", "accounts", "api", "deploy", "databases",
    ];
}

fn pick<'a, T: ?Sized>(rng: &mut StdRng, items: &'a [&'a T]) -> &'a T {
    items[rng.gen_range(0..items.len())]
}

fn verb(rng: &mut StdRng) -> (&'static str, &'static str, &'static str, &'static str) {
    words::VERBS[rng.gen_range(0..words::VERBS.len())]
}

/// A noun, sometimes qualified by a technical term ("DNS record", "SMTP password").
fn noun(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.35) {
        format!("{} {}", pick(rng, words::TECH), pick(rng, words::NOUNS))
    } else {
        pick(rng, words::NOUNS).to_string()
    }
}

fn domain(rng: &mut StdRng) -> String {
    format!(
        "{}{}.{}",
        pick(rng, words::NAMES),
        pick(rng, words::NAMES),
        pick(rng, words::TLDS)
    )
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One sentence of a question (asking) or an answer.
fn sentence(rng: &mut StdRng, asking: bool) -> String {
    let (v, past, ing, third) = verb(rng);
    let (n1, n2) = (noun(rng), noun(rng));
    let adj = pick(rng, words::ADJECTIVES);
    let s = if asking {
        match rng.gen_range(0..9) {
            0 => format!(
                "{} my {n1} {}",
                capitalize(pick(rng, words::WHEN)),
                pick(rng, words::FAILURES)
            ),
            1 => format!(
                "I {past} the {n1} {} but the {n2} still {}",
                pick(rng, words::WHEN),
                pick(rng, words::FAILURES)
            ),
            2 => format!("When I try to {v} the {n1}, I get a {adj} {n2} error"),
            3 => format!("Is there a way to {v} a {n1} without {ing} the {n2}?"),
            4 => format!(
                "Our {n1} on the {adj} plan {} and customers cannot {v} their {n2}",
                pick(rng, words::FAILURES)
            ),
            5 => format!("The {n1} says the {n2} is {adj}, but I never {past} it"),
            6 => format!("Do I need to {v} the {n1} before I {v} the {n2}?"),
            7 => format!(
                "Support told me to {v} the {n1}, which I did {}",
                pick(rng, words::WHEN)
            ),
            _ => format!(
                "Nothing in the {n1} log explains why the {n2} {}",
                pick(rng, words::FAILURES)
            ),
        }
    } else {
        match rng.gen_range(0..10) {
            0 => format!("Thanks for the details, the {n1} looks {adj} on our side"),
            1 => format!("You need to {v} the {n1} first, then check the {n2} again"),
            2 => format!("This usually happens when the {n1} is {adj}"),
            3 => format!("I checked your {n1} and {past} the {n2} for you"),
            4 => format!("Can you try {ing} the {n1} and tell us whether the {n2} still {third}?"),
            5 => format!("Same here, {ing} the {n1} fixed it for me"),
            6 => format!("The {adj} {n1} can take up to 24 hours to {v} everywhere"),
            7 => format!("We rolled out a fix for the {n1}, so the {n2} {third} normally now"),
            8 => format!(
                "Make sure the {n1} and the {n2} use the same {adj} {}",
                noun(rng)
            ),
            _ => format!(
                "If the {n1} {} again, send us the exact time and your {n2}",
                pick(rng, words::FAILURES)
            ),
        }
    };
    let mut s = capitalize(&s);
    if !s.ends_with('?') {
        s.push('.');
    }
    s
}

fn paragraph(rng: &mut StdRng, asking: bool, sentences: usize) -> String {
    let mut p = String::new();
    for i in 0..sentences {
        if i > 0 {
            p.push(' ');
        }
        let mut s = sentence(rng, asking);
        // Sprinkle inline markup as people write it.
        match rng.gen_range(0..14) {
            0 => s = format!("**{s}**"),
            1 => {
                let t = pick(rng, words::TECH);
                s = s.replacen(t, &format!("`{t}`"), 1);
            }
            2 => s.push_str(&format!(
                " See https://status.example.com/incidents/{}.",
                rng.gen_range(1000..9999)
            )),
            3 => s = format!("_{s}_"),
            _ => {}
        }
        p.push_str(&s);
    }
    p
}

fn code_block(rng: &mut StdRng) -> String {
    let d = domain(rng);
    let n = rng.gen_range(2..40);
    let (lang, body) = match rng.gen_range(0..8) {
        0 => (
            "bash",
            format!(
                "$ dig +short MX {d}\n10 mx1.mail.example.net.\n20 mx2.mail.example.net.\n$ dig +short TXT {d}\n\"v=spf1 include:_spf.example.net ~all\""
            ),
        ),
        1 => (
            "nginx",
            format!(
                "server {{\n    listen 443 ssl;\n    server_name {d} www.{d};\n    ssl_certificate /etc/ssl/{d}/fullchain.pem;\n    ssl_certificate_key /etc/ssl/{d}/privkey.pem;\n    location / {{\n        proxy_pass http://127.0.0.1:{};\n        proxy_read_timeout {n}s;\n    }}\n}}",
                8000 + n
            ),
        ),
        2 => (
            "text",
            format!(
                "[{n:02}-Mar-2026 10:{n:02}:17 UTC] PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate {} bytes) in /home/{}/public_html/wp-includes/class-wp-query.php on line {}",
                4096 * n,
                pick(rng, words::NAMES),
                300 + n
            ),
        ),
        3 => (
            "bash",
            format!(
                "$ curl -I https://{d}\nHTTP/2 {}\nserver: nginx\ncontent-type: text/html; charset=UTF-8\ncache-control: max-age={}",
                [200, 301, 502, 503][rng.gen_range(0..4)],
                n * 60
            ),
        ),
        4 => (
            "json",
            format!(
                "{{\n  \"error\": {{\n    \"code\": \"{}_{}\",\n    \"message\": \"The {} is {}\",\n    \"request_id\": \"req_{:08x}\"\n  }}\n}}",
                pick(rng, words::NOUNS),
                pick(rng, words::ADJECTIVES),
                pick(rng, words::NOUNS),
                pick(rng, words::ADJECTIVES),
                rng.r#gen::<u32>()
            ),
        ),
        5 => (
            "text",
            format!(
                "{d}.        3600    IN      A       203.0.113.{n}\nwww.{d}.    3600    IN      CNAME   {d}.\n{d}.        3600    IN      MX      10 mail.{d}."
            ),
        ),
        6 => (
            "bash",
            format!(
                "$ openssl s_client -connect {d}:443 -servername {d} </dev/null 2>/dev/null | openssl x509 -noout -dates\nnotBefore=Jan {n} 00:00:00 2026 GMT\nnotAfter=Apr {n} 23:59:59 2026 GMT"
            ),
        ),
        _ => (
            "yaml",
            format!(
                "deploy:\n  branch: main\n  build: npm ci && npm run build\n  publish: dist/\n  env:\n    NODE_VERSION: \"{}\"\n    API_URL: https://api.{d}",
                16 + n % 8
            ),
        ),
    };
    format!("```{lang}\n{body}\n```")
}

fn list(rng: &mut StdRng) -> String {
    let ordered = rng.gen_bool(0.5);
    let items = rng.gen_range(2..6);
    let mut out = String::new();
    for i in 0..items {
        let (v, _, _, _) = verb(rng);
        let item = match rng.gen_range(0..3) {
            0 => format!("{} the {}", capitalize(v), noun(rng)),
            1 => format!(
                "Open **{}** and {v} the {}",
                capitalize(&noun(rng)),
                noun(rng)
            ),
            _ => format!(
                "Wait until the {} is {}",
                noun(rng),
                pick(rng, words::ADJECTIVES)
            ),
        };
        if ordered {
            let _ = writeln!(out, "{}. {item}", i + 1);
        } else {
            let _ = writeln!(out, "- {item}");
        }
    }
    out.trim_end().to_string()
}

fn link(rng: &mut StdRng) -> String {
    let section = pick(rng, words::DOC_SECTIONS);
    let (v, _, _, _) = verb(rng);
    let n = noun(rng);
    format!(
        "There is a guide for this: [how to {v} the {n}](https://docs.example.com/{section}/{v}-{}).",
        n.to_lowercase().replace(' ', "-")
    )
}

/// A whole post body: a question (first post) or a reply, built from blocks.
fn body(rng: &mut StdRng, asking: bool, users: u32) -> String {
    let mut blocks: Vec<String> = Vec::new();
    let long = rng.gen_bool(0.04);
    let count = if long {
        rng.gen_range(6..14)
    } else if asking {
        rng.gen_range(1..4)
    } else {
        rng.gen_range(1..3)
    };
    if !asking && rng.gen_bool(0.12) {
        let quoted = sentence(rng, true);
        blocks.push(format!("> {quoted}"));
    }
    if !asking && rng.gen_bool(0.08) && users > 1 {
        blocks.push(format!(
            "@bench{} {}",
            rng.gen_range(1..users),
            sentence(rng, false)
        ));
    }
    for i in 0..count {
        let roll = rng.gen_range(0..100);
        let block = if i == 0 || roll < 55 {
            let n = rng.gen_range(1..4);
            paragraph(rng, asking, n)
        } else if roll < 72 {
            code_block(rng)
        } else if roll < 86 {
            list(rng)
        } else if roll < 95 {
            link(rng)
        } else {
            format!(
                "| {} | {} |\n|---|---|\n| {} | {} |\n| {} | {} |",
                capitalize(&noun(rng)),
                capitalize(&noun(rng)),
                pick(rng, words::ADJECTIVES),
                domain(rng),
                pick(rng, words::ADJECTIVES),
                rng.gen_range(1..500)
            )
        };
        blocks.push(block);
    }
    if long {
        // A pasted log: the long posts people write when something is badly broken.
        let mut log = String::from("```text\n");
        for i in 0..rng.gen_range(20..80) {
            let _ = writeln!(
                log,
                "2026-03-{:02}T{:02}:{:02}:{:02}Z {} {} {}: {} {}",
                1 + i % 28,
                i % 24,
                (i * 7) % 60,
                (i * 13) % 60,
                ["INFO", "WARN", "ERROR"][rng.gen_range(0..3)],
                pick(rng, words::TECH),
                pick(rng, words::NOUNS),
                pick(rng, words::ADJECTIVES),
                pick(rng, words::NOUNS)
            );
        }
        log.push_str("```");
        blocks.push(log);
    }
    blocks.join("\n\n")
}

/// The closing line that makes each post unique: plain words only (letters, digits, spaces,
/// commas, one final period), so its HTML is known without running the renderer.
fn tail(rng: &mut StdRng, asking: bool, out: &mut String) {
    out.clear();
    out.push_str(&sentence(rng, asking));
    if rng.gen_bool(0.5) {
        out.push(' ');
        out.push_str(&sentence(rng, asking));
    }
    if rng.gen_bool(0.3) {
        let _ = write!(out, " Ticket {}.", rng.gen_range(10_000..999_999));
    }
}

fn tail_html(tail: &str) -> String {
    format!("<p>{tail}</p>\n")
}

fn title(rng: &mut StdRng) -> String {
    let (v, past, ing, _) = verb(rng);
    let n = noun(rng);
    let t = match rng.gen_range(0..10) {
        0 => format!("How do I {v} the {n} for {}?", domain(rng)),
        1 => format!(
            "{} {} {}",
            capitalize(&n),
            pick(rng, words::FAILURES),
            pick(rng, words::WHEN)
        ),
        2 => format!(
            "{} error after {ing} the {}",
            capitalize(pick(rng, words::ADJECTIVES)),
            noun(rng)
        ),
        3 => format!("Cannot {v} my {n}"),
        4 => format!(
            "{} {past} but {} still {}",
            capitalize(&n),
            noun(rng),
            pick(rng, words::FAILURES)
        ),
        5 => format!(
            "Is it possible to {v} a {} {n}?",
            pick(rng, words::ADJECTIVES)
        ),
        6 => format!(
            "{} is {} on {}",
            capitalize(&n),
            pick(rng, words::ADJECTIVES),
            domain(rng)
        ),
        7 => format!("Best way to {v} {} without downtime", noun(rng)),
        8 => format!(
            "{} {} {}",
            pick(rng, words::TECH),
            n,
            pick(rng, words::FAILURES)
        ),
        _ => format!(
            "Question about {ing} the {n} on the {} plan",
            pick(rng, words::ADJECTIVES)
        ),
    };
    let mut t = capitalize(&t);
    t.truncate(150);
    t
}

/// A pool of bodies, each cooked once, each checked to accept a tail without re-cooking.
struct Pool {
    raw: Vec<String>,
    cooked: Vec<String>,
}

fn build_pool(rng: &mut StdRng, size: usize, asking: bool, users: u32) -> anyhow::Result<Pool> {
    let is_user = |name: &str| {
        name.strip_prefix("bench")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n < users)
    };
    let mut raw = Vec::with_capacity(size);
    let mut cooked = Vec::with_capacity(size);
    let mut probe = String::new();
    let mut attempts = 0;
    while raw.len() < size {
        attempts += 1;
        if attempts > size * 20 {
            bail!("could not build the body pool: generated bodies do not end cleanly");
        }
        let text = body(rng, asking, users).trim().to_string();
        let html = crate::markdown::cook(&text, &is_user).html;
        tail(rng, asking, &mut probe);
        let joined = crate::markdown::cook(&format!("{text}\n\n{probe}"), &is_user).html;
        if joined != format!("{html}{}", tail_html(&probe)) {
            continue; // this body does not end cleanly: draw another
        }
        raw.push(text);
        cooked.push(html);
    }
    Ok(Pool { raw, cooked })
}

// ---- plan -------------------------------------------------------------------------------

const CATEGORIES: &[(&str, &str, &str, &str, f64, bool)] = &[
    (
        "hosting",
        "Hosting",
        "Web hosting, servers, deploys and performance.",
        "#1f5fd1",
        0.36,
        false,
    ),
    (
        "domains-dns",
        "Domains & DNS",
        "Registering, transferring and pointing domains.",
        "#1b7f3b",
        0.18,
        false,
    ),
    (
        "ssl-security",
        "SSL & Security",
        "Certificates, HTTPS, two-factor and account security.",
        "#0f8a8a",
        0.14,
        false,
    ),
    (
        "email",
        "Email",
        "Mailboxes, forwarding, SPF/DKIM and deliverability.",
        "#d9730d",
        0.12,
        false,
    ),
    (
        "billing",
        "Billing & Accounts",
        "Invoices, payments, plans, refunds and VAT.",
        "#7b3fb5",
        0.11,
        false,
    ),
    (
        "getting-started",
        "Getting started",
        "New here? Ask anything.",
        "#6b7280",
        0.08,
        false,
    ),
    (
        "announcements",
        "Announcements",
        "News and maintenance windows from our team.",
        "#b3261e",
        0.01,
        true,
    ),
];

/// Replies per topic: a heavy-tailed (Pareto, shape 1.2) draw scaled to exactly `replies`
/// in total, so most threads are short and a few run to thousands of posts; plus one topic
/// with exactly `LONG_REPLIES` and one with exactly `FIFTY_REPLIES`.
fn plan_replies(
    rng: &mut StdRng,
    topics: usize,
    replies: u64,
) -> (Vec<u64>, Option<usize>, Option<usize>) {
    let mut counts = vec![0u64; topics];
    let mut fixed: Vec<(usize, u64)> = Vec::new();
    let mut left = replies;
    let pick_index = |rng: &mut StdRng, taken: &[(usize, u64)]| loop {
        let i = rng.gen_range(0..topics);
        if !taken.iter().any(|(t, _)| *t == i) {
            return i;
        }
    };
    let mut long = None;
    let mut fifty = None;
    if topics >= 3 && left >= LONG_REPLIES + FIFTY_REPLIES {
        // The long thread is an old one: it had time to grow.
        let i = rng.gen_range(0..topics.div_ceil(2));
        fixed.push((i, LONG_REPLIES));
        long = Some(i);
        left -= LONG_REPLIES;
    }
    if topics >= 2 && left >= FIFTY_REPLIES {
        let i = pick_index(rng, &fixed);
        fixed.push((i, FIFTY_REPLIES));
        fifty = Some(i);
        left -= FIFTY_REPLIES;
    }
    let others: Vec<usize> = (0..topics)
        .filter(|i| !fixed.iter().any(|(t, _)| t == i))
        .collect();
    if others.is_empty() {
        // Every topic is special: the rest goes to the first one.
        if let Some(first) = fixed.first_mut() {
            first.1 += left;
        }
    } else {
        // About one question in eight is never answered (when there are replies to spare).
        let unanswered = if left as f64 >= others.len() as f64 {
            0.12
        } else {
            0.0
        };
        let mut weights: Vec<f64> = others
            .iter()
            .map(|_| {
                let u: f64 = 1.0 - rng.r#gen::<f64>(); // (0, 1]
                let w = u.powf(-1.0 / 1.2).min(3_000.0);
                if rng.gen_bool(unanswered) { 0.0 } else { w }
            })
            .collect();
        if weights.iter().all(|w| *w == 0.0) {
            weights.iter_mut().for_each(|w| *w = 1.0);
        }
        let total: f64 = weights.iter().sum();
        let scale = left as f64 / total;
        let mut assigned = 0u64;
        let mut fractions: Vec<(f64, usize)> = Vec::with_capacity(others.len());
        for (k, &i) in others.iter().enumerate() {
            let exact = weights[k] * scale;
            let whole = exact.floor() as u64;
            counts[i] = whole;
            assigned += whole;
            if weights[k] > 0.0 {
                fractions.push((exact - whole as f64, i));
            }
        }
        // Largest remainders get the rounding: the total comes out exact.
        let mut short = left.saturating_sub(assigned) as usize;
        fractions.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut k = 0;
        while short > 0 {
            counts[fractions[k % fractions.len()].1] += 1;
            short -= 1;
            k += 1;
        }
    }
    for (i, n) in fixed {
        counts[i] = n;
    }
    (counts, long, fifty)
}

/// Users, as the generator sees them.
struct People {
    /// Member ids, most active first.
    members: Vec<i64>,
    /// Staff and the admin.
    staff: Vec<i64>,
    first_id: i64,
    count: u32,
}

impl People {
    /// The staff member who writes the generated articles and incidents: the first one who
    /// is not the admin (the admin when there is none).
    fn first_staff(&self) -> i64 {
        self.staff
            .iter()
            .copied()
            .filter(|id| *id != self.first_id)
            .min()
            .unwrap_or(self.first_id)
    }

    fn member(&self, rng: &mut StdRng) -> i64 {
        // A few people write most posts: u^3 puts ~46% of picks in the first 10%.
        let u: f64 = rng.r#gen();
        let i = ((u * u * u) * self.members.len() as f64) as usize;
        self.members[i.min(self.members.len() - 1)]
    }
    fn staff(&self, rng: &mut StdRng) -> i64 {
        self.staff[rng.gen_range(0..self.staff.len())]
    }
    fn anyone(&self, rng: &mut StdRng) -> i64 {
        self.first_id + rng.gen_range(0..self.count) as i64
    }
    fn is_staff(&self, id: i64) -> bool {
        let n = (id - self.first_id) as u32;
        n.is_multiple_of(STAFF_EVERY) // bench0, the admin, included
    }
}

// ---- rows -------------------------------------------------------------------------------

struct TopicNew {
    id: i64,
    category_id: i64,
    user_id: i64,
    title: String,
    slug: String,
    created_at: NaiveDateTime,
    bumped_at: NaiveDateTime,
    last_poster_id: i64,
    reply_count: i32,
    like_count: i32,
    highest_post_number: i32,
    solved_post_id: Option<i64>,
    has_staff_reply: bool,
}

struct PostNew {
    id: i64,
    topic_id: i64,
    user_id: i64,
    post_number: i32,
    raw: String,
    cooked: String,
    created_at: NaiveDateTime,
    like_count: i32,
}

struct EventNew {
    id: i64,
    kind: &'static str,
    subject_id: Option<i64>,
    actor_id: Option<i64>,
    created_at: NaiveDateTime,
    payload: String,
}

#[derive(Default)]
struct Batch {
    topics: Vec<TopicNew>,
    posts: Vec<PostNew>,
    topic_tags: Vec<(i64, i64)>,
    likes: Vec<(i64, i64, NaiveDateTime)>,
    watches: Vec<(i64, i64)>,
    events: Vec<EventNew>,
}

impl Batch {
    fn rows(&self) -> u64 {
        (self.topics.len()
            + self.posts.len()
            + self.topic_tags.len()
            + self.likes.len()
            + self.watches.len()
            + self.events.len()) as u64
    }
}

/// Multi-row insert on the concrete connection: diesel's multi-backend connection has no
/// batch insert for SQLite.
fn rows_per_statement(columns: usize) -> usize {
    MAX_PARAMS / columns
}

fn insert_batch(conn: &mut DbConn, b: &Batch) -> Result<(), AppError> {
    db::advisory_lock(conn, db::EVENT_ORDER_LOCK)?;
    for chunk in b.topics.chunks(rows_per_statement(13)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|t| {
                (
                    topics::id.eq(t.id),
                    topics::category_id.eq(t.category_id),
                    topics::user_id.eq(t.user_id),
                    topics::title.eq(t.title.as_str()),
                    topics::slug.eq(t.slug.as_str()),
                    topics::created_at.eq(t.created_at),
                    topics::bumped_at.eq(t.bumped_at),
                    topics::last_poster_id.eq(t.last_poster_id),
                    topics::reply_count.eq(t.reply_count),
                    topics::like_count.eq(t.like_count),
                    topics::highest_post_number.eq(t.highest_post_number),
                    topics::solved_post_id.eq(t.solved_post_id),
                    topics::has_staff_reply.eq(t.has_staff_reply),
                )
            })
            .collect();
        bulk_insert!(conn, topics::table, values);
    }
    for chunk in b.posts.chunks(rows_per_statement(8)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|p| {
                (
                    posts::id.eq(p.id),
                    posts::topic_id.eq(p.topic_id),
                    posts::user_id.eq(p.user_id),
                    posts::post_number.eq(p.post_number),
                    posts::raw.eq(p.raw.as_str()),
                    posts::cooked.eq(p.cooked.as_str()),
                    posts::created_at.eq(p.created_at),
                    posts::like_count.eq(p.like_count),
                )
            })
            .collect();
        bulk_insert!(conn, posts::table, values);
    }
    for chunk in b.topic_tags.chunks(rows_per_statement(2)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(t, g)| (topic_tags::topic_id.eq(*t), topic_tags::tag_id.eq(*g)))
            .collect();
        bulk_insert!(conn, topic_tags::table, values);
    }
    for chunk in b.likes.chunks(rows_per_statement(3)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(p, u, at)| {
                (
                    likes::post_id.eq(*p),
                    likes::user_id.eq(*u),
                    likes::created_at.eq(*at),
                )
            })
            .collect();
        bulk_insert!(conn, likes::table, values);
    }
    for chunk in b.watches.chunks(rows_per_statement(3)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(u, t)| {
                (
                    topic_watches::user_id.eq(*u),
                    topic_watches::topic_id.eq(*t),
                    topic_watches::level.eq("watching"),
                )
            })
            .collect();
        bulk_insert!(conn, topic_watches::table, values);
    }
    insert_events(conn, &b.events)?;
    Ok(())
}

fn insert_events(conn: &mut DbConn, rows: &[EventNew]) -> Result<(), AppError> {
    for chunk in rows.chunks(rows_per_statement(6)) {
        let values: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    events::id.eq(e.id),
                    events::kind.eq(e.kind),
                    events::subject_id.eq(e.subject_id),
                    events::actor_id.eq(e.actor_id),
                    events::created_at.eq(e.created_at),
                    events::payload.eq(e.payload.as_str()),
                )
            })
            .collect();
        bulk_insert!(conn, events::table, values);
    }
    Ok(())
}

fn max_id(conn: &mut DbConn, table: &str) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let row: Max = diesel::sql_query(format!("SELECT COALESCE(MAX(id), 0) AS id FROM {table}"))
        .get_result(conn)?;
    Ok(row.id)
}

// ---- run --------------------------------------------------------------------------------

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The generator's state: one topic (with its posts, likes, watches, tags and events) is one
/// call to `topic`, appended to the batch that the writer thread takes next.
struct Generator<'a> {
    rng: StdRng,
    people: &'a People,
    questions: &'a Pool,
    answers: &'a Pool,
    category_ids: &'a [i64],
    tag_ids: &'a [i64],
    end: NaiveDateTime,
    solve_chance: f64,
    next_post: i64,
    next_event: i64,
    batch: Batch,
    report: Report,
    // Scratch space reused from topic to topic.
    tail: String,
    participants: HashSet<i64>,
    likers: Vec<i64>,
    offsets: Vec<f64>,
}

/// A reply that could become the accepted answer: (post id, author, time).
type Candidate = (i64, i64, NaiveDateTime);

impl Generator<'_> {
    /// Queues `event` for the bulk insert: its kind and payload come from the typed event,
    /// exactly as `events::append` would write them.
    fn event(
        &mut self,
        event: &Event,
        subject: Option<i64>,
        actor: Option<i64>,
        at: NaiveDateTime,
    ) {
        let (kind, payload) = event.encode();
        self.push_event(kind, payload, subject, actor, at);
    }

    /// [`Generator::event`] for the generated accounts and categories, whose payloads are
    /// marked `"bench": true`.
    fn seeded_event(
        &mut self,
        event: &Event,
        subject: Option<i64>,
        actor: Option<i64>,
        at: NaiveDateTime,
    ) {
        let (kind, payload) = event.encode_seeded(Seed::Bench);
        self.push_event(kind, payload, subject, actor, at);
    }

    fn push_event(
        &mut self,
        kind: &'static str,
        payload: String,
        subject: Option<i64>,
        actor: Option<i64>,
        at: NaiveDateTime,
    ) {
        let id = self.next_event;
        self.next_event += 1;
        self.batch.events.push(EventNew {
            id,
            kind,
            subject_id: subject,
            actor_id: actor,
            created_at: at,
            payload,
        });
    }

    /// A pooled body plus a unique closing paragraph: (raw, cooked).
    fn text(&mut self, first: bool) -> (String, String) {
        let pool = if first { self.questions } else { self.answers };
        let choice = self.rng.gen_range(0..pool.raw.len());
        tail(&mut self.rng, first, &mut self.tail);
        let raw = format!("{}\n\n{}", pool.raw[choice], self.tail);
        let cooked = format!("{}{}", pool.cooked[choice], tail_html(&self.tail));
        (raw, cooked)
    }

    /// Likes for one post: most get none, a few get several, never from the author.
    /// Returns how many.
    fn likes(
        &mut self,
        first: bool,
        post_id: i64,
        topic_id: i64,
        author: i64,
        at: NaiveDateTime,
    ) -> i32 {
        if !self.rng.gen_bool(if first { 0.25 } else { 0.15 }) {
            return 0;
        }
        let wanted = (1 + (self.rng.r#gen::<f64>().ln() / 0.5f64.ln()) as usize).min(20);
        self.likers.clear();
        for _ in 0..wanted * 2 {
            if self.likers.len() >= wanted {
                break;
            }
            let liker = self.people.anyone(&mut self.rng);
            if liker != author && !self.likers.contains(&liker) {
                self.likers.push(liker);
            }
        }
        let cap = (self.end - at).max(TimeDelta::zero());
        for i in 0..self.likers.len() {
            let liker = self.likers[i];
            let liked_at = at + TimeDelta::seconds(self.rng.gen_range(60..3 * 86_400)).min(cap);
            self.batch.likes.push((post_id, liker, liked_at));
            let liked = Event::PostLiked {
                topic_id,
                author_id: author,
            };
            self.event(&liked, Some(post_id), Some(liker), liked_at);
        }
        self.report.likes += self.likers.len() as u64;
        self.likers.len() as i32
    }

    /// Picks the accepted answer: mostly a staff reply when there is one, else another
    /// member's, else the asker's own "fixed it myself".
    fn answer(
        &mut self,
        staff: &[Candidate],
        others: &[Candidate],
        own: &[Candidate],
    ) -> Option<Candidate> {
        let list = if !staff.is_empty() && (others.is_empty() || self.rng.gen_bool(0.6)) {
            staff
        } else if !others.is_empty() {
            others
        } else if !own.is_empty() {
            own
        } else {
            return None;
        };
        Some(list[self.rng.gen_range(0..list.len())])
    }

    /// One topic with `replies` replies; returns its slug.
    fn topic(
        &mut self,
        topic_id: i64,
        category: usize,
        created: NaiveDateTime,
        replies: u64,
    ) -> String {
        let author = if CATEGORIES[category].5 {
            self.people.staff(&mut self.rng)
        } else {
            self.people.member(&mut self.rng)
        };
        let title = title(&mut self.rng);
        let slug = crate::forum::slugify(&title);
        // Reply times: random gaps, scaled into the thread's lifetime.
        let room = (self.end - created).num_seconds().max(1) as f64;
        let typical_gap = 60.0 * 10f64.powf(self.rng.gen_range(1.0..3.0)); // 10 min .. 17 h
        let lifetime = (typical_gap * replies as f64).min(room * 0.98);
        self.offsets.clear();
        let mut acc = 0.0;
        for _ in 0..replies {
            acc += self.rng.gen_range(0.05..1.95);
            self.offsets.push(acc);
        }
        self.participants.clear();
        self.participants.insert(author);
        self.batch.watches.push((author, topic_id));
        let mut like_total = 0;
        let mut has_staff_reply = false;
        let (mut last_poster, mut last_at) = (author, created);
        let mut staff_posts: Vec<Candidate> = Vec::new();
        let mut other_posts: Vec<Candidate> = Vec::new();
        let mut own_posts: Vec<Candidate> = Vec::new();
        for number in 1..=replies as i32 + 1 {
            let first = number == 1;
            let post_id = self.next_post;
            self.next_post += 1;
            let (user, at) = if first {
                (author, created)
            } else {
                let user = if self.rng.gen_bool(STAFF_REPLY_SHARE) {
                    self.people.staff(&mut self.rng)
                } else if self.rng.gen_bool(0.25) {
                    author
                } else {
                    self.people.member(&mut self.rng)
                };
                let offset = self.offsets[number as usize - 2] / acc * lifetime;
                let at = (created + TimeDelta::seconds(offset as i64))
                    .max(last_at + TimeDelta::seconds(1));
                (user, at)
            };
            let staff = self.people.is_staff(user);
            let (raw, cooked) = self.text(first);
            if first {
                let category_id = self.category_ids[category];
                let created = Event::TopicCreated {
                    post_id,
                    category_id,
                    mentions: Vec::new(),
                    quotes: Vec::new(),
                    flow: None,
                };
                self.event(&created, Some(topic_id), Some(user), at);
            } else {
                let created = Event::PostCreated {
                    topic_id,
                    post_number: number,
                    staff,
                    mentions: Vec::new(),
                    quotes: Vec::new(),
                    incident_id: None,
                    idea_status: None,
                    changelog_id: None,
                };
                self.event(&created, Some(post_id), Some(user), at);
                let candidate = (post_id, user, at);
                if staff {
                    has_staff_reply = true;
                    self.report.staff_replies += 1;
                    staff_posts.push(candidate);
                } else if user != author {
                    other_posts.push(candidate);
                } else {
                    own_posts.push(candidate);
                }
                if self.participants.insert(user) {
                    self.batch.watches.push((user, topic_id));
                }
            }
            let likes = self.likes(first, post_id, topic_id, user, at);
            like_total += likes;
            self.batch.posts.push(PostNew {
                id: post_id,
                topic_id,
                user_id: user,
                post_number: number,
                raw,
                cooked,
                created_at: at,
                like_count: likes,
            });
            last_poster = user;
            last_at = at;
        }
        let mut solved_post_id = None;
        if replies > 0
            && self.rng.gen_bool(self.solve_chance)
            && let Some((post_id, answerer, answered_at)) =
                self.answer(&staff_posts, &other_posts, &own_posts)
        {
            let actor = if self.rng.gen_bool(0.8) {
                author
            } else {
                self.people.staff(&mut self.rng)
            };
            let at =
                (answered_at + TimeDelta::seconds(self.rng.gen_range(60..86_400))).min(self.end);
            let solved = Event::TopicSolved {
                post_id,
                answer_author_id: answerer,
                topic_author_id: author,
            };
            self.event(&solved, Some(topic_id), Some(actor), at);
            solved_post_id = Some(post_id);
            self.report.solved += 1;
        }
        // Zero to three tags.
        let tag_count = [0, 1, 1, 2, 2, 3][self.rng.gen_range(0..6)];
        let first_tag = self.batch.topic_tags.len();
        while self.batch.topic_tags.len() - first_tag < tag_count {
            let tag = self.tag_ids[self.rng.gen_range(0..self.tag_ids.len())];
            if !self.batch.topic_tags[first_tag..].contains(&(topic_id, tag)) {
                self.batch.topic_tags.push((topic_id, tag));
            }
        }
        self.batch.topics.push(TopicNew {
            id: topic_id,
            category_id: self.category_ids[category],
            user_id: author,
            title,
            slug: slug.clone(),
            created_at: created,
            bumped_at: last_at,
            last_poster_id: last_poster,
            reply_count: replies as i32,
            like_count: like_total,
            highest_post_number: replies as i32 + 1,
            solved_post_id,
            has_staff_reply,
        });
        self.report.topics += 1;
        self.report.posts += replies + 1;
        self.report.replies += replies;
        slug
    }

    /// Hands the current batch over (counting what it holds).
    fn take_batch(&mut self) -> Batch {
        self.report.topic_tags += self.batch.topic_tags.len() as u64;
        self.report.watches += self.batch.watches.len() as u64;
        self.report.events += self.batch.events.len() as u64;
        std::mem::take(&mut self.batch)
    }
}

/// Writes batches as they come, in their own transactions; returns the rows written.
fn spawn_writer(
    db: &Db,
    rx: mpsc::Receiver<Batch>,
    total_posts: u64,
    quiet: bool,
) -> std::io::Result<std::thread::JoinHandle<Result<u64, AppError>>> {
    let db = db.clone();
    std::thread::Builder::new()
        .name("seed-writer".into())
        .spawn(move || {
            let mut rows = 0u64;
            let mut posts = 0u64;
            let began = Instant::now();
            for batch in rx {
                db.write_sync(|conn| {
                    if let DbConn::Sqlite(c) = conn {
                        // A bigger page cache for this connection: the indexes stay in memory.
                        diesel::connection::SimpleConnection::batch_execute(
                            c,
                            "PRAGMA cache_size = -262144",
                        )?;
                    }
                    insert_batch(conn, &batch)
                })?;
                rows += batch.rows();
                posts += batch.posts.len() as u64;
                if !quiet {
                    let secs = began.elapsed().as_secs_f64();
                    println!(
                        "posts {:>11} / {} ({:>3.0}%)  {:>6.1} s  {:>9} rows/s",
                        thousands(posts),
                        thousands(total_posts),
                        posts as f64 * 100.0 / total_posts as f64,
                        secs,
                        thousands((rows as f64 / secs.max(1e-9)) as u64)
                    );
                }
            }
            Ok(rows)
        })
}

/// Id bases: the largest id in use in each table (0 when empty).
struct Bases {
    users: i64,
    categories: i64,
    tags: i64,
    topics: i64,
    posts: i64,
    events: i64,
}

/// Checks that the database is empty of people and content; ids are assigned up front.
fn empty_database_bases(db: &Db) -> anyhow::Result<Bases> {
    let (users, categories, bases) = db
        .read_sync(|conn| {
            let users = db::users::count(conn)?;
            let categories: i64 = categories::table.count().get_result(conn)?;
            let bases = Bases {
                users: max_id(conn, "users")?,
                categories: max_id(conn, "categories")?,
                tags: max_id(conn, "tags")?,
                topics: max_id(conn, "topics")?,
                posts: max_id(conn, "posts")?,
                events: max_id(conn, "events")?,
            };
            Ok((users, categories, bases))
        })
        .context("cannot read the database")?;
    if users > 0 {
        bail!(
            "the database already has {users} user(s); seed-bench only fills an empty database \
             (use a new SQLite file or a freshly created PostgreSQL database)"
        );
    }
    if categories > 0 {
        bail!("the database already has categories; seed-bench only fills an empty database");
    }
    Ok(bases)
}

/// Users (one real argon2 hash, shared), categories and tags, with their events, in one
/// transaction. Returns the category ids, the tag ids and the rows written.
fn write_people_and_places(
    db: &Db,
    generator: &mut Generator,
    users: u32,
    bases: &Bases,
    start: NaiveDateTime,
) -> anyhow::Result<(Vec<i64>, Vec<i64>, u64)> {
    let hash = crate::accounts::hash_password(PASSWORD)?;
    let mut user_rows = Vec::with_capacity(users as usize);
    for n in 0..users {
        let id = bases.users + 1 + n as i64;
        let name = format!("bench{n}");
        let role = if n == 0 {
            "admin"
        } else if n.is_multiple_of(STAFF_EVERY) {
            "staff"
        } else {
            "member"
        };
        let at = start - TimeDelta::seconds(generator.rng.gen_range(3_600..90 * 86_400));
        let registered = Event::UserRegistered {
            username: name.clone(),
            role: role.into(),
        };
        generator.seeded_event(&registered, Some(id), Some(id), at);
        let email = format!("{name}@bench.example");
        user_rows.push((
            id,
            crate::accounts::username_key(&name),
            name,
            email,
            role,
            at,
        ));
    }
    let category_ids: Vec<i64> = (0..CATEGORIES.len())
        .map(|i| bases.categories + 1 + i as i64)
        .collect();
    for (id, category) in category_ids.iter().zip(CATEGORIES) {
        let created = Event::CategoryCreated(CategoryPayload {
            slug: category.0.into(),
            name: category.1.into(),
            staff_only: category.5,
        });
        generator.seeded_event(&created, Some(*id), Some(bases.users + 1), start);
    }
    let tag_ids: Vec<i64> = (0..words::TAGS.len())
        .map(|i| bases.tags + 1 + i as i64)
        .collect();
    let events = generator.take_batch().events;
    db.write_sync(|conn| {
        for chunk in user_rows.chunks(rows_per_statement(8)) {
            let values: Vec<_> = chunk
                .iter()
                .map(|(id, key, name, email, role, at)| {
                    (
                        users::id.eq(*id),
                        users::username.eq(name.as_str()),
                        users::username_key.eq(key.as_str()),
                        users::email.eq(email.as_str()),
                        users::email_key.eq(email.as_str()),
                        users::password_hash.eq(hash.as_str()),
                        users::role.eq(*role),
                        users::created_at.eq(*at),
                    )
                })
                .collect();
            bulk_insert!(conn, users::table, values);
        }
        let values: Vec<_> = category_ids
            .iter()
            .zip(CATEGORIES)
            .enumerate()
            .map(
                |(position, (id, (slug, name, description, color, _, staff_only)))| {
                    (
                        categories::id.eq(*id),
                        categories::slug.eq(*slug),
                        categories::name.eq(*name),
                        categories::description.eq(*description),
                        categories::color.eq(*color),
                        categories::position.eq(position as i32),
                        categories::staff_only.eq(*staff_only),
                        categories::created_at.eq(start),
                    )
                },
            )
            .collect();
        bulk_insert!(conn, categories::table, values);
        let values: Vec<_> = tag_ids
            .iter()
            .zip(words::TAGS)
            .map(|(id, name)| (tags::id.eq(*id), tags::name.eq(*name)))
            .collect();
        bulk_insert!(conn, tags::table, values);
        db::advisory_lock(conn, db::EVENT_ORDER_LOCK)?;
        insert_events(conn, &events)?;
        Ok(())
    })
    .context("cannot write users and categories")?;
    let rows = (user_rows.len() + category_ids.len() + tag_ids.len() + events.len()) as u64;
    Ok((category_ids, tag_ids, rows))
}

/// After the bulk load: the notifications follower starts past the historic events,
/// PostgreSQL sequences move past the explicit ids and get statistics, SQLite folds its
/// write-ahead log into the database file.
fn finish(db: &Db, last_event_id: i64) -> anyhow::Result<()> {
    db.write_sync(|conn| {
        db::notifications::set_cursor(conn, "notifications", last_event_id)?;
        if let DbConn::Postgres(pg) = conn {
            for table in ["users", "categories", "tags", "topics", "posts", "events"] {
                diesel::sql_query(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                ))
                .execute(pg)?;
            }
        }
        Ok(())
    })
    .context("cannot finish")?;
    let sql = match db.backend() {
        // What autovacuum would do soon anyway; the planner needs it for tables this size.
        Backend::Postgres => "ANALYZE",
        Backend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    db.read_sync(|conn| {
        diesel::connection::SimpleConnection::batch_execute(conn, sql)?;
        Ok(())
    })?;
    Ok(())
}

/// Fills the (empty) database; prints progress and a summary unless `quiet`.
pub fn run(db: &Db, opts: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let say = |line: String| {
        if !opts.quiet {
            println!("{line}");
        }
    };
    if opts.users < 2 {
        bail!("--users must be at least 2 (an admin and a member)");
    }
    if opts.topics < 1 {
        bail!("--topics must be at least 1");
    }
    if opts.posts < opts.topics as u64 {
        bail!(
            "--posts ({}) counts every post, first posts included: it must be at least --topics ({})",
            opts.posts,
            opts.topics
        );
    }
    let bases = empty_database_bases(db)?;

    let end = {
        let now = db::now();
        chrono::DurationRound::duration_trunc(now, TimeDelta::hours(1)).unwrap_or(now)
    };
    let start = end - TimeDelta::days(HISTORY_DAYS);
    let people = People {
        members: (0..opts.users)
            .filter(|n| !n.is_multiple_of(STAFF_EVERY))
            .map(|n| bases.users + 1 + n as i64)
            .collect(),
        staff: (0..opts.users)
            .filter(|n| n.is_multiple_of(STAFF_EVERY))
            .map(|n| bases.users + 1 + n as i64)
            .collect(),
        first_id: bases.users + 1,
        count: opts.users,
    };
    let empty = Pool {
        raw: Vec::new(),
        cooked: Vec::new(),
    };
    let mut generator = Generator {
        rng: StdRng::seed_from_u64(opts.seed),
        people: &people,
        questions: &empty,
        answers: &empty,
        category_ids: &[],
        tag_ids: &[],
        end,
        solve_chance: 0.0,
        next_post: bases.posts + 1,
        next_event: bases.events + 1,
        batch: Batch::default(),
        report: Report::default(),
        tail: String::new(),
        participants: HashSet::new(),
        likers: Vec::new(),
        offsets: Vec::new(),
    };

    let (category_ids, tag_ids, setup_rows) =
        write_people_and_places(db, &mut generator, opts.users, &bases, start)?;
    let mut report = Report {
        users: opts.users as u64,
        staff: people.staff.len() as u64,
        categories: category_ids.len() as u64,
        tags: tag_ids.len() as u64,
        events: generator.report.events,
        rows: setup_rows,
        ..Report::default()
    };
    say(format!(
        "users {} ({} staff), {} categories, {} tags written in {:.1} s",
        thousands(report.users),
        report.staff,
        report.categories,
        report.tags,
        started.elapsed().as_secs_f64()
    ));

    let pool_started = Instant::now();
    let questions = build_pool(&mut generator.rng, QUESTION_POOL, true, opts.users)?;
    let answers = build_pool(&mut generator.rng, REPLY_POOL, false, opts.users)?;
    say(format!(
        "cooked {} pooled bodies in {:.1} s",
        QUESTION_POOL + REPLY_POOL,
        pool_started.elapsed().as_secs_f64()
    ));

    let topic_count = opts.topics as usize;
    let (reply_counts, long_index, fifty_index) = plan_replies(
        &mut generator.rng,
        topic_count,
        opts.posts - opts.topics as u64,
    );
    let with_replies = reply_counts.iter().filter(|&&n| n > 0).count().max(1);
    let mut generator = Generator {
        questions: &questions,
        answers: &answers,
        category_ids: &category_ids,
        tag_ids: &tag_ids,
        solve_chance: (SOLVED_SHARE * topic_count as f64 / with_replies as f64).min(1.0),
        report: Report::default(),
        ..generator
    };
    let weights: Vec<f64> = CATEGORIES.iter().map(|c| c.4).collect();
    let weight_total: f64 = weights.iter().sum();
    let span = (end - start - TimeDelta::hours(1)).num_seconds().max(1) as f64;

    let (tx, rx) = mpsc::sync_channel::<Batch>(1);
    let writer = spawn_writer(db, rx, opts.posts, opts.quiet)?;
    let mut longest = (0i64, 0u64, String::new());
    let mut per_category = vec![0u64; CATEGORIES.len()];
    for (index, &replies) in reply_counts.iter().enumerate() {
        let topic_id = bases.topics + 1 + index as i64;
        let mut x = generator.rng.r#gen::<f64>() * weight_total;
        let mut category = 0;
        while category + 1 < weights.len() && x >= weights[category] {
            x -= weights[category];
            category += 1;
        }
        per_category[category] += 1;
        // Topics are spread evenly over the history, in id order.
        let offset = (index as f64 + generator.rng.r#gen::<f64>()) / topic_count as f64 * span;
        let created = start + TimeDelta::seconds(offset as i64);
        let slug = generator.topic(topic_id, category, created, replies);
        let path = crate::subject::topic_path(&slug, topic_id);
        if replies > longest.1 {
            longest = (topic_id, replies, path.clone());
        }
        if Some(index) == long_index {
            report.long_topic = Some((topic_id, path.clone()));
        }
        if Some(index) == fifty_index {
            report.fifty_topic = Some((topic_id, path));
        }
        if (generator.batch.posts.len() >= POSTS_PER_BATCH || index + 1 == topic_count)
            && tx.send(generator.take_batch()).is_err()
        {
            break; // the writer stopped: its error is reported below
        }
    }
    drop(tx);
    let written = writer
        .join()
        .map_err(|_| anyhow!("the writer thread panicked"))?
        .context("cannot write topics and posts")?;
    let last_event_id = generator.next_event - 1;
    finish(db, last_event_id)?;

    let r = &generator.report;
    report.topics = r.topics;
    report.posts = r.posts;
    report.replies = r.replies;
    report.staff_replies = r.staff_replies;
    report.solved = r.solved;
    report.likes = r.likes;
    report.watches = r.watches;
    report.topic_tags = r.topic_tags;
    report.events += r.events;
    report.rows += written;
    report.last_event_id = last_event_id;
    report.biggest_category = per_category
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map(|(i, n)| (CATEGORIES[i].0.to_string(), *n))
        .unwrap_or_default();
    report.longest_topic = longest;
    if opts.kb > 0 {
        let kb_started = Instant::now();
        let editor = people.first_staff();
        let (articles, votes, sample) =
            write_kb(db, opts, editor, &people.members, end, &mut generator.rng)?;
        report.articles = articles;
        report.article_votes = votes;
        report.sample_article = sample;
        say(format!(
            "kb: {} articles ({} votes) from solved topics in {:.1} s",
            thousands(articles),
            thousands(votes),
            kb_started.elapsed().as_secs_f64()
        ));
    }
    if opts.incidents > 0 {
        let status_started = Instant::now();
        let staff_id = people.first_staff();
        let updates = write_status(db, opts, staff_id, end, &mut generator.rng)?;
        report.incidents = opts.incidents as u64;
        say(format!(
            "status: {} incidents ({} updates) over the last year in {:.1} s",
            thousands(opts.incidents as u64),
            thousands(updates),
            status_started.elapsed().as_secs_f64()
        ));
    }
    if opts.ideas > 0 || opts.changelog > 0 {
        let ideas_started = Instant::now();
        let staff_id = people.first_staff();
        write_ideas(
            db,
            opts,
            staff_id,
            &people.members,
            end,
            &mut generator.rng,
            &mut report,
        )?;
        say(format!(
            "ideas: {} ideas ({} votes), {} changelog posts in {:.1} s",
            thousands(report.ideas),
            thousands(report.idea_votes),
            thousands(report.changelog_posts),
            ideas_started.elapsed().as_secs_f64()
        ));
    }
    report.seconds = started.elapsed().as_secs_f64();
    if report.posts != opts.posts {
        bail!(
            "generated {} posts instead of {}: the writer stopped early",
            report.posts,
            opts.posts
        );
    }
    if !opts.quiet {
        print_report(&report, opts);
    }
    Ok(report)
}

/// Status-page groups of the generated community, five components each.
const STATUS_GROUPS: [(&str, [&str; 5]); 4] = [
    (
        "Platform",
        ["API", "Web app", "Webhooks", "Search", "Background jobs"],
    ),
    (
        "Hosting",
        [
            "Web hosting",
            "Databases",
            "Object storage",
            "CDN",
            "SSL certificates",
        ],
    ),
    (
        "Email",
        [
            "Inbound mail",
            "Outbound mail",
            "Webmail",
            "Spam filtering",
            "Forwarding",
        ],
    ),
    (
        "Account",
        [
            "Console",
            "Billing",
            "Sign-in and SSO",
            "Deploys",
            "Support portal",
        ],
    ),
];
const INCIDENT_NAMES: [&str; 8] = [
    "Elevated error rates",
    "Degraded performance",
    "Delayed processing",
    "Connectivity issues",
    "Partial outage",
    "Increased latency",
    "Failed requests for some customers",
    "Service disruption",
];

/// One generated incident: (minutes ago, a maintenance?, its name, the components it sets,
/// the minutes between its updates).
type IncidentPlan = (i64, bool, usize, Vec<(i64, String)>, Vec<i64>);

/// `--incidents N`: a status page of 20 components in 4 groups and N incidents spread over
/// the last year (one in ten a completed maintenance), each with 2 to 4 updates that set and
/// restore components, written through the status domain with their times, so that the
/// 90-day bars, the history and the JSON API have real history to show. Returns updates.
fn write_status(
    db: &Db,
    opts: &Options,
    staff_id: i64,
    end: NaiveDateTime,
    rng: &mut StdRng,
) -> anyhow::Result<u64> {
    use crate::status::{self, By, ComponentInput, OpenIncident, UpdateIncident};
    let by = By {
        user_id: Some(staff_id),
        token_id: None,
    };
    let mut updates = 0u64;
    crate::events::seeding(Seed::Bench, || -> anyhow::Result<()> {
        let components: Vec<i64> = db.write_sync(|conn| {
            let mut ids = Vec::new();
            let start = (end - chrono::TimeDelta::days(400))
                .format("%Y-%m-%d")
                .to_string();
            for (g, (group, names)) in STATUS_GROUPS.iter().enumerate() {
                let input = ComponentInput {
                    name: group.to_string(),
                    is_group: Some("on".into()),
                    position: g.to_string(),
                    start_date: start.clone(),
                    ..Default::default()
                };
                let group_id = status::save_component_in(conn, Some(staff_id), None, &input)?
                    .map_err(|e| AppError::Internal(format!("bench status group: {e:?}")))?;
                for (c, name) in names.iter().enumerate() {
                    let input = ComponentInput {
                        name: name.to_string(),
                        group: group_id.to_string(),
                        position: c.to_string(),
                        start_date: start.clone(),
                        ..Default::default()
                    };
                    ids.push(
                        status::save_component_in(conn, Some(staff_id), None, &input)?.map_err(
                            |e| AppError::Internal(format!("bench status component: {e:?}")),
                        )?,
                    );
                }
            }
            Ok(ids)
        })?;
        // Oldest first, so that each component's history is written in time order.
        let mut starts: Vec<i64> = (0..opts.incidents)
            .map(|_| rng.gen_range(60..365 * 24 * 60i64))
            .collect();
        starts.sort_unstable_by(|a, b| b.cmp(a));
        let statuses = ["degraded_performance", "partial_outage", "major_outage"];
        for chunk in starts.chunks(50) {
            let plans: Vec<IncidentPlan> = chunk
                .iter()
                .map(|minutes_ago| {
                    let maintenance = rng.gen_range(0..10) == 0;
                    let name = rng.gen_range(0..INCIDENT_NAMES.len());
                    let n = rng.gen_range(1..4usize);
                    let set: Vec<(i64, String)> = (0..n)
                        .map(|_| {
                            let c = components[rng.gen_range(0..components.len())];
                            (c, statuses[rng.gen_range(0..statuses.len())].to_string())
                        })
                        .collect();
                    let steps: Vec<i64> = (0..rng.gen_range(1..4))
                        .map(|_| rng.gen_range(5..90))
                        .collect();
                    (*minutes_ago, maintenance, name, set, steps)
                })
                .collect();
            db.write_sync(|conn| {
                for (minutes_ago, maintenance, name, set, steps) in &plans {
                    let at = end - chrono::TimeDelta::minutes(*minutes_ago);
                    if *maintenance {
                        let until = at + chrono::TimeDelta::hours(2);
                        let input = OpenIncident {
                            name: format!(
                                "Planned maintenance: {}",
                                INCIDENT_NAMES[*name].to_lowercase()
                            ),
                            status: "completed".into(),
                            body: "Completed as planned.".into(),
                            component_ids: set.iter().map(|(c, _)| *c).collect(),
                            scheduled_for: Some(at),
                            scheduled_until: Some(until),
                            ..Default::default()
                        };
                        status::open_in(conn, by, &input, "<p>Completed as planned.</p>", until)?
                            .map_err(|e| AppError::Internal(format!("bench maintenance: {e:?}")))?;
                        updates += 1;
                        continue;
                    }
                    let input = OpenIncident {
                        name: INCIDENT_NAMES[*name].to_string(),
                        status: "investigating".into(),
                        body: "We are investigating reports of problems.".into(),
                        components: set.clone(),
                        ..Default::default()
                    };
                    let w = status::open_in(
                        conn,
                        by,
                        &input,
                        "<p>We are investigating reports of problems.</p>",
                        at,
                    )?
                    .map_err(|e| AppError::Internal(format!("bench incident: {e:?}")))?;
                    updates += 1;
                    let mut t = at;
                    let labels = ["identified", "monitoring"];
                    for (i, step) in steps.iter().enumerate() {
                        t += chrono::TimeDelta::minutes(*step);
                        let last = i + 1 == steps.len();
                        let input = UpdateIncident {
                            status: if last {
                                "resolved".into()
                            } else {
                                labels[i.min(1)].into()
                            },
                            body: if last {
                                "This incident has been resolved.".into()
                            } else {
                                "A fix is being rolled out.".into()
                            },
                            ..Default::default()
                        };
                        let cooked = if last {
                            "<p>This incident has been resolved.</p>"
                        } else {
                            "<p>A fix is being rolled out.</p>"
                        };
                        status::update_in(conn, by, w.incident_id, &input, cooked, t)?
                            .map_err(|e| AppError::Internal(format!("bench update: {e:?}")))?;
                        updates += 1;
                    }
                }
                Ok(())
            })?;
        }
        // The generated incidents are history: nobody is notified of them.
        db.write_sync(|conn| {
            let last = max_id(conn, "events")?;
            db::notifications::set_cursor(conn, "notifications", last)?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(updates)
}

/// How many members vote for the first generated idea (fewer when there are fewer members).
pub const BIG_IDEA_VOTERS: usize = 10_000;
/// Votes per write transaction of the ideas generator.
const VOTES_PER_TRANSACTION: usize = 5_000;

/// `--ideas N --changelog M`: an ideas category with N ideas by members, votes (the first
/// idea gets `BIG_IDEA_VOTERS` and stays open; the rest a skewed 0–200, cast over the last
/// 60 days), statuses set by staff with an explanation (as the web page does: a staff reply
/// each), and M published changelog posts over the last year, each linking one to three ideas
/// (which ship) and a solved topic (which gets the changelog's reply). All through the
/// domain's own write functions; nobody is notified of this history.
fn write_ideas(
    db: &Db,
    opts: &Options,
    staff_id: i64,
    members: &[i64],
    at: NaiveDateTime,
    rng: &mut StdRng,
    report: &mut Report,
) -> anyhow::Result<()> {
    use crate::accounts::{Actor, Role};
    use crate::ideas::Status;
    use words::{ADJECTIVES, NOUNS, TECH};
    if members.is_empty() {
        bail!("--ideas needs members to vote");
    }
    let staff = Actor {
        id: staff_id,
        role: Role::Staff,
    };
    let pick = |rng: &mut StdRng, list: &[&'static str]| list[rng.gen_range(0..list.len())];
    crate::events::seeding(Seed::Bench, || -> anyhow::Result<()> {
        let category = db.write_sync(|conn| {
            let input = crate::forum::categories::CategoryInput {
                name: "Ideas".into(),
                slug: "ideas".into(),
                description: "Suggest improvements and vote for the ones you want.".into(),
                color: "#0f8a8a".into(),
                position: "99".into(),
                staff_only: None,
                kind: "ideas".into(),
            };
            let checked = crate::forum::categories::checked(&input)
                .map_err(|e| AppError::Internal(format!("bench ideas category: {e:?}")))?;
            let id = crate::forum::categories::save_in(conn, None, None, &checked)?
                .map_err(|e| AppError::Internal(format!("bench ideas category: {e:?}")))?;
            db::forum::category(conn, id)?.ok_or(AppError::NotFound)
        })?;
        // The ideas, 500 per transaction.
        let mut ideas: Vec<(i64, NaiveDateTime)> = Vec::new();
        for chunk in (0..opts.ideas as usize).collect::<Vec<_>>().chunks(500) {
            let plans: Vec<(i64, String, String, i64)> = chunk
                .iter()
                .map(|i| {
                    let author = members[rng.gen_range(0..members.len())];
                    let title = format!(
                        "{} {} for the {} {} (idea {i})",
                        ["Add", "Support", "Allow", "Improve", "Show"][rng.gen_range(0..5)],
                        pick(rng, ADJECTIVES),
                        pick(rng, TECH),
                        pick(rng, NOUNS)
                    );
                    let body = format!(
                        "It would help us a lot if the {} could {} {} {}. Today we work around it by hand every week.",
                        pick(rng, NOUNS),
                        ["handle", "export", "schedule", "show"][rng.gen_range(0..4)],
                        pick(rng, ADJECTIVES),
                        pick(rng, NOUNS)
                    );
                    (author, title, body, rng.gen_range(60..400i64))
                })
                .collect();
            let created = db.write_sync(|conn| {
                let mut out = Vec::new();
                for (author, title, body, days) in &plans {
                    let text = crate::forum::cook_text(conn, body)?;
                    let posted = at - TimeDelta::days(*days);
                    let c = crate::forum::start_topic_in(
                        conn,
                        Actor {
                            id: *author,
                            role: Role::Member,
                        },
                        &crate::forum::NewTopic {
                            category: &category,
                            title,
                            text: &text,
                            tags: &[],
                            flow: None,
                            at: posted,
                        },
                    )?;
                    out.push((c.topic_id, posted));
                }
                Ok(out)
            })?;
            ideas.extend(created);
        }
        report.ideas = ideas.len() as u64;
        // Votes: (idea, voter, when), drawn up front, written in transactions.
        let mut votes: Vec<(i64, i64, NaiveDateTime)> = Vec::new();
        for (n, (idea, _)) in ideas.iter().enumerate() {
            let count = if n == 0 {
                BIG_IDEA_VOTERS.min(members.len())
            } else {
                ((rng.gen_range(0.0..1.0f64).powi(3) * 200.0) as usize).min(members.len())
            };
            let start = rng.gen_range(0..members.len());
            for k in 0..count {
                let voter = members[(start + k) % members.len()];
                let when = at - TimeDelta::minutes(rng.gen_range(0..60 * 24 * 60));
                votes.push((*idea, voter, when));
            }
            if n == 0 {
                report.big_idea = Some((*idea, count as u64));
            }
        }
        for chunk in votes.chunks(VOTES_PER_TRANSACTION) {
            db.write_sync(|conn| {
                for (idea, voter, when) in chunk {
                    crate::ideas::vote_in(conn, *voter, *idea, true, *when)?;
                }
                Ok(())
            })?;
        }
        report.idea_votes = votes.len() as u64;
        // Statuses (the big idea stays open).
        let plans: Vec<Vec<Status>> = ideas
            .iter()
            .skip(1)
            .map(|_| match rng.gen_range(0..100) {
                0..=59 => vec![],
                60..=69 => vec![Status::UnderReview],
                70..=79 => vec![Status::UnderReview, Status::Planned],
                80..=89 => vec![Status::Planned, Status::InProgress],
                _ => vec![Status::Declined],
            })
            .collect();
        for (chunk_ideas, chunk_plans) in ideas[1.min(ideas.len())..]
            .chunks(200)
            .zip(plans.chunks(200))
        {
            db.write_sync(|conn| {
                let text = "Thanks for the suggestion and the votes: this is where it stands now.";
                for ((idea, posted), steps) in chunk_ideas.iter().zip(chunk_plans) {
                    for (k, status) in steps.iter().enumerate() {
                        let when = *posted + TimeDelta::days(10 * (k as i64 + 1));
                        crate::ideas::set_status_in(conn, staff, *idea, *status, text, when)?
                            .map_err(|e| AppError::Internal(format!("bench idea status: {e:?}")))?;
                    }
                }
                Ok(())
            })?;
        }
        // Changelog posts over the last year, oldest first; each ships one to three ideas.
        let solved: Vec<i64> = db.read_sync(|conn| {
            Ok(topics::table
                .filter(topics::solved_post_id.is_not_null())
                .order(topics::id.asc())
                .limit(10_000)
                .select(topics::id)
                .load(conn)?)
        })?;
        let shippable: Vec<i64> = ideas.iter().skip(1).map(|(id, _)| *id).collect();
        let limits = crate::forum::Limits::default();
        let mut next_idea = 0usize;
        for n in 0..opts.changelog as usize {
            let days_ago = 365 - (n * 365 / opts.changelog.max(1) as usize) as i64;
            let when = at - TimeDelta::days(days_ago);
            let mut links = Vec::new();
            for _ in 0..rng.gen_range(1..=3) {
                if let Some(id) = shippable.get(next_idea) {
                    links.push(crate::subject::topic_short_path(*id));
                    next_idea += 1;
                }
            }
            if !solved.is_empty() {
                links.push(crate::subject::topic_short_path(
                    solved[rng.gen_range(0..solved.len())],
                ));
            }
            let labels = rng.gen_range(0..3);
            let input = crate::changelog::ChangelogInput {
                title: format!(
                    "{} {} {} (change {n})",
                    ["New:", "Improved:", "Fixed:"][labels],
                    pick(rng, ADJECTIVES),
                    pick(rng, NOUNS)
                ),
                raw: format!(
                    "The {} now handles {} {} without a manual step. Thank you for asking: it came from your ideas and questions.",
                    pick(rng, TECH),
                    pick(rng, ADJECTIVES),
                    pick(rng, NOUNS)
                ),
                label_new: (labels == 0).then(|| "on".into()),
                label_improved: (labels == 1).then(|| "on".into()),
                label_fixed: (labels == 2).then(|| "on".into()),
                links: links.join("\n"),
                published_on: when.date().to_string(),
                status: "published".into(),
                ..Default::default()
            };
            let checked = crate::changelog::check(&input, &limits)
                .map_err(|e| anyhow!("bench changelog {n}: {e:?}"))?;
            db.write_sync(|conn| {
                let cooked = crate::forum::cook_text(conn, &input.raw)?;
                crate::changelog::save_in(conn, staff, None, &checked, &cooked.html, when)?
                    .map_err(|e| AppError::Internal(format!("bench changelog {n}: {e:?}")))?;
                Ok(())
            })?;
            report.changelog_posts += 1;
        }
        // This history notifies nobody.
        db.write_sync(|conn| {
            let last = max_id(conn, "events")?;
            db::notifications::set_cursor(conn, "notifications", last)?;
            Ok(())
        })?;
        Ok(())
    })
}

/// Knowledge-base sections of the generated community.
const KB_SECTIONS: [(&str, &str); 6] = [
    ("getting-started-guides", "Getting started"),
    ("domains-and-dns", "Domains & DNS"),
    ("email-delivery", "Email"),
    ("billing-and-plans", "Billing & plans"),
    ("deploys-and-builds", "Deploys & builds"),
    ("troubleshooting-guides", "Troubleshooting"),
];
/// One generated article: (published, page views, voters with their answers).
type ArticlePlan = (bool, i64, Vec<(i64, bool)>);
/// Transactions of the KB generator: small, so that a server running meanwhile is not held up.
const ARTICLES_PER_TRANSACTION: usize = 100;

/// `--kb N`: N articles drafted from solved topics through the knowledge base's own write
/// path ("Turn into article", then published by staff; one in twenty stays a draft), spread
/// over the sections, with page views and "was this helpful?" answers so that lists and
/// the staff review pages have something to rank. Returns (articles, votes, a sample path).
fn write_kb(
    db: &Db,
    opts: &Options,
    editor_id: i64,
    members: &[i64],
    at: NaiveDateTime,
    rng: &mut StdRng,
) -> anyhow::Result<(u64, u64, Option<String>)> {
    use crate::kb;
    let editor = crate::accounts::Actor {
        id: editor_id,
        role: crate::accounts::Role::Staff,
    };
    let solved: Vec<i64> = db.read_sync(|conn| {
        Ok(topics::table
            .filter(topics::solved_post_id.is_not_null())
            .order(topics::id.asc())
            .select(topics::id)
            .load(conn)?)
    })?;
    if (opts.kb as usize) > solved.len() {
        bail!(
            "--kb {} needs as many solved topics; this community has {}",
            opts.kb,
            solved.len()
        );
    }
    let limits = crate::forum::Limits::default();
    let picked: Vec<i64> = (0..opts.kb as usize)
        .map(|i| solved[i * solved.len() / opts.kb as usize])
        .collect();
    let (mut articles, mut votes, mut sample) = (0u64, 0u64, None);
    crate::events::seeding(Seed::Bench, || -> anyhow::Result<()> {
        db.write_sync(|conn| {
            for (position, (slug, name)) in KB_SECTIONS.iter().enumerate() {
                let input = kb::SectionInput {
                    name: name.to_string(),
                    slug: slug.to_string(),
                    description: format!("Guides about {}.", name.to_lowercase()),
                    position: position.to_string(),
                };
                kb::save_section_in(conn, Some(editor_id), None, &input, at)?
                    .map_err(|e| AppError::Internal(format!("bench kb section: {e:?}")))?;
            }
            Ok(())
        })?;
        for (chunk_no, chunk) in picked.chunks(ARTICLES_PER_TRANSACTION).enumerate() {
            // Drawn before the transaction, so a retried transaction writes the same data.
            let plans: Vec<ArticlePlan> = chunk
                .iter()
                .map(|_| {
                    let publish = rng.gen_range(0..20) != 0;
                    let views = rng.gen_range(0..5_000i64);
                    let n = rng.gen_range(0..8usize);
                    let mut voters: Vec<(i64, bool)> = Vec::new();
                    for _ in 0..n {
                        let who = members[rng.gen_range(0..members.len())];
                        if !voters.iter().any(|(v, _)| *v == who) {
                            voters.push((who, rng.gen_bool(0.75)));
                        }
                    }
                    (publish, views, voters)
                })
                .collect();
            let (a, v, s) = db
                .write_sync(|conn| {
                    let (mut a, mut v, mut s) = (0u64, 0u64, None);
                    for (i, (topic_id, (publish, views, voters))) in
                        chunk.iter().zip(&plans).enumerate()
                    {
                        let draft = kb::draft_from_topic_in(conn, editor, *topic_id, &limits, at)?;
                        a += 1;
                        if !publish {
                            continue;
                        }
                        let section = KB_SECTIONS
                            [(chunk_no * ARTICLES_PER_TRANSACTION + i) % KB_SECTIONS.len()]
                        .0;
                        let mut input = kb::ArticleInput::from_article(&draft, section);
                        input.status = kb::Status::Published.as_str().into();
                        input.note = "Tidied and published".into();
                        let checked =
                            kb::check(&input, &crate::forum::Limits::default()).map_err(|e| {
                                AppError::Internal(format!("bench article {topic_id}: {e:?}"))
                            })?;
                        let saved = kb::save_in(conn, Some(editor), Some(draft.id), &checked, at)?
                            .map_err(|e| {
                                AppError::Internal(format!("bench article {topic_id}: {e:?}"))
                            })?;
                        db::kb::add_views(conn, saved.article.id, *views)?;
                        for (who, helpful) in voters {
                            db::kb::put_vote(
                                conn,
                                saved.article.id,
                                &format!("u{who}"),
                                *helpful,
                                None,
                                at,
                            )?;
                            v += 1;
                        }
                        s.get_or_insert_with(|| crate::subject::article_path(&saved.article.slug));
                    }
                    Ok((a, v, s))
                })
                .map_err(|e| anyhow!("knowledge base, articles {chunk_no}: {e:?}"))?;
            articles += a;
            votes += v;
            if sample.is_none() {
                sample = s;
            }
        }
        // The generated events are history: nobody is notified of them.
        db.write_sync(|conn| {
            let last = max_id(conn, "events")?;
            db::notifications::set_cursor(conn, "notifications", last)?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok((articles, votes, sample))
}

fn print_report(r: &Report, opts: &Options) {
    println!();
    println!(
        "seed-bench done in {:.1} s: {} rows, {} rows/s (seed {})",
        r.seconds,
        thousands(r.rows),
        thousands((r.rows as f64 / r.seconds.max(1e-9)) as u64),
        opts.seed
    );
    println!(
        "  users      {} ({} staff: bench0 is the admin; bench{STAFF_EVERY}, bench{}, … are staff; the rest are members)",
        thousands(r.users),
        r.staff,
        STAFF_EVERY * 2
    );
    println!("  password   every account logs in with \"{PASSWORD}\"");
    println!(
        "  topics     {} ({:.1}% solved) in {} categories, {} tag links",
        thousands(r.topics),
        r.solved as f64 * 100.0 / r.topics.max(1) as f64,
        r.categories,
        thousands(r.topic_tags)
    );
    println!(
        "  posts      {} ({} replies, {:.1}% of them by staff)",
        thousands(r.posts),
        thousands(r.replies),
        r.staff_replies as f64 * 100.0 / r.replies.max(1) as f64
    );
    println!(
        "  likes      {}, watches {}, events {} (last id {})",
        thousands(r.likes),
        thousands(r.watches),
        thousands(r.events),
        r.last_event_id
    );
    match &r.long_topic {
        Some((_, path)) => println!("  long topic ({LONG_REPLIES} replies): {path}"),
        None => println!(
            "  long topic: none (needs at least {} replies in total)",
            LONG_REPLIES + FIFTY_REPLIES
        ),
    }
    match &r.fifty_topic {
        Some((_, path)) => println!("  topic with {FIFTY_REPLIES} replies: {path}"),
        None => println!("  topic with {FIFTY_REPLIES} replies: none (too few posts)"),
    }
    println!(
        "  longest topic ({} replies): {}",
        thousands(r.longest_topic.1),
        r.longest_topic.2
    );
    if let Some(path) = &r.sample_article {
        println!(
            "  knowledge base: {} articles, {} helpful votes; an article: {path}",
            thousands(r.articles),
            thousands(r.article_votes)
        );
    }
    println!(
        "  biggest category: /c/{} ({} topics, {} pages)",
        r.biggest_category.0,
        thousands(r.biggest_category.1),
        r.biggest_category
            .1
            .div_ceil(crate::forum::TOPICS_PER_PAGE as u64)
    );
    println!(
        "  notifications cursor set to event {}: historic posts notify nobody",
        r.last_event_id
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_plan_is_exact_and_heavy_tailed() {
        let mut rng = StdRng::seed_from_u64(7);
        let (counts, long, fifty) = plan_replies(&mut rng, 5_000, 45_000);
        assert_eq!(counts.iter().sum::<u64>(), 45_000);
        assert_eq!(counts[long.unwrap()], LONG_REPLIES);
        assert_eq!(counts[fifty.unwrap()], FIFTY_REPLIES);
        let short = counts.iter().filter(|&&n| n <= 5).count();
        assert!(short > counts.len() / 2, "most threads are short: {short}");
        // Tiny inputs still add up.
        for (topics, replies) in [(1, 0), (1, 10), (2, 60), (3, 2_000), (10, 3)] {
            let (c, _, _) = plan_replies(&mut rng, topics, replies);
            assert_eq!(
                c.iter().sum::<u64>(),
                replies,
                "{topics} topics, {replies} replies"
            );
        }
    }

    #[test]
    fn pooled_bodies_accept_a_tail_without_recooking() {
        let mut rng = StdRng::seed_from_u64(1);
        let pool = build_pool(&mut rng, 300, false, 100).unwrap();
        let mut t = String::new();
        for (raw, cooked) in pool.raw.iter().zip(&pool.cooked) {
            tail(&mut rng, false, &mut t);
            let full = crate::markdown::cook(&format!("{raw}\n\n{t}"), &|n| n.starts_with("bench"));
            assert_eq!(full.html, format!("{cooked}{}", tail_html(&t)));
        }
    }

    #[test]
    fn generated_ideas_have_their_votes_statuses_and_changelog_posts() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ideas.db").display());
        let db = Db::connect(&url).unwrap();
        db.migrate().unwrap();
        let opts = Options {
            users: 150,
            topics: 40,
            posts: 400,
            kb: 0,
            incidents: 0,
            ideas: 60,
            changelog: 8,
            seed: 5,
            quiet: true,
        };
        let report = run(&db, &opts).unwrap();
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count = |sql: &str| -> i64 {
            db.read_sync(|c| Ok(diesel::sql_query(sql).get_result::<N>(c)?.n))
                .unwrap()
        };
        assert_eq!(report.ideas, 60);
        assert_eq!(count("SELECT COUNT(*) AS n FROM ideas"), 60);
        assert_eq!(
            count("SELECT COUNT(*) AS n FROM idea_votes") as u64,
            report.idea_votes
        );
        assert_eq!(
            count(
                "SELECT COUNT(*) AS n FROM ideas i WHERE vote_count != (SELECT COUNT(*) FROM idea_votes v WHERE v.topic_id = i.topic_id)"
            ),
            0
        );
        let (big, voters) = report.big_idea.unwrap();
        assert!(voters > 100, "{voters}");
        assert_eq!(
            count(&format!(
                "SELECT COUNT(*) AS n FROM ideas WHERE topic_id = {big} AND status = 'open'"
            )),
            1
        );
        assert_eq!(
            count(
                "SELECT COUNT(*) AS n FROM changelog_posts WHERE status = 'published' AND loop_closed_at IS NOT NULL"
            ),
            8
        );
        assert!(count("SELECT COUNT(*) AS n FROM ideas WHERE status = 'shipped'") >= 8);
        assert!(count("SELECT COUNT(*) AS n FROM ideas WHERE status = 'planned'") > 0);
        assert_eq!(
            count("SELECT last_event_id AS n FROM follower_cursors WHERE name = 'notifications'"),
            count("SELECT MAX(id) AS n FROM events"),
            "history notifies nobody"
        );
    }

    #[test]
    fn generated_counters_match_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("seed.db").display());
        let db = Db::connect(&url).unwrap();
        db.migrate().unwrap();
        let opts = Options {
            users: 120,
            topics: 40,
            posts: 1_500,
            kb: 5,
            incidents: 20,
            ideas: 0,
            changelog: 0,
            seed: 3,
            quiet: true,
        };
        let report = run(&db, &opts).unwrap();
        assert_eq!(report.posts, 1_500);
        assert!(report.long_topic.is_some() && report.fifty_topic.is_some());
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count = |sql: &str| -> i64 {
            db.read_sync(|c| Ok(diesel::sql_query(sql).get_result::<N>(c)?.n))
                .unwrap()
        };
        assert_eq!(count("SELECT COUNT(*) AS n FROM posts"), 1_500);
        let mismatched = [
            "SELECT COUNT(*) AS n FROM topics t WHERE reply_count != (SELECT COUNT(*) - 1 FROM posts p WHERE p.topic_id = t.id)",
            "SELECT COUNT(*) AS n FROM topics t WHERE highest_post_number != (SELECT MAX(post_number) FROM posts p WHERE p.topic_id = t.id)",
            "SELECT COUNT(*) AS n FROM topics t WHERE like_count != (SELECT SUM(like_count) FROM posts p WHERE p.topic_id = t.id)",
            "SELECT COUNT(*) AS n FROM posts p WHERE like_count != (SELECT COUNT(*) FROM likes l WHERE l.post_id = p.id)",
            "SELECT COUNT(*) AS n FROM topics t WHERE bumped_at != (SELECT MAX(created_at) FROM posts p WHERE p.topic_id = t.id)",
            "SELECT COUNT(*) AS n FROM topics t WHERE last_poster_id != (SELECT user_id FROM posts p WHERE p.topic_id = t.id ORDER BY post_number DESC LIMIT 1)",
            "SELECT COUNT(*) AS n FROM topics t WHERE has_staff_reply != EXISTS (SELECT 1 FROM posts p JOIN users u ON u.id = p.user_id WHERE p.topic_id = t.id AND p.post_number > 1 AND u.role IN ('staff', 'admin'))",
            "SELECT COUNT(*) AS n FROM topics t WHERE solved_post_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = t.solved_post_id AND p.topic_id = t.id AND p.post_number > 1)",
            "SELECT COUNT(*) AS n FROM posts a JOIN posts b ON a.topic_id = b.topic_id AND b.post_number = a.post_number + 1 WHERE b.created_at <= a.created_at",
            "SELECT COUNT(*) AS n FROM likes l JOIN posts p ON p.id = l.post_id WHERE l.user_id = p.user_id",
        ];
        for sql in mismatched {
            assert_eq!(count(sql), 0, "{sql}");
        }
        assert_eq!(
            count("SELECT COUNT(*) AS n FROM events WHERE kind = 'post.created'"),
            1_500 - 40
        );
        assert_eq!(
            count("SELECT COUNT(*) AS n FROM events WHERE kind = 'post.liked'"),
            count("SELECT COUNT(*) AS n FROM likes")
        );
        assert_eq!(
            count("SELECT COUNT(*) AS n FROM events WHERE kind = 'topic.solved'"),
            count("SELECT COUNT(*) AS n FROM topics WHERE solved_post_id IS NOT NULL")
        );
        assert_eq!(
            count("SELECT last_event_id AS n FROM follower_cursors WHERE name = 'notifications'"),
            count("SELECT MAX(id) AS n FROM events")
        );
        assert_eq!(report.articles, 5);
        assert_eq!(count("SELECT COUNT(*) AS n FROM status_incidents"), 20);
        assert_eq!(count("SELECT COUNT(*) AS n FROM status_components"), 24);
        assert_eq!(
            count("SELECT COUNT(*) AS n FROM status_incidents WHERE resolved_at IS NULL"),
            0,
            "every generated incident is over"
        );
        assert_eq!(count("SELECT COUNT(*) AS n FROM kb_articles"), 5);
        assert_eq!(count("SELECT COUNT(*) AS n FROM kb_article_topics"), 5);
        assert_eq!(
            count(
                "SELECT CAST(COALESCE(SUM(helpful_yes + helpful_no), 0) AS BIGINT) AS n FROM kb_articles"
            ),
            count("SELECT COUNT(*) AS n FROM kb_votes")
        );
        assert!(report.sample_article.is_some());
        // Refuses a second run.
        assert!(run(&db, &opts).is_err());
        // The admin can log in with the documented password.
        let user = crate::accounts::authenticate(&db, "bench0", PASSWORD).unwrap();
        assert_eq!(user.map(|u| u.role), Some(crate::accounts::Role::Admin));
    }
}
