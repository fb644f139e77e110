//! HTTP semantics that tools rely on: HEAD on every page, like GET without the body.

use crate::support::{Resp, Server, TestDb, cli};

fn links_in(body: &str, prefix: &str) -> Vec<String> {
    body.split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|s| s.find('"').map(|end| format!("{prefix}{}", &s[..end])))
        .collect()
}

fn assert_head_matches_get(path: &str, get: &Resp, head: &Resp) {
    assert_eq!(head.status, get.status, "HEAD {path}: status");
    assert!(head.body.is_empty(), "HEAD {path}: no body");
    for name in ["content-type", "cache-control", "location"] {
        assert_eq!(head.header(name), get.header(name), "HEAD {path}: {name}");
    }
    if get.header("content-encoding").is_none() && get.header("transfer-encoding").is_none() {
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "HEAD {path}: Content-Length of the GET body"
        );
    }
}

/// A GET and a HEAD of `path` while the page stays the same: search results and related
/// topics are derived in the background after start-up, so a page may change in between.
fn stable_get_and_head(client: &crate::support::Client, path: &str) -> (Resp, Resp) {
    for _ in 0..20 {
        let before = client.get(path);
        let head = client.head(path);
        let after = client.get(path);
        if before.body.len() == after.body.len() && before.status == after.status {
            return (after, head);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{path} kept changing");
}

#[test]
fn head_answers_every_get_route_with_the_same_status_and_headers_and_no_body() {
    let db = TestDb::new();
    let (code, _, err) = cli(&db, &["seed-demo"], "", &[]);
    assert_eq!(code, 0, "{err}");
    let server = Server::start(&db);
    let visitor = server.client();
    let home = visitor.get("/");
    let latest = visitor.get("/latest");
    let stylesheet = links_in(&home.body, "/assets/")
        .into_iter()
        .find(|l| l.ends_with(".css"))
        .expect("stylesheet link");
    let topic = links_in(&latest.body, "/t/")
        .into_iter()
        .next()
        .expect("a topic link");
    let topic_id = topic.rsplit('/').next().unwrap().to_string();
    let category = links_in(&latest.body, "/c/")
        .into_iter()
        .next()
        .expect("a category link");
    let mut paths = vec![
        "/".to_string(),
        "/healthz".into(),
        "/latest".into(),
        "/latest.atom".into(),
        "/latest.json".into(),
        "/latest?filter=solved".into(),
        "/contact".into(),
        "/login".into(),
        "/register".into(),
        "/setup".into(),
        "/search?q=invoice".into(),
        "/api/search?q=invoice".into(),
        "/sitemap.xml".into(),
        "/robots.txt".into(),
        "/u/maya.support".into(),
        "/no-such-page".into(),
        format!("/t/{topic_id}"),
        format!("/t/{topic_id}.json"),
        format!("{category}.atom"),
        format!("{category}.json"),
        stylesheet,
        topic,
        category,
    ];
    paths.dedup();
    // Twice over: the first round fills the visitors' page cache, the second is served from it.
    for round in 0..2 {
        for path in &paths {
            let (get, head) = stable_get_and_head(&server.client(), path);
            assert_ne!(get.status, 405, "{path}");
            assert_head_matches_get(&format!("{path} (round {round})"), &get, &head);
        }
    }
    // A HEAD request that is the first to reach a cacheable page (a miss, then a hit).
    let fresh = "/latest?page_probe=1";
    let head = server.client().head(fresh);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let (get, head) = stable_get_and_head(&server.client(), fresh);
    assert_head_matches_get(fresh, &get, &head);
    // Logged-in pages answer HEAD too.
    let admin = server.client();
    admin.setup_admin();
    for path in ["/admin", "/notifications", "/new-topic"] {
        let get = admin.get(path);
        let head = admin.head(path);
        assert_eq!(get.status, 200, "{path}");
        assert_head_matches_get(path, &get, &head);
    }
}

/// Every URL of the sitemap: the index, then each file it lists.
pub fn sitemap_locs(client: &crate::support::Client) -> Vec<String> {
    let index = client.get("/sitemap.xml");
    assert_eq!(index.status, 200);
    assert!(index.body.contains("<sitemapindex"), "{}", index.body);
    let locs = |body: &str| -> Vec<String> {
        body.split("<loc>")
            .skip(1)
            .map(|s| s[..s.find("</loc>").unwrap()].to_string())
            .collect()
    };
    let mut all = Vec::new();
    for file in locs(&index.body) {
        let path = &file[file.find("/sitemap").expect("a sitemap path")..];
        let r = client.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.contains("<urlset"), "{path}");
        all.extend(locs(&r.body));
    }
    all
}

#[test]
fn the_sitemap_is_an_index_of_files_of_at_most_50000_urls_covering_every_topic() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    crate::support::create_category(&admin, "Bulk", "bulk", false);
    // 60,000 topics, more than one sitemap file may hold; rows only (no posts), which is all
    // the sitemap reads.
    db.sql(
        "INSERT INTO topics (category_id, user_id, title, slug, created_at, bumped_at, last_poster_id) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) \
         SELECT (SELECT MIN(id) FROM categories), (SELECT MIN(id) FROM users), 'Bulk topic', \
         'bulk-topic', '2026-01-01 00:00:00', '2026-01-01 00:00:00', (SELECT MIN(id) FROM users) FROM n",
    );
    db.sql("UPDATE topics SET unlisted = TRUE WHERE id = 7");
    let visitor = server.client();
    let index = visitor.get("/sitemap.xml").body;
    let files: Vec<&str> = index.matches("/sitemap-topics-").collect();
    assert_eq!(files.len(), 2, "{index}");
    assert_eq!(
        index.matches("<lastmod>").count(),
        2,
        "each topic file has a lastmod"
    );
    for n in 1..=2 {
        let file = visitor.get(&format!("/sitemap-topics-{n}.xml")).body;
        let urls = file.matches("<url>").count();
        assert!(urls <= 50_000, "file {n} has {urls} URLs");
    }
    let locs = sitemap_locs(&visitor);
    let topics = locs.iter().filter(|l| l.contains("/t/bulk-topic/")).count();
    assert_eq!(
        topics, 59_999,
        "every listed topic, the unlisted one left out"
    );
    assert!(!locs.iter().any(|l| l.ends_with("/t/bulk-topic/7")));
    assert!(locs.iter().any(|l| l.ends_with("/t/bulk-topic/60000")));
    assert!(locs.iter().any(|l| l.ends_with("/c/bulk")));
    assert_eq!(visitor.get("/sitemap-topics-3.xml").status, 404);
    assert_eq!(visitor.get("/sitemap-topics-0.xml").status, 404);
    assert_eq!(visitor.get("/sitemap-topics-x.xml").status, 404);
    assert_eq!(
        visitor
            .get("/sitemap-topics-99999999999999999999.xml")
            .status,
        404
    );
}
