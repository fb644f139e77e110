use crate::support::{Server, TestDb};

const PASSWORD: &str = "a long enough secret";

#[test]
fn registration_errors_sit_next_to_their_fields_and_keep_the_values() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();
    let long_name = "n".repeat(300);
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        // (username, email, password, field with the error, message)
        (
            &long_name,
            "ok@example.com",
            PASSWORD,
            "username",
            "3 to 20 characters",
        ),
        (
            "ab",
            "ok@example.com",
            PASSWORD,
            "username",
            "3 to 20 characters",
        ),
        (
            "bad name!",
            "ok@example.com",
            PASSWORD,
            "username",
            "Use only letters",
        ),
        (
            "<script>x",
            "ok@example.com",
            PASSWORD,
            "username",
            "Use only letters",
        ),
        (
            "validname",
            "not-an-email",
            PASSWORD,
            "email",
            "does not look like an email",
        ),
        ("validname", "", PASSWORD, "email", "Enter your email"),
        (
            "validname",
            "ok@example.com",
            "",
            "password",
            "Choose a password",
        ),
        (
            "validname",
            "ok@example.com",
            "short",
            "password",
            "at least 8",
        ),
    ];
    for (username, email, password, field, message) in cases {
        let r = c.register(username, email, password);
        assert_eq!(r.status, 422, "{username:?}/{email:?}");
        let at = r
            .body
            .find(&format!("id=\"f-{field}-msg\""))
            .unwrap_or_else(|| panic!("no message for {field}: {username:?} {email:?}"));
        assert!(
            r.body[at..].starts_with(&format!("id=\"f-{field}-msg\">{message}"))
                || r.body[at..at + 200].contains(message),
            "message for {field} should say {message:?}"
        );
        assert!(r.body.contains("class=\"error\""), "an error is marked");
        if field != "email" && !email.is_empty() {
            assert!(r.body.contains(&format!("value=\"{email}\"")), "email kept");
        }
        if !password.is_empty() {
            assert!(
                !r.body.contains(&format!("value=\"{password}\"")),
                "password never echoed"
            );
        }
        assert!(c.cookie("townhall_session").is_none());
    }
    let long_email = format!("{}@example.com", "e".repeat(300));
    let r = c.register("validname", &long_email, PASSWORD);
    assert_eq!(r.status, 422);
    assert!(r.body.contains("at most 254"));
}

#[test]
fn duplicate_and_look_alike_usernames_are_refused() {
    let db = TestDb::new();
    let server = Server::start(&db);
    assert_eq!(
        server
            .client()
            .register("admin_jo", "jo@example.com", PASSWORD)
            .status,
        303
    );
    for (name, email) in [
        ("admin_jo", "jo2@example.com"),
        ("ADMIN_JO", "jo3@example.com"),
        ("ＡＤＭＩＮ_ＪＯ", "jo4@example.com"), // fullwidth
        ("\u{0430}dmin_jo", "jo5@example.com"), // Cyrillic а
        ("adm\u{0131}n_jo", "jo6@example.com"), // dotless ı
    ] {
        let c = server.client();
        let r = c.register(name, email, PASSWORD);
        assert_eq!(r.status, 422, "{name} should collide with admin_jo");
        assert!(r.body.contains("is taken"), "{name}");
        assert!(r.body.contains(&format!("value=\"{email}\"")), "email kept");
    }
    let r = server
        .client()
        .register("someone_else", "JO@example.com", PASSWORD);
    assert_eq!(r.status, 422);
    // Refused with a neutral notice that does not say the address has an account.
    assert!(
        r.body
            .contains("We could not create an account with these details")
    );
    assert!(!r.body.contains("already exists"));
}

#[test]
fn malformed_cookies_are_ignored_not_fatal() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();
    for cookie in [
        "townhall_session=garbage",
        "townhall_session=",
        "townhall_session=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "townhall_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "===; ;;; townhall_csrf=<>",
        "townhall_csrf=\"quoted\"; townhall_session=%00%ff",
    ] {
        let r = c.get_with("/", &[("Cookie", cookie)]);
        assert_eq!(r.status, 200, "cookie {cookie:?}");
        assert!(r.body.contains("Log in"));
    }
}

#[test]
fn huge_and_garbled_bodies_get_a_4xx() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let c = server.client();
    let token = c.get("/register").csrf();
    let huge = format!(
        "csrf={token}&username=x&email=y&password={}",
        "p".repeat(2 * 1024 * 1024)
    );
    let r = c.post_raw(
        "/register",
        "application/x-www-form-urlencoded",
        huge.as_bytes(),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("too large"));

    let r = c.post_raw(
        "/login",
        "application/x-www-form-urlencoded",
        b"%%%&&&===\xff\xfe",
    );
    assert!(r.status == 400 || r.status == 403, "{}", r.status);
    let r = c.post_raw("/login", "application/json", br#"{"username":"a"}"#);
    assert_eq!(r.status, 403);
    let body = format!("csrf={token}&username=a&username=b&password=x");
    let r = c.post_raw(
        "/login",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert!(r.status < 500, "duplicate fields: {}", r.status);
    assert!(
        server.client().get("/healthz").status == 200,
        "server still up"
    );
}

#[test]
fn a_password_of_the_maximum_length_works_and_one_over_is_refused() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let longest = "p".repeat(256);
    let c = server.client();
    assert_eq!(
        c.register("longpass", "lp@example.com", &longest).status,
        303
    );
    let r = server
        .client()
        .register("longpass2", "lp2@example.com", &"p".repeat(257));
    assert_eq!(r.status, 422);
    assert!(r.body.contains("at most 256"));
    let fresh = server.client();
    assert_eq!(fresh.login("longpass", &longest).status, 303);
}
