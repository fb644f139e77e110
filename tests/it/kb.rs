//! The knowledge base over HTTP: from a solved topic to a published article that customers
//! find everywhere they look; votes; drafts that never leak; roles; bad input; revisions.

use crate::fixtures::{Fixtures, assert_shows, assert_status, eventually};
use crate::support::{Server, TestDb, topic_url};

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON: {e}: {body}"))
}

/// The ids of the hits of a search, as URLs.
fn search_urls(c: &crate::support::Client, q: &str) -> Vec<String> {
    let r = c.get(&format!("/api/search?q={}", q.replace(' ', "+")));
    if r.status != 200 {
        return Vec::new();
    }
    json(&r.body)["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter_map(|h| h["url"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn staff_turn_a_solved_topic_into_an_article_customers_find_everywhere() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    let billing = fx.category("billing", "Billing", false);
    fx.kb_section("billing-help", "Billing help");
    let asker = fx.member("asker_kb");
    let agent = fx.staff("agent_kb");
    let (topic, _) = fx.solved_topic(
        &asker,
        &agent,
        &billing,
        "Invoices do not show our VAT number",
        "Our finance team needs the VAT number on every invoice.",
        "Add it under Console, Billing, Tax details: every invoice after that shows it.",
    );
    let staff = agent.login(&server);

    // One click: a draft pre-filled with the question and the accepted answer.
    let r = staff.post_with_token(&format!("/t/{}/to-article", topic.topic_id), &[]);
    assert_status(&r, 303, "turn into article");
    let edit = r.location().to_string();
    assert!(edit.ends_with("/edit"), "{edit}");
    let slug = edit
        .trim_start_matches("/kb/")
        .trim_end_matches("/edit")
        .to_string();
    let form = staff.get(&edit);
    assert_shows(&form, "## Problem");
    assert_shows(&form, "Tax details");
    assert_shows(&form, "accepted answer by @agent_kb");
    // A draft: visitors and members see nothing of it, anywhere.
    let anon = server.client();
    assert_status(
        &anon.get(&format!("/kb/{slug}")),
        404,
        "draft for a visitor",
    );
    let member = asker.login(&server);
    assert_status(
        &member.get(&format!("/kb/{slug}.json")),
        404,
        "draft JSON for a member",
    );
    assert!(!anon.get("/kb.json").body.contains(&slug));
    assert!(!anon.get("/kb.atom").body.contains(&slug));
    assert!(!anon.get("/sitemap-pages.xml").body.contains(&slug));
    assert!(
        !anon
            .get(&topic_url(&topic.slug, topic.topic_id))
            .body
            .contains("Answered in the knowledge base"),
        "the topic does not point visitors at a draft"
    );
    assert_status(
        &staff.get(&format!("/kb/{slug}")),
        200,
        "staff see the draft",
    );

    // The editor tidies and publishes.
    let r = staff.submit(
        &edit,
        &edit,
        &[
            ("title", "Show your VAT number on invoices"),
            ("slug", &slug),
            ("section", "billing-help"),
            (
                "summary",
                "Add your company's VAT number once; every invoice shows it.",
            ),
            (
                "raw",
                "Go to **Console → Billing → Tax details** and add the VAT number.",
            ),
            ("tags", "invoices, vat"),
            ("applies_to", "All plans"),
            ("status", "published"),
            ("note", "Tidied and published"),
        ],
    );
    assert_status(&r, 303, "publish");
    let path = format!("/kb/{slug}");
    assert_eq!(r.location(), path);

    // Found from the topic, from /kb, its section, JSON, the feed and the sitemap.
    eventually("the topic links the article for visitors", || {
        anon.get(&topic_url(&topic.slug, topic.topic_id))
            .body
            .contains(&format!(
                "Answered in the knowledge base: <a href=\"{path}\">"
            ))
    });
    let article = anon.get(&path);
    assert_shows(&article, "Show your VAT number on invoices");
    assert_shows(&article, "Based on a community discussion");
    assert_shows(&article, &topic_url(&topic.slug, topic.topic_id));
    assert_shows(&article, "Ask the community");
    assert_shows(&anon.get("/kb"), &path);
    assert_shows(&anon.get("/kb/billing-help"), &path);
    let j = json(&anon.get(&format!("{path}.json")).body);
    assert_eq!(j["status"], "published");
    assert_eq!(j["topics"][0]["id"], topic.topic_id);
    assert!(anon.get("/kb.json").body.contains(&path));
    assert!(anon.get("/kb.atom").body.contains(&path));
    assert!(anon.get("/sitemap-pages.xml").body.contains(&path));

    // Found from search (kind "Knowledge base", in:kb) and before posting a question.
    eventually("search finds the article", || {
        search_urls(&anon, "VAT number invoices").first() == Some(&path)
    });
    assert_eq!(search_urls(&anon, "VAT in:kb"), vec![path.clone()]);
    let suggested =
        anon.get("/api/suggest?q=How+do+I+get+the+VAT+number+on+invoices&flow=abcdefghijklmnop");
    assert_status(&suggested, 200, "suggestions");
    assert!(suggested.body.contains(&path), "{}", suggested.body);
}

#[test]
fn helpful_votes_count_once_per_visitor_and_staff_read_the_comments() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    fx.kb_section("setup", "Setup");
    let agent = fx.staff("agent_vote");
    let a = fx.kb_article(
        &agent,
        "setup",
        "Run a cron job every night",
        "Use the scheduler.",
        "published",
    );
    let path = format!("/kb/{}", a.slug);
    let visitor = server.client();
    let r = visitor.post_form(
        &format!("{path}/vote"),
        &[("helpful", "no"), ("comment", "Say which plan allows it")],
    );
    assert_status(&r, 200, "a visitor's vote");
    assert_shows(&r, "we will use this to improve");
    let again = visitor.post_form(&format!("{path}/vote"), &[("helpful", "no")]);
    assert_status(&again, 200, "the same vote again");
    let other = server.client();
    other.post_form(&format!("{path}/vote"), &[("helpful", "yes")]);
    let member = fx.member("reader_m").login(&server);
    let r = member.post_with_token(&format!("{path}/vote"), &[("helpful", "yes")]);
    assert_status(&r, 200, "a member's vote");
    // A member changing their mind moves their vote, never adds one.
    member.post_with_token(&format!("{path}/vote"), &[("helpful", "no")]);
    let counts = |db: &TestDb| {
        (
            db.number(&format!(
                "SELECT CAST(helpful_yes AS BIGINT) AS n FROM kb_articles WHERE id = {}",
                a.id
            )),
            db.number(&format!(
                "SELECT CAST(helpful_no AS BIGINT) AS n FROM kb_articles WHERE id = {}",
                a.id
            )),
        )
    };
    assert_eq!(counts(&db), (1, 2));

    let staff_page = agent.login(&server).get(&path);
    assert_shows(&staff_page, "Say which plan allows it");
    assert_shows(&staff_page, "1 found it helpful, 2 did not");
    let public = server.client().get(&path);
    assert!(
        !public.body.contains("Say which plan allows it"),
        "comments are for staff only"
    );

    // Bad votes: an unknown answer, a cross-site post, a draft.
    let r = visitor.post_form(&format!("{path}/vote"), &[("helpful", "maybe")]);
    assert_status(&r, 400, "unknown answer");
    let r = server.client().post_form_with(
        &format!("{path}/vote"),
        &[("helpful", "yes")],
        &[("Origin", "https://evil.example")],
    );
    assert_status(&r, 403, "cross-site vote");
    let draft = fx.kb_article(&agent, "setup", "Unfinished article here", "Soon.", "draft");
    let r = visitor.post_form(&format!("/kb/{}/vote", draft.slug), &[("helpful", "yes")]);
    assert_status(&r, 404, "vote on a draft");
    assert_eq!(counts(&db), (1, 2));
}

#[test]
fn members_get_403_on_every_editor_and_staff_route_and_staff_on_admin_ones() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    fx.kb_section("setup", "Setup");
    let agent = fx.staff("agent_r");
    let a = fx.kb_article(
        &agent,
        "setup",
        "Connect over SFTP",
        "Use port 22.",
        "published",
    );
    let billing = fx.category("billing", "Billing", false);
    let asker = fx.member("member_r");
    let t = fx.topic(
        &asker,
        &billing,
        "Where do I find SFTP details?",
        "Cannot find them.",
    );
    let member = asker.login(&server);
    let staff = agent.login(&server);
    let path = format!("/kb/{}", a.slug);
    let gets = [
        "/staff/kb/new".to_string(),
        format!("{path}/edit"),
        format!("{path}/history"),
        "/staff/kb".to_string(),
        "/staff/kb/sections".to_string(),
    ];
    for p in &gets {
        assert_status(&member.get(p), 403, p);
        assert_status(
            &server.client().get(p),
            303,
            &format!("{p} sends visitors to log in"),
        );
    }
    let posts: [(String, Vec<(&str, &str)>); 6] = [
        (
            "/staff/kb/new".into(),
            vec![
                ("title", "A member's article"),
                ("section", "setup"),
                ("raw", "Text"),
            ],
        ),
        (
            format!("{path}/edit"),
            vec![
                ("title", "Hijacked title"),
                ("section", "setup"),
                ("raw", "Text"),
            ],
        ),
        (format!("{path}/restore"), vec![("version", "1")]),
        (format!("/t/{}/to-article", t.topic_id), vec![]),
        (
            format!("/t/{}/kb-link", t.topic_id),
            vec![("article", &a.slug)],
        ),
        (
            "/staff/kb/sections".into(),
            vec![("name", "Members corner")],
        ),
    ];
    for (p, fields) in &posts {
        assert_status(&member.post_with_token(p, fields), 403, p);
    }
    // Staff write articles; only administrators manage sections.
    assert_status(&staff.get("/staff/kb/new"), 200, "staff editor");
    assert_status(&staff.get("/staff/kb/sections"), 403, "sections for staff");
    assert_status(
        &staff.post_with_token("/staff/kb/sections", &[("name", "Staff corner")]),
        403,
        "saving a section as staff",
    );
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM kb_articles"), 1);
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM kb_sections"), 1);
}

#[test]
fn slugs_are_checked_renames_redirect_and_every_save_keeps_a_revision() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    fx.kb_section("setup", "Setup");
    let agent = fx.staff("agent_s");
    let first = fx.kb_article(
        &agent,
        "setup",
        "Reset your password",
        "Click Forgot password.",
        "published",
    );
    let staff = agent.login(&server);
    let new = |slug: &str, title: &str| {
        staff.submit(
            "/staff/kb/new",
            "/staff/kb/new",
            &[
                ("title", title),
                ("slug", slug),
                ("section", "setup"),
                ("raw", "Some <b>text</b> & more"),
                ("status", "published"),
            ],
        )
    };
    for (slug, why) in [
        (
            first.slug.as_str(),
            "Another article or section already uses this address",
        ),
        (
            "setup",
            "Another article or section already uses this address",
        ),
        ("new", "reserved"),
        ("Bad Slug!", "Use lowercase letters"),
    ] {
        let r = new(slug, "A second article on passwords");
        assert_status(&r, 422, slug);
        assert!(r.body.contains(why), "{slug}: {why}");
        assert!(
            r.body.contains("A second article on passwords"),
            "what was typed is kept"
        );
        assert!(
            r.body.contains("Some &lt;b&gt;text&lt;/b&gt; &amp; more"),
            "the body is kept, escaped"
        );
    }
    let r = new("", "Too");
    assert_status(&r, 422, "short title");
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM kb_articles"), 1);

    // Rename: the old address keeps working (301), JSON too.
    let old = format!("/kb/{}", first.slug);
    let edit = format!("{old}/edit");
    let r = staff.submit(
        &edit,
        &edit,
        &[
            ("title", "Reset a forgotten password"),
            ("slug", "forgotten-password"),
            ("section", "setup"),
            ("raw", "Click **Forgot password** on the login page."),
            ("status", "published"),
            ("note", "Clearer"),
        ],
    );
    assert_status(&r, 303, "rename");
    let anon = server.client();
    let moved = anon.get(&old);
    assert_status(&moved, 301, "old slug");
    assert_eq!(moved.location(), "/kb/forgotten-password");
    assert_eq!(
        anon.get(&format!("{old}.json")).location(),
        "/kb/forgotten-password.json"
    );

    // History: both versions, a diff, and restoring version 1 as version 3.
    let history = staff.get("/kb/forgotten-password/history");
    assert_shows(&history, "Clearer");
    assert_shows(&history, "Changes from version 1 to 2");
    assert!(
        history
            .body
            .contains("<ins>+ Click **Forgot password** on the login page.")
    );
    assert_status(
        &staff.get("/kb/forgotten-password/history?from=9&to=1"),
        400,
        "unknown version",
    );
    let r = staff.post_with_token("/kb/forgotten-password/restore", &[("version", "1")]);
    assert_status(&r, 303, "restore");
    let restored = anon.get(&old);
    assert_shows(&restored, "Click Forgot password.");
    assert_eq!(
        db.number(&format!(
            "SELECT COUNT(*) AS n FROM kb_revisions WHERE article_id = {}",
            first.id
        )),
        3
    );
    // Saving what is already there writes no new version.
    let same = staff.get(&format!("{old}/edit"));
    assert_status(&same, 200, "editor after restore");
    let r = staff.submit(
        &format!("{old}/edit"),
        &format!("{old}/edit"),
        &[
            ("title", "Reset your password"),
            ("slug", &first.slug),
            ("section", "setup"),
            ("summary", "About Reset your password"),
            ("raw", "Click Forgot password."),
            ("status", "published"),
        ],
    );
    assert_status(&r, 303, "unchanged save");
    assert_eq!(
        db.number(&format!(
            "SELECT COUNT(*) AS n FROM kb_revisions WHERE article_id = {}",
            first.id
        )),
        3
    );
}
