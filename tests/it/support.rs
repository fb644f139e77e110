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
                let mut admin = PgConnection::establish(&format!("{server}/postgres"))
                    .expect("connect to the PostgreSQL test server");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
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

    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        self.finish(
            self.request("POST", path)
                .set("Content-Type", content_type)
                .send_bytes(body),
        )
    }

    /// Like a person: open `page`, then submit its form to `action` with `fields`.
    pub fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Resp {
        let form = self.get(page);
        let csrf = form.csrf();
        assert!(
            !csrf.is_empty(),
            "no CSRF field on {page} (status {})",
            form.status
        );
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(action, &all)
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
        self.submit(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
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
