use crate::support::{Client, Server, TestDb};

/// Opens the settings form as the logged-in admin and saves it with `changes` applied.
pub fn save_settings(admin: &Client, changes: &[(&str, &str)]) -> crate::support::Resp {
    let form = admin.get("/admin/settings");
    assert_eq!(form.status, 200);
    let current = |name: &str| -> String {
        let marker = format!("name=\"{name}\" type=");
        let at = form
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("field {name}"));
        let rest = &form.body[at..];
        let v = rest.find("value=\"").expect("value") + 7;
        rest[v..v + rest[v..].find('"').unwrap()].to_string()
    };
    let names = [
        "site_name",
        "tagline",
        "public_url",
        "contact_phone",
        "contact_email",
        "support_hours",
        "first_response_hours",
    ];
    let mut fields: Vec<(String, String)> = names
        .iter()
        .map(|n| (n.to_string(), crate::support::unescape(&current(n))))
        .collect();
    fields.push(("theme".into(), "default".into()));
    for (k, v) in changes {
        fields.retain(|(n, _)| n != k);
        fields.push((k.to_string(), v.to_string()));
    }
    fields.push(("csrf".into(), form.csrf()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    admin.post_form("/admin/settings", &borrowed)
}

#[test]
fn a_new_phone_number_shows_on_every_page() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    let r = save_settings(
        &admin,
        &[
            ("contact_phone", "+1 (555) 867-5309"),
            ("contact_email", "help@acme.example"),
            ("support_hours", "Mon–Fri 9–17 CET"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        admin
            .get("/admin/settings?saved=1")
            .body
            .contains("Settings saved")
    );

    let anon = server.client();
    let member = server.client();
    member.register("customer1", "c1@example.com", "a long enough secret");
    for path in [
        "/",
        "/contact",
        "/login",
        "/register",
        "/no-such-page",
        "/admin/settings",
    ] {
        for (who, c) in [("anonymous", &anon), ("member", &member), ("admin", &admin)] {
            let page = c.get(path);
            if page.status == 303 {
                let expected = if who == "anonymous" {
                    path == "/admin/settings" // sent to log in
                } else {
                    path == "/login" || path == "/register" // already logged in
                };
                assert!(expected, "{who} was redirected from {path}");
                continue;
            }
            assert!(
                page.body.contains("+1 (555) 867-5309")
                    && page.body.contains("href=\"tel:+15558675309\""),
                "{who} on {path} (status {}) does not show the phone number",
                page.status
            );
            assert!(
                page.body.contains("help@acme.example"),
                "{who} on {path}: email"
            );
            assert!(
                page.body.contains("Mon–Fri 9–17 CET"),
                "{who} on {path}: hours"
            );
        }
    }
}

#[test]
fn contact_page_promises_the_first_response_time() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    save_settings(&admin, &[("first_response_hours", "6")]);
    let page = server.client().get("/contact");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("within 6 hours"), "{}", page.body);
}

#[test]
fn invalid_settings_come_back_with_messages_and_values_kept() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    let r = save_settings(
        &admin,
        &[
            ("site_name", ""),
            ("public_url", "javascript:alert(1)"),
            ("contact_phone", "call me maybe"),
            ("contact_email", "nope"),
            ("first_response_hours", "-3"),
            ("theme", "../../etc"),
            ("tagline", "Kept tagline"),
        ],
    );
    assert_eq!(r.status, 422);
    for message in [
        "Give the site a name",
        "Enter the address",
        "Use digits",
        "does not look like an email",
        "whole number",
        "Choose one of",
    ] {
        assert!(r.body.contains(message), "missing message: {message}");
    }
    assert!(
        r.body.contains("value=\"call me maybe\""),
        "typed values are kept"
    );
    assert!(r.body.contains("value=\"Kept tagline\""));
    assert!(
        !server.client().get("/").body.contains("call me maybe"),
        "nothing saved"
    );
}

#[test]
fn static_assets_have_hashed_urls_and_long_cache_lifetimes() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();
    let home = c.get("/");
    let start = home
        .body
        .find("/assets/default/style.")
        .expect("stylesheet link");
    let href = &home.body[start..start + home.body[start..].find('"').unwrap()];
    assert!(
        href.ends_with(".css") && href.len() > "/assets/default/style.css".len() + 8,
        "{href}"
    );
    let css = c.get(href);
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(
        css.header("cache-control")
            .unwrap()
            .contains("max-age=31536000")
    );
    assert!(
        css.body.contains("prefers-color-scheme: dark"),
        "the default theme has a dark variant"
    );
    assert_eq!(
        c.get("/assets/default/style.css").status,
        404,
        "unhashed URLs are not served"
    );
    assert_eq!(c.get("/assets/../Cargo.toml").status, 404);
}

#[test]
fn healthz_answers_200_while_the_database_answers() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let r = server.client().get("/healthz");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("\"ok\""));
}

#[test]
fn healthz_answers_503_when_the_database_is_gone() {
    let db = TestDb::new();
    if !db.is_postgres() {
        // An open SQLite file cannot be taken away from a running process; the
        // PostgreSQL run of this suite covers the outage.
        return;
    }
    let server = Server::start(&db);
    assert_eq!(server.client().get("/healthz").status, 200);
    let name = db.pg_name().to_string();
    db.pg_admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    db.pg_admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    let r = server.client().get("/healthz");
    assert_eq!(r.status, 503, "{}", r.body);
    let page = server.client().get("/contact");
    assert!(
        page.status == 200 || page.status == 503,
        "a page degrades, never a 500: {}",
        page.status
    );
    db.pg_admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.client().get("/healthz").status != 200 {
        assert!(std::time::Instant::now() < deadline, "did not recover");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn unknown_pages_get_a_helpful_404_in_the_site_shell() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let r = server.client().get("/definitely/not/here");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<!DOCTYPE html>"));
    assert!(r.body.contains("Contact support"));
    assert!(r.body.contains("role=\"search\""));
}

#[test]
fn every_page_has_the_shell_navigation() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();
    for path in ["/", "/contact", "/login", "/register", "/setup"] {
        let page = c.get(path);
        assert_eq!(page.status, 200, "{path}");
        for link in [
            "href=\"/latest\"",
            "href=\"/contact\"",
            "href=\"/login\"",
            "action=\"/search\"",
        ] {
            assert!(page.body.contains(link), "{path} lacks {link}");
        }
        // Every site-internal link of the page leads somewhere: no section is linked
        // before it exists.
        for link in page.body.split("href=\"/").skip(1) {
            let target = format!("/{}", &link[..link.find('"').unwrap()]);
            if target.starts_with("/assets/") || target.starts_with("/t/") {
                continue;
            }
            let status = c.get(&target).status;
            assert_ne!(status, 404, "{path} links to {target}, which is not there");
        }
    }
}

#[test]
fn each_request_is_logged_on_one_line() {
    let db = TestDb::new();
    let server = Server::start_with(&db, &[("TOWNHALL_LOG", "info")]);
    server.client().get("/contact");
    server.client().get("/missing-page");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = server.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("path=/contact"))
        .expect("access line for /contact");
    assert!(
        line.contains("status=200") && line.contains("method=GET") && line.contains("micros="),
        "{line}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("path=/missing-page") && l.contains("status=404"))
    );
}
