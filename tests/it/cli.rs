use crate::support::{Server, TestDb, cli};

#[test]
fn admin_create_user_reads_the_password_from_stdin() {
    let db = TestDb::new();
    let (code, out, err) = cli(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "ops_lead",
            "--email",
            "ops@example.com",
            "--role",
            "staff",
        ],
        "staff password 1\n",
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created ops_lead (staff)"));
    let server = Server::start(&db);
    let c = server.client();
    assert_eq!(c.login("ops_lead", "staff password 1").status, 303);
    let home = c.get("/");
    assert!(
        home.body.contains("badge staff"),
        "staff wear a badge in the header"
    );
}

#[test]
fn admin_create_user_refuses_bad_input_with_a_clear_message() {
    let db = TestDb::new();
    let (code, _, err) = cli(
        &db,
        &["admin", "create-user", "--username", "x", "--email", "bad"],
        "\n",
        &[],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("username:") && err.contains("email:") && err.contains("password:"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let (code, _, err) = cli(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "okname",
            "--email",
            "a@b.example",
            "--role",
            "king",
        ],
        "pw\n",
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("king"), "{err}");
}

#[test]
fn a_bad_configuration_value_stops_start_up_with_one_line_naming_the_key() {
    let db = TestDb::new();
    for (key, value, expect) in [
        ("TOWNHALL_BIND", "not-an-address", "TOWNHALL_BIND"),
        (
            "TOWNHALL_DATABASE_URL",
            "mysql://localhost/x",
            "TOWNHALL_DATABASE_URL",
        ),
        ("TOWNHALL_WORKERS", "many", "TOWNHALL_WORKERS"),
    ] {
        let (code, _, err) = cli(&db, &["serve"], "", &[(key, value)]);
        assert_eq!(code, 2, "{key}={value}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {err}");
        assert!(lines[0].contains(expect), "{err}");
    }
}

#[test]
fn the_config_file_is_read_and_the_environment_overrides_it() {
    let db = TestDb::new();
    std::fs::write(db.dir.path().join("townhall.toml"), "bind = \"nonsense\"\n").unwrap();
    let (code, _, err) = cli(&db, &["migrate"], "", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("\"nonsense\""), "{err}");
    let (code, out, err) = cli(&db, &["migrate"], "", &[("TOWNHALL_BIND", "127.0.0.1:0")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("migration"));
}

#[test]
fn seed_demo_fills_an_empty_database_once() {
    let db = TestDb::new();
    let (code, out, err) = cli(&db, &["seed-demo"], "", &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = cli(&db, &["seed-demo"], "", &[]);
    assert_ne!(code, 0);
    assert!(err.contains("already has content"));
    let server = Server::start(&db);
    let home = server.client().get("/");
    assert!(home.body.contains("Northwind Cloud Community"));
    assert!(home.body.contains("tel:+15550100199"));
    assert!(
        home.body.contains("/setup"),
        "demo leaves admin setup to the visitor"
    );
    assert_eq!(
        server.client().login("maya.support", "").status,
        422,
        "demo authors cannot log in"
    );
}

#[test]
fn recook_re_renders_every_post_from_its_markdown() {
    let db = TestDb::new();
    let (code, _, err) = cli(&db, &["seed-demo"], "", &[]);
    assert_eq!(code, 0, "{err}");
    // Simulate HTML cooked by an older renderer.
    let store = townhall::db::Db::connect(&db.url).unwrap();
    store
        .write_sync(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE posts SET cooked = '<p>stale</p>'").execute(c)?;
            Ok(())
        })
        .unwrap();
    let (code, out, err) = cli(&db, &["recook"], "", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("re-rendered "), "{out}");
    let stale: i64 = store
        .read_sync(|c| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            Ok(
                diesel::sql_query("SELECT COUNT(*) AS n FROM posts WHERE cooked = '<p>stale</p>'")
                    .get_result::<N>(c)?
                    .n,
            )
        })
        .unwrap();
    assert_eq!(stale, 0);
    let server = Server::start(&db);
    let page = server.client().get("/latest");
    assert!(!page.body.contains("stale"));
}
