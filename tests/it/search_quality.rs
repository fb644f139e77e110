//! Search quality: customers' real ways of asking (paraphrases, partial queries, typos,
//! words from the answer) must find the demo topic that answers them on the first screen
//! (top 5), even when the demo is buried among thousands of other support topics that use
//! the same vocabulary. The cases live in tests/search/quality.toml.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use townhall::db::forum::{self as q, ListFilter, NewPost, NewTopic};
use townhall::db::{self, Db};
use townhall::error::AppError;
use townhall::events::{self, Event};

use crate::support::{Client, Server, TestDb, cli};

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/search/quality.toml");
const DISTRACTORS: usize = 3_000;
const CHUNK: usize = 500;
/// A hit counts when it is among the first this many results.
const FIRST_SCREEN: usize = 5;
const MIN_RECALL: f64 = 0.90;
const KINDS: &[&str] = &[
    "paraphrase",
    "missing words",
    "typo",
    "answer words",
    "short",
];

#[derive(serde::Deserialize)]
struct CaseFile {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    q: String,
    expect: String,
    how: String,
}

#[test]
fn search_finds_the_answer_on_the_first_screen_for_known_questions() {
    let started = Instant::now();
    let cases: CaseFile = toml::from_str(&std::fs::read_to_string(CASES).expect("read cases"))
        .unwrap_or_else(|e| panic!("{CASES}: {e}"));
    let cases = cases.case;
    assert!(cases.len() >= 110, "only {} cases", cases.len());
    for c in &cases {
        assert!(
            KINDS.contains(&c.how.as_str()),
            "{:?}: unknown how = {:?}",
            c.q,
            c.how
        );
        assert!(!c.q.trim().is_empty(), "empty query for {:?}", c.expect);
    }

    let tdb = TestDb::new();
    let (code, out, err) = cli(&tdb, &["seed-demo"], "", &[]);
    assert_eq!(code, 0, "seed-demo: {out}{err}");

    let db = Db::connect(&tdb.url).expect("connect");
    let demo_titles: HashSet<String> = db
        .read_sync(|conn| {
            q::list_topics(
                conn,
                &ListFilter {
                    include_unlisted: true,
                    ..Default::default()
                },
                1_000,
            )
        })
        .expect("demo topics")
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert!(
        demo_titles.len() >= 30,
        "demo has {} topics",
        demo_titles.len()
    );
    let unknown: Vec<&str> = cases
        .iter()
        .filter(|c| !demo_titles.contains(&c.expect))
        .map(|c| c.expect.as_str())
        .collect();
    assert!(
        unknown.is_empty(),
        "quality.toml expects titles that are not demo topics: {unknown:#?}"
    );
    let mut uncovered: Vec<&String> = demo_titles
        .iter()
        .filter(|t| cases.iter().filter(|c| &c.expect == *t).count() < 2)
        .collect();
    uncovered.sort();
    assert!(
        uncovered.is_empty(),
        "demo topics with fewer than two cases: {uncovered:#?}"
    );

    let last_distractor = add_distractors(&db, &demo_titles);
    drop(db);
    let seeded = started.elapsed();

    let server = Server::start(&tdb);
    let client = server.client();
    wait_for_index(&client, &last_distractor);
    let indexed = started.elapsed();

    // A knowledge-base article built from the expected topic answers the question as well
    // (articles are meant to rank above the threads they came from).
    let mut answered_by: std::collections::HashMap<String, Vec<String>> = Default::default();
    for a in client.json("/kb.json")["articles"]
        .as_array()
        .expect("articles")
    {
        let url = a["url"].as_str().expect("url").to_string();
        let article = client.json(&format!("{url}.json"));
        for t in article["topics"].as_array().expect("topics") {
            let title = t["title"].as_str().expect("title").to_string();
            answered_by.entry(url.clone()).or_default().push(title);
        }
    }

    // Run every case. The first page decides; for a miss, later pages say how far off it was.
    struct Outcome<'a> {
        case: &'a Case,
        rank: Option<usize>,
        /// Rank within the first `DEEP_PAGES` pages, for the report.
        deep_rank: Option<(usize, Value)>,
        top: Vec<Value>,
        fuzzy: bool,
        did_you_mean: Option<String>,
    }
    const DEEP_PAGES: usize = 5;
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in &cases {
        let r = search(&client, &case.q);
        let hits = r["hits"].as_array().expect("hits").clone();
        let is_expected = |h: &Value| {
            h["title"].as_str() == Some(case.expect.as_str())
                || h["url"]
                    .as_str()
                    .and_then(|u| answered_by.get(u))
                    .is_some_and(|titles| titles.contains(&case.expect))
        };
        let rank = hits.iter().position(is_expected).map(|i| i + 1);
        let mut deep_rank = rank.map(|r| (r, hits[r - 1].clone()));
        let mut page = 1;
        let mut more = r["has_more"].as_bool().unwrap_or(false);
        while deep_rank.is_none() && more && page < DEEP_PAGES {
            page += 1;
            let next = search_page(&client, &case.q, page);
            let next_hits = next["hits"].as_array().expect("hits");
            if let Some(i) = next_hits.iter().position(is_expected) {
                deep_rank = Some(((page - 1) * 10 + i + 1, next_hits[i].clone()));
            }
            more = next["has_more"].as_bool().unwrap_or(false);
        }
        outcomes.push(Outcome {
            case,
            rank,
            deep_rank,
            top: hits.into_iter().take(3).collect(),
            fuzzy: r["fuzzy"].as_bool().unwrap_or(false),
            did_you_mean: r["did_you_mean"].as_str().map(str::to_string),
        });
    }
    let searched = started.elapsed();

    let hit = |o: &Outcome| o.rank.is_some_and(|r| r <= FIRST_SCREEN);
    let mut per_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for o in &outcomes {
        let e = per_kind.entry(o.case.how.as_str()).or_default();
        e.1 += 1;
        if hit(o) {
            e.0 += 1;
        }
    }
    let found = outcomes.iter().filter(|o| hit(o)).count();
    let recall = found as f64 / outcomes.len() as f64;
    let mrr: f64 = outcomes
        .iter()
        .filter_map(|o| o.rank.map(|r| 1.0 / r as f64))
        .sum::<f64>()
        / outcomes.len() as f64;

    eprintln!();
    eprintln!(
        "search quality: {} cases over {} demo topics + {DISTRACTORS} distractors",
        outcomes.len(),
        demo_titles.len()
    );
    eprintln!(
        "  (seeded in {:.1?}, indexed by {:.1?}, searched by {:.1?})",
        seeded, indexed, searched
    );
    eprintln!("  {:<15} {:>7} {:>9}", "how", "found", "recall@5");
    for (kind, (ok, n)) in &per_kind {
        eprintln!(
            "  {:<15} {:>3}/{:<3} {:>9.3}",
            kind,
            ok,
            n,
            *ok as f64 / *n as f64
        );
    }
    eprintln!(
        "  {:<15} {:>3}/{:<3} {:>9.3}   (MRR@10 {:.3})",
        "overall",
        found,
        outcomes.len(),
        recall,
        mrr
    );
    let misses: Vec<&Outcome> = outcomes.iter().filter(|o| !hit(o)).collect();
    if !misses.is_empty() {
        eprintln!();
        eprintln!("misses (where the expected topic ranked, and the top 3 instead):");
        let describe = |h: &Value| {
            format!(
                "score {:.2}, {}{}",
                h["score"].as_f64().unwrap_or(0.0),
                h["kind"].as_str().unwrap_or("?"),
                if h["solved"].as_bool() == Some(true) {
                    ", solved"
                } else {
                    ""
                }
            )
        };
        for o in &misses {
            let rank = match &o.deep_rank {
                Some((r, h)) => format!("rank {r} ({})", describe(h)),
                None => format!("not in the first {DEEP_PAGES} pages"),
            };
            let mut notes = String::new();
            if o.fuzzy {
                notes.push_str(" [fuzzy]");
            }
            if let Some(d) = &o.did_you_mean {
                notes.push_str(&format!(" [did you mean {d:?}]"));
            }
            eprintln!("  [{}] {:?} -> {rank}{notes}", o.case.how, o.case.q);
            eprintln!("      expected: {}", o.case.expect);
            for (i, h) in o.top.iter().enumerate() {
                eprintln!(
                    "      {}. {} ({})",
                    i + 1,
                    h["title"].as_str().unwrap_or(""),
                    describe(h)
                );
            }
        }
    }
    eprintln!();

    assert!(
        recall >= MIN_RECALL,
        "recall@{FIRST_SCREEN} is {recall:.3} ({found}/{}), below {MIN_RECALL}; see the misses above",
        outcomes.len()
    );
}

fn search(c: &Client, query: &str) -> Value {
    search_page(c, query, 1)
}

fn search_page(c: &Client, query: &str, page: usize) -> Value {
    let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    c.json(&format!("/api/search?q={q}&page={page}"))
}

/// Waits until the index serves both a demo topic and the last distractor.
fn wait_for_index(c: &Client, last_distractor: &(i64, String)) {
    let started = Instant::now();
    let has = |r: &Value, pred: &dyn Fn(&Value) -> bool| {
        r["hits"]
            .as_array()
            .is_some_and(|hits| hits.iter().any(pred))
    };
    loop {
        let demo = has(&search(c, "nonprofits"), &|h| {
            h["title"].as_str()
                == Some("Is there a discount for registered charities and nonprofits?")
        });
        let (id, title) = last_distractor;
        let distractor = has(&search(c, title), &|h| h["topic_id"].as_i64() == Some(*id));
        if demo && distractor {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the index did not catch up within 60 s (demo found: {demo}, last distractor found: {distractor})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---- distractors ------------------------------------------------------------------------

/// A tiny deterministic PRNG (xorshift64*): the same distractors every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }

    /// Zipf-like: rank r (from 0) with probability about 1 / ((r + 1.5) ln(n + 1)).
    fn zipf<'a>(&mut self, list: &[&'a str]) -> &'a str {
        let n = list.len() as f64;
        let r = ((n + 1.0).powf(self.unit()) - 1.0) as usize;
        list[r.min(list.len() - 1)]
    }
}

/// What a distractor topic is about: its words, most common first (drawn with Zipf-like
/// weights, so the head is frequent and the tail rare). Real support topics cluster (a
/// certificate question says ssl, https, renew, browser together), so each distractor draws
/// mostly from one theme, a little from the others, from general support words and from
/// everyday glue. The tails hold rarer words, some of them the demo's own (rsync, caa, flock).
const THEMES: &[&[&str]] = &[
    // domains and dns
    &[
        "domain",
        "dns",
        "record",
        "records",
        "nameservers",
        "registrar",
        "www",
        "ip",
        "address",
        "provider",
        "zone",
        "transfer",
        "subdomain",
        "point",
        "cname",
        "root",
        "propagation",
        "ttl",
        "mx",
        "txt",
        "change",
        "changed",
        "hours",
        "resolve",
        "whois",
        "expired",
        "renewal",
        "lookup",
        "registered",
        "pointing",
        "nameserver",
        "auth",
        "code",
        "lock",
        "dig",
        "apex",
        "alias",
        "host",
        "hostname",
        "wildcard",
        "delegation",
        "dnssec",
        "glue",
        "ptr",
        "srv",
        "aaaa",
        "anycast",
        "registry",
        "flattening",
        "caa",
    ],
    // certificates and https
    &[
        "ssl",
        "certificate",
        "https",
        "http",
        "browser",
        "secure",
        "padlock",
        "renew",
        "expired",
        "issued",
        "redirect",
        "warning",
        "error",
        "install",
        "valid",
        "pending",
        "validation",
        "chain",
        "subdomain",
        "insecure",
        "trust",
        "authority",
        "mixed",
        "content",
        "force",
        "letsencrypt",
        "intermediate",
        "self-signed",
        "wildcard",
        "san",
        "expiry",
        "hsts",
        "redirects",
        "loop",
        "csr",
        "private",
        "key",
        "issuer",
        "preload",
        "caa",
        "challenge",
        "acme",
        "ocsp",
        "tls",
    ],
    // email
    &[
        "email",
        "emails",
        "mail",
        "mailbox",
        "inbox",
        "send",
        "spam",
        "address",
        "receive",
        "password",
        "webmail",
        "outlook",
        "smtp",
        "imap",
        "forwarder",
        "delivery",
        "bounce",
        "bounced",
        "quota",
        "spf",
        "dkim",
        "dmarc",
        "headers",
        "alias",
        "reply",
        "sent",
        "folder",
        "junk",
        "signature",
        "client",
        "app",
        "attachment",
        "sending",
        "receiving",
        "blacklist",
        "reputation",
        "forwarders",
        "pop3",
        "catch-all",
        "autoresponder",
        "selector",
        "footer",
    ],
    // billing
    &[
        "invoice",
        "payment",
        "plan",
        "billing",
        "card",
        "charge",
        "charged",
        "renewal",
        "refund",
        "upgrade",
        "price",
        "month",
        "monthly",
        "annual",
        "credit",
        "receipt",
        "subscription",
        "bank",
        "downgrade",
        "cancel",
        "tax",
        "vat",
        "discount",
        "invoices",
        "coupon",
        "currency",
        "declined",
        "company",
        "address",
        "paypal",
        "failed",
        "overdue",
        "suspended",
        "proration",
        "prorated",
        "nonprofit",
        "reissue",
        "statement",
        "trial",
        "reverse",
    ],
    // accounts and teams
    &[
        "account",
        "login",
        "password",
        "email",
        "user",
        "team",
        "access",
        "admin",
        "member",
        "reset",
        "owner",
        "role",
        "sign",
        "security",
        "two-factor",
        "code",
        "locked",
        "invite",
        "session",
        "permissions",
        "profile",
        "developer",
        "sso",
        "saml",
        "idp",
        "provider",
        "groups",
        "transfer",
        "ownership",
        "teammates",
        "delete",
        "close",
        "audit",
        "api",
        "token",
        "keys",
        "metadata",
        "assertion",
    ],
    // deploys and apps
    &[
        "deploy",
        "app",
        "build",
        "git",
        "logs",
        "error",
        "nw",
        "cli",
        "repo",
        "node",
        "files",
        "command",
        "branch",
        "push",
        "python",
        "port",
        "container",
        "instance",
        "production",
        "staging",
        "environment",
        "variables",
        "variable",
        "start",
        "npm",
        "upload",
        "directory",
        "webhook",
        "rollback",
        "release",
        "version",
        "health",
        "check",
        "502",
        "crash",
        "restart",
        "listen",
        "package.json",
        "nw.toml",
        "gunicorn",
        "dist",
        "publish",
        "nwignore",
        "promote",
        "localhost",
    ],
    // wordpress and php
    &[
        "wordpress",
        "php",
        "plugin",
        "plugins",
        "theme",
        "admin",
        "page",
        "upload",
        "images",
        "error",
        "slow",
        "update",
        "memory",
        "cache",
        "database",
        "dashboard",
        "timeout",
        "load",
        "media",
        "mysql",
        "version",
        "limit",
        "fatal",
        "white",
        "screen",
        "500",
        "settings",
        "woocommerce",
        "posts",
        "gateway",
        "504",
        "debug",
        "execution",
        "max",
        "imagick",
        "memory_limit",
        "wp-content",
        "search-replace",
        "permalinks",
        "htaccess",
    ],
    // storage, backups and performance
    &[
        "disk",
        "backup",
        "backups",
        "storage",
        "space",
        "restore",
        "database",
        "files",
        "usage",
        "logs",
        "full",
        "server",
        "slow",
        "cpu",
        "memory",
        "load",
        "traffic",
        "quota",
        "ssh",
        "sftp",
        "ftp",
        "download",
        "table",
        "snapshot",
        "bandwidth",
        "uploads",
        "gb",
        "mb",
        "folder",
        "delete",
        "cleanup",
        "dump",
        "import",
        "export",
        "i/o",
        "rsync",
        "mysqldump",
        "inode",
    ],
    // scheduled jobs
    &[
        "cron",
        "job",
        "jobs",
        "schedule",
        "script",
        "command",
        "runs",
        "run",
        "every",
        "night",
        "nightly",
        "minutes",
        "hour",
        "daily",
        "output",
        "logs",
        "failed",
        "php",
        "utc",
        "timezone",
        "queue",
        "worker",
        "scheduler",
        "crontab",
        "interval",
        "twice",
        "laravel",
        "artisan",
        "flock",
        "duplicate",
    ],
];

/// Words of any support topic.
const GENERAL: &[&str] = &[
    "site",
    "website",
    "console",
    "help",
    "support",
    "plan",
    "account",
    "customer",
    "client",
    "page",
    "settings",
    "northwind",
    "server",
    "hosting",
    "shop",
    "ticket",
    "docs",
    "update",
    "change",
    "setup",
    "option",
    "starter",
    "pro",
    "agency",
    "problem",
    "issue",
    "working",
    "message",
    "screen",
    "button",
    "link",
    "guide",
    "step",
    "team",
    "question",
    "thanks",
    "days",
    "minutes",
    "hours",
    "week",
];

/// The glue of ordinary sentences, most common first (stop words are dropped from
/// queries; the others, like "after", "still", "working", compete).
const FILLER: &[&str] = &[
    "the",
    "to",
    "i",
    "and",
    "a",
    "it",
    "my",
    "is",
    "of",
    "on",
    "in",
    "for",
    "that",
    "but",
    "not",
    "with",
    "this",
    "we",
    "have",
    "was",
    "after",
    "when",
    "can",
    "do",
    "still",
    "be",
    "from",
    "now",
    "just",
    "any",
    "so",
    "are",
    "what",
    "again",
    "there",
    "get",
    "only",
    "since",
    "how",
    "all",
    "some",
    "then",
    "also",
    "tried",
    "already",
    "works",
    "working",
    "seems",
    "know",
    "need",
    "want",
    "anyone",
    "idea",
    "thanks",
    "please",
    "before",
    "every",
    "same",
    "new",
    "old",
    "today",
    "yesterday",
    "way",
    "time",
    "first",
    "shows",
    "getting",
    "set",
    "up",
    "without",
    "why",
    "changed",
];

const VERBS: &[&str] = &[
    "change",
    "move",
    "reset",
    "renew",
    "restore",
    "export",
    "import",
    "connect",
    "configure",
    "cancel",
    "upgrade",
    "remove",
    "add",
    "enable",
    "disable",
    "update",
    "check",
    "rename",
];
const GERUNDS: &[&str] = &[
    "uploading",
    "deploying",
    "logging in",
    "renewing",
    "restoring",
    "importing",
    "connecting",
    "sending",
    "paying",
    "migrating",
    "installing",
    "updating",
    "saving",
];
const EVENTS: &[&str] = &[
    "the update",
    "the migration",
    "upgrading",
    "the renewal",
    "changing dns",
    "the last deploy",
    "moving servers",
    "maintenance",
    "enabling ssl",
    "switching plans",
];
const WHEN: &[&str] = &[
    "monday",
    "yesterday",
    "last week",
    "the weekend",
    "this morning",
    "the outage",
];
const STATES: &[&str] = &["stuck", "missing", "wrong", "broken", "not updating"];
const PLANS: &[&str] = &["starter", "pro", "agency"];
const MEMBERS: &[&str] = &[
    "priya_k",
    "tomasz",
    "lena.b",
    "hugo_r",
    "oksana-dev",
    "jmarsh",
    "kofi.a",
    "mei.lin",
    "wren.studio",
    "carlos_m",
];
const STAFF: &[&str] = &["maya.support", "devon_ops", "ines.billing"];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn title(rng: &mut Rng, theme: &[&'static str]) -> String {
    let a = rng.zipf(theme);
    let b = loop {
        let b = rng.zipf(theme);
        if b != a {
            break b;
        }
    };
    let t = match rng.below(9) {
        0 => format!("{a} {b} not working after {}", rng.pick(EVENTS)),
        1 => format!("How do I {} the {a} {b}?", rng.pick(VERBS)),
        2 => format!("{a} error when {}", rng.pick(GERUNDS)),
        3 => format!("{a} and {b} on the {} plan", rng.pick(PLANS)),
        4 => format!("{a} keeps failing since {}", rng.pick(WHEN)),
        5 => format!("Can I {} {a} from the console?", rng.pick(VERBS)),
        6 => format!("Question about {a} and {b}"),
        7 => format!("{a} {b} {}", rng.pick(STATES)),
        _ => format!("Help with {a} {b} for a client site"),
    };
    capitalize(&t)
}

/// 30–80 words in sentences of 5–13: mostly the topic's theme, some general support words,
/// a few from another theme, and everyday glue.
fn body(rng: &mut Rng, theme: &[&'static str]) -> String {
    let words = 30 + rng.below(51);
    let mut out = String::new();
    let mut sentence = 0;
    let mut length = 5 + rng.below(9);
    for _ in 0..words {
        let roll = rng.unit();
        let w = if roll < 0.50 {
            rng.zipf(FILLER)
        } else if roll < 0.80 {
            rng.zipf(theme)
        } else if roll < 0.92 {
            rng.zipf(GENERAL)
        } else {
            let other = THEMES[rng.below(THEMES.len())];
            rng.zipf(other)
        };
        if sentence == 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&capitalize(w));
        } else {
            out.push(' ');
            out.push_str(w);
        }
        sentence += 1;
        if sentence == length {
            out.push('.');
            sentence = 0;
            length = 5 + rng.below(9);
        }
    }
    if sentence != 0 {
        out.push('.');
    }
    out
}

/// Inserts `DISTRACTORS` topics with 1–3 replies each (some solved, some answered by staff,
/// liked about as much as the demo's replies), written as the application writes them: rows
/// plus a `topic.created` event, in chunks. Returns the id and title of the last one.
fn add_distractors(db: &Db, demo_titles: &HashSet<String>) -> (i64, String) {
    let (categories, users) = db
        .read_sync(|conn| {
            let categories: Vec<i64> = q::categories(conn)?
                .into_iter()
                .filter(|c| !c.staff_only)
                .map(|c| c.id)
                .collect();
            let mut users: HashMap<&'static str, i64> = HashMap::new();
            for name in MEMBERS.iter().chain(STAFF) {
                let key = townhall::accounts::username_key(name);
                let u = townhall::db::users::by_username_key(conn, &key)?
                    .ok_or_else(|| AppError::Internal(format!("no demo user {name}")))?;
                users.insert(*name, u.id);
            }
            Ok((categories, users))
        })
        .expect("categories and users");
    assert!(!categories.is_empty(), "no public categories");

    let mut rng = Rng(0x7057_4841_4c4c_2025);
    let mut titles: HashSet<String> = HashSet::new();
    let mut last = (0, String::new());
    let now = db::now();
    for chunk_start in (0..DISTRACTORS).step_by(CHUNK) {
        let n = CHUNK.min(DISTRACTORS - chunk_start);
        // Generate outside the transaction, write inside it.
        struct Gen {
            category: i64,
            author: i64,
            title: String,
            body: String,
            age_hours: i64,
            /// (author, staff, text, liked by)
            replies: Vec<(i64, bool, String, Vec<i64>)>,
            solved_by: Option<usize>,
        }
        let mut batch = Vec::with_capacity(n);
        for _ in 0..n {
            let theme = THEMES[rng.below(THEMES.len())];
            let title = loop {
                let t = title(&mut rng, theme);
                if !demo_titles.contains(&t) && titles.insert(t.clone()) {
                    break t;
                }
            };
            let replies: Vec<(i64, bool, String, Vec<i64>)> = (0..1 + rng.below(3))
                .map(|_| {
                    let staff = rng.chance(0.3);
                    let name = if staff {
                        rng.pick(STAFF)
                    } else {
                        rng.pick(MEMBERS)
                    };
                    // Likes per reply as in the demo: 0–3 mostly, sometimes 4 or 5.
                    let roll = rng.unit();
                    let likes = [0.23, 0.46, 0.72, 0.94, 0.97]
                        .iter()
                        .filter(|p| roll >= **p)
                        .count();
                    let mut likers: Vec<i64> = Vec::new();
                    while likers.len() < likes {
                        let pool = if rng.chance(0.8) { MEMBERS } else { STAFF };
                        let who = users[rng.pick(pool)];
                        if who != users[name] && !likers.contains(&who) {
                            likers.push(who);
                        }
                    }
                    (users[name], staff, body(&mut rng, theme), likers)
                })
                .collect();
            let solved_by = rng.chance(0.35).then(|| rng.below(replies.len()));
            batch.push(Gen {
                category: categories[rng.below(categories.len())],
                author: users[rng.pick(MEMBERS)],
                title,
                body: body(&mut rng, theme),
                age_hours: 2 + rng.below(730 * 24) as i64,
                replies,
                solved_by,
            });
        }
        last = db
            .write_sync(|conn| {
                let mut last = (0, String::new());
                for g in &batch {
                    let asked = now - chrono::TimeDelta::hours(g.age_hours);
                    let slug = townhall::forum::slugify(&g.title);
                    let topic_id = q::insert_topic(
                        conn,
                        &NewTopic {
                            category_id: g.category,
                            user_id: g.author,
                            title: &g.title,
                            slug: &slug,
                            at: asked,
                        },
                    )?;
                    let first = q::insert_post(
                        conn,
                        &NewPost {
                            topic_id,
                            user_id: g.author,
                            post_number: 1,
                            raw: &g.body,
                            cooked: &format!("<p>{}</p>", g.body),
                            at: asked,
                        },
                    )?;
                    for (i, (user, staff, text, likers)) in g.replies.iter().enumerate() {
                        let at = asked + chrono::TimeDelta::minutes(37 * (i as i64 + 1));
                        let number = q::bump_for_reply(conn, topic_id, *user, *staff, at)?;
                        let post_id = q::insert_post(
                            conn,
                            &NewPost {
                                topic_id,
                                user_id: *user,
                                post_number: number,
                                raw: text,
                                cooked: &format!("<p>{text}</p>"),
                                at,
                            },
                        )?;
                        for liker in likers {
                            q::set_like(conn, post_id, topic_id, *liker, true)?;
                        }
                        if g.solved_by == Some(i) {
                            q::set_solved(conn, topic_id, Some(post_id))?;
                        }
                    }
                    let created = Event::TopicCreated {
                        post_id: first,
                        category_id: g.category,
                        mentions: Vec::new(),
                        quotes: Vec::new(),
                        flow: None,
                    };
                    events::append(conn, &created, Some(topic_id), Some(g.author))?;
                    last = (topic_id, g.title.clone());
                }
                Ok(last)
            })
            .expect("insert distractors");
    }
    last
}
