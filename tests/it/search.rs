//! Search: derived from the database, current within a second, resilient to crashes and
//! rebuilds, forgiving with bad input, and offered before a customer posts.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Client, Server, TestDb, cli, forum_with_category, member, staff};

fn search(c: &Client, q: &str) -> Value {
    c.json(&format!("/api/search?q={}", urlencode(q)))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn topic_ids(results: &Value) -> Vec<i64> {
    results["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["topic_id"].as_i64().expect("topic_id"))
        .collect()
}

/// Polls until `q` finds (or, with `present` false, no longer finds) `topic`.
fn wait_for(c: &Client, q: &str, topic: i64, present: bool) -> Duration {
    let started = Instant::now();
    loop {
        if topic_ids(&search(c, q)).contains(&topic) == present {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "topic {topic} {} for {q:?} after 10 s",
            if present {
                "still not found"
            } else {
                "still found"
            }
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_new_topic_is_searchable_within_a_second() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let (_, id) = admin.create_topic(
        &cat,
        "Invoice shows the wrong VAT number",
        "Our invoice lists an old VAT number for the company.",
        "vat",
    );
    let waited = wait_for(&admin, "vat number invoice", id, true);
    assert!(waited < Duration::from_millis(1500), "took {waited:?}");
    // A reply is found too, and the topic appears once even when several posts match.
    admin.reply(
        id,
        "The VAT number comes from Billing → Company details; update it there.",
    );
    let started = Instant::now();
    loop {
        let r = search(&admin, "billing company details");
        if topic_ids(&r).contains(&id) {
            assert_eq!(topic_ids(&r).iter().filter(|t| **t == id).count(), 1);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "reply never indexed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn edits_deletes_and_hidden_posts_leave_the_results() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let author = member(&server, "writer");
    let (_, id) = author.create_topic(
        &cat,
        "Backups are missing for March",
        "I cannot find the zebrafish backup archive anywhere.",
        "",
    );
    wait_for(&admin, "zebrafish", id, true);

    // Edit: the old word goes, the new one comes.
    let first = admin.json(&format!("/t/{id}.json"))["posts"][0]["id"]
        .as_i64()
        .unwrap();
    let form = author.get(&format!("/p/{first}/edit"));
    let r = author.post_form(
        &format!("/p/{first}/edit"),
        &[
            ("csrf", &form.csrf()),
            ("raw", "I cannot find the platypus backup archive anywhere."),
            ("title", "Backups are missing for March"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    wait_for(&admin, "platypus", id, true);
    wait_for(&admin, "zebrafish", id, false);

    // Hidden reply: gone for everyone; unhidden: back.
    let reply = admin.reply(id, "Try the narwhal restore button.");
    wait_for(&admin, "narwhal", id, true);
    let r = admin.post_with_token(
        &format!("/p/{reply}/hide"),
        &[("hide", "1"), ("reason", "Wrong advice")],
    );
    assert_eq!(r.status, 303);
    wait_for(&admin, "narwhal", id, false);

    // Deleting the first post deletes the topic: gone from search.
    let r = author.post_with_token(&format!("/p/{first}/delete"), &[]);
    assert_eq!(r.status, 303);
    wait_for(&admin, "platypus", id, false);
}

#[test]
fn unlisted_topics_are_not_searchable_until_listed_again() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let (_, id) = admin.create_topic(
        &cat,
        "Internal migration checklist",
        "The okapi checklist for the migration.",
        "",
    );
    wait_for(&admin, "okapi", id, true);
    admin.post_with_token(&format!("/t/{id}/moderate"), &[("action", "unlist")]);
    wait_for(&admin, "okapi", id, false);
    admin.post_with_token(&format!("/t/{id}/moderate"), &[("action", "relist")]);
    wait_for(&admin, "okapi", id, true);
}

#[test]
fn query_syntax_filters_results() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let helper = staff(&db, &server, "maya_staff");
    let asker = member(&server, "asker_one");
    let (_, sso) = asker.create_topic(
        &cat,
        "SSO login loop with our identity provider",
        "After rotating the signing certificate the login loops.",
        "sso, saml",
    );
    let (_, cert) = asker.create_topic(
        &cat,
        "Certificate renewal failed last night",
        "The signing of the renewal failed with a timeout.",
        "ssl",
    );
    let answer = helper.reply(sso, "Paste the new metadata URL under Team → SSO.");
    let r = asker.post_with_token(&format!("/p/{answer}/solution"), &[("accept", "1")]);
    assert_eq!(r.status, 303);
    wait_for(&admin, "metadata", sso, true);
    std::thread::sleep(Duration::from_millis(300));

    let ids = topic_ids(&search(&admin, "signing"));
    assert!(ids.contains(&sso) && ids.contains(&cert), "{ids:?}");
    assert_eq!(topic_ids(&search(&admin, "signing tag:sso")), vec![sso]);
    assert_eq!(topic_ids(&search(&admin, "signing is:solved")), vec![sso]);
    assert_eq!(
        topic_ids(&search(&admin, "signing is:unsolved")),
        vec![cert]
    );
    assert_eq!(topic_ids(&search(&admin, "signing -renewal")), vec![sso]);
    assert_eq!(topic_ids(&search(&admin, "\"renewal failed\"")), vec![cert]);
    assert_eq!(
        topic_ids(&search(&admin, "metadata by:maya_staff")),
        vec![sso]
    );
    assert!(topic_ids(&search(&admin, "signing category:nothing-here")).is_empty());
    assert_eq!(
        topic_ids(&search(&admin, &format!("signing category:{cat} tag:ssl"))),
        vec![cert]
    );
    // Facets count what was found.
    let r = search(&admin, "signing");
    let solved = r["facets"]["solved"].as_array().unwrap();
    assert!(
        solved.iter().any(|f| f[0] == "solved" && f[1] == 1),
        "{solved:?}"
    );
    // The accepted answer's topic ranks first for words in the answer.
    assert_eq!(topic_ids(&search(&admin, "metadata url sso"))[0], sso);
}

#[test]
fn typos_are_forgiven_and_corrections_suggested() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let (_, id) = admin.create_topic(
        &cat,
        "Certificate pending validation for two days",
        "The certificate status stays on pending validation.",
        "",
    );
    wait_for(&admin, "certificate", id, true);
    let r = search(&admin, "certifcate");
    assert!(topic_ids(&r).contains(&id), "fuzzy match: {r}");
    assert_eq!(r["did_you_mean"], "certificate");
    let page = admin.get("/search?q=certifcate");
    assert!(page.body.contains("Did you mean"));
    // A near miss that no correction covers still finds the topic through fuzzy matching.
    let r = search(&admin, "validaton pendng certficate");
    assert!(topic_ids(&r).contains(&id), "{r}");
}

#[test]
fn bad_queries_get_helpful_answers_never_errors() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    admin.create_topic(
        &cat,
        "Something to find in the index",
        "Some text to search through.",
        "",
    );
    let anon = server.client();
    let long = "a".repeat(10 * 1024);
    let many: String = (0..500).map(|i| format!("term{i} ")).collect();
    for q in [
        "",
        "   ",
        &long,
        "\"unbalanced quote",
        "\"\"",
        "- - -",
        "::::",
        "foo:bar",
        "in:nowhere",
        "tag:",
        "is:maybe",
        "((( ]]] {{{",
        "😀 emoji search 🚀",
        "مرحبا بالعالم",
        "\u{202e}reversed",
        &many,
        "%00%ff",
        "by:",
        "*",
        "?",
        "AND OR NOT",
        "-",
        "\"a\" \"b\" -\"c\"",
    ] {
        let started = Instant::now();
        let page = anon.get(&format!("/search?q={}", urlencode(q)));
        assert_eq!(page.status, 200, "query {q:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "query {q:?} took {:?}",
            started.elapsed()
        );
        let api = anon.get(&format!("/api/search?q={}", urlencode(q)));
        if q.trim().is_empty() {
            assert_eq!(api.status, 400, "empty API query");
            assert!(api.body.contains("\"error\""));
        } else {
            assert_eq!(api.status, 200, "API query {q:?}: {}", api.body);
        }
    }
    let page = anon.get(&format!("/search?q={}", urlencode(&many)));
    assert!(page.body.contains("Only the first 32 words"));
    let page = anon.get("/search?q=foo%3Abar");
    assert!(page.body.contains("is not a filter here"));
    // Out-of-range pages and odd parameters are clamped, not errors.
    assert_eq!(anon.get("/search?q=text&page=999999").status, 200);
    assert_eq!(anon.get("/search?q=text&page=-1").status, 400);
    assert_eq!(
        anon.get("/search?q=text&solved=perhaps&kind=%00").status,
        200
    );
}

#[test]
fn a_restarted_indexer_converges_to_the_database() {
    let db = TestDb::new();
    let node_a = Server::start(&db);
    let (admin, cat) = forum_with_category(&node_a);
    let (_, kept) = admin.create_topic(&cat, "Kept topic about llamas", "Llamas are kept.", "");
    let (_, doomed) = admin.create_topic(
        &cat,
        "Doomed topic about llamas",
        "Llamas will be deleted.",
        "",
    );
    wait_for(&admin, "llamas", doomed, true);
    // Crash node A (SIGKILL: no graceful shutdown), keep writing through node B, whose
    // index lives elsewhere.
    drop(node_a);
    let other_dir = db.dir.path().join("node-b");
    let node_b = Server::start_with(&db, &[("TOWNHALL_DATA_DIR", other_dir.to_str().unwrap())]);
    let b = admin.with_base(&node_b.base);
    let (_, added) = b.create_topic(
        &cat,
        "Added while A was down, about alpacas",
        "Alpacas and llamas.",
        "",
    );
    let first = b.json(&format!("/t/{doomed}.json"))["posts"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        b.post_with_token(&format!("/p/{first}/delete"), &[]).status,
        303
    );
    drop(node_b);
    // Node A comes back with its old index and catches up from its commit payload.
    let node_a = Server::start(&db);
    let a = admin.with_base(&node_a.base);
    wait_for(&a, "alpacas", added, true);
    wait_for(&a, "llamas", doomed, false);
    let mut ids = topic_ids(&search(&a, "llamas"));
    ids.sort_unstable();
    let mut expected = vec![kept, added];
    expected.sort_unstable();
    assert_eq!(ids, expected, "exactly the database's content");
}

#[test]
fn reindex_rebuilds_and_swaps_while_the_server_keeps_answering() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, id) = admin.create_topic(
            &cat,
            &format!("Quokka question number {i}"),
            "All about the quokka.",
            "",
        );
        ids.push(id);
    }
    wait_for(&admin, "quokka", ids[4], true);
    let data_dir = db.dir.path().join("data");
    let (code, out, err) = cli(
        &db,
        &["reindex"],
        "",
        &[("TOWNHALL_DATA_DIR", data_dir.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("indexed 5 topic(s)"), "{out}");
    // The server switches to the new index and keeps answering, then keeps it current.
    for _ in 0..20 {
        assert_eq!(topic_ids(&search(&admin, "quokka")).len(), 5);
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, later) = admin.create_topic(
        &cat,
        "Quokka question after the rebuild",
        "Still about the quokka.",
        "",
    );
    wait_for(&admin, "quokka", later, true);
    let live = std::fs::read_to_string(data_dir.join("search").join("CURRENT")).unwrap();
    assert!(
        out.contains(live.trim()),
        "CURRENT points at the rebuilt index"
    );
}

#[test]
fn answers_are_offered_before_a_question_is_posted() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let helper = staff(&db, &server, "ines_staff");
    let (_, solved) = admin.create_topic(
        &cat,
        "How do I download my invoices as PDF?",
        "Where are the invoice PDFs?",
        "invoices",
    );
    let answer = helper.reply(solved, "Billing → Invoices → Download PDF.");
    admin.post_with_token(&format!("/p/{answer}/solution"), &[("accept", "1")]);
    wait_for(&admin, "invoices pdf is:solved", solved, true);

    let customer = member(&server, "customer_q");
    let form = customer.get("/new-topic");
    let flow_at = form
        .body
        .find("name=\"flow\" value=\"")
        .expect("flow field")
        + 19;
    let flow = &form.body[flow_at..flow_at + 64];
    assert!(
        form.body.contains("suggest."),
        "the page offers the live script"
    );
    // The script's endpoint.
    let live = customer.json(&format!(
        "/api/suggest?flow={flow}&q={}",
        urlencode("download invoices pdf")
    ));
    assert_eq!(live["hits"][0]["topic_id"], solved);

    // Without the script: submitting shows the answers first, keeping every field.
    let fields = [
        ("category", cat.as_str()),
        ("title", "Can I download invoices as PDF files?"),
        ("raw", "I need PDFs for my accountant."),
        ("tags", ""),
        ("flow", flow),
    ];
    let step = customer.post_with_token("/new-topic", &fields);
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("Before you post"));
    assert!(step.body.contains("How do I download my invoices as PDF?"));
    assert!(step.body.contains("I need PDFs for my accountant."));
    assert!(step.body.contains("name=\"confirmed\" value=\"1\""));
    // Opening a suggestion is recorded and leads to the topic.
    let open = customer.get(&format!("/search/open?flow={flow}&topic={solved}"));
    assert_eq!(open.status, 303);
    assert!(open.location().ends_with(&format!("/{solved}")));
    // Posting anyway works.
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirmed", "1"));
    let posted = customer.post_with_token("/new-topic", &confirmed);
    assert_eq!(posted.status, 303, "{}", posted.body);

    let store = townhall::db::Db::connect(&db.url).unwrap();
    let events = store
        .read_sync(|c| townhall::db::events::after(c, 0, 1000))
        .unwrap();
    let of = |kind: &str| events.iter().filter(|e| e.kind == kind).collect::<Vec<_>>();
    assert_eq!(
        of("deflection.suggested").len(),
        1,
        "suggestions recorded once per flow"
    );
    assert!(of("deflection.suggested")[0].payload.contains(flow));
    assert_eq!(of("deflection.opened").len(), 1);
    let created = of("topic.created");
    assert!(
        created.last().unwrap().payload.contains(flow),
        "the new topic names its flow"
    );
}

#[test]
fn topic_pages_show_related_solved_topics() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let helper = staff(&db, &server, "devon_staff");
    let (_, a) = admin.create_topic(
        &cat,
        "Renewing the wildcard certificate fails",
        "Wildcard renewal fails with DNS errors.",
        "",
    );
    let answer = helper.reply(a, "Add the TXT record for the wildcard.");
    admin.post_with_token(&format!("/p/{answer}/solution"), &[("accept", "1")]);
    let (slug, b) = admin.create_topic(
        &cat,
        "Wildcard certificate renewal question",
        "How does wildcard renewal work?",
        "",
    );
    wait_for(&admin, "wildcard is:solved", a, true);
    // Lists are derived in the background: within a second or two of the topic's creation.
    let deadline = Instant::now() + Duration::from_secs(5);
    let page = loop {
        let page = admin.get(&format!("/t/{slug}/{b}"));
        if page.body.contains("Related solved topics") || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        page.body.contains("Related solved topics"),
        "related section"
    );
    assert!(
        page.body
            .contains("Renewing the wildcard certificate fails")
    );
    // What may no longer be shown leaves the list at once, on every page that listed it.
    let first = admin.json(&format!("/t/{a}.json"))["posts"][0]["id"]
        .as_i64()
        .unwrap();
    let r = admin.post_with_token(&format!("/p/{first}/delete"), &[]);
    assert_eq!(r.status, 303, "delete: {}", r.body);
    for viewer in [&admin, &server.client()] {
        let page = viewer.get(&format!("/t/{slug}/{b}"));
        assert!(
            !page
                .body
                .contains("Renewing the wildcard certificate fails"),
            "a deleted topic is still listed as related"
        );
    }
}

/// Results that score the same must come in the same order, represented by the same posts, on
/// every node, although each node lays out its own index: an edit re-indexes topic 1 after
/// topic 2 on node A, while node B, started later, indexes everything in id order.
#[test]
fn two_nodes_with_the_same_data_give_byte_identical_results_when_scores_tie() {
    let db = TestDb::new();
    let node_a = Server::start(&db);
    let (admin, cat) = forum_with_category(&node_a);
    let asker = member(&node_a, "tie_asker");
    let same = "Try the quuxfrobnicate setting in the export panel.";
    let mut first_replies = Vec::new();
    let mut first_posts = Vec::new();
    for title in ["Exports arrive empty", "Nightly export has no rows"] {
        let (_, topic) = asker.create_topic(&cat, title, "My export file is empty.", "");
        first_posts.push(
            asker.json(&format!("/t/{topic}.json"))["posts"][0]["id"]
                .as_i64()
                .unwrap(),
        );
        first_replies.push(admin.reply(topic, same));
        admin.reply(topic, same);
    }
    std::thread::sleep(Duration::from_millis(400));
    let r = asker.post_with_token(
        &format!("/p/{}/edit", first_posts[0]),
        &[("raw", "My export file is empty, every night.")],
    );
    assert_eq!(r.status, 303, "edit: {}", r.body);
    std::thread::sleep(Duration::from_millis(600));
    let q = "quuxfrobnicate";
    let node_b = Server::start(&db);
    let b = node_b.client();
    let deadline = Instant::now() + Duration::from_secs(10);
    while topic_ids(&search(&b, q)).len() < 2 {
        assert!(Instant::now() < deadline, "not indexed on node B");
        std::thread::sleep(Duration::from_millis(50));
    }
    let path = format!("/api/search?q={q}");
    let from_a = node_a.client().get(&path).body;
    let from_b = b.get(&path).body;
    assert_eq!(from_a, from_b, "the nodes disagree");
    let results: Value = serde_json::from_str(&from_a).unwrap();
    let post_ids: Vec<i64> = results["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["post_id"].as_i64().unwrap())
        .collect();
    assert_eq!(post_ids, first_replies, "ties go to the earliest post");
}
