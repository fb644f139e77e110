use crate::support::{Server, TestDb};

const PASSWORD: &str = "a long enough secret";

#[test]
fn register_then_log_out_and_back_in_with_username_or_email() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();

    let r = c.register("Priya_K", "priya@example.com", PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        c.cookie("townhall_session").is_some(),
        "registering logs in"
    );
    let home = c.get("/");
    assert!(
        home.body.contains("Priya_K"),
        "header shows who is logged in"
    );
    assert!(home.body.contains("Log out"));

    let logout = c.post_form("/logout", &[("csrf", &home.csrf())]);
    assert_eq!(logout.status, 303);
    assert!(
        c.cookie("townhall_session").is_none(),
        "logout clears the cookie"
    );
    assert!(c.get("/").body.contains("Log in"));

    for identifier in ["Priya_K", "priya_k", "PRIYA@example.com"] {
        let r = c.login(identifier, PASSWORD);
        assert_eq!(r.status, 303, "login as {identifier}: {}", r.body);
        assert!(c.get("/").body.contains("Priya_K"));
        let page = c.get("/");
        c.post_form("/logout", &[("csrf", &page.csrf())]);
    }
}

#[test]
fn session_cookie_is_httponly_and_lax_and_ends_at_logout_on_the_server() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();
    let r = c.register("maria", "maria@example.com", PASSWORD);
    let set_cookie = r
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("townhall_session="))
        .map(|(_, v)| v.clone())
        .expect("session cookie set");
    assert!(set_cookie.contains("HttpOnly"));
    assert!(set_cookie.contains("SameSite=Lax"));
    assert!(
        !set_cookie.contains("Secure"),
        "no Secure flag on a plain-http site"
    );

    // A copy of the cookie stops working once the owner logs out: the session is server-side.
    let stolen = c.cookie("townhall_session").unwrap();
    let page = c.get("/");
    c.post_form("/logout", &[("csrf", &page.csrf())]);
    let other = server.client();
    other.set_cookie("townhall_session", &stolen);
    assert!(!other.get("/").body.contains("maria"));
}

#[test]
fn wrong_password_and_unknown_account_get_the_same_answer() {
    let db = TestDb::new();
    let server = Server::start(&db);
    server
        .client()
        .register("tomasz", "tomasz@example.com", PASSWORD);

    let c = server.client();
    let wrong = c.login("tomasz", "not the password");
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("do not match"));
    assert!(
        wrong.body.contains("value=\"tomasz\""),
        "username kept in the form"
    );
    assert!(
        !wrong.body.contains("not the password"),
        "password never echoed"
    );
    assert!(c.cookie("townhall_session").is_none());

    let unknown = c.login("nobody-here", "not the password");
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains("do not match"));
    assert!(c.cookie("townhall_session").is_none());
}

#[test]
fn login_is_rate_limited_per_account() {
    let db = TestDb::new();
    let server = Server::start(&db);
    server
        .client()
        .register("lena", "lena@example.com", PASSWORD);
    let c = server.client();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(c.login("lena", "guess guess guess").status);
    }
    assert!(statuses[..5].iter().all(|s| *s == 422), "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    // The same limit applies to an account that does not exist: nothing is revealed.
    let mut unknown = Vec::new();
    for _ in 0..8 {
        unknown.push(c.login("ghost", "guess guess guess").status);
    }
    assert_eq!(*unknown.last().unwrap(), 429, "{unknown:?}");
    let limited = c.login("lena", PASSWORD);
    assert_eq!(limited.status, 429);
    assert!(limited.body.contains("Too many login attempts"));
    let wait: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
}

#[test]
fn login_is_rate_limited_per_ip_across_accounts() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();
    let mut last = 0;
    for i in 0..25 {
        last = c.login(&format!("user{i}"), "guess guess guess").status;
    }
    assert_eq!(last, 429);
}

#[test]
fn post_without_csrf_token_is_refused() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    let anon = server.client();
    anon.get("/"); // has a CSRF cookie, but sends no token
    for (path, fields) in [
        (
            "/login",
            vec![("username", "admin"), ("password", "correct horse battery")],
        ),
        (
            "/register",
            vec![
                ("username", "newbie"),
                ("email", "n@example.com"),
                ("password", PASSWORD),
            ],
        ),
        (
            "/setup",
            vec![
                ("username", "x2x"),
                ("email", "x@example.com"),
                ("password", PASSWORD),
            ],
        ),
        ("/logout", vec![]),
    ] {
        let r = anon.post_form(path, &fields);
        assert_eq!(r.status, 403, "{path} without token");
        let wrong = {
            let mut f = fields.clone();
            f.push((
                "csrf",
                "0000000000000000000000000000000000000000000000000000000000000000",
            ));
            anon.post_form(path, &f)
        };
        assert_eq!(wrong.status, 403, "{path} with a wrong token");
    }
    assert!(
        anon.cookie("townhall_session").is_none(),
        "no login happened"
    );
    // A logged-in admin's settings change needs the session's token, not just the cookie.
    let r = admin.post_form("/admin/settings", &[("site_name", "Hijacked")]);
    assert_eq!(r.status, 403);
    let anon_token = anon.get("/login").csrf();
    let r = admin.post_form(
        "/admin/settings",
        &[("site_name", "Hijacked"), ("csrf", &anon_token)],
    );
    assert_eq!(r.status, 403, "another visitor's token does not work");
    assert!(!admin.get("/").body.contains("Hijacked"));
}

#[test]
fn admin_settings_are_for_admins_only() {
    let db = TestDb::new();
    let server = Server::start(&db);
    server.client().setup_admin();

    let anon = server.client();
    let r = anon.get("/admin/settings");
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/login?next=%2Fadmin%2Fsettings");

    let member = server.client();
    member.register("member1", "m1@example.com", PASSWORD);
    let r = member.get("/admin/settings");
    assert_eq!(r.status, 403);
    assert!(r.body.contains("administrators"));
    let token = member.get("/").csrf();
    let r = member.post_form(
        "/admin/settings",
        &[
            ("csrf", &token),
            ("site_name", "Mine now"),
            ("public_url", "http://x.example"),
            ("first_response_hours", "4"),
            ("theme", "default"),
        ],
    );
    assert_eq!(r.status, 403);
    assert!(!member.get("/").body.contains("Mine now"));
}

#[test]
fn login_returns_to_the_page_that_asked_but_never_off_site() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    let page = admin.get("/");
    admin.post_form("/logout", &[("csrf", &page.csrf())]);

    let form = admin.get("/login?next=%2Fadmin%2Fsettings");
    let r = admin.post_form(
        "/login",
        &[
            ("csrf", &form.csrf()),
            ("username", "admin"),
            ("password", "correct horse battery"),
            ("next", "/admin/settings"),
        ],
    );
    assert_eq!(r.location(), "/admin/settings");
    let page = admin.get("/");
    admin.post_form("/logout", &[("csrf", &page.csrf())]);
    let form = admin.get("/login");
    let r = admin.post_form(
        "/login",
        &[
            ("csrf", &form.csrf()),
            ("username", "admin"),
            ("password", "correct horse battery"),
            ("next", "//evil.example/x"),
        ],
    );
    assert_eq!(r.location(), "/");
}

#[test]
fn setup_creates_the_first_admin_and_then_refuses() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let first = server.client();
    assert!(
        first.get("/").body.contains("/setup"),
        "home points to setup"
    );
    let r = first.setup_admin();
    assert_eq!(r.location(), "/admin/settings");
    assert_eq!(
        first.get("/admin/settings").status,
        200,
        "the creator is admin"
    );

    let second = server.client();
    let r = second.get("/setup");
    assert_eq!(r.status, 403);
    assert!(r.body.contains("already has an administrator"));
    let token = second.get("/").csrf();
    let r = second.post_form(
        "/setup",
        &[
            ("csrf", &token),
            ("username", "intruder"),
            ("email", "i@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(r.status, 403);
    assert!(second.cookie("townhall_session").is_none());
    assert!(
        !second.get("/").body.contains("/setup\""),
        "home no longer offers setup"
    );
}

#[test]
fn a_session_from_one_node_works_on_another_sharing_the_database() {
    let db = TestDb::new();
    let node_a = Server::start(&db);
    let node_b = Server::start(&db);
    let on_a = node_a.client();
    on_a.register("shared_user", "shared@example.com", PASSWORD);
    let on_b = on_a.with_base(&node_b.base);
    let page = on_b.get("/");
    assert!(
        page.body.contains("shared_user"),
        "node B knows the session"
    );
    // Logging out on B ends the session for A too.
    let r = on_b.post_form("/logout", &[("csrf", &page.csrf())]);
    assert_eq!(r.status, 303);
    let replay = node_a.client();
    *replay.cookies.borrow_mut() = on_a.cookies.borrow().clone();
    assert!(!replay.get("/").body.contains("shared_user"));
}

#[test]
fn settings_changed_on_one_node_reach_the_other() {
    let db = TestDb::new();
    let node_a = Server::start(&db);
    let node_b = Server::start(&db);
    let admin = node_a.client();
    admin.setup_admin();
    crate::shell::save_settings(&admin, &[("contact_phone", "+44 20 7946 0999")]);
    let anon_b = node_b.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if anon_b.get("/contact").body.contains("+44 20 7946 0999") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node B never saw the new phone number"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn cookies_are_secure_once_the_site_url_is_https() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    let r = crate::shell::save_settings(&admin, &[("public_url", "https://community.example.com")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let c = server.client();
    let r = c.register("secure_sam", "sam@example.com", PASSWORD);
    let session = r
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with("townhall_session="))
        .map(|(_, v)| v.clone())
        .expect("session cookie");
    assert!(session.contains("Secure"), "{session}");
}

#[test]
fn every_write_appends_its_event_in_order() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let admin = server.client();
    admin.setup_admin();
    crate::shell::save_settings(&admin, &[("contact_phone", "+1 555 010 0100")]);
    server
        .client()
        .register("eve_n", "eve@example.com", PASSWORD);

    let store = townhall::db::Db::connect(&db.url).expect("open the test database");
    let events = store
        .read_sync(|conn| townhall::db::events::after(conn, 0, 100))
        .expect("read events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.registered",
            "session.started",
            "settings.updated",
            "user.registered",
            "session.started"
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(events[3].payload, r#"{"role":"member","username":"eve_n"}"#);
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let db = TestDb::new();
    let mut server = Server::start(&db);
    let pid = server.pid();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = server
        .wait_exit(std::time::Duration::from_secs(15))
        .expect("exited after SIGTERM");
    assert_eq!(code, Some(0), "clean exit: {}", server.log_text());
}
