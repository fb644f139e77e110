//! Ideas and the changelog, through the domain against a real database with the server's
//! own notifier running: votes are idempotent, a status change and a shipping changelog
//! post each reach every voter exactly once (the second in slices: more voters than one
//! notifier transaction takes), and editing or re-publishing notifies nobody again.

use townhall::accounts::User;
use townhall::changelog::{self, ChangelogInput};
use townhall::db::Db;

use super::fixtures::{Fixtures, Person, eventually_within, idea_votes};
use super::support::{Server, TestDb};

fn user(p: &Person) -> User {
    User {
        id: p.id,
        username: p.username.clone(),
        email: format!("{}@example.com", p.username),
        role: p.role,
        created_at: townhall::db::now(),
        unread_notifications: 0,
        changelog_seen_at: None,
    }
}

#[test]
fn every_voter_hears_of_a_status_change_and_of_the_shipping_post_exactly_once() {
    let tdb = TestDb::new();
    let _server = Server::start(&tdb);
    let fx = Fixtures::new(&tdb);
    let db = Db::connect(&tdb.url).expect("db");
    let category = fx.ideas_category("ideas", "Ideas");
    assert!(category.is_ideas());
    let author = fx.member("idea_author");
    let staff = fx.staff("product_lead");
    let idea = fx.topic(
        &author,
        &category,
        "Export invoices as CSV",
        "We reconcile invoices in a spreadsheet; a CSV export would save us an hour a month.",
    );
    // More voters than one notifier transaction writes (500), so the fan-out is sliced.
    let voters: Vec<Person> = (0..520)
        .map(|i| fx.member(&format!("voter{i:03}")))
        .collect();
    for v in &voters {
        townhall::ideas::vote(&db, &user(v), idea.topic_id, true).expect("vote");
    }
    // Voting twice counts once; withdrawing and voting again leaves one vote.
    let first = user(&voters[0]);
    townhall::ideas::vote(&db, &first, idea.topic_id, true).expect("vote again");
    townhall::ideas::vote(&db, &first, idea.topic_id, false).expect("withdraw");
    let after = townhall::ideas::vote(&db, &first, idea.topic_id, true).expect("vote back");
    assert_eq!(after.vote_count, 520);
    assert_eq!(
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM idea_votes WHERE topic_id = {}",
            idea.topic_id
        )),
        520
    );

    // Members cannot set statuses or publish.
    let member = user(&voters[1]);
    assert!(matches!(
        townhall::ideas::set_status(&db, &member, idea.topic_id, "planned", "Because."),
        Err(townhall::error::AppError::Forbidden(_))
    ));
    // Staff must say why.
    let refused = townhall::ideas::set_status(&db, &user(&staff), idea.topic_id, "planned", "  ")
        .expect("ok");
    assert!(refused.is_err());
    townhall::ideas::set_status(
        &db,
        &user(&staff),
        idea.topic_id,
        "planned",
        "On the roadmap for January: exports come with the new billing pages.",
    )
    .expect("status")
    .expect("planned");
    let kind_count = |kind: &str| {
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE kind = '{kind}'"
        ))
    };
    // The author and every voter (the staff member who wrote it hears nothing).
    eventually_within(30, "status notifications", || {
        kind_count("idea_status") == 521
    });

    // A changelog post linking a missing topic is refused, naming the link.
    let limits = townhall::forum::Limits::default();
    let mut input = ChangelogInput {
        title: "CSV export for invoices".into(),
        raw: "Invoices can now be exported as CSV from **Billing → Invoices**.".into(),
        label_new: Some("on".into()),
        links: format!(
            "/t/export-invoices-as-csv/{}\n/t/nothing/999999",
            idea.topic_id
        ),
        status: "published".into(),
        ..Default::default()
    };
    let errors = changelog::save(&db, &user(&staff), None, &input, &limits)
        .expect("save")
        .expect_err("refused");
    let message = errors.get("links").unwrap_or_default().to_string();
    assert!(
        message.contains("/t/nothing/999999") && message.contains("no topic"),
        "{message}"
    );
    assert!(matches!(
        changelog::save(&db, &member, None, &input, &limits),
        Err(townhall::error::AppError::Forbidden(_))
    ));

    input.links = format!("/t/export-invoices-as-csv/{}", idea.topic_id);
    let post = changelog::save(&db, &user(&staff), None, &input, &limits)
        .expect("save")
        .expect("published");
    assert!(post.is_published() && post.loop_closed_at.is_some());
    eventually_within(60, "shipped notifications", || kind_count("shipped") == 521);
    assert_eq!(
        tdb.number(
            "SELECT COUNT(*) AS n FROM (SELECT user_id FROM notifications WHERE kind = 'shipped' \
             GROUP BY user_id HAVING COUNT(*) > 1) d"
        ),
        0,
        "nobody hears twice"
    );
    assert_eq!(
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM ideas WHERE topic_id = {} AND status = 'shipped'",
            idea.topic_id
        )),
        1
    );
    assert_eq!(
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM posts WHERE topic_id = {} AND raw LIKE '%/changelog/csv-export-for-invoices%'",
            idea.topic_id
        )),
        1,
        "one staff reply links the post"
    );

    // Editing, taking back to draft and publishing again close nothing twice.
    input.raw.push_str("\n\nAlso from the API.");
    let edited = changelog::save(&db, &user(&staff), Some(post.id), &input, &limits)
        .expect("edit")
        .expect("edited");
    input.status = "draft".into();
    changelog::save(&db, &user(&staff), Some(post.id), &input, &limits)
        .expect("draft")
        .expect("draft");
    changelog::publish(&db, &user(&staff), &edited.slug).expect("republish");
    changelog::publish(&db, &user(&staff), &edited.slug).expect("publish twice");
    // Let the notifier catch up with the edits' events, then count again.
    let last_event = tdb.number("SELECT MAX(id) AS n FROM events");
    eventually_within(30, "notifier caught up", || {
        tdb.number(
            "SELECT COALESCE(MAX(last_event_id), 0) AS n FROM follower_cursors WHERE name = 'notifications'",
        ) >= last_event
    });
    assert_eq!(kind_count("shipped"), 521);
    // The unread counts match: a status change and a shipping post each.
    assert_eq!(
        tdb.number(
            "SELECT COUNT(*) AS n FROM users u WHERE username LIKE 'voter%' AND unread_notifications != \
             (SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id)"
        ),
        0
    );
    assert_eq!(
        tdb.number("SELECT COUNT(*) AS n FROM users WHERE username LIKE 'voter%' AND unread_notifications = 2"),
        520
    );
    assert_eq!(
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM posts WHERE topic_id = {} AND raw LIKE '%/changelog/%'",
            idea.topic_id
        )),
        1
    );

    // The roadmap's shipped column, the post's "because you asked" and the staff numbers.
    let roadmap =
        townhall::ideas::roadmap(&db, &townhall::ideas::rankings::Rankings::default(), None)
            .expect("roadmap");
    assert_eq!(roadmap.shipped.len(), 1);
    assert_eq!(roadmap.shipped[0].idea.vote_count, 520);
    assert!(roadmap.planned.is_empty());
    let trending = townhall::ideas::list(
        &db,
        &townhall::ideas::rankings::Rankings::default(),
        Some(category.id),
        None,
        townhall::ideas::Sort::Trending,
        1,
        Some(&first),
    )
    .expect("trending");
    assert_eq!(trending.ideas.len(), 1);
    assert!(trending.ideas[0].voted);
    match changelog::find(&db, &edited.slug, townhall::subject::Viewer::Visitor).expect("find") {
        changelog::Found::Post(page) => {
            assert_eq!(
                page.entry.because,
                changelog::BecauseYouAsked {
                    ideas: 1,
                    topics: 0,
                    votes: 520
                }
            );
            assert_eq!(page.ideas.len(), 1);
        }
        changelog::Found::Moved(to) => panic!("moved to {to}"),
    }
    let numbers = townhall::ideas::feedback_numbers(&db, &user(&staff)).expect("numbers");
    assert_eq!(numbers.shipped_this_quarter, 1);
    assert_eq!(
        (numbers.changes_published, numbers.changes_from_customers),
        (1, 1)
    );
    assert!(numbers.top_open.is_empty());
}

#[test]
fn a_merge_moves_votes_in_slices_and_merging_again_finishes_an_interrupted_move() {
    let tdb = TestDb::new();
    let _server = Server::start(&tdb); // migrates the database
    let fx = Fixtures::new(&tdb);
    let db = Db::connect(&tdb.url).expect("db");
    let category = fx.ideas_category("ideas", "Ideas");
    let author = fx.member("merge_author");
    let staff = user(&fx.staff("merge_staff"));
    let survivor = fx.topic(
        &author,
        &category,
        "Audit log export",
        "Daily, to our SIEM.",
    );
    let duplicate = fx.topic(&author, &category, "Send audit logs out", "Same.");
    let voters: Vec<User> = (0..7)
        .map(|i| user(&fx.member(&format!("merge_voter{i}"))))
        .collect();
    // Two voted for both; five for the duplicate only.
    for (i, v) in voters.iter().enumerate() {
        if i < 2 {
            townhall::ideas::vote(&db, v, survivor.topic_id, true).expect("vote");
        }
        townhall::ideas::vote(&db, v, duplicate.topic_id, true).expect("vote");
    }
    let counts = |topic: i64| idea_votes(&tdb, topic);
    let merged_events =
        || tdb.number("SELECT COUNT(*) AS n FROM events WHERE kind = 'idea.merged'");

    // A node stops after the first slice of a merge: the duplicate is marked merged and
    // two of its votes have moved; the counts match the rows on both sides meanwhile.
    db.write_sync(|conn| {
        let at = townhall::db::now();
        assert!(townhall::db::ideas::claim_merge(
            conn,
            duplicate.topic_id,
            survivor.topic_id,
            at
        )?);
        townhall::forum::mark_duplicate_in(
            conn,
            townhall::accounts::Actor::from(&staff),
            duplicate.topic_id,
            Some(survivor.topic_id),
            at,
        )?;
        townhall::db::ideas::move_votes(conn, duplicate.topic_id, survivor.topic_id, 2)
    })
    .expect("first slice");
    assert_eq!(
        counts(survivor.topic_id),
        (2, 2),
        "both overlapping votes kept once"
    );
    assert_eq!(counts(duplicate.topic_id), (5, 5));
    assert_eq!(merged_events(), 0, "not merged until the last slice");
    assert!(matches!(
        townhall::ideas::vote(&db, &voters[6], duplicate.topic_id, false),
        Err(townhall::error::AppError::Conflict(_))
    ));

    // Merging again into the same idea finishes the move, two votes per transaction.
    let into = survivor.topic_id.to_string();
    townhall::ideas::merge_in_slices(&db, &staff, duplicate.topic_id, &into, 2)
        .expect("finish the merge");
    assert_eq!(counts(survivor.topic_id), (7, 7), "every voter once");
    assert_eq!(counts(duplicate.topic_id), (0, 0));
    assert_eq!(merged_events(), 1);
    // Into another idea, or once more: refused, and nothing changes.
    let other = fx.topic(&author, &category, "Something else", "Unrelated.");
    for target in [other.topic_id.to_string(), into] {
        assert!(matches!(
            townhall::ideas::merge_in_slices(&db, &staff, duplicate.topic_id, &target, 2),
            Err(townhall::error::AppError::Conflict(_))
        ));
    }
    assert_eq!(counts(survivor.topic_id), (7, 7));
    assert_eq!(merged_events(), 1);
}
