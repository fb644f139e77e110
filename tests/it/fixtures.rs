//! Fixture builders: the state a test needs, in one call each, written through the same
//! domain functions the web handlers use (rows plus their events, in one transaction), so
//! that the server's followers (search, notifications, page cache) see them as real writes.
//! Set state up through forms only where the form is what the test checks.

use std::sync::OnceLock;

use townhall::accounts::{self, Actor, CreatedBy, NewAccount, Role};
use townhall::db::Db;
use townhall::db::forum::CategoryRow;
use townhall::forum::{self, Created, categories};

use super::support::{Client, MEMBER_PASSWORD, Server, TestDb};

/// A person in a test: their id and role, and their name to log in with.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

impl Person {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            role: self.role,
        }
    }

    /// A client logged in as this person (password [`MEMBER_PASSWORD`]).
    pub fn login(&self, server: &Server) -> Client {
        let c = server.client();
        let r = c.login(&self.username, MEMBER_PASSWORD);
        assert_eq!(r.status, 303, "log in as {}: {}", self.username, r.body);
        c
    }
}

/// Writes fixtures into a test's database (start the server first: it runs the migrations).
pub struct Fixtures {
    db: Db,
}

/// Hashing is deliberately slow: every fixture account shares one hash of MEMBER_PASSWORD.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| accounts::hash_password(MEMBER_PASSWORD).expect("hash"))
}

fn ok<T>(r: Result<T, townhall::error::AppError>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("fixture {what}: {e:?}"))
}

fn valid<T>(r: Result<T, townhall::forms::FieldErrors>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        let lines: Vec<String> = e.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        panic!("fixture {what} refused: {}", lines.join("; "))
    })
}

impl Fixtures {
    pub fn new(db: &TestDb) -> Fixtures {
        Fixtures {
            db: Db::connect(&db.url).expect("open the test database"),
        }
    }

    /// An account with `role`, password [`MEMBER_PASSWORD`], email `{username}@example.com`.
    pub fn person(&self, username: &str, role: Role) -> Person {
        let (name, name_key) = ok(
            accounts::normalize_username(username).map_err(townhall::error::AppError::BadRequest),
            username,
        );
        let (email, email_key) = ok(
            accounts::normalize_email(&format!("{username}@example.com"))
                .map_err(townhall::error::AppError::BadRequest),
            username,
        );
        let id = ok(
            self.db.write_sync(|conn| {
                accounts::create_user_in(
                    conn,
                    &NewAccount {
                        username: &name,
                        username_key: &name_key,
                        email: &email,
                        email_key: &email_key,
                        password_hash: password_hash(),
                        role,
                    },
                    CreatedBy::System,
                )
            }),
            username,
        );
        Person {
            id,
            username: name,
            role,
        }
    }

    pub fn member(&self, username: &str) -> Person {
        self.person(username, Role::Member)
    }

    pub fn staff(&self, username: &str) -> Person {
        self.person(username, Role::Staff)
    }

    /// A public category (or one where only staff start topics).
    pub fn category(&self, slug: &str, name: &str, staff_only: bool) -> CategoryRow {
        self.category_of_kind(slug, name, staff_only, "discussion")
    }

    /// A category of ideas that members vote on.
    pub fn ideas_category(&self, slug: &str, name: &str) -> CategoryRow {
        self.category_of_kind(slug, name, false, "ideas")
    }

    fn category_of_kind(
        &self,
        slug: &str,
        name: &str,
        staff_only: bool,
        kind: &str,
    ) -> CategoryRow {
        let input = categories::CategoryInput {
            name: name.into(),
            slug: slug.into(),
            description: format!("Questions about {name}"),
            color: "#1b7f3b".into(),
            position: "1".into(),
            staff_only: staff_only.then(|| "on".into()),
            kind: kind.into(),
        };
        let checked = valid(categories::checked(&input), slug);
        ok(
            self.db.write_sync(|conn| {
                let id = valid(categories::save_in(conn, None, None, &checked)?, slug);
                townhall::db::forum::category(conn, id)?.ok_or(townhall::error::AppError::NotFound)
            }),
            slug,
        )
    }

    /// A knowledge-base section.
    pub fn kb_section(&self, slug: &str, name: &str) {
        let input = townhall::kb::SectionInput {
            name: name.into(),
            slug: slug.into(),
            description: format!("Articles about {name}"),
            position: "1".into(),
        };
        let saved = ok(
            self.db.write_sync(|conn| {
                townhall::kb::save_section_in(conn, None, None, &input, townhall::db::now())
            }),
            slug,
        );
        valid(saved, slug);
    }

    /// A knowledge-base article written by `editor` (status "published" or "draft").
    pub fn kb_article(
        &self,
        editor: &Person,
        section: &str,
        title: &str,
        body: &str,
        status: &str,
    ) -> townhall::db::kb::ArticleRow {
        let input = townhall::kb::ArticleInput {
            title: title.into(),
            section: section.into(),
            summary: format!("About {title}"),
            raw: body.into(),
            status: status.into(),
            ..Default::default()
        };
        let checked = valid(
            townhall::kb::check(&input, &townhall::forum::Limits::default()),
            title,
        );
        let saved = ok(
            self.db.write_sync(|conn| {
                townhall::kb::save_in(
                    conn,
                    Some(editor.actor()),
                    None,
                    &checked,
                    townhall::db::now(),
                )
            }),
            title,
        );
        valid(saved, title).article
    }

    /// A status-page component (in `group`, when given; `is_group` makes a group).
    pub fn status_component(&self, name: &str, group: Option<i64>, is_group: bool) -> i64 {
        let input = townhall::status::ComponentInput {
            name: name.into(),
            group: group.map(|g| g.to_string()).unwrap_or_default(),
            is_group: is_group.then(|| "on".into()),
            ..Default::default()
        };
        let saved = ok(
            self.db
                .write_sync(|conn| townhall::status::save_component_in(conn, None, None, &input)),
            name,
        );
        valid(saved, name)
    }

    /// An API token with the `status` scope, created by `admin`; returns the token.
    pub fn status_token(&self, admin: &Person) -> String {
        let created = ok(
            townhall::accounts::api_tokens::create(
                &self.db,
                "test monitor",
                &["status".to_string()],
                Some(admin.id),
            ),
            "token",
        );
        valid(created, "token").1
    }

    /// A topic by `author` in `category`, asked now.
    pub fn topic(
        &self,
        author: &Person,
        category: &CategoryRow,
        title: &str,
        body: &str,
    ) -> Created {
        self.topic_tagged(author, category, title, body, &[])
    }

    pub fn topic_tagged(
        &self,
        author: &Person,
        category: &CategoryRow,
        title: &str,
        body: &str,
        tags: &[&str],
    ) -> Created {
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        ok(
            self.db.write_sync(|conn| {
                let text = forum::cook_text(conn, body)?;
                forum::start_topic_in(
                    conn,
                    author.actor(),
                    &forum::NewTopic {
                        category,
                        title,
                        text: &text,
                        tags: &tags,
                        flow: None,
                        at: townhall::db::now(),
                    },
                )
            }),
            title,
        )
    }

    /// A reply by `author`; returns the new post.
    pub fn reply(&self, author: &Person, topic_id: i64, body: &str) -> Created {
        let created = ok(
            self.db.write_sync(|conn| {
                let text = forum::cook_text(conn, body)?;
                forum::reply_in(conn, author.actor(), topic_id, &text, townhall::db::now())
            }),
            "reply",
        );
        valid(created, "reply")
    }

    /// `by` accepts `post_id` as its topic's answer.
    pub fn accept(&self, by: &Person, post_id: i64) {
        ok(
            self.db
                .write_sync(|conn| forum::set_solution_in(conn, by.actor(), post_id, true)),
            "accept",
        );
    }

    /// A solved question: `asker` asks, `answerer` replies, `asker` accepts. Returns
    /// (topic, answer).
    pub fn solved_topic(
        &self,
        asker: &Person,
        answerer: &Person,
        category: &CategoryRow,
        title: &str,
        question: &str,
        answer: &str,
    ) -> (Created, Created) {
        let topic = self.topic(asker, category, title, question);
        let reply = self.reply(answerer, topic.topic_id, answer);
        self.accept(asker, reply.post_id);
        (topic, reply)
    }
}

/// Waits (up to 5 s) until `done` holds: what another writer (a fixture, another node)
/// changed reaches the server's derived state (page cache, search, notifications) within a
/// poll of its event followers, not at once.
pub fn eventually(what: &str, done: impl FnMut() -> bool) {
    eventually_within(5, what, done)
}

/// [`eventually`] with a longer wait, for state derived on a timer (page views are added to
/// the database every 5 s).
pub fn eventually_within(seconds: u64, what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(seconds),
            "not within {seconds} s: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Shared asserts: the status, with the body in the message when it is not.
pub fn assert_status(r: &super::support::Resp, status: u16, what: &str) {
    assert_eq!(
        r.status,
        status,
        "{what}: expected {status}, got {} {}",
        r.status,
        &r.body[..r.body.floor_char_boundary(600)]
    );
}

/// The page answered 200 and shows `needle`.
pub fn assert_shows(r: &super::support::Resp, needle: &str) {
    assert_eq!(
        r.status, 200,
        "expected a page showing {needle:?}: {}",
        r.body
    );
    assert!(r.body.contains(needle), "page does not show {needle:?}");
}

/// Fixtures are real writes: the server lists, renders and indexes them like anything
/// posted through its forms.
#[test]
fn fixtures_write_through_the_domain_and_the_server_sees_them() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let fx = Fixtures::new(&db);
    let asker = fx.member("asker");
    let helper = fx.staff("helper");
    let billing = fx.category("billing", "Billing", false);
    let (topic, answer) = fx.solved_topic(
        &asker,
        &helper,
        &billing,
        "Invoice shows the wrong VAT number",
        "Our invoice lists last year's VAT number.",
        "Update it under Billing > Company details; new invoices use it.",
    );
    let page = server
        .client()
        .get(&super::support::topic_url(&topic.slug, topic.topic_id));
    assert_shows(&page, "Invoice shows the wrong VAT number");
    assert_shows(&page, "Accepted answer by");
    let me = helper.login(&server);
    assert_shows(&me.get("/account"), "helper");
    let json = server
        .client()
        .json(&format!("/t/{}/{}.json", topic.slug, topic.topic_id));
    assert_eq!(json["solved_post_id"], answer.post_id);
}

/// An idea's (vote count, votes stored): the two must always agree.
pub fn idea_votes(tdb: &super::support::TestDb, topic_id: i64) -> (i64, i64) {
    (
        tdb.number(&format!(
            "SELECT CAST(vote_count AS BIGINT) AS n FROM ideas WHERE topic_id = {topic_id}"
        )),
        tdb.number(&format!(
            "SELECT COUNT(*) AS n FROM idea_votes WHERE topic_id = {topic_id}"
        )),
    )
}
