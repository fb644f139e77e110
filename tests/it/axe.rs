use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Client, Server, TestDb};

/// The pages the browser will load: URL, who is looking (their cookies), the status the
/// page answers with, and whether to check it at phone width too.
struct Pages {
    base: String,
    list: Vec<Value>,
}

impl Pages {
    fn add(&mut self, who: &str, client: Option<&Client>, path: &str, status: u16, phone: bool) {
        let cookie = client
            .map(|c| {
                c.cookies
                    .borrow()
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        self.list.push(json!({
            "url": format!("{}{path}", self.base),
            "label": format!("{who} {path}"),
            "cookie": cookie,
            "status": status,
            "phone": phone,
        }));
    }
}

fn axe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/axe")
}

/// Runs .ci/axe/check.mjs over `pages` in one colour scheme; (passed, output).
fn run_axe(pages: &Pages, file: &Path, scheme: &str) -> (bool, String) {
    std::fs::write(file, serde_json::to_string_pretty(&pages.list).unwrap()).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(axe_dir().join("check.mjs"))
        .arg("--pages")
        .arg(file)
        .arg("--scheme")
        .arg(scheme);
    // TOWNHALL_AXE_SCREENSHOTS=DIR keeps a PNG of every page checked, for a person to look at.
    if let Some(dir) = std::env::var_os("TOWNHALL_AXE_SCREENSHOTS") {
        cmd.arg("--screenshots").arg(dir);
    }
    let out = cmd
        .output()
        .expect("node is installed (.ci/run installs Chromium and runs npm ci in .ci/axe)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The topics of a JSON topic list (e.g. /latest.json), with their flags.
fn topics(client: &Client, path: &str) -> Vec<Value> {
    client.json(path)["topics"]
        .as_array()
        .expect("topics")
        .to_vec()
}

/// The ids of a topic's posts, in order (the first post first).
fn post_ids(client: &Client, topic_id: i64) -> Vec<i64> {
    client.json(&format!("/t/{topic_id}.json"))["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|p| p["id"].as_i64().expect("post id"))
        .collect()
}

/// Every kind of page, as anonymous visitor, member and admin, in the light and the dark
/// colour scheme (and a few at phone width), has no serious or critical axe-core violation
/// of WCAG 2.0/2.1 A and AA: contrast, names, labels, landmarks, ARIA.
#[test]
#[ignore = "needs Chromium and node; .ci/run installs them and runs it"]
fn pages_pass_axe_in_light_and_dark() {
    assert!(
        axe_dir().join("node_modules/axe-core").is_dir(),
        "run `npm ci` in .ci/axe first (.ci/run does)"
    );
    let started = Instant::now();
    let db = TestDb::new();
    let (code, _, err) = crate::support::cli(&db, &["seed-demo"], "", &[]);
    assert_eq!(code, 0, "{err}");
    let server = Server::start(&db);
    let file = db.dir.path().join("axe-pages.json");
    let mut failures = String::new();
    let mut check = |pages: &Pages, what: &str| {
        for scheme in ["light", "dark"] {
            let (ok, output) = run_axe(pages, &file, scheme);
            println!("--- axe, {what}, {scheme} ---\n{output}");
            if !ok {
                failures.push_str(&format!("--- {what}, {scheme} ---\n{output}\n"));
            }
        }
    };

    // First-run setup is only open until an admin exists: check it now.
    let anon = server.client();
    let mut before = Pages {
        base: server.base.clone(),
        list: Vec::new(),
    };
    before.add("anon", None, "/setup", 200, true);
    check(&before, "before setup");

    // Give the demo the states that only moderation and activity produce: a pinned and a
    // locked topic, a post hidden by staff, an edited post, unread notifications. (axe leaves
    // the contrast of one-character text such as the unread count undecided, "incomplete";
    // the theme keeps it with --danger-text.)
    let admin = server.client();
    admin.setup_admin();
    let latest = topics(&anon, "/latest.json");
    let find = |pred: &dyn Fn(&Value) -> bool| -> Value {
        latest
            .iter()
            .find(|t| pred(t))
            .cloned()
            .expect("a demo topic like that")
    };
    let solved = find(&|t| t["solved"] == true && t["staff_replied"] == true);
    let open_staff =
        find(&|t| t["solved"] == false && t["staff_replied"] == true && t["reply_count"] != 0);
    let unanswered = find(&|t| t["reply_count"] == 0);
    let to_lock = find(&|t| {
        t["solved"] == false && t["id"] != open_staff["id"] && t["id"] != unanswered["id"]
    });
    let url = |t: &Value| t["url"].as_str().unwrap().to_string();
    let id = |t: &Value| t["id"].as_i64().unwrap();
    for (topic, action) in [(&unanswered, "pin"), (&to_lock, "lock")] {
        let r = admin.post_with_token(&format!("/t/{}/moderate", id(topic)), &[("action", action)]);
        assert_eq!(r.status, 303, "{action}: {}", r.body);
    }
    let open_posts = post_ids(&admin, id(&open_staff));
    let r = admin.post_with_token(
        &format!("/p/{}/hide", open_posts[1]),
        &[
            ("hide", "1"),
            ("reason", "Off topic: moved to a private ticket"),
        ],
    );
    assert_eq!(r.status, 303, "hide: {}", r.body);
    let first_post = post_ids(&admin, id(&solved))[0];
    let form = admin.get(&format!("/p/{first_post}/edit"));
    let r = admin.post_form(
        &format!("/p/{first_post}/edit"),
        &[
            ("csrf", &form.csrf()),
            (
                "raw",
                "An edited first post, long enough to keep a revision.",
            ),
            ("title", "An edited title for the accessibility check"),
        ],
    );
    assert_eq!(r.status, 303, "edit: {}", r.body);
    // The edit changed the title, so ask for the topic's (possibly new) canonical URL.
    let canonical = |topic_id: i64| -> String {
        let r = anon.get(&format!("/t/{topic_id}"));
        assert!(
            r.location().starts_with("/t/"),
            "/t/{topic_id}: {}",
            r.status
        );
        r.location().to_string()
    };
    let solved_url = canonical(id(&solved));

    let member = crate::support::member(&server, "member_a11y");
    let category = anon.json(&format!("/t/{}.json", id(&open_staff)))["category"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, own_topic) = member.create_topic(
        &category,
        "Backups page shows an empty list after the migration",
        "Since yesterday the backups page is empty. @admin could you take a look?",
        "backups",
    );
    admin.reply(
        own_topic,
        "Thanks for the report: the list is rebuilt overnight, it will be back tomorrow.",
    );
    let own_url = canonical(own_topic);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(member.get("/").body.contains("class=\"count\"")
        && admin.get("/").body.contains("class=\"count\""))
    {
        assert!(Instant::now() < deadline, "notifications did not arrive");
        std::thread::sleep(Duration::from_millis(100));
    }
    let categories = admin.get("/admin/categories").body;
    let category_edit = categories
        .split("href=\"/admin/categories/")
        .nth(1)
        .map(|s| format!("/admin/categories/{}", &s[..s.find('"').unwrap()]))
        .expect("a category edit link");

    let mut pages = Pages {
        base: server.base.clone(),
        list: Vec::new(),
    };
    let (a, m, adm) = (None, Some(&member), Some(&admin));
    for (path, status, phone) in [
        ("/", 200, true),
        ("/latest", 200, true),
        ("/latest?filter=solved", 200, false),
        ("/c/billing-accounts", 200, false),
        ("/c/announcements", 200, false),
        (solved_url.as_str(), 200, true),
        (url(&open_staff).as_str(), 200, false),
        (url(&unanswered).as_str(), 200, false),
        (url(&to_lock).as_str(), 200, false),
        ("/search?q=ssl+certificate", 200, true),
        ("/search?q=certifcate", 200, false),
        ("/search?q=zqxwvy", 200, false),
        ("/search", 200, false),
        ("/login", 200, false),
        ("/register", 200, false),
        ("/setup", 403, false),
        ("/contact", 200, false),
        ("/u/maya.support", 200, false),
        ("/u/member_a11y", 200, false),
        ("/no-such-page", 404, false),
        ("/kb", 200, true),
        ("/kb/domains-dns-ssl", 200, false),
        ("/kb/point-your-domain-at-northwind", 200, true),
        ("/kb/ssl-certificate-pending-validation", 200, true),
        ("/status", 200, true),
        ("/status/history", 200, false),
        ("/status/incidents/2", 200, true),
        ("/changelog", 200, true),
        ("/changelog/invoice-csv-export-and-vat-numbers", 200, true),
        ("/roadmap", 200, true),
        ("/c/ideas", 200, true),
        ("/t/dark-mode-for-the-console/39", 200, true),
    ] {
        pages.add("anon", a, path, status, phone);
    }
    for (path, status, phone) in [
        ("/", 200, false),
        ("/notifications", 200, true),
        ("/new-topic", 200, true),
        (own_url.as_str(), 200, false),
        (solved_url.as_str(), 200, false),
        ("/u/member_a11y", 200, false),
        ("/admin/settings", 403, false),
        (
            "/new-topic?article=point-your-domain-at-northwind",
            200,
            false,
        ),
        ("/c/ideas", 200, true),
        ("/t/dark-mode-for-the-console/39", 200, false),
        ("/new-topic?category=ideas", 200, false),
        ("/changelog", 200, false),
    ] {
        pages.add("member", m, path, status, phone);
    }
    let edit = format!("/p/{first_post}/edit");
    let revisions = format!("/p/{first_post}/revisions");
    for (path, status, phone) in [
        ("/", 200, false),
        ("/admin", 200, false),
        ("/admin/settings", 200, true),
        ("/admin/settings?saved=1", 200, false),
        ("/admin/categories", 200, false),
        (category_edit.as_str(), 200, false),
        ("/admin/audit", 200, false),
        ("/new-topic", 200, false),
        ("/notifications", 200, false),
        ("/latest", 200, false),
        (solved_url.as_str(), 200, true),
        (url(&open_staff).as_str(), 200, false),
        (url(&to_lock).as_str(), 200, false),
        (own_url.as_str(), 200, false),
        (edit.as_str(), 200, false),
        (revisions.as_str(), 200, false),
        ("/kb/point-your-domain-at-northwind", 200, false),
        ("/kb/point-your-domain-at-northwind/edit", 200, false),
        ("/kb/point-your-domain-at-northwind/history", 200, false),
        ("/staff/kb", 200, false),
        ("/staff/kb/candidates", 200, true),
        ("/staff/kb/sections", 200, false),
        ("/staff/status", 200, true),
        ("/status/incidents/1", 200, false),
        ("/admin/tokens", 200, false),
        ("/changelog/new", 200, true),
        ("/changelog/dark-mode-in-the-console/edit", 200, false),
        ("/staff/feedback", 200, true),
        ("/t/dark-mode-for-the-console/39", 200, true),
    ] {
        pages.add("admin", adm, path, status, phone);
    }
    check(&pages, "every page type");

    // During an incident: the banner on every page, the notice before posting.
    let r = admin.submit(
        "/staff/status",
        "/staff/status/incidents",
        &[
            ("name", "Slow deploys"),
            ("status", "investigating"),
            ("body", "We are looking into it."),
            ("c_7", "major_outage"),
        ],
    );
    assert_eq!(r.status, 303, "open incident: {}", r.body);
    let incident = r.location().to_string();
    let mut during = Pages {
        base: server.base.clone(),
        list: Vec::new(),
    };
    for (path, phone) in [("/", true), ("/status", true), (incident.as_str(), false)] {
        during.add("anon", a, path, 200, phone);
    }
    during.add("member", m, "/new-topic", 200, true);
    check(&during, "during an incident");
    println!(
        "axe check of {} pages took {:.1}s",
        pages.list.len() + before.list.len() + during.list.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "axe-core found serious or critical accessibility violations (or a page did not load):\n{failures}"
    );
}
