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

// ---- login throttling that cannot be turned against the owner ------------------------------

/// A server that takes the client address from X-Forwarded-For, so one test can play
/// several addresses.
fn behind_proxy(db: &TestDb) -> Server {
    Server::start_with(db, &[("TOWNHALL_TRUST_PROXY", "true")])
}

fn from(ip: &str) -> [(&str, &str); 1] {
    [("X-Forwarded-For", ip)]
}

#[test]
fn a_guesser_at_one_address_cannot_lock_the_owner_out() {
    let db = TestDb::new();
    let server = behind_proxy(&db);
    let r = server
        .client()
        .register("alice", "alice@example.com", PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);

    let attacker = server.client();
    let statuses: Vec<u16> = (0..30)
        .map(|_| {
            attacker
                .login_with("alice", "guess guess guess", &from("203.0.113.66"))
                .status
        })
        .collect();
    assert!(statuses[..5].iter().all(|s| *s == 422), "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The guesser's own address stays refused, even with the right password.
    let refused = attacker.login_with("alice", PASSWORD, &from("203.0.113.66"));
    assert_eq!(refused.status, 429);
    assert!(refused.body.contains("Too many login attempts"));
    let wait: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(attacker.cookie("townhall_session").is_none());

    // Alice, from her own address, logs in at once, by username and by email.
    let owner = server.client();
    let started = std::time::Instant::now();
    let r = owner.login_with("alice", PASSWORD, &from("198.51.100.7"));
    assert_eq!(r.status, 303, "the owner is let in: {}", r.body);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(owner.get("/").body.contains("alice"));
    let laptop = server.client();
    let r = laptop.login_with("ALICE@example.com", PASSWORD, &from("198.51.100.8"));
    assert_eq!(r.status, 303, "{}", r.body);
}

#[test]
fn guesses_from_many_addresses_slow_an_account_down_but_never_lock_it() {
    let db = TestDb::new();
    let server = behind_proxy(&db);
    server
        .client()
        .register("bruno", "bruno@example.com", PASSWORD);
    // One wrong guess from each of 13 addresses: no address reaches its own limit.
    for i in 0..13 {
        let c = server.client();
        let r = c.login_with(
            "bruno",
            "guess guess guess",
            &from(&format!("192.0.2.{}", i + 1)),
        );
        assert_eq!(r.status, 422, "guess {i}");
    }
    // The account is now under attack: attempts on it wait a little before being checked,
    // and the right password still gets in.
    let owner = server.client();
    let token = owner.get("/login").csrf();
    let started = std::time::Instant::now();
    let r = owner.post_form_with(
        "/login",
        &[
            ("csrf", &token),
            ("username", "bruno"),
            ("password", PASSWORD),
        ],
        &from("198.51.100.20"),
    );
    let took = started.elapsed();
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        took >= std::time::Duration::from_millis(240),
        "attempts on the account were delayed: {took:?}"
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

// ---- sign-up does not reveal which emails have accounts ------------------------------------

#[test]
fn signing_up_with_a_registered_email_does_not_say_it_is_registered() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let r = server
        .client()
        .register("known_kim", "kim@example.com", PASSWORD);
    assert_eq!(r.status, 303);

    let c = server.client();
    let r = c.register("newcomer", "Kim@Example.com", PASSWORD);
    assert_eq!(r.status, 422, "same status as any other form error");
    let other_error = server
        .client()
        .register("newcomer2", "not-an-email", PASSWORD);
    assert_eq!(r.status, other_error.status);

    let lower = r.body.to_lowercase();
    for telling in [
        "already exists",
        "registered",
        "in use",
        "taken",
        "this email",
        "that email",
    ] {
        assert!(!lower.contains(telling), "says {telling:?}: {}", r.body);
    }
    assert!(
        r.body
            .contains("We could not create an account with these details"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("aria-invalid"),
        "no field is marked, the email field least of all"
    );
    assert!(r.body.contains("value=\"newcomer\""), "username kept");
    assert!(r.body.contains("value=\"Kim@Example.com\""), "email kept");
    assert!(c.cookie("townhall_session").is_none());

    // No account was created.
    assert_eq!(c.login("newcomer", PASSWORD).status, 422);
    let store = townhall::db::Db::connect(&db.url).expect("open the test database");
    let count = store
        .read_sync(townhall::db::users::count)
        .expect("count users");
    assert_eq!(count, 1);
}

// ---- account settings ----------------------------------------------------------------------

const NEW_PASSWORD: &str = "a brand new secret";
const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

fn logged_in(c: &crate::support::Client) -> bool {
    c.get("/account").status == 200
}

/// (session id, table row) for each session listed on /account.
fn listed_sessions(page: &str) -> Vec<(i64, String)> {
    page.split("<tr>")
        .filter_map(|row| {
            let start =
                row.find("action=\"/account/sessions/")? + "action=\"/account/sessions/".len();
            let end = row[start..].find('/')? + start;
            Some((row[start..end].parse().ok()?, row.to_string()))
        })
        .collect()
}

fn event_count(db: &TestDb, kind: &str) -> usize {
    let store = townhall::db::Db::connect(&db.url).expect("open the test database");
    store
        .read_sync(|c| townhall::db::events::recent_of_kind(c, kind, 100))
        .expect("events")
        .len()
}

#[test]
fn account_pages_send_logged_out_visitors_to_log_in() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let member = crate::support::member(&server, "lotte");
    let session_id = listed_sessions(&member.get("/account").body)[0].0;
    let anon = server.client();
    for path in ["/account", "/account/password", "/account/email"] {
        let r = anon.get(path);
        assert_eq!(r.status, 303, "GET {path}");
        assert!(
            r.location().starts_with("/login?next=%2Faccount"),
            "{path}: {}",
            r.location()
        );
    }
    let token = anon.get("/login").csrf();
    let end = format!("/account/sessions/{session_id}/end");
    for path in [
        "/account/password",
        "/account/email",
        "/account/logout-everywhere",
        end.as_str(),
    ] {
        for fields in [vec![("csrf", token.as_str())], vec![]] {
            let r = anon.post_form(
                path,
                &[
                    fields,
                    vec![
                        ("current_password", PASSWORD),
                        ("new_password", NEW_PASSWORD),
                    ],
                ]
                .concat(),
            );
            assert_eq!(r.status, 303, "POST {path}");
            assert!(r.location().starts_with("/login?next="), "{path}");
        }
    }
    assert!(
        logged_in(&member),
        "nothing happened to the member's session"
    );
}

#[test]
fn changing_the_password_needs_the_current_one_and_logs_out_other_devices() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let here = crate::support::member(&server, "carol");
    let there = server.client();
    assert_eq!(there.login("carol", PASSWORD).status, 303);

    // Wrong current password: nothing changes.
    let r = here.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", "not my password"),
            ("new_password", NEW_PASSWORD),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("That is not your current password."),
        "{}",
        r.body
    );
    assert!(r.body.contains("aria-invalid=\"true\""));
    assert!(!r.body.contains("not my password") && !r.body.contains(NEW_PASSWORD));
    assert!(logged_in(&there), "the other device is still logged in");
    assert_eq!(server.client().login("carol", NEW_PASSWORD).status, 422);
    assert_eq!(event_count(&db, "account.password_changed"), 0);

    // A new password that breaks the sign-up rules is refused too.
    let r = here.submit(
        "/account/password",
        "/account/password",
        &[("current_password", PASSWORD), ("new_password", "short")],
    );
    assert_eq!(r.status, 422);
    assert!(r.body.contains("at least 8 characters"), "{}", r.body);
    assert!(logged_in(&there));

    // The right one: the other device is logged out, this one stays in.
    let r = here.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/account?done=password");
    let page = here.get(r.location());
    assert_eq!(page.status, 200, "this device stays logged in");
    assert!(page.body.contains("Your password was changed"));
    assert!(!logged_in(&there), "the other device was logged out");
    assert!(!there.get("/").body.contains("carol"));

    assert_eq!(server.client().login("carol", PASSWORD).status, 422);
    assert_eq!(server.client().login("carol", NEW_PASSWORD).status, 303);
    assert_eq!(event_count(&db, "account.password_changed"), 1);
}

#[test]
fn changing_the_email_needs_the_password_and_the_new_email_logs_in() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let dmitri = crate::support::member(&server, "dmitri");
    crate::support::member(&server, "erin");
    let change = |email: &str, password: &str| {
        dmitri.submit(
            "/account/email",
            "/account/email",
            &[("email", email), ("password", password)],
        )
    };

    let r = change("dmitri.new@example.com", "not my password");
    assert_eq!(r.status, 422);
    assert!(r.body.contains("That is not your current password."));
    assert!(
        r.body.contains("value=\"dmitri.new@example.com\""),
        "what was typed is kept"
    );

    let r = change("not an email", PASSWORD);
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("does not look like an email address"),
        "{}",
        r.body
    );

    // Another account's address: a neutral answer, the field not marked.
    let r = change("Erin@Example.com", PASSWORD);
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("We could not change your email to this address"),
        "{}",
        r.body
    );
    let lower = r.body.to_lowercase();
    assert!(
        !lower.contains("already") && !lower.contains("taken") && !lower.contains("registered")
    );
    assert!(!r.body.contains("aria-invalid"));
    assert!(r.body.contains("value=\"Erin@Example.com\""));
    assert_eq!(event_count(&db, "account.email_changed"), 0);

    let r = change("Dmitri.New@example.com", PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/account?done=email");
    assert!(
        dmitri
            .get("/account")
            .body
            .contains("Dmitri.New@example.com")
    );
    assert_eq!(event_count(&db, "account.email_changed"), 1);

    assert_eq!(
        server
            .client()
            .login("dmitri.new@example.com", PASSWORD)
            .status,
        303
    );
    assert_eq!(
        server.client().login("dmitri@example.com", PASSWORD).status,
        422
    );
    // The old address is free again for someone else.
    let r = server
        .client()
        .register("newdmitri", "dmitri@example.com", PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
}

#[test]
fn log_out_everywhere_ends_every_session_including_this_one() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let here = crate::support::member(&server, "frank");
    let there = server.client();
    assert_eq!(there.login("frank", PASSWORD).status, 303);

    // Like every form, it needs the session's CSRF token.
    let r = here.post_form("/account/logout-everywhere", &[]);
    assert_eq!(r.status, 403);
    assert!(logged_in(&here) && logged_in(&there));

    let r = here.post_with_token("/account/logout-everywhere", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/");
    assert!(here.cookie("townhall_session").is_none());
    assert!(!logged_in(&here));
    assert!(!logged_in(&there));
    assert_eq!(server.client().login("frank", PASSWORD).status, 303);
}

#[test]
fn the_session_list_shows_each_device_and_ends_one() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let laptop = server.client();
    let r = laptop.submit_with(
        "/register",
        "/register",
        &[
            ("username", "gina"),
            ("email", "gina@example.com"),
            ("password", PASSWORD),
        ],
        &[("User-Agent", FIREFOX_LINUX)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let phone = server.client();
    let r = phone.login_with("gina", PASSWORD, &[("User-Agent", SAFARI_IPHONE)]);
    assert_eq!(r.status, 303);

    let page = laptop.get("/account");
    assert_eq!(page.status, 200);
    let sessions = listed_sessions(&page.body);
    assert_eq!(sessions.len(), 2, "{}", page.body);
    assert!(page.body.contains("Firefox on Linux"), "{}", page.body);
    assert!(page.body.contains("Safari on iOS"));
    assert!(page.body.contains(FIREFOX_LINUX) && page.body.contains(SAFARI_IPHONE));
    assert_eq!(page.body.matches("this device").count(), 1);
    let (phone_id, phone_row) = sessions
        .iter()
        .find(|(_, row)| row.contains("Safari on iOS"))
        .expect("the phone's session")
        .clone();
    assert!(!phone_row.contains("this device"));
    let (laptop_id, laptop_row) = sessions
        .iter()
        .find(|(id, _)| *id != phone_id)
        .unwrap()
        .clone();
    assert!(laptop_row.contains("this device") && laptop_row.contains("Firefox on Linux"));

    // Ending the phone's session logs the phone out, and only the phone.
    let r = laptop.post_with_token(&format!("/account/sessions/{phone_id}/end"), &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/account?done=session");
    assert!(!logged_in(&phone));
    let page = laptop.get(r.location());
    assert_eq!(page.status, 200);
    assert!(page.body.contains("That session was ended"));
    assert!(!page.body.contains("Safari on iOS"));
    assert!(event_count(&db, "session.ended") >= 1);

    // Ending one's own session is logging out.
    let r = laptop.post_with_token(&format!("/account/sessions/{laptop_id}/end"), &[]);
    assert_eq!(r.status, 303);
    assert!(laptop.cookie("townhall_session").is_none());
    assert!(!logged_in(&laptop));
}

#[test]
fn nobody_can_end_another_members_session() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let hana = crate::support::member(&server, "hana");
    let ivan = crate::support::member(&server, "ivan");
    let hana_session = listed_sessions(&hana.get("/account").body)[0].0;

    let r = ivan.post_with_token(&format!("/account/sessions/{hana_session}/end"), &[]);
    assert_eq!(r.status, 404);
    let r = ivan.post_with_token("/account/sessions/999999/end", &[]);
    assert_eq!(r.status, 404);
    assert!(logged_in(&hana), "hana's session is untouched");
    assert!(logged_in(&ivan));
    assert_eq!(listed_sessions(&hana.get("/account").body).len(), 1);
}
