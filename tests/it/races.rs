//! The same click sent twice at once (two tabs, two nodes behind a load balancer) counts
//! once: likes and "was this helpful?" answers keep their counts equal to their rows, watch
//! levels and status subscriptions stay one row each, a new tag is created once, and
//! nobody gets an error. Idea votes, merges and publishing race in `ideas_http.rs`.

use crate::fixtures::{Fixtures, assert_status};
use crate::support::{Server, TestDb};

#[test]
fn racing_likes_and_helpful_answers_keep_counts_equal_to_their_rows() {
    let tdb = TestDb::new();
    let node_a = Server::start(&tdb);
    let node_b = Server::start(&tdb);
    let fx = Fixtures::new(&tdb);
    let category = fx.category("help", "Help", false);
    let author = fx.member("race_poster");
    let topic = fx.topic(
        &author,
        &category,
        "Racing likes",
        "Like this twice at once.",
    );
    fx.kb_section("races", "Races");
    let writer = fx.staff("race_writer");
    let article = fx.kb_article(
        &writer,
        "races",
        "Racing answers",
        "Answer twice at once.",
        "published",
    );
    let members: Vec<_> = (0..5).map(|i| fx.member(&format!("clicker{i}"))).collect();

    // Each member clicks from two tabs, one on each node, at the same time. Every tab ends
    // on "like" and on "yes", so that is where each member stands afterwards.
    std::thread::scope(|s| {
        for p in &members {
            let a = p.login(&node_a);
            let b = a.with_base(&node_b.base);
            for c in [a, b] {
                let token = c.token();
                let (topic, article) = (&topic, &article);
                s.spawn(move || {
                    for like in ["1", "0", "1", "0", "1"] {
                        let r = c.post_form(
                            &format!("/p/{}/like", topic.post_id),
                            &[("csrf", &token), ("like", like)],
                        );
                        assert_status(&r, 303, "a racing like");
                    }
                    for helpful in ["no", "yes", "no", "yes"] {
                        let r = c.post_form(
                            &format!("/kb/{}/vote", article.slug),
                            &[("csrf", &token), ("helpful", helpful)],
                        );
                        assert_status(&r, 200, "a racing answer");
                    }
                    for level in ["watching", "muted", "watching"] {
                        let r = c.post_form(
                            &format!("/t/{}/watch", topic.topic_id),
                            &[("csrf", &token), ("level", level)],
                        );
                        assert_status(&r, 303, "a racing watch level");
                    }
                    for on in ["1", "0", "1"] {
                        let r = c.post_form("/status/subscribe", &[("csrf", &token), ("on", on)]);
                        assert_status(&r, 303, "a racing status subscription");
                    }
                });
            }
        }
    });

    let n = |sql: &str| tdb.number(sql);
    assert_eq!(
        n(&format!(
            "SELECT COUNT(*) AS n FROM topic_watches w JOIN users u ON u.id = w.user_id \
             WHERE w.topic_id = {} AND w.level = 'watching' AND u.username LIKE 'clicker%'",
            topic.topic_id
        )),
        5,
        "one watch row per member, at the level both tabs ended on"
    );
    assert_eq!(n("SELECT COUNT(*) AS n FROM status_subscribers"), 5);
    assert_eq!(
        (
            n(&format!(
                "SELECT CAST(like_count AS BIGINT) AS n FROM posts WHERE id = {}",
                topic.post_id
            )),
            n(&format!(
                "SELECT CAST(like_count AS BIGINT) AS n FROM topics WHERE id = {}",
                topic.topic_id
            )),
            n(&format!(
                "SELECT COUNT(*) AS n FROM likes WHERE post_id = {}",
                topic.post_id
            )),
        ),
        (5, 5, 5),
        "post count, topic count, likes stored"
    );
    let id = n(&format!(
        "SELECT id AS n FROM kb_articles WHERE slug = '{}'",
        article.slug
    ));
    assert_eq!(
        (
            n(&format!(
                "SELECT CAST(helpful_yes AS BIGINT) AS n FROM kb_articles WHERE id = {id}"
            )),
            n(&format!(
                "SELECT CAST(helpful_no AS BIGINT) AS n FROM kb_articles WHERE id = {id}"
            )),
            n(&format!(
                "SELECT COUNT(*) AS n FROM kb_votes WHERE article_id = {id} AND helpful"
            )),
            n(&format!(
                "SELECT COUNT(*) AS n FROM kb_votes WHERE article_id = {id} AND NOT helpful"
            )),
        ),
        (5, 0, 5, 0),
        "yes, no, answers stored yes and no"
    );
}

#[test]
fn two_topics_bringing_the_same_new_tag_at_once_both_get_it() {
    let tdb = TestDb::new();
    let node_a = Server::start(&tdb);
    let node_b = Server::start(&tdb);
    let fx = Fixtures::new(&tdb);
    fx.category("help", "Help", false);
    for round in 0..5 {
        let tag = format!("fresh-tag-{round}");
        let askers = [
            fx.member(&format!("asker_a{round}")).login(&node_a),
            fx.member(&format!("asker_b{round}")).login(&node_b),
        ];
        std::thread::scope(|s| {
            for (i, c) in askers.into_iter().enumerate() {
                let tag = &tag;
                s.spawn(move || {
                    let r = c.new_topic(
                        "help",
                        &format!("Question {i} of round {round} about one thing"),
                        "Both of us ask at the same moment with a tag nobody used yet.",
                        tag,
                    );
                    assert_status(&r, 303, "a topic with a new tag");
                });
            }
        });
        assert_eq!(
            tdb.number(&format!(
                "SELECT COUNT(*) AS n FROM tags WHERE name = '{tag}'"
            )),
            1
        );
        assert_eq!(
            tdb.number(&format!(
                "SELECT COUNT(*) AS n FROM topic_tags tt JOIN tags t ON t.id = tt.tag_id WHERE t.name = '{tag}'"
            )),
            2,
            "both topics carry the tag"
        );
    }
}
