//! Test helpers: a fresh database per test (SQLite file, or a PostgreSQL database created
//! and dropped when `TOWNHALL_TEST_DATABASE` names a server), the real `townhall` binary
//! on a free port, and an HTTP client that keeps cookies like a browser.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

pub const BIN: &str = env!("CARGO_BIN_EXE_townhall");

pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>, // (server url, database name)
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("TOWNHALL_TEST_DATABASE")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(server) => {
                let server = server.trim_end_matches('/').to_string();
                let name = format!(
                    "townhall_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand_suffix()
                );
                let template = pg_template(&server);
                let mut admin = PgConnection::establish(&format!("{server}/postgres"))
                    .expect("connect to the PostgreSQL test server");
                diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .execute(&mut admin)
                    .expect("create test database");
                TestDb {
                    url: format!("{server}/{name}"),
                    dir,
                    postgres: Some((server, name)),
                }
            }
            None => {
                let url = format!("sqlite://{}", dir.path().join("townhall.db").display());
                TestDb {
                    url,
                    dir,
                    postgres: None,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Runs SQL against the test database directly (PostgreSQL only).
    pub fn pg_admin_sql(&self, sql: &str) {
        let (server, _) = self.postgres.as_ref().expect("postgres only");
        let mut admin = PgConnection::establish(&format!("{server}/postgres")).expect("connect");
        diesel::sql_query(sql)
            .execute(&mut admin)
            .expect("admin sql");
    }

    /// Runs SQL against the test database itself, on either engine (bulk data a test cannot
    /// afford to create through forms).
    pub fn sql(&self, sql: &str) {
        if self.postgres.is_some() {
            let mut conn = PgConnection::establish(&self.url).expect("connect");
            diesel::sql_query(sql).execute(&mut conn).expect("sql");
        } else {
            let path = self.url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path).expect("open");
            diesel::sql_query("PRAGMA busy_timeout = 5000")
                .execute(&mut conn)
                .expect("pragma");
            diesel::sql_query(sql).execute(&mut conn).expect("sql");
        }
    }

    /// One number from the test database (`SELECT COUNT(*) AS n …`: the column must be `n`).
    pub fn number(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let row: N = if self.postgres.is_some() {
            let mut conn = PgConnection::establish(&self.url).expect("connect");
            diesel::sql_query(sql).get_result(&mut conn).expect("sql")
        } else {
            let path = self.url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path).expect("open");
            diesel::sql_query(sql).get_result(&mut conn).expect("sql")
        };
        row.n
    }

    pub fn pg_name(&self) -> &str {
        &self.postgres.as_ref().expect("postgres only").1
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(&format!("{server}/postgres"))
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// A PostgreSQL database with every migration applied, which each test's database copies
/// (`CREATE DATABASE … TEMPLATE`) instead of migrating afresh. Named after the migrations'
/// contents, so a change to them makes a new one; kept between runs. Built under a temporary
/// name and renamed when complete, so a run that dies half-way leaves nothing to reuse.
fn pg_template(server: &str) -> String {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            use std::hash::{Hash, Hasher};
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
            let mut files: Vec<PathBuf> = walk(&root);
            files.sort();
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            for f in &files {
                f.strip_prefix(&root).unwrap_or(f).hash(&mut hasher);
                std::fs::read(f).expect("read migration").hash(&mut hasher);
            }
            let name = format!("townhall_template_{:016x}", hasher.finish());
            let mut admin = PgConnection::establish(&format!("{server}/postgres"))
                .expect("connect to the PostgreSQL test server");
            #[derive(diesel::QueryableByName)]
            struct Found {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let exists = diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM pg_database WHERE datname = '{name}'"
            ))
            .get_result::<Found>(&mut admin)
            .expect("look for the template")
            .n > 0;
            if !exists {
                let building = format!("{name}_{}", std::process::id());
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
                    .execute(&mut admin)
                    .expect("drop a stale template");
                diesel::sql_query(format!("CREATE DATABASE {building}"))
                    .execute(&mut admin)
                    .expect("create the template");
                let status = Command::new(BIN)
                    .arg("migrate")
                    .env("TOWNHALL_DATABASE_URL", format!("{server}/{building}"))
                    .env("TOWNHALL_LOG", "warn")
                    .stdout(Stdio::null())
                    .status()
                    .expect("run townhall migrate");
                assert!(status.success(), "migrating the template failed");
                let renamed =
                    diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                        .execute(&mut admin);
                if renamed.is_err() {
                    // Another run finished the same template first.
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
                        .execute(&mut admin);
                }
            }
            name
        })
        .clone()
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read migrations").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn rand_suffix() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.subsec_nanos() ^ std::process::id()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The real server binary, stopped when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    pub fn start(db: &TestDb) -> Server {
        Server::start_with(db, &[])
    }

    pub fn start_with(db: &TestDb, extra_env: &[(&str, &str)]) -> Server {
        for _attempt in 0..3 {
            let port = free_port();
            let log = db.dir.path().join(format!("server-{port}.log"));
            let mut cmd = Command::new(BIN);
            cmd.arg("serve")
                .current_dir(db.dir.path())
                .env("TOWNHALL_DATABASE_URL", &db.url)
                .env("TOWNHALL_BIND", format!("127.0.0.1:{port}"))
                .env("TOWNHALL_DATA_DIR", db.dir.path().join("data"))
                .env("TOWNHALL_WORKERS", "2")
                .env("TOWNHALL_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file"));
            for (k, v) in extra_env {
                cmd.env(k, v);
            }
            let child = cmd.spawn().expect("start townhall");
            let mut server = Server {
                child,
                base: format!("http://127.0.0.1:{port}"),
                log,
            };
            if server.wait_ready(Duration::from_secs(30)) {
                return server;
            }
            let _ = server.child.kill();
        }
        panic!("townhall did not start");
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // exited: port taken or bad config
            }
            let ready = ureq::get(&format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(2))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit; `Some(exit code)` when it did within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<Option<i32>> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The value of the hidden CSRF field of the first form on the page.
    pub fn csrf(&self) -> String {
        extract_attr(&self.body, "name=\"csrf\" value=\"").unwrap_or_default()
    }
}

fn extract_attr(body: &str, prefix: &str) -> Option<String> {
    let start = body.find(prefix)? + prefix.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

/// An HTTP client with a cookie jar; redirects are returned, not followed.
pub struct Client {
    agent: ureq::Agent,
    pub base: String,
    pub cookies: RefCell<BTreeMap<String, String>>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            agent: ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(30))
                .build(),
            base: base.to_string(),
            cookies: RefCell::new(BTreeMap::new()),
        }
    }

    /// The same cookies, talking to another server (a second app node).
    pub fn with_base(&self, base: &str) -> Client {
        let c = Client::new(base);
        *c.cookies.borrow_mut() = self.cookies.borrow().clone();
        c
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.borrow_mut().insert(name.into(), value.into());
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let mut req = self
            .agent
            .request(method, &format!("{}{}", self.base, path));
        let jar = self.cookies.borrow();
        if !jar.is_empty() {
            let header: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.set("Cookie", &header.join("; "));
        }
        req
    }

    fn finish(&self, result: Result<ureq::Response, ureq::Error>) -> Resp {
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("request failed: {e}"),
        };
        let status = response.status();
        let mut headers = Vec::new();
        for name in response.headers_names() {
            for value in response.all(&name) {
                headers.push((name.clone(), value.to_string()));
            }
        }
        for value in response.all("set-cookie") {
            let pair = value.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                let removed = value.to_ascii_lowercase().contains("max-age=0");
                if removed || v.is_empty() {
                    self.cookies.borrow_mut().remove(k.trim());
                } else {
                    self.cookies
                        .borrow_mut()
                        .insert(k.trim().into(), v.trim().into());
                }
            }
        }
        let mut body = String::new();
        let _ = response
            .into_reader()
            .take(20 * 1024 * 1024)
            .read_to_string(&mut body);
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.finish(self.request("GET", path).call())
    }

    pub fn head(&self, path: &str) -> Resp {
        self.finish(self.request("HEAD", path).call())
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.request("GET", path);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        self.finish(req.call())
    }

    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.finish(self.request("POST", path).send_form(fields))
    }

    /// `post_form` with extra request headers (User-Agent, X-Forwarded-For, ...).
    pub fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.request("POST", path);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        self.finish(req.send_form(fields))
    }

    /// `submit` with extra request headers on both the page and the form post.
    pub fn submit_with(
        &self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let form = self.get_with(page, headers);
        let csrf = form.csrf();
        assert!(
            !csrf.is_empty(),
            "no CSRF field on {page} (status {})",
            form.status
        );
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form_with(action, &all, headers)
    }

    /// `login` with extra request headers.
    pub fn login_with(&self, username: &str, password: &str, headers: &[(&str, &str)]) -> Resp {
        self.submit_with(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
            headers,
        )
    }

    /// A JSON API call: `method` with `body` as application/json and extra headers.
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .request(method, path)
            .set("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.set(k, v);
        }
        self.finish(req.send_string(body))
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        self.finish(
            self.request("POST", path)
                .set("Content-Type", content_type)
                .send_bytes(body),
        )
    }

    /// Like a person: open `page`, then submit its form to `action` with `fields`.
    pub fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Resp {
        self.submit_with(page, action, fields, &[])
    }

    pub fn register(&self, username: &str, email: &str, password: &str) -> Resp {
        self.submit(
            "/register",
            "/register",
            &[
                ("username", username),
                ("email", email),
                ("password", password),
            ],
        )
    }

    pub fn login(&self, username: &str, password: &str) -> Resp {
        self.login_with(username, password, &[])
    }

    /// Completes first-run setup: this client becomes the admin, logged in.
    pub fn setup_admin(&self) -> Resp {
        let r = self.submit(
            "/setup",
            "/setup",
            &[
                ("username", "admin"),
                ("email", "admin@example.com"),
                ("password", "correct horse battery"),
            ],
        );
        assert_eq!(r.status, 303, "setup failed: {}", r.body);
        r
    }
}

/// Runs the CLI against `db` with `stdin`; returns (exit code, stdout, stderr).
pub fn cli(db: &TestDb, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(db.dir.path())
        .env("TOWNHALL_DATABASE_URL", &db.url)
        .env("TOWNHALL_DATA_DIR", db.dir.path().join("data"))
        .env("TOWNHALL_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run townhall");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---- forum helpers (appended for tests/it/forum.rs and tests/it/xss.rs) --------------------

pub const MEMBER_PASSWORD: &str = "a long enough secret";

/// A fresh server with the admin logged in and one public category; (admin, category slug).
pub fn forum_with_category(server: &Server) -> (Client, String) {
    let admin = server.client();
    admin.setup_admin();
    create_category(&admin, "Billing", "billing", false);
    (admin, "billing".to_string())
}

/// Creates a category as the logged-in admin; panics unless it was saved.
pub fn create_category(admin: &Client, name: &str, slug: &str, staff_only: bool) {
    let mut fields = vec![
        ("name", name),
        ("slug", slug),
        ("description", "Questions about invoices and plans"),
        ("color", "#1b7f3b"),
        ("position", "1"),
    ];
    if staff_only {
        fields.push(("staff_only", "on"));
    }
    let r = admin.submit("/admin/categories", "/admin/categories", &fields);
    assert_eq!(r.status, 303, "category {slug} not created: {}", r.body);
}

/// A member account, registered through the sign-up form and logged in.
pub fn member(server: &Server, username: &str) -> Client {
    let c = server.client();
    let r = c.register(
        username,
        &format!("{username}@example.com"),
        MEMBER_PASSWORD,
    );
    assert_eq!(r.status, 303, "register {username}: {}", r.body);
    c
}

/// A staff account made with the CLI, then logged in.
pub fn staff(db: &TestDb, server: &Server, username: &str) -> Client {
    let (code, out, err) = cli(
        db,
        &[
            "admin",
            "create-user",
            "--username",
            username,
            "--email",
            &format!("{username}@example.com"),
            "--role",
            "staff",
        ],
        &format!("{MEMBER_PASSWORD}\n"),
        &[],
    );
    assert_eq!(code, 0, "create staff {username}: {out}{err}");
    let c = server.client();
    let r = c.login(username, MEMBER_PASSWORD);
    assert_eq!(r.status, 303, "staff login {username}: {}", r.body);
    c
}

/// A topic page's canonical path.
pub fn topic_url(slug: &str, id: i64) -> String {
    format!("/t/{slug}/{id}")
}

/// (slug, topic id, post id) from a "/t/{slug}/{id}[?post={post}#p-{post}]" location.
pub fn parse_topic_location(location: &str) -> (String, i64, Option<i64>) {
    let rest = location
        .strip_prefix("/t/")
        .unwrap_or_else(|| panic!("not a topic location: {location:?}"));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (slug, id) = path.split_once('/').expect("slug/id");
    let post = query
        .strip_prefix("post=")
        .and_then(|q| q.split(['#', '&']).next())
        .map(|p| p.parse().expect("post id"));
    (slug.to_string(), id.parse().expect("topic id"), post)
}

impl Client {
    /// The CSRF token of this visitor (constant for a session).
    pub fn token(&self) -> String {
        let page = self.get(if self.cookie("townhall_session").is_some() {
            "/"
        } else {
            "/login"
        });
        let t = page.csrf();
        assert!(!t.is_empty(), "no CSRF token found");
        t
    }

    /// POSTs `fields` plus this visitor's CSRF token.
    pub fn post_with_token(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.token();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all)
    }

    /// Submits the new-topic form; the response is returned as is. `confirmed=1` is sent,
    /// as the page's script does once it has shown similar answers while typing, so the
    /// no-script "did you mean these?" step is skipped.
    pub fn new_topic(&self, category: &str, title: &str, raw: &str, tags: &str) -> Resp {
        self.submit(
            "/new-topic",
            "/new-topic",
            &[
                ("category", category),
                ("title", title),
                ("raw", raw),
                ("tags", tags),
                ("confirmed", "1"),
            ],
        )
    }

    /// Starts a topic and returns (slug, topic id); panics unless it was created.
    pub fn create_topic(
        &self,
        category: &str,
        title: &str,
        raw: &str,
        tags: &str,
    ) -> (String, i64) {
        let r = self.new_topic(category, title, raw, tags);
        assert_eq!(r.status, 303, "topic {title:?} not created: {}", r.body);
        let (slug, id, _) = parse_topic_location(r.location());
        (slug, id)
    }

    /// Replies to a topic; returns the response as is.
    pub fn reply_raw(&self, topic_id: i64, raw: &str) -> Resp {
        self.post_with_token(&format!("/t/{topic_id}/reply"), &[("raw", raw)])
    }

    /// Replies to a topic and returns the new post's id; panics unless it was posted.
    pub fn reply(&self, topic_id: i64, raw: &str) -> i64 {
        let r = self.reply_raw(topic_id, raw);
        assert_eq!(r.status, 303, "reply not posted: {}", r.body);
        parse_topic_location(r.location())
            .2
            .expect("reply location names the post")
    }

    /// GET and parse a JSON document (asserts 200).
    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
    }
}

/// The query count from a `Server-Timing: db;desc="N queries";dur=…` header.
pub fn query_count(r: &Resp) -> u64 {
    let timing = r.header("server-timing").expect("Server-Timing header");
    let start = timing.find("desc=\"").expect("desc") + 6;
    let n = &timing[start..];
    n[..n.find(' ').expect("N queries")]
        .parse()
        .unwrap_or_else(|_| panic!("query count in {timing:?}"))
}

/// Asserts that `xml` is well-formed XML: one root, balanced and properly nested tags,
/// quoted attributes, only XML's own entities. (A small checker: no DTDs or CDATA.)
pub fn assert_well_formed_xml(xml: &str) {
    let mut rest = xml.trim_start_matches('\u{feff}');
    if let Some(decl) = rest.strip_prefix("<?xml") {
        rest = &decl[decl.find("?>").expect("end of XML declaration") + 2..];
    }
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let check_text = |text: &str| {
        let mut t = text;
        while let Some(at) = t.find('&') {
            let end = t[at..]
                .find(';')
                .unwrap_or_else(|| panic!("unterminated entity near {:?}", &t[at..]));
            let name = &t[at + 1..at + end];
            let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix("#x")
                    .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
                || name
                    .strip_prefix('#')
                    .is_some_and(|d| d.parse::<u32>().is_ok());
            assert!(ok, "entity &{name}; is not XML");
            t = &t[at + end + 1..];
        }
        assert!(!text.contains('<'), "stray '<' in {text:?}");
    };
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            check_text(rest);
            assert!(
                rest.trim().is_empty() || !stack.is_empty(),
                "text outside the root"
            );
            break;
        };
        let text = &rest[..lt];
        check_text(text);
        assert!(
            text.trim().is_empty() || !stack.is_empty(),
            "text outside the root: {text:?}"
        );
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = &rest[rest.find("-->").expect("end of comment") + 3..];
            continue;
        }
        let gt = rest.find('>').expect("unterminated tag");
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{}> closes <{open}>", name.trim());
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = &tag[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || ":_-.".contains(c)),
            "bad tag name {name:?}"
        );
        // Attributes: name="value" pairs, each name once.
        let mut attrs = tag[name_end..].trim();
        let mut seen = Vec::new();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .unwrap_or_else(|| panic!("attribute without value in <{tag}>"));
            let attr = attrs[..eq].trim();
            assert!(
                !seen.contains(&attr),
                "duplicate attribute {attr} in <{name}>"
            );
            seen.push(attr);
            let after = attrs[eq + 1..].trim_start();
            let quote = after.chars().next().expect("attribute value");
            assert!(
                quote == '"' || quote == '\'',
                "unquoted attribute in <{tag}>"
            );
            let close = after[1..].find(quote).expect("closing quote") + 1;
            check_text(&after[1..close]);
            attrs = after[close + 1..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(roots, 1, "an XML document has exactly one root element");
}

/// Decodes the entities that HTML and XML escaping produce (what maud writes in attributes).
pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
