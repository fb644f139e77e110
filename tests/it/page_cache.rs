//! Anonymous visitors are served rendered pages from a per-node cache; whatever changes a
//! page must reach them, on this node at once and on other nodes through the event log.

use std::time::{Duration, Instant};

use crate::support::*;

fn timing(r: &Resp) -> String {
    r.header("server-timing").unwrap_or_default().to_string()
}

fn from_cache(r: &Resp) -> bool {
    timing(r).contains("hit")
}

/// Views `url` until the answer comes from the cache. The node's event follower empties the
/// cache when it sees the events of the test's own set-up, up to a poll (250 ms) later.
fn cached(c: &Client, url: &str) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = c.get(url);
        assert_eq!(r.status, 200, "{url}");
        if from_cache(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "{url} never came from the cache");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn anonymous_pages_come_from_the_cache_until_something_changes() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let asker = member(&server, "cache_asker");
    let (slug, id) =
        asker.create_topic(&cat, "Where is the invoice archive", "Looking for it.", "");
    let url = topic_url(&slug, id);

    let anon = server.client();
    let first = anon.get(&url);
    assert_eq!(first.status, 200);
    assert!(
        !from_cache(&first),
        "the first view renders: {}",
        timing(&first)
    );
    let second = cached(&anon, &url);
    assert_eq!(first.body, second.body);
    // A cached page still gives a new visitor their own CSRF cookie.
    let newcomer = server.client();
    let third = newcomer.get(&url);
    assert!(from_cache(&third));
    assert!(newcomer.cookie("townhall_csrf").is_some());
    // The home page and the list are cached as well.
    cached(&anon, "/latest");

    // A reply on this node shows to anonymous visitors at once.
    asker.reply(id, "Found it under Billing, then Documents.");
    let after = anon.get(&url);
    assert!(
        after.body.contains("Found it under Billing"),
        "the reply is visible right after it was posted"
    );
    assert!(!from_cache(&after));
    assert!(
        anon.get("/latest")
            .body
            .contains("Where is the invoice archive")
    );
}

#[test]
fn logged_in_people_never_get_a_cached_page() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let asker = member(&server, "cache_owner");
    let (slug, id) = asker.create_topic(&cat, "Cached for strangers only", "Body text.", "");
    let url = topic_url(&slug, id);
    let anon = server.client();
    cached(&anon, &url);

    let page = asker.get(&url);
    assert_eq!(page.status, 200);
    assert!(!from_cache(&page), "a member's page is rendered for them");
    assert!(page.body.contains("cache_owner"), "their own header");
    assert!(
        page.body.contains(&asker.token()),
        "the reply form carries their session's CSRF token"
    );
}

#[test]
fn hidden_and_deleted_content_leaves_anonymous_pages_at_once() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "cache_mod");
    let asker = member(&server, "cache_spammer");
    let (slug, id) = asker.create_topic(&cat, "Buy cheap followers here", "Spam body.", "");
    let url = topic_url(&slug, id);
    let anon = server.client();
    cached(&anon, &url);

    let topic = agent.json(&format!("/t/{id}.json"));
    let first_post = topic["posts"][0]["id"].as_i64().unwrap();
    let r = agent.post_with_token(&format!("/p/{first_post}/delete"), &[]);
    assert!(r.status == 303 || r.status == 200, "delete: {}", r.status);
    assert_eq!(
        anon.get(&url).status,
        404,
        "the deleted topic is gone for visitors"
    );
}

#[test]
fn a_write_on_one_node_reaches_anonymous_visitors_of_another() {
    let db = TestDb::new();
    let node_a = Server::start(&db);
    let node_b = Server::start(&db);
    let (_admin, cat) = forum_with_category(&node_a);
    let asker = member(&node_a, "cache_two_nodes");
    let (slug, id) = asker.create_topic(&cat, "Two nodes, one database", "Question.", "");
    let url = topic_url(&slug, id);
    let anon_b = node_b.client();
    cached(&anon_b, &url);

    asker.reply(id, "An answer written on node A.");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if anon_b
            .get(&url)
            .body
            .contains("An answer written on node A.")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node B kept serving its cached page after node A's reply"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
