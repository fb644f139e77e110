//! The knowledge base over HTTP: from a solved topic to a published article that customers
//! find everywhere they look; votes; drafts that never leak; roles; bad input; revisions.

use crate::fixtures::{Fixtures, assert_shows, assert_status, eventually, eventually_within};
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
        "/staff/kb/candidates".to_string(),
    ];
    for p in &gets {
        assert_status(&member.get(p), 403, p);
        assert_status(
            &server.client().get(p),
            303,
            &format!("{p} sends visitors to log in"),
        );
    }
    let posts: [(String, Vec<(&str, &str)>); 7] = [
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
        (format!("/t/{}/duplicate", t.topic_id), vec![("of", "1")]),
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

/// The rows of the candidates table, as the topic titles in order.
fn candidate_titles(page: &str) -> Vec<String> {
    page.split("<tr class=\"candidate\">")
        .skip(1)
        .filter_map(|row| {
            let start = row.find("\">")? + 2;
            let end = row[start..].find("</a>")? + start;
            Some(row[start..end].to_string())
        })
        .collect()
}

#[test]
fn the_candidates_list_ranks_the_solved_problems_customers_reach_most_first() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    let hosting = fx.category("hosting", "Hosting", false);
    fx.kb_section("hosting-help", "Hosting help");
    let asker = fx.member("asker_cand");
    let agent = fx.staff("agent_cand");
    let (quiet, _) = fx.solved_topic(
        &asker,
        &agent,
        &hosting,
        "Cron job output is not emailed",
        "The cron job runs but I never get its output.",
        "Set MAILTO at the top of the crontab.",
    );
    let (popular, _) = fx.solved_topic(
        &asker,
        &agent,
        &hosting,
        "Site shows 502 after every deploy",
        "Every deploy ends in a 502 for a minute.",
        "Raise the health check grace period to 60 seconds.",
    );
    let (searched, _) = fx.solved_topic(
        &asker,
        &agent,
        &hosting,
        "Disk full although files were deleted",
        "The disk stays full after deleting logs.",
        "Restart the process that holds the deleted log files open.",
    );
    let (answered, _) = fx.solved_topic(
        &asker,
        &agent,
        &hosting,
        "Node version is too old on deploy",
        "My build needs Node 22.",
        "Set engines.node in package.json.",
    );
    let unsolved = fx.topic(
        &asker,
        &hosting,
        "Backups are slow at night",
        "They take hours.",
    );
    let article = fx.kb_article(
        &agent,
        "hosting-help",
        "Choose the Node version of your build",
        "Set engines.node.",
        "published",
    );
    let staff = agent.login(&server);
    let r = staff.post_with_token(
        &format!("/t/{}/kb-link", answered.topic_id),
        &[("article", &article.slug)],
    );
    assert_status(&r, 303, "link the answered topic");

    // Customers read the popular one often, and reach another from search results.
    let anon = server.client();
    for _ in 0..25 {
        assert_status(
            &anon.get(&topic_url(&popular.slug, popular.topic_id)),
            200,
            "popular topic",
        );
    }
    let referer = format!("{}/search?q=disk+full", server.base);
    for _ in 0..3 {
        anon.get_with(
            &topic_url(&searched.slug, searched.topic_id),
            &[("Referer", &referer)],
        );
    }
    eventually_within(12, "page views reach the database", || {
        db.number(&format!(
            "SELECT views AS n FROM topics WHERE id = {}",
            popular.topic_id
        )) == 25
    });
    eventually_within(12, "search clicks reach the database", || {
        db.number(&format!(
            "SELECT search_clicks AS n FROM topics WHERE id = {}",
            searched.topic_id
        )) == 3
    });

    let page = staff.get("/staff/kb/candidates");
    assert_status(&page, 200, "candidates for staff");
    let titles = candidate_titles(&page.body);
    assert_eq!(
        titles,
        vec![
            "Site shows 502 after every deploy".to_string(),
            "Disk full although files were deleted".to_string(),
            "Cron job output is not emailed".to_string(),
        ],
        "ranked by reach; the topic with an article and the unsolved one are left out"
    );
    let _ = (quiet, unsolved);
    assert_shows(&page, "Turn into article");

    // Roles: a member gets 403, a visitor is sent to log in.
    let member = asker.login(&server);
    assert_status(&member.get("/staff/kb/candidates"), 403, "member");
    assert_status(&server.client().get("/staff/kb/candidates"), 303, "visitor");
}

#[test]
fn a_topic_marked_duplicate_points_to_the_original_which_ranks_higher() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    let mail = fx.category("mail", "Mail", false);
    let asker = fx.member("asker_dup");
    let agent = fx.staff("agent_dup");
    let (original, _) = fx.solved_topic(
        &asker,
        &agent,
        &mail,
        "Mail to Gmail lands in spam",
        "Every message to Gmail goes to spam.",
        "Add the DKIM record from the mail settings.",
    );
    let (other, _) = fx.solved_topic(
        &asker,
        &agent,
        &mail,
        "Forwarder loses attachments",
        "Attachments vanish when forwarded.",
        "Switch the forwarder to keep the original message.",
    );
    // The other one is read more, so it leads until duplicates of the original come in.
    let anon = server.client();
    for _ in 0..20 {
        anon.get(&topic_url(&other.slug, other.topic_id));
    }
    eventually_within(12, "views counted", || {
        db.number(&format!(
            "SELECT views AS n FROM topics WHERE id = {}",
            other.topic_id
        )) == 20
    });
    let again = fx.topic(
        &asker,
        &mail,
        "Gmail puts our newsletters in spam",
        "Same problem as everyone: spam folder.",
    );
    let staff = agent.login(&server);
    let before = candidate_titles(&staff.get("/staff/kb/candidates").body);
    assert_eq!(
        before.first().map(String::as_str),
        Some("Forwarder loses attachments")
    );

    let dup_path = format!("/t/{}/duplicate", again.topic_id);
    let original_url = topic_url(&original.slug, original.topic_id);
    let r = staff.post_with_token(&dup_path, &[("of", &original_url)]);
    assert_status(&r, 303, "mark duplicate by address");
    eventually(
        "visitors of the duplicate are pointed at the original",
        || {
            anon.get(&topic_url(&again.slug, again.topic_id))
                .body
                .contains(&format!(
                    "The same question is answered in: <a href=\"{original_url}\">"
                ))
        },
    );
    let after = candidate_titles(&staff.get("/staff/kb/candidates").body);
    assert_eq!(
        after.first().map(String::as_str),
        Some("Mail to Gmail lands in spam"),
        "a duplicate weighs more than a handful of views: {after:?}"
    );

    // Bad input: not a topic, itself, a topic that does not exist; members may not.
    let r = staff.post_with_token(&dup_path, &[("of", "spam please")]);
    assert_status(&r, 400, "not a topic reference");
    let r = staff.post_with_token(&dup_path, &[("of", &again.topic_id.to_string())]);
    assert_status(&r, 400, "itself");
    let r = staff.post_with_token(&dup_path, &[("of", "#999999")]);
    assert_status(&r, 400, "missing topic");
    let member = asker.login(&server);
    let r = member.post_with_token(&dup_path, &[("of", "")]);
    assert_status(&r, 403, "member");
    assert_status(
        &server.client().post_form(&dup_path, &[("of", "")]),
        403,
        "visitor without a session",
    );
    // A circle is refused.
    let r = staff.post_with_token(
        &format!("/t/{}/duplicate", original.topic_id),
        &[("of", &again.topic_id.to_string())],
    );
    assert_status(&r, 400, "circle");

    // Removing the mark takes the pointer away.
    let r = staff.post_with_token(&dup_path, &[("of", "")]);
    assert_status(&r, 303, "unmark");
    eventually("the pointer is gone", || {
        !anon
            .get(&topic_url(&again.slug, again.topic_id))
            .body
            .contains("The same question is")
    });
}

#[test]
fn articles_with_many_no_votes_or_no_review_need_attention() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    fx.kb_section("dns", "DNS");
    let agent = fx.staff("agent_att");
    let unhelpful = fx.kb_article(
        &agent,
        "dns",
        "Change your nameservers",
        "Point the domain at our nameservers.",
        "published",
    );
    let old = fx.kb_article(
        &agent,
        "dns",
        "Add a CNAME record",
        "Add it in the DNS panel.",
        "published",
    );
    let fine = fx.kb_article(
        &agent,
        "dns",
        "Add an MX record",
        "Add it in the DNS panel.",
        "published",
    );
    for _ in 0..5 {
        let visitor = server.client();
        let r = visitor.post_form(
            &format!("/kb/{}/vote", unhelpful.slug),
            &[("helpful", "no")],
        );
        assert_status(&r, 200, "a visitor's no");
    }
    server
        .client()
        .post_form(&format!("/kb/{}/vote", fine.slug), &[("helpful", "yes")]);
    db.sql(&format!(
        "UPDATE kb_articles SET updated_at = '2024-01-02 03:04:05' WHERE id = {}",
        old.id
    ));
    let staff = agent.login(&server);
    let page = staff.get("/staff/kb/candidates");
    assert_status(&page, 200, "review page");
    let attention = page.body.split("id=\"attention\"").nth(1).unwrap_or("");
    assert!(attention.contains(&unhelpful.title), "{attention}");
    assert!(attention.contains("Helpful for 0% of 5 answers"));
    assert!(attention.contains("5 “not helpful” in 30 days"));
    assert!(attention.contains(&old.title));
    assert!(attention.contains("Not updated for"));
    assert!(
        !attention.contains(&fine.title),
        "a helpful, fresh article is fine"
    );

    // The review interval is a site setting; nonsense is refused next to the field.
    let admin = fx
        .person("admin_att", townhall::accounts::Role::Admin)
        .login(&server);
    let r = crate::shell::save_settings(&admin, &[("kb_review_days", "3")]);
    assert_status(&r, 422, "too short an interval");
    assert!(r.body.contains("A whole number of days from 7 to 3650."));
    assert!(
        r.body
            .contains("name=\"kb_review_days\" type=\"number\" value=\"3\""),
        "kept as typed"
    );
    let r = crate::shell::save_settings(&admin, &[("kb_review_days", "36500")]);
    assert_status(&r, 422, "too long an interval");
    let r = crate::shell::save_settings(&admin, &[("kb_review_days", "5000")]);
    assert_status(&r, 422, "above the limit");
    let r = crate::shell::save_settings(&admin, &[("kb_review_days", "3650")]);
    assert_status(&r, 303, "ten years");
    eventually("the longer interval applies", || {
        let page = staff.get("/staff/kb/candidates");
        let attention = page
            .body
            .split("id=\"attention\"")
            .nth(1)
            .unwrap_or("")
            .to_string();
        attention.contains(&unhelpful.title) && !attention.contains(&old.title)
    });
}

#[test]
fn ask_the_community_from_an_article_starts_a_question_linking_it() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    fx.kb_section("setup", "Setup");
    let agent = fx.staff("agent_ask");
    let a = fx.kb_article(
        &agent,
        "setup",
        "Connect over SFTP",
        "Use port 22 and your panel password.",
        "published",
    );
    let draft = fx.kb_article(&agent, "setup", "Secret draft article", "Soon.", "draft");
    let article = server.client().get(&format!("/kb/{}", a.slug));
    assert_shows(&article, &format!("/new-topic?article={}", a.slug));
    let member = fx.member("asker_ask").login(&server);
    let form = member.get(&format!("/new-topic?article={}", a.slug));
    assert_status(&form, 200, "new topic from an article");
    assert_shows(
        &form,
        &format!(
            "I read [Connect over SFTP](/kb/{}) and still need help:",
            a.slug
        ),
    );
    let form = member.get(&format!("/new-topic?article={}", draft.slug));
    assert!(
        !form.body.contains("Secret draft article"),
        "a draft is not quoted"
    );
    let form = member.get("/new-topic?article=no-such-article");
    assert_status(&form, 200, "an unknown article is ignored");
}

#[test]
fn a_draft_from_a_long_topic_stays_within_the_article_size_limit() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    let hosting = fx.category("hosting", "Hosting", false);
    fx.kb_section("hosting-help", "Hosting help");
    let asker = fx.member("asker_long");
    let agent = fx.staff("agent_long");
    let long = |word: &str, n: usize| format!("{word} ").repeat(n);
    let (topic, _) = fx.solved_topic(
        &asker,
        &agent,
        &hosting,
        "Backups time out on a very large site",
        "Our nightly backup never finishes.",
        &long("answer", 5_000),
    );
    fx.reply(&agent, topic.topic_id, &long("first", 2_000));
    fx.reply(&agent, topic.topic_id, &long("second", 5_000));
    let staff = agent.login(&server);
    let r = staff.post_with_token(&format!("/t/{}/to-article", topic.topic_id), &[]);
    assert_status(&r, 303, "turn into article");
    let edit = r.location().to_string();
    let form = staff.get(&edit);
    assert_shows(&form, "1 more staff reply in the topic did not fit here.");
    assert_shows(&form, "first first");
    // Within the limit, so the editor can save it as it comes.
    let slug = edit.trim_start_matches("/kb/").trim_end_matches("/edit");
    let raw = db.number(&format!(
        "SELECT CAST(LENGTH(raw) AS BIGINT) AS n FROM kb_articles WHERE slug = '{slug}'"
    ));
    assert!(raw <= 64 * 1024, "{raw} bytes");
}

#[test]
fn related_lists_under_a_topic_offer_matching_articles() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    let mail = fx.category("mail", "Mail", false);
    fx.kb_section("email-help", "Email help");
    let agent = fx.staff("agent_rel");
    let asker = fx.member("asker_rel");
    let article = fx.kb_article(
        &agent,
        "email-help",
        "Forwarders drop attachments over 25 MB",
        "Large attachments are dropped by the forwarder: use a mailbox.",
        "published",
    );
    let topic = fx.topic(
        &asker,
        &mail,
        "Forwarders drop my attachments",
        "Big files vanish when mail is forwarded.",
    );
    // Logged in, so that the page is rendered afresh (visitors' copies live 30 s).
    let reader = asker.login(&server);
    eventually_within(10, "the article is offered under the topic", || {
        reader
            .get(&topic_url(&topic.slug, topic.topic_id))
            .body
            .contains(&format!(
                "<a href=\"/kb/{}\">Forwarders drop attachments over 25 MB</a> <span class=\"badge kb\">Knowledge base</span>",
                article.slug
            ))
    });
}
