//! The forum as customers, members and staff use it: categories, questions, answers,
//! accepted solutions, likes, edits, moderation, notifications, feeds and bad input.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixtures::{Fixtures, assert_status, eventually};
use crate::support::{
    Client, Server, TestDb, assert_well_formed_xml, create_category, forum_with_category, member,
    parse_topic_location, query_count, staff, topic_url,
};

// ---- helpers ----------------------------------------------------------------------------

/// The `<article>` of post `post_id` on a topic page.
fn article(body: &str, post_id: i64) -> &str {
    let marker = format!("id=\"p-{post_id}\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("post {post_id} is not on the page"));
    let start = body[..at].rfind("<article").expect("<article");
    let end = at + body[at..].find("</article>").expect("</article>") + "</article>".len();
    &body[start..end]
}

/// The opening `<article …>` tag of post `post_id`.
fn article_tag(body: &str, post_id: i64) -> &str {
    let a = article(body, post_id);
    &a[..a.find('>').expect("end of tag") + 1]
}

/// The `<li>` of a topic in a topic list, if the list shows it.
fn list_row(body: &str, topic_id: i64) -> Option<&str> {
    let marker = format!("/{topic_id}\">");
    let at = body.find(&marker)?;
    let start = body[..at].rfind("<li")?;
    let end = at + body[at..].find("</li>")?;
    Some(&body[start..end])
}

/// Topic ids in a list page, in order (pinned first, as shown).
fn listed_ids(body: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("<a class=\"title\" href=\"/t/") {
        rest = &rest[at + "<a class=\"title\" href=\"".len()..];
        let href = &rest[..rest.find('"').unwrap()];
        ids.push(parse_topic_location(href).1);
    }
    ids
}

/// The `href` of the first `<a … rel="next">` (HTML-unescaped).
fn next_link(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\"")?;
    let start = body[..at].rfind("<a ")?;
    let tag = &body[start..at + body[at..].find('>')?];
    let h = tag.find("href=\"")? + 6;
    Some(crate::support::unescape(&tag[h..h + tag[h..].find('"')?]))
}

/// The text of the textarea `name` (HTML-unescaped).
fn textarea(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no textarea {name}"));
    let start = body[..at].rfind("<textarea").expect("<textarea");
    let open_end = start + body[start..].find('>').unwrap() + 1;
    let close = open_end + body[open_end..].find("</textarea>").unwrap();
    crate::support::unescape(&body[open_end..close])
}

/// The `value` of the input named `name` (HTML-unescaped).
fn input_value(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}"));
    let start = body[..at].rfind("<input").expect("<input");
    let tag = &body[start..start + body[start..].find('>').unwrap()];
    let v = tag.find("value=\"").expect("value") + 7;
    crate::support::unescape(&tag[v..v + tag[v..].find('"').unwrap()])
}

fn meta_content(body: &str, attr: &str) -> Option<String> {
    let at = body.find(attr)?;
    let start = body[..at].rfind("<meta")?;
    let tag = &body[start..at + body[at..].find('>')?];
    let c = tag.find("content=\"")? + 9;
    Some(crate::support::unescape(&tag[c..c + tag[c..].find('"')?]))
}

/// Number of unread notifications the header shows (0 when it shows none).
fn unread_count(c: &Client) -> u32 {
    let page = c.get("/latest");
    match page.body.find("<span class=\"count\">") {
        None => 0,
        Some(at) => {
            let rest = &page.body[at + "<span class=\"count\">".len()..];
            rest[..rest.find('<').unwrap()].parse().expect("count")
        }
    }
}

struct Notice {
    id: i64,
    unread: bool,
    text: String,
}

fn notifications(c: &Client) -> Vec<Notice> {
    let page = c.get("/notifications");
    assert_eq!(page.status, 200);
    let Some(list) = page.body.find("<ol class=\"notifications\">") else {
        return Vec::new();
    };
    let list = &page.body[list..page.body[list..].find("</ol>").unwrap() + list];
    list.split("<li")
        .skip(1)
        .map(|item| {
            let h = item.find("href=\"/notifications/").unwrap() + "href=\"/notifications/".len();
            let id = item[h..h + item[h..].find('"').unwrap()].parse().unwrap();
            let t = h + item[h..].find("\">").unwrap() + 2;
            Notice {
                id,
                unread: item.starts_with(" class=\"unread\""),
                text: crate::support::unescape(&item[t..t + item[t..].find("</a>").unwrap()]),
            }
        })
        .collect()
}

/// Waits (up to 5 s) for a notification whose text contains `needle`.
fn wait_for_notice(c: &Client, needle: &str) -> Notice {
    let started = Instant::now();
    loop {
        let all = notifications(c);
        let texts: Vec<String> = all.iter().map(|n| n.text.clone()).collect();
        if let Some(n) = all.into_iter().find(|n| n.text.contains(needle)) {
            return n;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no notification containing {needle:?} within 5 s; have {texts:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

fn first_post_id(c: &Client, topic_id: i64) -> i64 {
    c.json(&format!("/t/{topic_id}.json"))["posts"][0]["id"]
        .as_i64()
        .expect("first post id")
}

fn audit_kinds(admin: &Client) -> String {
    let page = admin.get("/admin/audit");
    assert_eq!(page.status, 200);
    page.body
}

// ---- 1. the support journey -------------------------------------------------------------

#[test]
fn a_customer_asks_staff_answers_and_the_accepted_answer_shows_everywhere() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let asker = member(&server, "customer_ana");
    let helper = member(&server, "helpful_bo");
    let agent = staff(&db, &server, "agent_sam");
    let anon = server.client();

    // The customer finds the category from the forum and starts a question there.
    let forum = asker.get("/latest");
    assert!(
        forum.body.contains("href=\"/c/billing\""),
        "category listed"
    );
    let category = asker.get("/c/billing");
    assert_status(&category, 200, "category page");
    assert!(
        category
            .body
            .contains("href=\"/new-topic?category=billing\"")
    );
    let form = asker.get("/new-topic?category=billing");
    assert_status(&form, 200, "new topic form");
    assert!(form.body.contains("<option value=\"billing\" selected>"));
    let title = "How do I download my invoice as a PDF?";
    let (slug, tid) = asker.create_topic(
        &cat,
        title,
        "I cannot find the **download** button on the billing page.",
        "Invoices, pdf",
    );
    assert_eq!(slug, "how-do-i-download-my-invoice-as-a-pdf");

    let helper_post = helper.reply(tid, "Maybe try the menu in the top right corner?");
    let staff_post = agent.reply(
        tid,
        "Go to Billing, then Invoices, and click **Download PDF**.",
    );

    let page = asker.get(&topic_url(&slug, tid));
    assert_status(&page, 200, "topic page");
    assert!(
        page.body.contains("#invoices") && page.body.contains("#pdf"),
        "tags shown"
    );
    let staff_article = article(&page.body, staff_post);
    assert!(
        article_tag(&page.body, staff_post).contains("staff"),
        "the staff reply has class staff: {}",
        article_tag(&page.body, staff_post)
    );
    assert!(staff_article.contains("<span class=\"badge staff\""));
    assert!(staff_article.contains(">staff</span>"));
    assert!(!article_tag(&page.body, helper_post).contains("staff"));
    assert!(!article(&page.body, helper_post).contains("badge staff"));

    for list in ["/latest", "/c/billing"] {
        let body = anon.get(list).body;
        let row = list_row(&body, tid).unwrap_or_else(|| panic!("{list} lists the topic"));
        assert!(row.contains("staff replied"), "{list}: {row}");
        assert!(!row.contains("✓ solved"), "{list}: not solved yet");
    }
    let latest = anon.json("/latest.json");
    assert_eq!(latest["topics"][0]["staff_replied"], true);

    // Only the asker (or staff) chooses the answer.
    let r = helper.post_with_token(&format!("/p/{helper_post}/solution"), &[("accept", "1")]);
    assert_status(&r, 403, "someone else accepting");

    let r = asker.post_with_token(&format!("/p/{staff_post}/solution"), &[("accept", "1")]);
    assert_status(&r, 303, "accept");
    assert_eq!(
        r.location(),
        format!("/t/{slug}/{tid}?post={staff_post}#p-{staff_post}")
    );

    for list in ["/latest", "/c/billing", "/latest?filter=solved"] {
        let body = anon.get(list).body;
        let row = list_row(&body, tid).unwrap_or_else(|| panic!("{list} lists the topic"));
        assert!(row.contains("✓ solved"), "{list}: {row}");
    }
    assert!(list_row(&anon.get("/latest?filter=unsolved").body, tid).is_none());
    let json = anon.json(&format!("/t/{tid}.json"));
    assert_eq!(json["solved_post_id"], staff_post);
    let answer = json["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == staff_post)
        .unwrap();
    assert_eq!(answer["accepted_answer"], true);
    assert_eq!(answer["staff"], true);
    assert_eq!(anon.json("/latest.json")["topics"][0]["solved"], true);
    assert_eq!(anon.json("/c/billing.json")["topics"][0]["solved"], true);

    let page = anon.get(&topic_url(&slug, tid)).body;
    assert!(page.contains("✓ solved"), "topic header says solved");
    let solution = page
        .find("<section class=\"solution\"")
        .expect("a Solution section");
    let question = page
        .find(&format!("id=\"p-{}\"", first_post_id(&anon, tid)))
        .unwrap();
    let first_reply = page.find(&format!("id=\"p-{helper_post}\"")).unwrap();
    assert!(
        question < solution && solution < first_reply,
        "the Solution sits under the question, before the replies"
    );
    let section = &page[solution..solution + page[solution..].find("</section>").unwrap()];
    assert!(section.contains("Solution"));
    assert!(section.contains("agent_sam"));
    assert!(
        section.contains("Download PDF"),
        "excerpt of the answer: {section}"
    );
    assert!(section.contains(&format!("?post={staff_post}#p-{staff_post}")));
    assert!(article(&page, staff_post).contains("✓ accepted answer"));

    let profile = anon.get("/u/agent_sam");
    assert_status(&profile, 200, "profile");
    assert!(
        profile.body.contains("<strong>1</strong> accepted answers"),
        "solver's profile counts the answer"
    );

    // Undo, then choose another answer.
    let r = asker.post_with_token(&format!("/p/{staff_post}/solution"), &[("accept", "0")]);
    assert_status(&r, 303, "undo");
    assert_eq!(
        anon.json(&format!("/t/{tid}.json"))["solved_post_id"],
        Value::Null
    );
    assert!(
        !list_row(&anon.get("/latest").body, tid)
            .unwrap()
            .contains("✓ solved")
    );
    assert!(
        !anon
            .get(&topic_url(&slug, tid))
            .body
            .contains("class=\"solution\"")
    );
    assert!(
        anon.get("/u/agent_sam")
            .body
            .contains("<strong>0</strong> accepted answers")
    );

    asker.post_with_token(&format!("/p/{staff_post}/solution"), &[("accept", "1")]);
    let r = asker.post_with_token(&format!("/p/{helper_post}/solution"), &[("accept", "1")]);
    assert_status(&r, 303, "change the answer");
    assert_eq!(
        anon.json(&format!("/t/{tid}.json"))["solved_post_id"],
        helper_post
    );
    assert!(
        anon.get("/u/agent_sam")
            .body
            .contains("<strong>0</strong> accepted answers")
    );
    assert!(
        anon.get("/u/helpful_bo")
            .body
            .contains("<strong>1</strong> accepted answers")
    );
    let page = anon.get(&topic_url(&slug, tid)).body;
    assert!(article(&page, helper_post).contains("✓ accepted answer"));
    assert!(!article(&page, staff_post).contains("✓ accepted answer"));

    // The question itself can never be its own answer.
    let first = first_post_id(&anon, tid);
    let r = asker.post_with_token(&format!("/p/{first}/solution"), &[("accept", "1")]);
    assert_status(&r, 400, "accepting the question");
}

// ---- 2. URLs and JSON -------------------------------------------------------------------

#[test]
fn wrong_slug_redirects_unknown_topic_is_404_and_json_field_names_are_stable() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let asker = member(&server, "asker_one");
    let (slug, tid) = asker.create_topic(
        &cat,
        "Refund for a double charge",
        "I was charged twice in May.",
        "refund",
    );
    let reply = admin.reply(tid, "We refunded the second charge.");
    let anon = server.client();

    for wrong in [
        format!("/t/wrong-slug/{tid}"),
        format!("/t/{tid}"),
        format!("/t/REFUND-for-a-double-charge/{tid}"),
    ] {
        let r = anon.get(&wrong);
        assert_status(&r, 301, &wrong);
        assert_eq!(r.location(), topic_url(&slug, tid), "{wrong}");
    }
    let r = anon.get(&format!("/t/{tid}?post={reply}"));
    assert_status(&r, 301, "id-only with ?post");
    assert!(r.location().starts_with(&topic_url(&slug, tid)));
    assert_status(&anon.get(&topic_url(&slug, tid)), 200, "right slug");

    for missing in [
        format!("/t/{slug}/999999"),
        "/t/999999".to_string(),
        "/t/nope/abc".to_string(),
        format!("/t/{slug}/{tid}?page=7"),
        format!("/t/{slug}/{tid}?page=0"),
        format!("/t/{slug}/{tid}?page=x"),
    ] {
        let r = anon.get(&missing);
        assert_status(&r, 404, &missing);
        assert!(
            r.body.contains("<!DOCTYPE html>"),
            "{missing}: a page, not a bare line"
        );
    }
    let r = anon.get("/t/999999.json");
    assert_status(&r, 404, "unknown json");
    let err: Value = serde_json::from_str(&r.body).expect("JSON error body");
    assert_eq!(err["error"]["status"], 404);

    let r = anon.get(&format!("/t/{tid}.json"));
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("application/json"),
        "JSON content type"
    );
    let t: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        json_keys(&t),
        sorted(&[
            "id",
            "title",
            "slug",
            "url",
            "category",
            "tags",
            "created_at",
            "bumped_at",
            "reply_count",
            "like_count",
            "solved_post_id",
            "locked",
            "pinned",
            "page",
            "pages",
            "posts",
        ])
    );
    assert_eq!(t["id"], tid);
    assert_eq!(t["title"], "Refund for a double charge");
    assert_eq!(t["slug"], slug.as_str());
    assert_eq!(t["url"], topic_url(&slug, tid));
    assert_eq!(t["tags"], serde_json::json!(["refund"]));
    assert_eq!(t["reply_count"], 1);
    assert_eq!(t["page"], 1);
    assert_eq!(t["pages"], 1);
    assert_eq!(t["locked"], false);
    assert!(t["created_at"].is_string() && t["bumped_at"].is_string());
    assert_eq!(
        json_keys(&t["category"]),
        sorted(&[
            "id",
            "kind",
            "slug",
            "name",
            "description",
            "color",
            "position",
            "staff_only"
        ])
    );
    assert_eq!(t["category"]["slug"], "billing");
    let posts = t["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 2);
    for p in posts {
        assert_eq!(
            json_keys(p),
            sorted(&[
                "id",
                "post_number",
                "username",
                "staff",
                "cooked",
                "created_at",
                "edited_at",
                "version",
                "like_count",
                "accepted_answer",
                "deleted",
                "hidden",
            ])
        );
    }
    assert_eq!(posts[0]["post_number"], 1);
    assert_eq!(posts[0]["username"], "asker_one");
    assert_eq!(posts[0]["staff"], false);
    assert_eq!(posts[1]["staff"], true);
    assert_eq!(posts[1]["id"], reply);
    assert!(
        posts[0]["cooked"]
            .as_str()
            .unwrap()
            .contains("charged twice")
    );
    assert_eq!(posts[0]["version"], 1);
    assert_eq!(posts[0]["edited_at"], Value::Null);

    let list = anon.json("/latest.json");
    assert_eq!(json_keys(&list), sorted(&["category", "topics", "next"]));
    assert_eq!(list["category"], Value::Null);
    assert_eq!(list["next"], Value::Null);
    assert_eq!(
        json_keys(&list["topics"][0]),
        sorted(&[
            "id",
            "title",
            "slug",
            "url",
            "category_id",
            "author",
            "created_at",
            "bumped_at",
            "reply_count",
            "like_count",
            "solved",
            "staff_replied",
            "pinned",
            "locked",
            "tags",
        ])
    );
    assert_eq!(list["topics"][0]["author"], "asker_one");
    let in_category = anon.json("/c/billing.json");
    assert_eq!(in_category["category"]["slug"], "billing");
    assert_status(&anon.get("/c/no-such-category"), 404, "unknown category");
    assert_status(
        &anon.get("/c/no-such-category.json"),
        404,
        "unknown category json",
    );
}

// ---- 3. lists ---------------------------------------------------------------------------

#[test]
fn lists_filter_by_solved_and_page_with_a_keyset_cursor() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    let billing = fx.category("billing", "Billing", false);
    let setup = fx.category("setup", "Setup", false);
    let agent = fx.staff("agent_lee");
    let asker = fx.member("asker_kim");
    let anon = server.client();

    let made: Vec<i64> = (0..35)
        .map(|i| {
            let title = format!("Billing topic number {i:02}");
            fx.topic(&agent, &billing, &title, "Some details here.")
                .topic_id
        })
        .collect();
    // Solved and unsolved questions in another category.
    let (solved, _) = fx.solved_topic(
        &asker,
        &agent,
        &setup,
        "Installing on a fresh server",
        "It fails at step 3.",
        "Run the migrations first.",
    );
    let solved = solved.topic_id;
    let unsolved = fx
        .topic(
            &asker,
            &setup,
            "Installing behind a proxy",
            "Which headers?",
        )
        .topic_id;

    let only_solved = listed_ids(&anon.get("/latest?filter=solved").body);
    assert_eq!(only_solved, vec![solved]);
    assert_eq!(
        listed_ids(&anon.get("/c/setup?filter=solved").body),
        vec![solved]
    );
    let unsolved_ids = listed_ids(&anon.get("/c/setup?filter=unsolved").body);
    assert_eq!(unsolved_ids, vec![unsolved]);
    assert!(!listed_ids(&anon.get("/latest?filter=unsolved").body).contains(&solved));
    assert_eq!(
        listed_ids(&anon.get("/c/billing?filter=solved").body),
        Vec::<i64>::new()
    );
    let all_setup = listed_ids(&anon.get("/c/setup?filter=all").body);
    assert_eq!(all_setup, vec![unsolved, solved]);
    let json = anon.json("/latest.json?filter=solved");
    assert_eq!(json["topics"].as_array().unwrap().len(), 1);

    // Page through the category with 35 topics: 30, then the other 5, newest first.
    let first = anon.get("/c/billing");
    let page1 = listed_ids(&first.body);
    assert_eq!(page1.len(), 30, "30 topics per page");
    let expected: Vec<i64> = made.iter().rev().copied().collect();
    assert_eq!(page1, expected[..30]);
    let next = next_link(&first.body).expect("a Load more link with rel=next");
    assert!(next.starts_with("/c/billing?before="), "{next}");
    assert!(first.body.contains("Load more topics"));

    // A topic created meanwhile does not shift the next page: the cursor is a keyset.
    let fresh = fx.topic(&agent, &billing, "A brand new billing topic", "Fresh.");
    eventually("the cached unsolved list shows the new topic", || {
        listed_ids(&anon.get("/latest?filter=unsolved").body).contains(&fresh.topic_id)
    });
    let second = anon.get(&next);
    assert_status(&second, 200, "page 2");
    let page2 = listed_ids(&second.body);
    assert_eq!(page2, expected[30..], "the remaining 5 topics");
    assert!(page1.iter().all(|id| !page2.contains(id)), "no overlap");
    assert!(
        next_link(&second.body).is_none(),
        "no next link on the last page"
    );

    // The same through JSON, with the filter kept in the cursor link.
    let j1 = anon.json("/latest.json");
    let cursor = j1["next"].as_str().expect("next cursor").to_string();
    let j2 = anon.json(&format!("/latest.json?before={cursor}"));
    let ids1: Vec<i64> = j1["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    let ids2: Vec<i64> = j2["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids1.len(), 30);
    assert_eq!(ids1.len() + ids2.len(), 38);
    assert!(ids1.iter().all(|id| !ids2.contains(id)));
    let unsolved_page = anon.get("/latest?filter=unsolved");
    let unsolved_next = next_link(&unsolved_page.body).expect("next");
    assert!(unsolved_next.contains("filter=unsolved"), "{unsolved_next}");
    let rest = listed_ids(&anon.get(&unsolved_next).body);
    assert!(!rest.contains(&solved));
    assert_eq!(listed_ids(&unsolved_page.body).len() + rest.len(), 37);

    for broken in [
        "abc",
        "123",
        "1-x",
        "-",
        "--",
        "-1-2",
        "1.5-2",
        "99999999999999999999-1",
        "9223372036854775807-1",
        "1-99999999999999999999",
        "%00",
        "1%2D2%2D3",
    ] {
        for base in ["/latest", "/c/billing", "/latest.json"] {
            let r = anon.get(&format!("{base}?before={broken}"));
            assert_status(&r, 400, &format!("{base}?before={broken}"));
            if !base.ends_with(".json") {
                assert!(
                    r.body.contains("That page link is broken"),
                    "{base}?before={broken}"
                );
            }
        }
    }
    // A well-formed cursor far in the past or future is just an empty or full page.
    assert_status(&anon.get("/latest?before=0-0"), 200, "cursor at the epoch");
    assert!(listed_ids(&anon.get("/latest?before=0-0").body).is_empty());
    assert_status(
        &anon.get("/latest?before=8000000000000000-1"),
        200,
        "cursor in 2223",
    );
    assert_status(&anon.get("/latest?filter=bogus"), 400, "unknown filter");

    // A pinned topic still belongs in the solved (or unsolved) list.
    let r = agent
        .login(&server)
        .post_with_token(&format!("/t/{solved}/moderate"), &[("action", "pin")]);
    assert_status(&r, 303, "pin");
    assert_eq!(
        listed_ids(&anon.get("/latest").body)[0],
        solved,
        "pinned first"
    );
    assert!(
        listed_ids(&anon.get("/latest?filter=solved").body).contains(&solved),
        "a pinned solved topic disappears from ?filter=solved"
    );
    assert!(
        listed_ids(&anon.get("/c/setup?filter=solved").body).contains(&solved),
        "a pinned solved topic disappears from /c/setup?filter=solved"
    );
}

// ---- 4. staff-only categories -----------------------------------------------------------

#[test]
fn members_cannot_start_topics_in_a_staff_only_category_but_staff_can() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, _) = forum_with_category(&server);
    create_category(&admin, "Announcements", "announcements", true);
    let customer = member(&server, "customer_zo");
    let agent = staff(&db, &server, "agent_ray");

    let form = customer.get("/new-topic");
    assert!(
        !form.body.contains("value=\"announcements\""),
        "not offered to members"
    );
    let r = customer.new_topic(
        "announcements",
        "Our new pricing from June",
        "Prices change.",
        "news",
    );
    assert_status(&r, 422, "member in staff-only category");
    assert!(
        r.body
            .contains("Only staff can start topics in Announcements."),
        "message"
    );
    assert_eq!(input_value(&r.body, "title"), "Our new pricing from June");
    assert_eq!(textarea(&r.body, "raw"), "Prices change.");
    assert_eq!(input_value(&r.body, "tags"), "news");
    assert!(
        customer
            .get("/c/announcements")
            .body
            .contains("Only staff start topics here.")
    );
    assert!(
        !customer
            .get("/c/announcements")
            .body
            .contains("href=\"/new-topic?category=announcements\"")
    );
    assert!(listed_ids(&customer.get("/c/announcements").body).is_empty());

    let (_, tid) = agent.create_topic(
        "announcements",
        "Our new pricing from June",
        "Prices change.",
        "news",
    );
    let (_, tid2) = admin.create_topic(
        "announcements",
        "Maintenance on Sunday night",
        "Short downtime.",
        "",
    );
    assert_eq!(
        listed_ids(&customer.get("/c/announcements").body),
        vec![tid2, tid]
    );
    // Members may still reply there.
    customer.reply(tid, "Thanks for the heads-up.");
}

// ---- 5. likes -----------------------------------------------------------------------------

#[test]
fn a_like_counts_once_per_person_can_be_taken_back_and_not_given_to_oneself() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let asker = member(&server, "asker_li");
    let helper = member(&server, "helper_jo");
    let other = member(&server, "other_mo");
    let (slug, tid) = asker.create_topic(&cat, "Change the billing email", "Where is it?", "");
    let post = helper.reply(tid, "Under Account, then Billing contact.");
    let like_count = |c: &Client| -> i64 {
        c.json(&format!("/t/{tid}.json"))["posts"][1]["like_count"]
            .as_i64()
            .unwrap()
    };

    let like =
        |c: &Client, on: &str| c.post_with_token(&format!("/p/{post}/like"), &[("like", on)]);
    let r = like(&asker, "1");
    assert_status(&r, 303, "like");
    assert_eq!(
        r.location(),
        format!("/t/{slug}/{tid}?post={post}#p-{post}")
    );
    assert_status(&like(&asker, "1"), 303, "like again");
    assert_eq!(like_count(&asker), 1, "liking twice counts once");
    let page = asker.get(&topic_url(&slug, tid)).body;
    let art = article(&page, post);
    assert!(art.contains("♥ 1"), "count visible: {art}");
    assert!(
        art.contains("aria-pressed=\"true\""),
        "the liker sees it pressed"
    );
    assert!(
        art.contains("name=\"like\" value=\"0\""),
        "the button now takes it back"
    );
    assert!(
        server
            .client()
            .get(&topic_url(&slug, tid))
            .body
            .contains("♥ 1"),
        "anonymous sees the count"
    );

    assert_status(&like(&other, "1"), 303, "second person");
    assert_eq!(like_count(&asker), 2);
    assert_eq!(asker.json("/latest.json")["topics"][0]["like_count"], 2);

    assert_status(&like(&asker, "0"), 303, "unlike");
    assert_eq!(like_count(&asker), 1);
    assert_status(&like(&asker, "0"), 303, "unlike again");
    assert_eq!(like_count(&asker), 1, "unliking twice takes one away");
    assert!(
        article(&asker.get(&topic_url(&slug, tid)).body, post).contains("aria-pressed=\"false\"")
    );

    let own = like(&helper, "1");
    assert_status(&own, 400, "liking one's own post");
    assert!(own.body.contains("You cannot like your own post."));
    assert_eq!(like_count(&asker), 1);
    let first = first_post_id(&asker, tid);
    assert_status(
        &asker.post_with_token(&format!("/p/{first}/like"), &[("like", "1")]),
        400,
        "liking one's own question",
    );
    assert_status(
        &asker.post_with_token("/p/999999/like", &[("like", "1")]),
        404,
        "liking a post that does not exist",
    );
    assert_eq!(asker.json("/latest.json")["topics"][0]["like_count"], 1);
}

// ---- 6. edits and permissions -------------------------------------------------------------

#[test]
fn edits_keep_revisions_and_members_cannot_touch_what_is_not_theirs() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    create_category(&admin, "Setup", "setup", false);
    let author = member(&server, "author_al");
    let intruder = member(&server, "intruder_x");
    let agent = staff(&db, &server, "agent_kay");
    let (slug, tid) =
        author.create_topic(&cat, "Export invoices to CSV", "Is there an export?", "");
    let first = first_post_id(&author, tid);
    let reply = author.reply(tid, "I found the old version text.\nSecond line stays.");

    // The author edits a reply: the old text stays readable.
    let form = author.get(&format!("/p/{reply}/edit"));
    assert_status(&form, 200, "edit form");
    assert_eq!(
        textarea(&form.body, "raw"),
        "I found the old version text.\nSecond line stays."
    );
    let r = author.post_with_token(
        &format!("/p/{reply}/edit"),
        &[("raw", "I found the new version text.\nSecond line stays.")],
    );
    assert_status(&r, 303, "edit");
    assert_eq!(
        r.location(),
        format!("/t/{slug}/{tid}?post={reply}#p-{reply}")
    );
    let page = author.get(&topic_url(&slug, tid)).body;
    let art = article(&page, reply);
    assert!(art.contains("new version text") && !art.contains("old version text"));
    assert!(
        art.contains(&format!("href=\"/p/{reply}/revisions\"")),
        "marked edited"
    );
    let revisions = server.client().get(&format!("/p/{reply}/revisions"));
    assert_status(&revisions, 200, "revisions, anonymous");
    assert!(
        revisions.body.contains("- I found the old version text."),
        "old text shown"
    );
    assert!(
        revisions.body.contains("+ I found the new version text."),
        "new text shown"
    );
    assert!(
        revisions
            .body
            .contains("Edited by <a href=\"/u/author_al\">author_al</a>")
    );
    assert!(revisions.body.contains("Version 2"));

    // Staff edits the question and its title; the old title and editor are recorded.
    let r = agent.post_with_token(
        &format!("/p/{first}/edit"),
        &[
            ("raw", "Is there an export to CSV or Excel?"),
            ("title", "Export invoices to CSV or Excel"),
        ],
    );
    assert_status(&r, 303, "staff edit");
    let (new_slug, _, _) = parse_topic_location(r.location());
    assert_eq!(new_slug, "export-invoices-to-csv-or-excel");
    let old = server.client().get(&topic_url(&slug, tid));
    assert_status(&old, 301, "the old slug");
    assert_eq!(old.location(), topic_url(&new_slug, tid));
    let revisions = server.client().get(&format!("/p/{first}/revisions")).body;
    assert!(revisions.contains("Edited by <a href=\"/u/agent_kay\">agent_kay</a>"));
    assert!(revisions.contains("Title was: <em>Export invoices to CSV</em>"));
    assert!(revisions.contains("- Is there an export?"));
    let json = server.client().json(&format!("/t/{tid}.json"));
    assert_eq!(json["title"], "Export invoices to CSV or Excel");
    assert_eq!(json["posts"][0]["version"], 2);
    assert!(json["posts"][0]["edited_at"].is_string());

    // An edit that fails validation keeps the typed text.
    let r = author.post_with_token(&format!("/p/{reply}/edit"), &[("raw", " ")]);
    assert_status(&r, 422, "empty edit");
    assert!(r.body.contains("Write something first."));

    // A member may not change anything of someone else's, by any route.
    let setup_id = server.client().json("/c/setup.json")["category"]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let edit_form = intruder.get(&format!("/p/{reply}/edit"));
    assert_status(&edit_form, 403, "GET edit form of someone else's post");
    let attempts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/p/{reply}/edit"), vec![("raw", "defaced")]),
        (
            format!("/p/{first}/edit"),
            vec![("raw", "defaced"), ("title", "Defaced title here")],
        ),
        (format!("/p/{reply}/delete"), vec![]),
        (format!("/p/{first}/delete"), vec![]),
        (
            format!("/p/{reply}/hide"),
            vec![("hide", "1"), ("reason", "spam")],
        ),
        (format!("/p/{reply}/hide"), vec![("hide", "0")]),
        (format!("/p/{reply}/solution"), vec![("accept", "1")]),
        (format!("/t/{tid}/moderate"), vec![("action", "lock")]),
        (format!("/t/{tid}/moderate"), vec![("action", "unlock")]),
        (format!("/t/{tid}/moderate"), vec![("action", "pin")]),
        (format!("/t/{tid}/moderate"), vec![("action", "unpin")]),
        (format!("/t/{tid}/moderate"), vec![("action", "unlist")]),
        (format!("/t/{tid}/moderate"), vec![("action", "relist")]),
        (
            format!("/t/{tid}/moderate"),
            vec![("action", "move"), ("category_id", &setup_id)],
        ),
    ];
    for (path, fields) in &attempts {
        let r = intruder.post_with_token(path, fields);
        assert_status(&r, 403, &format!("member POST {path} {fields:?}"));
        assert!(r.body.contains("<!DOCTYPE html>"), "{path}: an error page");
    }
    let json = server.client().json(&format!("/t/{tid}.json"));
    assert_eq!(json["title"], "Export invoices to CSV or Excel");
    assert_eq!(json["locked"], false);
    assert_eq!(json["pinned"], false);
    assert_eq!(json["category"]["slug"], "billing");
    assert_eq!(json["solved_post_id"], Value::Null);
    assert_eq!(json["posts"][1]["deleted"], false);
    assert_eq!(json["posts"][1]["hidden"], false);
    assert!(
        json["posts"][1]["cooked"]
            .as_str()
            .unwrap()
            .contains("new version text")
    );
    assert!(
        listed_ids(&server.client().get("/latest").body).contains(&tid),
        "still listed"
    );

    // The author of a hidden post can no longer edit it.
    agent.post_with_token(
        &format!("/p/{reply}/hide"),
        &[("hide", "1"), ("reason", "Off topic")],
    );
    assert_status(
        &author.get(&format!("/p/{reply}/edit")),
        403,
        "author, hidden post",
    );
    assert_status(
        &author.post_with_token(&format!("/p/{reply}/edit"), &[("raw", "sneaky edit")]),
        403,
        "author edits a hidden post",
    );

    // Anonymous visitors are sent to log in, and come back afterwards.
    let anon = server.client();
    let r = anon.get(&format!("/p/{first}/edit"));
    assert_status(&r, 303, "anonymous edit form");
    assert_eq!(r.location(), format!("/login?next=%2Fp%2F{first}%2Fedit"));
    let r = anon.get("/new-topic");
    assert_status(&r, 303, "anonymous new topic");
    assert_eq!(r.location(), "/login?next=%2Fnew-topic");
    for (path, fields) in attempts.iter().chain(
        [
            (format!("/t/{tid}/reply"), vec![("raw", "anonymous reply")]),
            (format!("/p/{first}/like"), vec![("like", "1")]),
            (format!("/t/{tid}/watch"), vec![("level", "watching")]),
            (
                "/new-topic".to_string(),
                vec![
                    ("category", "billing"),
                    ("title", "Anonymous question"),
                    ("raw", "Hello"),
                ],
            ),
        ]
        .iter(),
    ) {
        let r = anon.post_with_token(path, fields);
        assert_status(&r, 303, &format!("anonymous POST {path}"));
        assert!(
            r.location().starts_with("/login?next="),
            "{path}: {}",
            r.location()
        );
    }
}

// ---- 7. moderation ------------------------------------------------------------------------

#[test]
fn staff_lock_pin_unlist_move_and_hide_are_audited_and_change_the_lists() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    create_category(&admin, "Setup", "setup", false);
    let setup_id = admin.json("/c/setup.json")["category"]["id"]
        .as_i64()
        .unwrap();
    let agent = staff(&db, &server, "agent_mod");
    let customer = member(&server, "customer_cy");
    let bystander = member(&server, "bystander_b");
    let anon = server.client();
    let (slug, tid) = customer.create_topic(
        &cat,
        "Why was I billed twice this month",
        "Two charges on May 3.",
        "",
    );
    let moderate =
        |action: &str| agent.post_with_token(&format!("/t/{tid}/moderate"), &[("action", action)]);

    let r = moderate("lock");
    assert_status(&r, 303, "lock");
    assert_eq!(r.location(), topic_url(&slug, tid));
    assert_eq!(anon.json(&format!("/t/{tid}.json"))["locked"], true);
    assert!(
        list_row(&anon.get("/latest").body, tid)
            .unwrap()
            .contains("locked")
    );
    agent.reply(tid, "Staff can still answer in a locked topic.");
    assert!(audit_kinds(&admin).contains("<code>topic.locked</code>"));
    assert_status(&moderate("unlock"), 303, "unlock");
    assert!(audit_kinds(&admin).contains("<code>topic.unlocked</code>"));
    bystander.reply(tid, "Thanks, it is fixed now.");

    // Pin: first in the lists.
    let (_, newer) = bystander.create_topic(&cat, "A newer unrelated question", "Hello there.", "");
    assert_eq!(listed_ids(&anon.get("/latest").body)[0], newer);
    assert_status(&moderate("pin"), 303, "pin");
    let latest = anon.get("/latest").body;
    assert_eq!(listed_ids(&latest)[0], tid, "pinned topic first");
    assert!(list_row(&latest, tid).unwrap().contains("pinned"));
    assert_eq!(
        listed_ids(&latest).iter().filter(|id| **id == tid).count(),
        1,
        "listed once"
    );
    assert_eq!(anon.json("/latest.json")["topics"][0]["pinned"], true);
    assert!(audit_kinds(&admin).contains("<code>topic.pinned</code>"));
    moderate("unpin");
    assert_eq!(listed_ids(&anon.get("/latest").body)[0], newer);
    assert!(audit_kinds(&admin).contains("<code>topic.unpinned</code>"));

    // Move: into another category.
    let r = agent.post_with_token(
        &format!("/t/{tid}/moderate"),
        &[("action", "move"), ("category_id", &setup_id.to_string())],
    );
    assert_status(&r, 303, "move");
    assert_eq!(
        anon.json(&format!("/t/{tid}.json"))["category"]["slug"],
        "setup"
    );
    assert!(listed_ids(&anon.get("/c/setup").body).contains(&tid));
    assert!(!listed_ids(&anon.get("/c/billing").body).contains(&tid));
    assert!(audit_kinds(&admin).contains("<code>topic.moved</code>"));
    let r = agent.post_with_token(
        &format!("/t/{tid}/moderate"),
        &[("action", "move"), ("category_id", "999999")],
    );
    assert_status(&r, 400, "move to a category that does not exist");
    assert_status(
        &agent.post_with_token(&format!("/t/{tid}/moderate"), &[("action", "move")]),
        400,
        "move without a category",
    );
    assert_status(
        &agent.post_with_token(&format!("/t/{tid}/moderate"), &[("action", "explode")]),
        400,
        "unknown action",
    );
    assert_status(
        &agent.post_with_token("/t/999999/moderate", &[("action", "lock")]),
        404,
        "unknown topic",
    );

    // Unlist: gone from lists and the sitemap, but the URL still works.
    assert_status(&moderate("unlist"), 303, "unlist");
    for list in ["/latest", "/c/setup"] {
        assert!(
            !listed_ids(&anon.get(list).body).contains(&tid),
            "{list} hides an unlisted topic"
        );
    }
    assert!(
        !anon
            .get("/latest.json")
            .body
            .contains(&format!("\"id\":{tid},"))
    );
    assert!(
        !anon
            .get("/latest.atom")
            .body
            .contains(&format!("/{tid}</id>"))
    );
    assert!(
        !crate::http::sitemap_locs(&anon)
            .iter()
            .any(|l| l.ends_with(&format!("/{tid}")))
    );
    assert_status(
        &anon.get(&topic_url(&slug, tid)),
        200,
        "unlisted topic by URL",
    );
    assert_status(
        &anon.get(&format!("/t/{tid}.json")),
        200,
        "unlisted topic JSON",
    );
    assert!(audit_kinds(&admin).contains("<code>topic.unlisted</code>"));
    moderate("relist");
    assert!(listed_ids(&anon.get("/latest").body).contains(&tid));
    assert!(audit_kinds(&admin).contains("<code>topic.relisted</code>"));

    // Hide and unhide a reply.
    let reply = bystander.reply(tid, "Buy cheap watches at spam.example");
    let r = agent.post_with_token(
        &format!("/p/{reply}/hide"),
        &[("hide", "1"), ("reason", "Advertising")],
    );
    assert_status(&r, 303, "hide");
    assert_eq!(
        r.location(),
        format!("{}?post={reply}#p-{reply}", topic_url(&slug, tid))
    );
    let audit = audit_kinds(&admin);
    assert!(audit.contains("<code>post.hidden</code>"));
    assert!(
        audit.contains("Advertising"),
        "the reason is in the audit log"
    );
    assert!(audit.contains("agent_mod"), "and who did it");
    assert_status(
        &agent.post_with_token(&format!("/p/{reply}/hide"), &[("hide", "0")]),
        303,
        "unhide",
    );
    assert!(audit_kinds(&admin).contains("<code>post.unhidden</code>"));
    assert!(article(&anon.get(&topic_url(&slug, tid)).body, reply).contains("spam.example"));
    // Staff tools are for staff only, and the audit log for admins.
    assert!(
        agent
            .get(&topic_url(&slug, tid))
            .body
            .contains("Staff tools")
    );
    assert!(
        !bystander
            .get(&topic_url(&slug, tid))
            .body
            .contains("Staff tools")
    );
    assert_status(
        &agent.get("/admin/audit"),
        403,
        "staff cannot read the audit log",
    );
    assert_status(
        &bystander.get("/admin/audit"),
        403,
        "members cannot read the audit log",
    );
}

#[test]
fn a_locked_topic_refuses_a_members_reply_with_403_and_keeps_the_text() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "agent_lock");
    let customer = member(&server, "customer_lk");
    let (slug, tid) =
        customer.create_topic(&cat, "Old question about invoices", "Long solved.", "");
    agent.post_with_token(&format!("/t/{tid}/moderate"), &[("action", "lock")]);

    let page = customer.get(&topic_url(&slug, tid)).body;
    assert!(page.contains("This topic is locked and no longer accepts replies."));
    assert!(
        !page.contains(&format!("action=\"/t/{tid}/reply\"")),
        "no reply form"
    );
    assert!(page.contains("<span class=\"badge locked\">locked</span>"));

    let typed = "Any update on this? I still see both charges & want <them> gone.";
    let r = customer.reply_raw(tid, typed);
    assert_status(&r, 403, "reply to a locked topic");
    assert!(
        r.body
            .contains("This topic is locked: it no longer accepts replies."),
        "a clear message: {}",
        &r.body[..r.body.len().min(3000)]
    );
    assert_eq!(textarea(&r.body, "raw"), typed, "the typed text is kept");
    assert_eq!(customer.json(&format!("/t/{tid}.json"))["reply_count"], 0);
    // Staff may still reply.
    agent.reply(tid, "Reopening is not needed: here is the answer.");
}

#[test]
fn a_hidden_post_shows_its_reason_and_never_its_content_to_members() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "agent_hide");
    let customer = member(&server, "customer_hd");
    let bystander = member(&server, "bystander_h");
    let anon = server.client();
    let (slug, tid) =
        customer.create_topic(&cat, "Card declined at checkout", "It says declined.", "");

    // A hidden reply: the reason replaces the content for everyone but staff.
    let secret = customer.reply(
        tid,
        "My card number is 4111 1111 1111 1111 and the CVV 123.",
    );
    let r = agent.post_with_token(
        &format!("/p/{secret}/hide"),
        &[("hide", "1"), ("reason", "Contains card details")],
    );
    assert_status(&r, 303, "hide");
    for (who, c) in [
        ("anonymous", &anon),
        ("member", &bystander),
        ("author", &customer),
    ] {
        let page = c.get(&topic_url(&slug, tid)).body;
        let art = article(&page, secret);
        assert!(
            art.contains("This post was hidden by staff: Contains card details"),
            "{who}"
        );
        assert!(!page.contains("4111"), "{who} must not see hidden content");
        let json = c.get(&format!("/t/{tid}.json")).body;
        assert!(
            !json.contains("4111"),
            "{who}: JSON must not carry hidden content"
        );
        assert_status(
            &c.get(&format!("/p/{secret}/revisions")),
            404,
            "revisions of a hidden post",
        );
        let quote = c
            .get(&format!("{}?quote={secret}", topic_url(&slug, tid)))
            .body;
        assert!(!quote.contains("4111"), "{who}: quoting a hidden post");
    }
    assert!(
        !anon.get("/u/customer_hd").body.contains("4111"),
        "profile excerpt"
    );
    let staff_view = agent.get(&topic_url(&slug, tid)).body;
    assert!(
        article(&staff_view, secret).contains("4111"),
        "staff still see it"
    );
    assert!(
        agent.get(&format!("/t/{tid}.json")).body.contains("4111"),
        "staff JSON"
    );
    assert_status(
        &bystander.post_with_token(&format!("/p/{secret}/like"), &[("like", "1")]),
        404,
        "liking a hidden post",
    );
    assert_status(
        &customer.post_with_token(&format!("/p/{secret}/solution"), &[("accept", "1")]),
        400,
        "a hidden post cannot be the answer",
    );
    assert_status(
        &agent.post_with_token(
            &format!("/p/{secret}/hide"),
            &[("hide", "1"), ("reason", "  ")],
        ),
        400,
        "hiding needs a reason",
    );
    assert_status(
        &agent.post_with_token(
            &format!("/p/{secret}/hide"),
            &[("hide", "1"), ("reason", &"r".repeat(301))],
        ),
        400,
        "a reason of at most 300 characters",
    );

    // A hidden question: hidden everywhere, including the page's description.
    let (qslug, qid) = customer.create_topic(
        &cat,
        "Please call me back today",
        "My phone number is 555-0199-PRIVATE and I am home all day.",
        "",
    );
    let q_first = first_post_id(&anon, qid);
    let r = agent.post_with_token(
        &format!("/p/{q_first}/hide"),
        &[("hide", "1"), ("reason", "Personal data")],
    );
    assert_status(&r, 303, "hide the question");
    assert!(
        !anon.get("/latest.atom").body.contains("555-0199-PRIVATE"),
        "feed"
    );
    assert!(
        !anon
            .get(&format!("/t/{qid}.json"))
            .body
            .contains("555-0199-PRIVATE"),
        "JSON"
    );
    for (who, c) in [("anonymous", &anon), ("member", &bystander)] {
        let page = c.get(&topic_url(&qslug, qid)).body;
        assert!(
            page.contains("This post was hidden by staff: Personal data"),
            "{who}"
        );
        assert!(
            !page.contains("555-0199-PRIVATE"),
            "{who}: the hidden question leaks through <meta name=description>/og:description: {:?}",
            meta_content(&page, "name=\"description\"")
        );
    }
}

#[test]
fn an_author_deleting_a_topic_removes_it_for_members_but_not_for_staff() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "agent_del");
    let customer = member(&server, "customer_dl");
    let bystander = member(&server, "bystander_d");
    let anon = server.client();
    let (slug, tid) = customer.create_topic(
        &cat,
        "Where do I change my plan",
        "Looking for the button.",
        "",
    );
    let answer = bystander.reply(tid, "Account, then Plan.");
    let (dslug, did) = customer.create_topic(
        &cat,
        "Never mind, found the answer",
        "Solved it myself.",
        "",
    );
    let d_first = first_post_id(&anon, did);

    let deleted = customer.post_with_token(&format!("/p/{d_first}/delete"), &[]);
    assert_status(&deleted, 303, "delete own topic");
    for list in ["/latest", "/c/billing", "/latest.json", "/latest.atom"] {
        assert!(
            !anon.get(list).body.contains(&format!("/{dslug}/{did}")),
            "{list} still shows it"
        );
    }
    assert!(
        !crate::http::sitemap_locs(&anon)
            .iter()
            .any(|l| l.ends_with(&format!("/{dslug}/{did}"))),
        "the sitemap still shows it"
    );
    for (who, c) in [
        ("anonymous", &anon),
        ("member", &bystander),
        ("author", &customer),
    ] {
        assert_status(&c.get(&topic_url(&dslug, did)), 404, who);
        assert_status(&c.get(&format!("/t/{did}.json")), 404, who);
    }
    assert!(
        !anon.get("/u/customer_dl").body.contains("Never mind"),
        "profile"
    );
    assert_status(
        &bystander.reply_raw(did, "Replying to a deleted topic"),
        404,
        "reply to a deleted topic",
    );
    let staff_view = agent.get(&topic_url(&dslug, did));
    assert_status(&staff_view, 200, "staff see deleted topics");
    assert!(staff_view.body.contains(">deleted</span>"));
    assert!(audit_kinds(&admin).contains("<code>post.deleted</code>"));

    // Deleting a reply leaves a marker, fixes the count and un-accepts it.
    customer.post_with_token(&format!("/p/{answer}/solution"), &[("accept", "1")]);
    assert_eq!(anon.json(&format!("/t/{tid}.json"))["reply_count"], 1);
    let r = bystander.post_with_token(&format!("/p/{answer}/delete"), &[]);
    assert_status(&r, 303, "delete own reply");
    assert_eq!(r.location(), topic_url(&slug, tid));
    let page = anon.get(&topic_url(&slug, tid)).body;
    assert!(article(&page, answer).contains("(This post was deleted.)"));
    assert!(!page.contains("Account, then Plan."));
    let json = anon.json(&format!("/t/{tid}.json"));
    assert_eq!(json["reply_count"], 0);
    assert_eq!(
        json["solved_post_id"],
        Value::Null,
        "a deleted reply is no longer the answer"
    );
    assert!(
        !list_row(&anon.get("/latest").body, tid)
            .unwrap()
            .contains("✓ solved")
    );
    assert_status(
        &bystander.post_with_token(&format!("/p/{answer}/delete"), &[]),
        404,
        "delete twice",
    );

    // After deleting the whole topic the author lands on the list, not on a 404.
    let landing = customer.get(deleted.location());
    assert_eq!(
        deleted.location(),
        "/latest",
        "deleting a topic redirects to the deleted topic (status {} for the author)",
        landing.status
    );
}

// ---- 8. notifications ---------------------------------------------------------------------

#[test]
fn replies_mentions_quotes_likes_and_answers_notify_and_muting_silences() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let asker = member(&server, "asker_nia");
    let helper = member(&server, "helper_ole");
    let third = member(&server, "third_pat");
    let title = "Invoice shows the wrong VAT rate";
    let (slug, tid) = asker.create_topic(&cat, title, "It says 19 percent but should be 7.", "vat");
    let question = first_post_id(&asker, tid);

    // A reply to a topic the asker watches (authors watch their topics).
    let answer = helper.reply(tid, "Check the country in your billing address.");
    let n = wait_for_notice(&asker, &format!("helper_ole replied to “{title}”"));
    assert!(n.unread);
    assert_eq!(unread_count(&asker), 1, "the header counts it");

    // A mention.
    helper.reply(tid, "@third_pat had the same problem last week, I think.");
    wait_for_notice(&third, &format!("helper_ole mentioned you in “{title}”"));

    // A quote, through the pre-filled reply box.
    let prefilled = third.get(&format!("{}?quote={question}", topic_url(&slug, tid)));
    assert_status(&prefilled, 200, "quote page");
    let quoted = textarea(&prefilled.body, "raw");
    assert!(
        quoted.starts_with(&format!(
            "[@asker_nia wrote]({}#p-{question}):\n> It says 19 percent",
            topic_url(&slug, tid)
        )),
        "pre-filled quote: {quoted:?}"
    );
    third.reply(tid, &format!("{quoted}\nSame here, it was the address."));
    wait_for_notice(&asker, &format!("third_pat quoted you in “{title}”"));

    // A like.
    let r = third.post_with_token(&format!("/p/{answer}/like"), &[("like", "1")]);
    assert_status(&r, 303, "like");
    wait_for_notice(&helper, &format!("third_pat liked your post in “{title}”"));

    // Accepting the answer.
    let r = asker.post_with_token(&format!("/p/{answer}/solution"), &[("accept", "1")]);
    assert_status(&r, 303, "accept");
    wait_for_notice(
        &helper,
        &format!("Your answer in “{title}” was accepted as the solution"),
    );

    // Never about one's own actions.
    assert!(
        notifications(&asker)
            .iter()
            .all(|n| !n.text.starts_with("asker_nia")),
        "no notification for one's own actions"
    );

    // The header count matches the unread list; opening one marks it read.
    let mine = notifications(&helper);
    let unread = mine.iter().filter(|n| n.unread).count() as u32;
    assert!(unread >= 2, "helper has unread notifications");
    assert_eq!(unread_count(&helper), unread);
    let like = mine
        .iter()
        .find(|n| n.text.contains("liked your post"))
        .unwrap();
    let r = helper.get(&format!("/notifications/{}", like.id));
    assert_status(&r, 303, "open a notification");
    assert_eq!(
        r.location(),
        format!("/t/{slug}/{tid}?post={answer}#p-{answer}")
    );
    assert_eq!(unread_count(&helper), unread - 1);
    assert!(
        !notifications(&helper)
            .iter()
            .find(|n| n.id == like.id)
            .unwrap()
            .unread
    );
    assert_status(
        &asker.get(&format!("/notifications/{}", like.id)),
        404,
        "someone else's notification",
    );
    let r = helper.post_with_token("/notifications/read", &[]);
    assert_status(&r, 303, "mark all read");
    assert_eq!(unread_count(&helper), 0);
    assert!(notifications(&helper).iter().all(|n| !n.unread));

    // Watching a category announces its new topics.
    let r = third.post_with_token("/c/billing/watch", &[("level", "watching")]);
    assert_status(&r, 303, "watch category");
    assert_eq!(r.location(), "/c/billing");
    let (_, announced) =
        helper.create_topic(&cat, "Where is the VAT number field", "Cannot find it.", "");
    let n = wait_for_notice(&third, "helper_ole started “Where is the VAT number field”");
    let r = third.get(&format!("/notifications/{}", n.id));
    assert_eq!(parse_topic_location(r.location()).1, announced);
    third.post_with_token("/c/billing/watch", &[("level", "normal")]);
    assert_status(
        &third.post_with_token("/c/billing/watch", &[("level", "loud")]),
        400,
        "unknown level",
    );
    assert_status(
        &third.post_with_token(&format!("/t/{tid}/watch"), &[("level", "loud")]),
        400,
        "unknown level",
    );

    // Muting a topic silences replies, mentions, likes and answers in it.
    asker.post_with_token("/notifications/read", &[]);
    let r = asker.post_with_token(&format!("/t/{tid}/watch"), &[("level", "muted")]);
    assert_status(&r, 303, "mute");
    assert!(
        asker
            .get(&topic_url(&slug, tid))
            .body
            .contains("<option value=\"muted\" selected>")
    );
    let r = helper.post_with_token(&format!("/t/{tid}/watch"), &[("level", "muted")]);
    assert_status(&r, 303, "mute");
    let before_asker = notifications(&asker).len();
    let before_helper = notifications(&helper).len();
    third.reply(tid, "@asker_nia @helper_ole one more thing about the VAT.");
    third.post_with_token(&format!("/p/{question}/like"), &[("like", "1")]);
    let third_answer = third.reply(tid, "And the fix is in the account settings.");
    asker.post_with_token(&format!("/p/{third_answer}/solution"), &[("accept", "1")]);
    asker.post_with_token(&format!("/p/{answer}/solution"), &[("accept", "1")]);
    // A marker elsewhere: once it arrives, the events before it have been processed.
    third.create_topic(
        &cat,
        "Another question entirely",
        "@asker_nia @helper_ole hello",
        "",
    );
    wait_for_notice(
        &asker,
        "third_pat mentioned you in “Another question entirely”",
    );
    wait_for_notice(
        &helper,
        "third_pat mentioned you in “Another question entirely”",
    );
    let asker_new: Vec<String> = notifications(&asker).into_iter().map(|n| n.text).collect();
    assert_eq!(
        asker_new.len(),
        before_asker + 1,
        "asker muted the topic: {asker_new:?}"
    );
    let helper_new: Vec<String> = notifications(&helper).into_iter().map(|n| n.text).collect();
    assert_eq!(
        helper_new.len(),
        before_helper + 1,
        "helper muted the topic, yet heard about it: {helper_new:?}"
    );
}

// ---- 9. constant queries ------------------------------------------------------------------

#[test]
fn a_long_topic_costs_the_same_number_of_queries_as_a_short_one() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "agent_bulk");
    let reader = member(&server, "reader_q");
    let anon = server.client();
    let (short_slug, short) =
        agent.create_topic(&cat, "A short topic with ten replies", "Question.", "");
    let (long_slug, long) =
        agent.create_topic(&cat, "A long topic with a hundred replies", "Question.", "");
    for i in 0..10 {
        agent.reply(short, &format!("Short reply number {i}."));
    }
    let mut long_posts = Vec::new();
    for i in 0..100 {
        let r = agent.reply_raw(long, &format!("Long reply number {i}."));
        assert_status(&r, 303, "staff are not rate limited");
        long_posts.push(parse_topic_location(r.location()).2.unwrap());
    }

    for (who, c) in [("anonymous", &anon), ("member", &reader), ("staff", &agent)] {
        let a = c.get(&topic_url(&short_slug, short));
        let b = c.get(&topic_url(&long_slug, long));
        assert_status(&a, 200, who);
        assert_status(&b, 200, who);
        let (qa, qb) = (query_count(&a), query_count(&b));
        assert!(qa > 0, "{who}: queries are counted");
        assert_eq!(
            qa, qb,
            "{who}: 10 replies cost {qa} queries, 100 replies cost {qb}"
        );
        for page in ["2", "3", "last"] {
            let p = c.get(&format!("{}?page={page}", topic_url(&long_slug, long)));
            assert_status(&p, 200, &format!("{who} page {page}"));
            assert_eq!(query_count(&p), qa, "{who}: page {page} of the long topic");
        }
    }

    // 50 posts a page: the question and 100 replies make 101 posts, three pages.
    let j = anon.json(&format!("/t/{long}.json"));
    assert_eq!(j["pages"], 3);
    assert_eq!(j["posts"].as_array().unwrap().len(), 50);
    assert_eq!(anon.json(&format!("/t/{short}.json"))["pages"], 1);
    let page1 = anon.get(&topic_url(&long_slug, long)).body;
    assert!(page1.contains("Page 1 of 3"));
    assert_eq!(
        next_link(&page1).as_deref(),
        Some(format!("{}?page=2", topic_url(&long_slug, long)).as_str())
    );
    let last = anon
        .get(&format!("{}?page=last", topic_url(&long_slug, long)))
        .body;
    assert!(last.contains("Page 3 of 3"));
    assert!(last.contains("Long reply number 99."));
    assert!(!last.contains("Long reply number 48."));
    let page2 = anon
        .get(&format!("{}?page=2", topic_url(&long_slug, long)))
        .body;
    assert!(page2.contains("<link rel=\"canonical\""));
    assert!(
        page2.contains(&format!("{}?page=2\"", topic_url(&long_slug, long))),
        "page 2 is its own canonical URL"
    );
    // ?post= opens the page holding that post.
    let post75 = long_posts[74]; // post number 76
    let p = anon.get(&format!("{}?post={post75}", topic_url(&long_slug, long)));
    assert_status(&p, 200, "?post=");
    assert!(p.body.contains("Page 2 of 3") && p.body.contains(&format!("id=\"p-{post75}\"")));
    assert_status(
        &anon.get(&format!("{}?page=4", topic_url(&long_slug, long))),
        404,
        "page 4",
    );
}

// ---- 10. feeds and SEO ---------------------------------------------------------------------

#[test]
fn feeds_sitemap_and_page_metadata_describe_the_topics() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    create_category(&admin, "Setup", "setup", false);
    let asker = member(&server, "asker_feed");
    let (slug1, t1) = asker.create_topic(
        &cat,
        "Fish & chips <b>are</b> \"billed\" twice",
        "Body with <em>html</em> & **markdown**.",
        "",
    );
    let (slug2, t2) = asker.create_topic("setup", "Installing the agent on Windows", "The installer stops at 90 percent and then nothing happens for an hour, so I rebooted and tried again, and again, and the log says nothing useful at all about the failure.", "windows");
    let anon = server.client();

    let feed = anon.get("/latest.atom");
    assert_status(&feed, 200, "atom");
    assert!(
        feed.header("content-type")
            .unwrap()
            .starts_with("application/atom+xml")
    );
    assert_well_formed_xml(&feed.body);
    assert!(
        feed.body
            .contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">")
    );
    assert_eq!(feed.body.matches("<entry>").count(), 2);
    assert!(feed.body.contains(
        "<title>Fish &amp; chips &lt;b&gt;are&lt;/b&gt; &quot;billed&quot; twice</title>"
    ));
    assert!(
        feed.body
            .contains("<title>Installing the agent on Windows</title>")
    );
    assert!(feed.body.contains(&format!("/t/{slug1}/{t1}</id>")));
    assert!(feed.body.contains("<category term=\"windows\">"));
    assert!(feed.body.contains("<content type=\"html\">"));
    let cfeed = anon.get("/c/setup.atom");
    assert_status(&cfeed, 200, "category atom");
    assert_well_formed_xml(&cfeed.body);
    assert_eq!(cfeed.body.matches("<entry>").count(), 1);
    assert!(cfeed.body.contains("Installing the agent on Windows"));
    assert!(!cfeed.body.contains("Fish"));
    assert!(
        anon.get("/latest")
            .body
            .contains("<link rel=\"alternate\" type=\"application/atom+xml\"")
    );

    let sitemap = anon.get("/sitemap.xml");
    assert_status(&sitemap, 200, "sitemap");
    assert_well_formed_xml(&sitemap.body);
    for file in ["/sitemap-pages.xml", "/sitemap-topics-1.xml"] {
        assert_well_formed_xml(&anon.get(file).body);
    }
    let locs = crate::http::sitemap_locs(&anon);
    for (slug, id) in [(&slug1, t1), (&slug2, t2)] {
        assert!(
            locs.iter().any(|l| l.ends_with(&format!("/t/{slug}/{id}"))),
            "sitemap lists {slug}"
        );
    }
    assert!(locs.iter().any(|l| l.ends_with("/c/setup")));
    assert!(anon.get("/robots.txt").body.contains("Sitemap: "));

    let page = anon.get(&topic_url(&slug2, t2)).body;
    assert!(page.contains(&format!(
        "<link rel=\"canonical\" href=\"http://127.0.0.1:8080/t/{slug2}/{t2}\">"
    )));
    assert_eq!(
        meta_content(&page, "property=\"og:title\"").as_deref(),
        Some("Installing the agent on Windows")
    );
    let description = meta_content(&page, "name=\"description\"").expect("meta description");
    assert!(
        description.starts_with("The installer stops at 90 percent"),
        "{description}"
    );
    assert!(
        description.chars().count() <= 160,
        "short description: {description}"
    );
    assert_eq!(
        meta_content(&page, "property=\"og:description\"").as_deref(),
        Some(description.as_str())
    );
    let page = anon.get(&topic_url(&slug1, t1)).body;
    assert_eq!(
        meta_content(&page, "property=\"og:title\"").as_deref(),
        Some("Fish & chips <b>are</b> \"billed\" twice")
    );
    let description = meta_content(&page, "name=\"description\"").unwrap();
    assert!(
        description.contains("markdown") && !description.contains("**"),
        "plain text: {description}"
    );
}

// ---- 11. bad input --------------------------------------------------------------------------

#[test]
fn a_bad_new_topic_comes_back_with_a_message_and_everything_typed_kept() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "agent_bad");
    let long_title = "t".repeat(151);
    let body = "Here is what I tried so far.";
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        // (category, title, raw, field, message)
        (&cat, "", body, "title", "Give your topic a title"),
        (&cat, "   ", body, "title", "Give your topic a title"),
        (&cat, "Help!", body, "title", "at least 8 characters"),
        (
            &cat,
            &long_title,
            body,
            "title",
            "at most 150 characters (this one has 151)",
        ),
        (
            &cat,
            "A perfectly fine title",
            "",
            "raw",
            "Write something first.",
        ),
        (
            &cat,
            "A perfectly fine title",
            "  \n ",
            "raw",
            "Write something first.",
        ),
        (
            &cat,
            "A perfectly fine title",
            "x",
            "raw",
            "at least 2 characters",
        ),
        (
            "no-such-category",
            "A perfectly fine title",
            body,
            "category",
            "Choose a category.",
        ),
        (
            "",
            "A perfectly fine title",
            body,
            "category",
            "Choose a category.",
        ),
    ];
    for (category, title, raw, field, message) in &cases {
        let r = agent.new_topic(category, title, raw, "tag-one, tag2");
        assert_status(&r, 422, &format!("{field}: {title:?}/{raw:?}"));
        assert!(r.body.contains(message), "{field}: message {message:?}");
        assert!(r.body.contains("your text is kept"));
        assert_eq!(input_value(&r.body, "title"), *title, "title kept");
        assert_eq!(textarea(&r.body, "raw"), *raw, "text kept");
        assert_eq!(input_value(&r.body, "tags"), "tag-one, tag2", "tags kept");
    }
    for (tags, message) in [
        ("a b c d e f", "At most 5 tags."),
        ("<script>", "Tags are single words"),
        (&"t".repeat(31) as &str, "at most 30 characters"),
    ] {
        let r = agent.new_topic(&cat, "A perfectly fine title", body, tags);
        assert_status(&r, 422, tags);
        assert!(r.body.contains(message), "{tags}");
        assert_eq!(input_value(&r.body, "tags"), tags);
    }
    // 150 characters exactly is fine, and so are five tags.
    let title = "T".repeat(150);
    let (_, tid) = agent.create_topic(&cat, &title, body, "a, b, c, d, e");
    assert_eq!(
        agent.json(&format!("/t/{tid}.json"))["tags"],
        serde_json::json!(["a", "b", "c", "d", "e"])
    );

    // Over 64 KB of text (well under the 256 KiB request limit): 422, text kept.
    let big: String = "All work and no play. ".repeat(70_000 / 22 + 1)[..70_000].to_string();
    let r = agent.new_topic(&cat, "A perfectly fine title", &big, "");
    assert_status(&r, 422, "70,000 bytes");
    assert!(
        r.body
            .contains("Posts can be at most 64 KB; this one is 69 KB."),
        "size message"
    );
    assert_eq!(textarea(&r.body, "raw"), big, "the whole text is kept");
    // Past the request limit: 413, as a page.
    let huge = "z".repeat(300 * 1024);
    let r = agent.new_topic(&cat, "A perfectly fine title", &huge, "");
    assert_status(&r, 413, "300 KiB");
    assert!(r.body.contains("too large") && r.body.contains("<!DOCTYPE html>"));
}

#[test]
fn a_bad_reply_or_edit_comes_back_with_a_message_and_the_text_kept() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "agent_rep");
    let (slug, tid) = agent.create_topic(&cat, "Replies that go wrong", "Start here.", "");
    // Exactly 64 KiB is allowed.
    let max = "y".repeat(64 * 1024);
    assert_eq!(agent.reply_raw(tid, &max).status, 303, "64 KiB exactly");
    let huge = "z".repeat(300 * 1024);
    let r = agent.reply_raw(tid, &huge);
    assert_status(&r, 413, "300 KiB reply");
    assert!(r.body.contains("too large"));
    assert_status(
        &agent.reply_raw(999_999, "A reply to nothing."),
        404,
        "reply to an unknown topic",
    );

    let big: String = "Log line that repeats. ".repeat(70_000 / 23 + 1)[..70_000].to_string();
    let post = agent.reply(tid, "A short reply to edit later.");
    let r = agent.post_with_token(&format!("/p/{post}/edit"), &[("raw", &big)]);
    assert_status(&r, 422, "edit of 70,000 bytes");
    assert!(
        r.body.contains("Posts can be at most 64 KB"),
        "edit size message"
    );
    assert_eq!(textarea(&r.body, "raw"), big, "the edit text is kept");
    let first = first_post_id(&agent, tid);
    let r = agent.post_with_token(
        &format!("/p/{first}/edit"),
        &[("raw", "New text here."), ("title", "Bad")],
    );
    assert_status(&r, 422, "edit with a short title");
    assert!(r.body.contains("at least 8 characters"));
    assert_eq!(input_value(&r.body, "title"), "Bad");
    assert_eq!(textarea(&r.body, "raw"), "New text here.");

    for (raw, message) in [
        ("   ", "Write something first."),
        (big.as_str(), "Posts can be at most 64 KB"),
    ] {
        let r = agent.reply_raw(tid, raw);
        assert_status(&r, 422, &format!("reply {message}"));
        assert!(r.body.contains(message), "reply: {message}");
        assert!(r.body.contains("<!DOCTYPE html>"), "the topic page again");
        assert_eq!(textarea(&r.body, "raw"), raw, "the reply text is kept");
    }
    assert_eq!(agent.json(&format!("/t/{tid}.json"))["reply_count"], 2);
    assert_status(&agent.get(&topic_url(&slug, tid)), 200, "topic still fine");
}

#[test]
fn markdown_bombs_are_stored_or_refused_and_never_break_the_page() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (_admin, cat) = forum_with_category(&server);
    let agent = staff(&db, &server, "agent_bomb");
    let (slug, tid) = agent.create_topic(&cat, "Markdown torture chamber", "Start here.", "");
    let links_50k: String = (0..50_000).map(|i| format!("[l{i}](/x) ")).collect();
    let refs_50k: String = "[a] ".repeat(50_000) + "\n\n[a]: /x";
    let links_12k: String = "<https://a.b> ".repeat(4_600);
    let refs_16k: String = "[a] ".repeat(16_000) + "\n\n[a]: /x";
    let bombs: Vec<(&str, String)> = vec![
        ("10,000 nested quotes", ">".repeat(10_000) + " deep"),
        (
            "10,000 nested quotes with spaces",
            "> ".repeat(10_000) + "deep",
        ),
        ("10,000 nested list items", "- ".repeat(10_000) + "deep"),
        ("10,000 nested ordered items", "1. ".repeat(10_000) + "deep"),
        (
            "250 nested list items on indented lines",
            (0..250)
                .map(|i| format!("{}- deep\n", "  ".repeat(i)))
                .collect(),
        ),
        ("nested emphasis", "*a **".repeat(10_000)),
        ("10,000 unclosed brackets", "[".repeat(10_000) + "x"),
        ("10,000 backticks", "`".repeat(10_000)),
        ("4,600 autolinks", links_12k),
        ("16,000 reference links", refs_16k),
        ("50,000 reference links", refs_50k),
        ("50,000 inline links", links_50k),
    ];
    for (what, raw) in &bombs {
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("raw", raw)
            .finish();
        let started = Instant::now();
        let r = agent.reply_raw(tid, raw);
        let took = started.elapsed();
        assert!(r.status < 500, "{what}: {}", r.status);
        assert!(
            took < Duration::from_secs(10),
            "{what}: posting took {took:?}"
        );
        if encoded.len() > 256 * 1024 {
            assert_status(&r, 413, what);
            assert!(r.body.contains("too large"), "{what}");
            continue;
        }
        if raw.trim().len() > 64 * 1024 {
            assert_status(&r, 422, what);
            assert!(r.body.contains("Posts can be at most 64 KB"), "{what}");
            continue;
        }
        assert_status(&r, 303, what);
        let location = r.location().to_string();
        let post = parse_topic_location(&location).2.unwrap();
        let started = Instant::now();
        let page = server.client().get(&location);
        assert_status(&page, 200, what);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: page took {:?}",
            started.elapsed()
        );
        let art = article(&page.body, post);
        assert!(
            art.matches("<blockquote>").count() <= 16,
            "{what}: quote nesting is capped"
        );
        assert!(
            art.matches("<ul>").count() + art.matches("<ol").count() <= 16,
            "{what}: list nesting is capped"
        );
        assert_status(
            &server.client().get(&format!("/t/{tid}.json?page=last")),
            200,
            what,
        );
    }
    // 50,000 links sent compactly (brackets and spaces not percent-encoded, which the form
    // parser accepts) fit the request limit, so the size check answers: 422.
    let compact = format!(
        "csrf={}&raw={}%0A%0A[a]:+/x",
        agent.token(),
        "[a]+".repeat(50_000)
    );
    assert!(compact.len() < 256 * 1024);
    let r = agent.post_raw(
        &format!("/t/{tid}/reply"),
        "application/x-www-form-urlencoded",
        compact.as_bytes(),
    );
    assert_status(&r, 422, "50,000 links in a compact form");
    assert!(
        r.body
            .contains("Posts can be at most 64 KB; this one is 196 KB."),
        "size message"
    );

    let last = server
        .client()
        .get(&format!("{}?page=last", topic_url(&slug, tid)));
    assert_status(&last, 200, "topic with the bombs");
    assert_status(&server.client().get("/latest.atom"), 200, "feed");
    assert_status(&server.client().get("/healthz"), 200, "server still up");
}

// ---- 12. rate limits -----------------------------------------------------------------------

#[test]
fn members_posting_too_fast_get_429_with_the_text_kept_but_staff_do_not() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let (slug, tid) = admin.create_topic(&cat, "Tell us about your setup", "Go ahead.", "");
    let fast = member(&server, "fast_typer");
    let token = fast.token();
    let reply = |raw: &str| {
        fast.post_form(
            &format!("/t/{tid}/reply"),
            &[("csrf", &token), ("raw", raw)],
        )
    };
    let mut statuses = Vec::new();
    for i in 1..=10 {
        statuses.push(reply(&format!("Reply number {i} from me.")).status);
    }
    assert!(
        statuses.iter().all(|s| *s == 303),
        "the first 10 go through: {statuses:?}"
    );
    let typed = "Reply number 11, typed with care & not to be lost.";
    let limited = reply(typed);
    assert_status(&limited, 429, "11th reply");
    let json = server.client().json(&format!("/t/{tid}.json"));
    assert_eq!(json["reply_count"], 10);
    // New topics share the limit, and keep what was typed.
    let r = fast.new_topic(&cat, "One more question from me", "Details.", "");
    assert_status(&r, 429, "new topic while limited");
    assert!(r.body.contains("faster than we allow"));
    assert_eq!(input_value(&r.body, "title"), "One more question from me");
    assert_eq!(textarea(&r.body, "raw"), "Details.");
    // Others are not affected, and staff are never limited.
    member(&server, "calm_one").reply(tid, "I am not in a hurry.");
    let agent = staff(&db, &server, "agent_fast");
    for i in 1..=15 {
        let r = agent.reply_raw(tid, &format!("Staff reply {i}."));
        assert_status(&r, 303, &format!("staff reply {i}"));
    }
    assert!(
        server
            .client()
            .get(&format!("{}?page=last", topic_url(&slug, tid)))
            .body
            .contains("Staff reply 15.")
    );

    // The refused reply says why and keeps the text.
    assert!(
        limited.body.contains("faster than we allow"),
        "says why: {}",
        &limited.body[..limited.body.len().min(2000)]
    );
    assert_eq!(
        textarea(&limited.body, "raw"),
        typed,
        "the typed text is kept"
    );
}

#[test]
fn likes_and_edits_have_their_own_limits() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let (admin, cat) = forum_with_category(&server);
    let (_, tid) = admin.create_topic(&cat, "Likes and edits in a hurry", "Go ahead.", "");
    let first = first_post_id(&admin, tid);
    let fan = member(&server, "eager_fan");
    // One token for the whole burst: the requests go out back to back.
    let fan_token = fan.token();
    let mut statuses = Vec::new();
    for i in 0..31 {
        let on = ["1", "0"][i % 2];
        statuses.push(
            fan.post_form(
                &format!("/p/{first}/like"),
                &[("csrf", &fan_token), ("like", on)],
            )
            .status,
        );
    }
    assert!(statuses[..30].iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(statuses[30], 429, "the 31st like in a burst: {statuses:?}");

    let editor = member(&server, "eager_editor");
    let post = editor.reply(tid, "Version zero.");
    let editor_token = editor.token();
    let mut statuses = Vec::new();
    for i in 1..=21 {
        statuses.push(
            editor
                .post_form(
                    &format!("/p/{post}/edit"),
                    &[("csrf", &editor_token), ("raw", &format!("Version {i}."))],
                )
                .status,
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(statuses[20], 429, "the 21st edit in a burst: {statuses:?}");
    let r = editor.post_with_token(&format!("/p/{post}/edit"), &[("raw", "Version kept.")]);
    assert_status(&r, 429, "edit while limited");
    assert_eq!(textarea(&r.body, "raw"), "Version kept.");
    assert!(r.body.contains("faster than we allow"));
}
