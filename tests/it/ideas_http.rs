//! Ideas, the roadmap and the changelog over HTTP: a member posts an idea, others vote,
//! staff plan it and ship it with a changelog post, and every voter hears exactly once;
//! the roadmap, the feeds and the idea show it. Every staff route refuses members (403)
//! and sends visitors to log in; the bad inputs the issue names get clear answers.

use crate::fixtures::{
    Fixtures, assert_shows, assert_status, eventually, eventually_within, idea_votes,
};
use crate::support::{Client, Server, TestDb, parse_topic_location};

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON: {e}: {body}"))
}

fn vote(c: &Client, topic_id: i64, value: &str) -> crate::support::Resp {
    c.post_with_token(
        &format!("/t/{topic_id}/vote"),
        &[("vote", value), ("next", "/c/ideas")],
    )
}

fn votes_of(c: &Client, topic_id: i64) -> i64 {
    json(&c.get("/c/ideas.json").body)["ideas"]
        .as_array()
        .expect("ideas")
        .iter()
        .find(|i| i["id"].as_i64() == Some(topic_id))
        .and_then(|i| i["votes"].as_i64())
        .unwrap_or(-1)
}

#[test]
fn an_idea_goes_from_a_member_to_a_shipped_changelog_post_and_every_voter_hears_once() {
    let tdb = TestDb::new();
    let server = Server::start(&tdb);
    let fx = Fixtures::new(&tdb);
    fx.ideas_category("ideas", "Ideas");
    let support = fx.category("help", "Help", false);
    let author_p = fx.member("idea_poster");
    let voters_p: Vec<_> = (0..4).map(|i| fx.member(&format!("fan{i}"))).collect();
    let staff_p = fx.staff("pm_staff");
    let anon = server.client();
    let author = author_p.login(&server);
    let voters: Vec<Client> = voters_p.iter().map(|p| p.login(&server)).collect();
    let staff = staff_p.login(&server);

    // "Suggest an improvement" leads to the new-topic form in the ideas category.
    let r = author.get("/ideas/new");
    assert_status(&r, 303, "suggest");
    assert_eq!(r.location(), "/new-topic?category=ideas");
    assert_shows(
        &author.get("/new-topic?category=ideas"),
        "Suggest an improvement",
    );
    for page in ["/", "/contact"] {
        assert_shows(&anon.get(page), "href=\"/ideas/new\"");
    }

    // A member posts an idea; others vote (twice counts once; withdrawn and back is one).
    let r = author.new_topic(
        "ideas",
        "Dark mode for the dashboard",
        "The dashboard is very bright at night; a dark theme would help.",
        "",
    );
    assert_status(&r, 303, "idea posted");
    let (slug, idea, _) = parse_topic_location(r.location());
    let idea_path = format!("/t/{slug}/{idea}");

    // Suggesting the same thing again offers the existing idea first, while typing (the
    // script's JSON) and, without the script, as a step before the idea is posted.
    let flow = "abcdefghijklmnopqrstuv";
    let typed =
        format!("/api/suggest?q=Dark+mode+for+the+dashboard+please&flow={flow}&category=ideas");
    eventually("the idea is offered while typing", || {
        let r = voters[0].get(&typed);
        r.status == 200 && json(&r.body)["hits"][0]["topic_id"].as_i64() == Some(idea)
    });
    assert!(
        json(&voters[0].get(&typed).body)["heading"]
            .as_str()
            .is_some_and(|h| h.contains("Is your idea already here"))
    );
    let r = voters[0].submit(
        "/new-topic?category=ideas",
        "/new-topic",
        &[
            ("category", "ideas"),
            ("flow", flow),
            ("title", "Dark mode for the dashboard please"),
            ("raw", "It is too bright at night."),
            ("tags", ""),
        ],
    );
    assert_status(&r, 200, "offered before posting");
    assert_shows(&r, "is your idea already here? Vote for it instead.");
    assert_shows(&r, &format!("topic={idea}\""));
    assert_shows(&r, "Post my idea anyway");
    assert_eq!(
        tdb.number("SELECT COUNT(*) AS n FROM ideas"),
        1,
        "nothing posted before the member confirms"
    );

    for v in &voters {
        assert_status(&vote(v, idea, "1"), 303, "vote");
    }
    assert_eq!(vote(&voters[0], idea, "1").location(), "/c/ideas");
    assert_status(&vote(&voters[1], idea, "0"), 303, "withdraw");
    assert_eq!(votes_of(&anon, idea), 3);
    assert_status(&vote(&voters[1], idea, "1"), 303, "vote again");
    assert_eq!(votes_of(&anon, idea), 4);
    let r = voters[2].post_form_with(
        &format!("/t/{idea}/vote"),
        &[("csrf", &voters[2].token()), ("vote", "1")],
        &[("Accept", "application/json")],
    );
    assert_status(&r, 200, "vote as JSON");
    assert_eq!(json(&r.body)["votes"], 4);
    assert_eq!(
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM idea_votes WHERE topic_id = {idea}"
        )),
        4
    );
    // The list and the idea show the count; a voter sees their vote pressed.
    let list = voters[0].get("/c/ideas");
    assert_shows(&list, "Dark mode for the dashboard");
    assert_shows(&list, "aria-pressed=\"true\"");
    assert_shows(&anon.get(&idea_path), "Log in</a> to vote");

    // Visitors are sent to log in; members may not change statuses, merge or publish.
    assert!(
        anon.post_with_token(&format!("/t/{idea}/vote"), &[("vote", "1")])
            .location()
            .starts_with("/login")
    );
    let status_fields = [("status", "planned"), ("explanation", "Because.")];
    for (path, fields) in [
        (format!("/t/{idea}/idea-status"), &status_fields[..]),
        (format!("/t/{idea}/merge-idea"), &[("into", "1")][..]),
        ("/changelog/new".to_string(), &[("title", "Nope")][..]),
    ] {
        assert_status(&author.post_with_token(&path, fields), 403, &path);
        let r = anon.post_with_token(&path, fields);
        assert!(r.location().starts_with("/login"), "{path}: {}", r.status);
    }
    for path in ["/changelog/new", "/staff/feedback"] {
        assert_status(&author.get(path), 403, path);
        assert!(anon.get(path).location().starts_with("/login"), "{path}");
    }

    // Staff must explain a status change; the explanation is a staff post in the topic.
    let r = staff.post_with_token(
        &format!("/t/{idea}/idea-status"),
        &[("status", "planned"), ("explanation", "  ")],
    );
    assert_status(&r, 422, "no explanation");
    assert!(
        r.body.contains("Say in a sentence or two why"),
        "{}",
        r.body
    );
    let r = staff.post_with_token(
        &format!("/t/{idea}/idea-status"),
        &[("status", "finished"), ("explanation", "Done.")],
    );
    assert_status(&r, 422, "unknown status");
    let r = staff.post_with_token(
        &format!("/t/{idea}/idea-status"),
        &[
            ("status", "planned"),
            (
                "explanation",
                "Planned for the January release, with the log viewer.",
            ),
        ],
    );
    assert_status(&r, 303, "planned");
    let page = anon.get(&idea_path);
    assert_shows(&page, "Planned");
    assert_shows(&page, "Planned for the January release");
    let roadmap = json(&anon.get("/roadmap.json").body);
    assert_eq!(roadmap["planned"][0]["id"], idea);
    assert_eq!(roadmap["planned"][0]["votes"], 4);
    assert_shows(&anon.get("/roadmap"), "Dark mode for the dashboard");
    // The author and the four voters hear of it; staff who wrote it do not.
    let kind_count = |kind: &str| {
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE kind = '{kind}'"
        ))
    };
    eventually_within(30, "status notifications", || {
        kind_count("idea_status") == 5
    });

    // A changelog post that links a missing, deleted or staff-only topic is refused by name.
    // Staff-only: unlisted by staff (customers cannot find it).
    let hidden = fx.topic(&staff_p, &support, "Internal pricing notes", "Staff only.");
    let r = staff.post_with_token(
        &format!("/t/{}/moderate", hidden.topic_id),
        &[("action", "unlist")],
    );
    assert_status(&r, 303, "unlist");
    let gone = fx.topic(
        &author_p,
        &support,
        "A question deleted later",
        "Never mind.",
    );
    tdb.sql(&format!(
        "UPDATE topics SET deleted_at = created_at WHERE id = {}",
        gone.topic_id
    ));
    let asked = fx.topic(
        &voters_p[3],
        &support,
        "Is there a night theme anywhere?",
        "My eyes hurt in the evening.",
    );
    let post_fields = |links: &str| {
        vec![
            ("title", "Dark mode".to_string()),
            ("slug", String::new()),
            (
                "raw",
                "The dashboard has a **dark theme**. <script>alert(1)</script>".to_string(),
            ),
            ("label_new", "on".to_string()),
            ("links", links.to_string()),
            ("published_on", String::new()),
            ("status", "draft".to_string()),
        ]
    };
    for (links, named) in [
        ("/t/nothing/999999".to_string(), "/t/nothing/999999"),
        (format!("#{}", hidden.topic_id), "#"),
        (format!("/t/{}", gone.topic_id), "/t/"),
    ] {
        let fields = post_fields(&links);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = staff.post_with_token("/changelog/new", &fields);
        assert_status(&r, 422, &links);
        assert!(
            r.body.contains("Link 1") && r.body.contains(named),
            "{links}: {}",
            r.body
        );
    }

    // An unpublished article is refused too; a published one is linked.
    fx.kb_section("look", "Look and feel");
    let draft_article = fx.kb_article(&staff_p, "look", "Themes (draft)", "Soon.", "draft");
    let fields = post_fields(&format!("/kb/{}", draft_article.slug));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = staff.post_with_token("/changelog/new", &fields);
    assert_status(&r, 422, "unpublished article");
    assert!(r.body.contains("is not published"), "{}", r.body);
    // So is an incident that does not exist; a real one is linked.
    let fields = post_fields("/status/incidents/999999");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = staff.post_with_token("/changelog/new", &fields);
    assert_status(&r, 422, "missing incident");
    assert!(
        r.body.contains("there is no incident #999999"),
        "{}",
        r.body
    );
    let admin_p = fx.person("status_admin", townhall::accounts::Role::Admin);
    let r = anon.send_json(
        "POST",
        "/api/status/incidents",
        r#"{"incident": {"name": "Dashboard charts unreadable", "status": "investigating", "body": "Charts lose contrast on dark system themes."}}"#,
        &[(
            "Authorization",
            &format!("Bearer {}", fx.status_token(&admin_p)),
        )],
    );
    assert_status(&r, 201, "incident opened");
    let incident: i64 = json(&r.body)["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("incident id");
    let article = fx.kb_article(
        &staff_p,
        "look",
        "Change the dashboard theme",
        "Open **Account → Appearance** and pick a theme.",
        "published",
    );

    // "Write a changelog post about this" on the idea starts a draft linking it.
    assert_shows(
        &staff.get(&idea_path),
        &format!("href=\"/changelog/new?topic={idea}\""),
    );
    let started = staff.get(&format!("/changelog/new?topic={idea}"));
    assert_status(&started, 200, "draft about the idea");
    assert_shows(&started, &format!("{idea_path}</textarea>"));
    assert_shows(&started, "value=\"Dark mode for the dashboard\"");
    assert_status(
        &author.get(&format!("/changelog/new?topic={idea}")),
        403,
        "member",
    );
    assert_status(&staff.get("/changelog/new?topic=abc"), 400, "bad topic");
    assert_status(&staff.get("/changelog/new?topic=999999"), 404, "no topic");

    // A draft linked to the idea, a support topic and the article: only staff see it.
    let links = format!(
        "{idea_path}\n/t/{}\n/kb/{}\n/status/incidents/{incident}",
        asked.topic_id, article.slug
    );
    let fields = post_fields(&links);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = staff.post_with_token("/changelog/new", &fields);
    assert_status(&r, 303, "draft saved");
    assert_eq!(r.location(), "/changelog/dark-mode");
    assert_status(
        &anon.get("/changelog/dark-mode"),
        404,
        "draft for a visitor",
    );
    assert_status(&author.get("/changelog/dark-mode.json"), 404, "draft JSON");
    assert!(!anon.get("/changelog.json").body.contains("dark-mode"));
    assert_status(
        &author.post_with_token("/changelog/dark-mode/publish", &[]),
        403,
        "member publish",
    );
    assert_status(&author.get("/changelog/dark-mode/edit"), 403, "member edit");
    assert_status(
        &author.post_with_token("/changelog/dark-mode/edit", &fields),
        403,
        "member edit post",
    );
    assert_eq!(kind_count("shipped"), 0);

    // Publishing closes the loop: the idea ships, both topics get a staff reply, and the
    // author, the voters and the support topic's asker each hear once.
    let r = staff.post_with_token("/changelog/dark-mode/publish", &[]);
    assert_status(&r, 303, "publish");
    eventually_within(30, "shipped notifications", || kind_count("shipped") == 5);
    let post = anon.get("/changelog/dark-mode");
    assert_status(&post, 200, "published post");
    assert_shows(
        &post,
        "Because you asked: </strong>1 idea, 1 topic, 4 votes",
    );
    assert!(
        !post.body.contains("<script>alert"),
        "markdown is sanitised"
    );
    assert_shows(&post, &format!("href=\"/status/incidents/{incident}\""));
    let page = anon.get(&idea_path);
    assert_shows(&page, "Shipped");
    assert_shows(&page, "href=\"/changelog/dark-mode\"");
    assert_shows(
        &anon.get(&format!("/kb/{}", article.slug)),
        "Updated because of this change",
    );
    let support_page = anon.get(&format!("/t/{}/{}", asked.slug, asked.topic_id));
    assert_shows(&support_page, "href=\"/changelog/dark-mode\"");
    let shipped = json(&anon.get("/roadmap.json").body);
    assert_eq!(shipped["shipped"][0]["id"], idea);
    assert!(shipped["planned"].as_array().expect("planned").is_empty());
    let feed = json(&anon.get("/changelog.json").body);
    assert_eq!(feed["posts"][0]["slug"], "dark-mode");
    assert_eq!(feed["posts"][0]["because_you_asked"]["votes"], 4);
    assert_eq!(feed["posts"][0]["labels"][0], "new");
    let atom = anon.get("/changelog.atom");
    assert_status(&atom, 200, "atom");
    crate::support::assert_well_formed_xml(&atom.body);
    assert!(
        atom.body.contains("<title>Dark mode</title>"),
        "{}",
        atom.body
    );
    assert_shows(&anon.get("/sitemap-pages.xml"), "/changelog/dark-mode");
    // Search finds the post (its own kind, "in:changelog").
    eventually("the post is searchable", || {
        let r = anon.get("/api/search?q=dark+theme+in:changelog");
        r.status == 200
            && json(&r.body)["hits"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["url"] == "/changelog/dark-mode"))
    });
    // Each voter's notification links to the post.
    let notes = voters[0].get("/notifications");
    assert_shows(&notes, "Because you asked");
    assert_shows(&notes, "Dark mode");
    let shipped_note = tdb.number(
        "SELECT n.id AS n FROM notifications n JOIN users u ON u.id = n.user_id \
         WHERE n.kind = 'shipped' AND u.username = 'fan0'",
    );
    assert_shows(&notes, &format!("href=\"/notifications/{shipped_note}\""));
    let opened = voters[0].get(&format!("/notifications/{shipped_note}"));
    assert_eq!(
        opened.location(),
        "/changelog/dark-mode",
        "the notification opens the post"
    );

    // Publishing again, editing, taking back to draft and re-publishing notify nobody twice.
    assert_status(
        &staff.post_with_token("/changelog/dark-mode/publish", &[]),
        303,
        "again",
    );
    let mut edited = post_fields(&links);
    edited[2].1 = "The dashboard has a dark theme, now also in the log viewer.".into();
    edited[6].1 = "published".into();
    let edited: Vec<(&str, &str)> = edited.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_status(
        &staff.post_with_token("/changelog/dark-mode/edit", &edited),
        303,
        "edit",
    );
    let mut draft = edited.clone();
    draft[6].1 = "draft";
    assert_status(
        &staff.post_with_token("/changelog/dark-mode/edit", &draft),
        303,
        "unpublish",
    );
    assert_status(
        &staff.post_with_token("/changelog/dark-mode/publish", &[]),
        303,
        "republish",
    );
    let last_event = tdb.number("SELECT MAX(id) AS n FROM events");
    eventually_within(30, "notifier caught up", || {
        tdb.number(
            "SELECT COALESCE(MAX(last_event_id), 0) AS n FROM follower_cursors WHERE name = 'notifications'",
        ) >= last_event
    });
    assert_eq!(kind_count("shipped"), 5, "nobody hears twice");
    assert_eq!(
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM posts WHERE topic_id = {idea} AND raw LIKE '%/changelog/dark-mode%'"
        )),
        1,
        "one staff reply in the idea"
    );

    // A slug rename redirects, the JSON too.
    let mut renamed = edited.clone();
    renamed[1].1 = "dark-theme";
    assert_status(
        &staff.post_with_token("/changelog/dark-mode/edit", &renamed),
        303,
        "rename",
    );
    let r = anon.get("/changelog/dark-mode");
    assert_status(&r, 301, "old slug");
    assert_eq!(r.location(), "/changelog/dark-theme");
    assert_eq!(
        anon.get("/changelog/dark-mode.json").location(),
        "/changelog/dark-theme.json"
    );

    // Labels filter; bad filters and pages are refused clearly.
    assert!(anon.get("/changelog?label=new").body.contains("dark-theme"));
    assert!(
        !anon
            .get("/changelog?label=fixed")
            .body
            .contains("dark-theme")
    );
    for bad in [
        "/changelog?label=bogus",
        "/changelog.json?page=0",
        "/c/ideas?sort=loudest",
        "/c/ideas?status=finished",
        "/c/ideas?page=-1",
    ] {
        assert_status(&anon.get(bad), 400, bad);
    }
    let r = anon.get("/changelog.json?label=bogus");
    assert_status(&r, 400, "bad label JSON");
    assert!(
        json(&r.body)["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("label")
    );
    assert_status(&anon.get("/changelog/no-such-post"), 404, "missing post");

    // Votes: bad values, topics that are not ideas, missing topics.
    assert_status(&vote(&voters[0], idea, "maybe"), 400, "bad vote value");
    assert_status(&vote(&voters[0], asked.topic_id, "1"), 400, "not an idea");
    assert_status(&vote(&voters[0], 999_999, "1"), 404, "missing topic");

    // Merging a duplicate moves its votes once per member and points to the survivor.
    let (dup_slug, dup) =
        voters[3].create_topic("ideas", "Night mode please", "Same as dark mode.", "");
    assert_status(&vote(&voters[0], dup, "1"), 303, "vote dup");
    assert_status(
        &vote(&fx_login(&fx, &server, "dup_only"), dup, "1"),
        303,
        "vote dup 2",
    );
    let r = staff.post_with_token(
        &format!("/t/{dup}/merge-idea"),
        &[("into", &idea.to_string())],
    );
    assert_status(&r, 303, "merge");
    assert!(
        r.location().ends_with(&format!("/{idea}")),
        "{}",
        r.location()
    );
    eventually("merged votes counted", || votes_of(&anon, idea) == 5);
    assert_shows(
        &anon.get(&format!("/t/{dup_slug}/{dup}")),
        &format!("This idea was merged into <a href=\"{idea_path}\">"),
    );
    assert_status(&vote(&voters[1], dup, "1"), 409, "vote on a merged idea");
    let r = staff.post_with_token(
        &format!("/t/{idea}/merge-idea"),
        &[("into", &idea.to_string())],
    );
    assert_status(&r, 400, "merge into itself");

    // The staff numbers.
    let numbers = staff.get("/staff/feedback");
    assert_status(&numbers, 200, "feedback numbers");
    assert_shows(&numbers, "Shipped this quarter");
    // The merged duplicate is not counted as an idea of its own; its votes are the survivor's.
    assert_shows(&numbers, "<dt>Ideas</dt><dd>1</dd>");
    assert_shows(&numbers, "<dt>Votes</dt><dd>5</dd>");
}

fn fx_login(fx: &Fixtures, server: &Server, name: &str) -> Client {
    fx.member(name).login(server)
}

#[test]
fn the_header_marks_new_changelog_posts_until_the_member_opens_the_changelog() {
    let tdb = TestDb::new();
    let server = Server::start(&tdb);
    let fx = Fixtures::new(&tdb);
    let member = fx.member("reader").login(&server);
    let staff = fx.staff("writer").login(&server);
    let marker = "class=\"count whats-new\"";
    assert!(!member.get("/latest").body.contains(marker));
    let r = staff.post_with_token(
        "/changelog/new",
        &[
            ("title", "Faster search"),
            ("raw", "Search answers in half the time."),
            ("label_improved", "on"),
            ("status", "published"),
        ],
    );
    assert_status(&r, 303, "published");
    eventually("the marker shows", || {
        member.get("/latest").body.contains(marker)
    });
    // Visitors' shared pages never carry it.
    assert!(!server.client().get("/latest").body.contains(marker));
    assert_shows(&member.get("/changelog"), "Faster search");
    assert!(!member.get("/latest").body.contains(marker), "cleared");
    // Votes are rate-limited per member (staff are not).
    let fx_cat = fx.ideas_category("ideas", "Ideas");
    let author = fx.member("limited_author");
    let t = fx.topic(&author, &fx_cat, "Keyboard shortcuts everywhere", "Please.");
    let mut limited = false;
    for i in 0..80 {
        let r = vote(&member, t.topic_id, if i % 2 == 0 { "1" } else { "0" });
        if r.status == 429 {
            limited = true;
            break;
        }
        assert_status(&r, 303, "vote within the limit");
    }
    assert!(limited, "80 votes in a burst hit the limit");
}

#[test]
fn a_vote_on_one_node_reorders_a_members_ideas_list_and_roadmap_on_another() {
    let tdb = TestDb::new();
    let node_a = Server::start(&tdb);
    let node_b = Server::start(&tdb);
    let fx = Fixtures::new(&tdb);
    fx.ideas_category("ideas", "Ideas");
    let staff = fx.staff("two_node_staff");
    let author = fx.member("two_node_author");
    let cat = fx.ideas_category("more-ideas", "More ideas");
    let first = fx.topic(
        &author,
        &cat,
        "Bulk edit DNS records",
        "Many records at once.",
    );
    let second = fx.topic(
        &author,
        &cat,
        "Webhooks for new invoices",
        "Tell our system.",
    );
    let reader_b = fx.member("two_node_reader").login(&node_b);
    let order = |c: &Client| -> Vec<i64> {
        json(&c.get("/c/more-ideas.json").body)["ideas"]
            .as_array()
            .expect("ideas")
            .iter()
            .filter_map(|i| i["id"].as_i64())
            .collect()
    };
    // Node B ranks (and memoizes) them: no votes, newest first among equals.
    assert_eq!(order(&reader_b), vec![second.topic_id, first.topic_id]);
    assert!(
        json(&reader_b.get("/roadmap.json").body)["planned"]
            .as_array()
            .expect("planned")
            .is_empty()
    );
    // A vote and a status change on node A.
    let voter_a = fx.member("two_node_voter").login(&node_a);
    assert_status(&vote(&voter_a, first.topic_id, "1"), 303, "vote on A");
    let staff_a = staff.login(&node_a);
    let r = staff_a.post_with_token(
        &format!("/t/{}/idea-status", first.topic_id),
        &[("status", "planned"), ("explanation", "Next month.")],
    );
    assert_status(&r, 303, "planned on A");
    eventually("node B's list and roadmap follow", || {
        order(&reader_b) == vec![first.topic_id, second.topic_id]
            && json(&reader_b.get("/roadmap.json").body)["planned"][0]["id"] == first.topic_id
    });
}

#[test]
fn the_same_vote_or_publish_sent_twice_at_once_counts_once() {
    let tdb = TestDb::new();
    let node_a = Server::start(&tdb);
    let node_b = Server::start(&tdb);
    let fx = Fixtures::new(&tdb);
    let cat = fx.ideas_category("ideas", "Ideas");
    let author = fx.member("race_author");
    let idea = fx.topic(&author, &cat, "Export audit logs", "To our SIEM, daily.");
    let members: Vec<_> = (0..6).map(|i| fx.member(&format!("racer{i}"))).collect();

    // Each member votes and withdraws from two tabs at once, one on each node. Whatever the
    // interleaving, the count is the votes stored, and nobody's request fails; every tab
    // ends on "vote", so every member's vote stands.
    std::thread::scope(|s| {
        for p in &members {
            let a = p.login(&node_a);
            let b = a.with_base(&node_b.base);
            for c in [a, b] {
                let token = c.token();
                s.spawn(move || {
                    for value in ["1", "0", "1", "0", "1"] {
                        let r = c.post_form(
                            &format!("/t/{}/vote", idea.topic_id),
                            &[("csrf", &token), ("vote", value)],
                        );
                        assert_status(&r, 303, "a racing vote");
                    }
                });
            }
        }
    });
    assert_eq!(
        idea_votes(&tdb, idea.topic_id),
        (6, 6),
        "count and stored votes"
    );

    // Two staff tabs merge the same duplicate at the same moment: the survivor gains only
    // the duplicate's new voter, once.
    let dup = fx.topic(&author, &cat, "Send audit logs to Splunk", "Same thing.");
    let dup_voters = [
        members[0].login(&node_a),
        fx.member("dup_voter").login(&node_b),
    ];
    for c in &dup_voters {
        assert_status(&vote(c, dup.topic_id, "1"), 303, "vote for the duplicate");
    }
    let merger = fx.staff("race_merger").login(&node_a);
    let tabs = [
        merger.with_base(&node_a.base),
        merger.with_base(&node_b.base),
    ];
    let mut statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = tabs
            .into_iter()
            .map(|c| {
                let token = c.token();
                s.spawn(move || {
                    c.post_form(
                        &format!("/t/{}/merge-idea", dup.topic_id),
                        &[("csrf", &token), ("into", &idea.topic_id.to_string())],
                    )
                    .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("merge tab"))
            .collect()
    });
    // The second tab is told it was merged already (409), or, arriving while the votes are
    // still moving, helps finish the move (303); never an error.
    statuses.sort_unstable();
    assert!(
        statuses == [303, 409] || statuses == [303, 303],
        "racing merges answered {statuses:?}"
    );
    assert_eq!(
        idea_votes(&tdb, idea.topic_id),
        (7, 7),
        "the duplicate's new voter moved once"
    );

    // Two staff tabs publish the same post at the same moment on two nodes: the loop is
    // closed once (one staff reply, one notice per voter and the author).
    let staff_a = fx.staff("race_staff").login(&node_a);
    let r = staff_a.post_with_token(
        "/changelog/new",
        &[
            ("title", "Audit log export"),
            ("raw", "Audit logs can be sent to your SIEM every day."),
            ("label_new", "on"),
            ("links", &format!("/t/{}", idea.topic_id)),
            ("status", "draft"),
        ],
    );
    assert_status(&r, 303, "draft");
    let staff_b = staff_a.with_base(&node_b.base);
    std::thread::scope(|s| {
        for c in [staff_a, staff_b] {
            let token = c.token();
            s.spawn(move || {
                let r = c.post_form("/changelog/audit-log-export/publish", &[("csrf", &token)]);
                assert_status(&r, 303, "a racing publish");
            });
        }
    });
    let last_event = tdb.number("SELECT MAX(id) AS n FROM events");
    eventually_within(30, "notifier caught up", || {
        tdb.number(
            "SELECT COALESCE(MAX(last_event_id), 0) AS n FROM follower_cursors WHERE name = 'notifications'",
        ) >= last_event
    });
    assert_eq!(
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM posts WHERE topic_id = {} AND raw LIKE '%/changelog/audit-log-export%'",
            idea.topic_id
        )),
        1,
        "one staff reply"
    );
    assert_eq!(
        tdb.number("SELECT COUNT(*) AS n FROM events WHERE kind = 'changelog.published'"),
        1,
        "one published event"
    );
    assert_eq!(
        tdb.number("SELECT COUNT(*) AS n FROM notifications WHERE kind = 'shipped'"),
        8,
        "the seven voters and the author, once each"
    );
}
