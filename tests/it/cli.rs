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
    // The demo status page: components in two groups, past incidents, upcoming maintenance.
    let status = server.client().get("/status");
    assert!(status.body.contains("All Systems Operational"));
    assert!(
        status
            .body
            .contains("PostgreSQL upgrade for EU-West databases")
    );
    assert!(
        status.body.contains("day st-major_outage"),
        "last quarter's outage in the bars"
    );
    assert!(
        status.body.contains("day st-under_maintenance"),
        "last month's maintenance in the bars"
    );
    let history = server.client().json("/api/v2/incidents.json");
    assert_eq!(history["incidents"].as_array().map(Vec::len), Some(2));
    let maintenance = server.client().json("/api/v2/scheduled-maintenances.json");
    let statuses: Vec<&str> = maintenance["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["scheduled", "completed"],
        "upcoming first, then the past one"
    );
    assert_eq!(history["incidents"][1]["status"], "postmortem");
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
fn admin_create_token_prints_a_token_once_that_the_status_api_takes() {
    let db = TestDb::new();
    let (code, out, err) = cli(&db, &["migrate"], "", &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cli(
        &db,
        &[
            "admin",
            "create-token",
            "--name",
            "uptime robot",
            "--scope",
            "status",
        ],
        "",
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    let token = out.trim();
    assert!(token.starts_with("th_") && token.len() == 67, "{out}");
    assert!(err.contains("shown only this once"), "{err}");
    assert_eq!(
        db.number(&format!(
            "SELECT COUNT(*) AS n FROM api_tokens WHERE token_hash = '{}'",
            townhall::tokens::hash_token(token)
        )),
        1,
        "only the hash is stored"
    );
    let (code, _, err) = cli(
        &db,
        &[
            "admin",
            "create-token",
            "--name",
            "x",
            "--scope",
            "everything",
        ],
        "",
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("Unknown scope “everything”"), "{err}");

    let server = Server::start(&db);
    let c = server.client();
    let r = c.send_json(
        "POST",
        "/api/status/incidents",
        r#"{"incident": {"name": "Opened from a script", "status": "identified"}}"#,
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // Statuspage's own header scheme works too.
    let id = db.number("SELECT id AS n FROM status_incidents");
    let r = c.send_json(
        "PATCH",
        &format!("/api/status/incidents/{id}"),
        r#"{"incident": {"status": "resolved"}}"#,
        &[("Authorization", &format!("OAuth {token}"))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"status\":\"resolved\""));
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

#[test]
fn kb_import_writes_articles_from_files_once_and_export_round_trips() {
    let db = TestDb::new();
    assert_eq!(cli(&db, &["migrate"], "", &[]).0, 0);
    let fx = crate::fixtures::Fixtures::new(&db);
    fx.staff("kb_author");
    let dir = db.dir.path().join("articles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("sections.toml"),
        "[[sections]]\nslug = \"email\"\nname = \"Email\"\ndescription = \"Mailboxes and delivery\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("spam.md"),
        "+++\ntitle = \"Keep your mail out of spam\"\nslug = \"keep-mail-out-of-spam\"\nsection = \"email\"\ntags = [\"spam\", \"dkim\"]\nstatus = \"published\"\nsummary = \"Add SPF and DKIM.\"\n+++\nAdd the **SPF** and **DKIM** records from the mail settings.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("forward.md"),
        "+++\ntitle = \"Forward mail to another address\"\nsection = \"email\"\n+++\nCreate a forwarder under Mail, Forwarders.\n",
    )
    .unwrap();
    let dir_arg = dir.to_str().unwrap();
    let (code, out, err) = cli(&db, &["kb", "import", dir_arg], "", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 created, 0 updated, 0 unchanged"), "{out}");
    assert!(out.contains("sections: 1 created"), "{out}");
    let revisions = || db.number("SELECT COUNT(*) AS n FROM kb_revisions");
    assert_eq!(revisions(), 2);

    // The same files again: nothing new, not even for the file without a slug.
    let (code, out, err) = cli(&db, &["kb", "import", dir_arg], "", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "{out}");
    assert!(out.contains("sections: 0 created, 0 updated"), "{out}");
    assert_eq!(revisions(), 2);

    // Export, then import what was exported: still nothing new.
    let exported = db.dir.path().join("exported");
    let (code, out, err) = cli(&db, &["kb", "export", exported.to_str().unwrap()], "", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("wrote 2 article(s)"), "{out}");
    let text = std::fs::read_to_string(exported.join("keep-mail-out-of-spam.md")).unwrap();
    assert!(
        text.starts_with("+++\n") && text.contains("section = \"email\""),
        "{text}"
    );
    let (code, out, err) = cli(&db, &["kb", "import", exported.to_str().unwrap()], "", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 unchanged"), "{out}");
    assert_eq!(revisions(), 2);

    // An edited file makes one new revision.
    std::fs::write(
        dir.join("forward.md"),
        "+++\ntitle = \"Forward mail to another address\"\nsection = \"email\"\nstatus = \"published\"\n+++\nCreate a forwarder under Mail, Forwarders, and test it.\n",
    )
    .unwrap();
    let (code, out, _) = cli(&db, &["kb", "import", dir_arg], "", &[]);
    assert_eq!(code, 0);
    assert!(out.contains("0 created, 1 updated, 1 unchanged"), "{out}");
    assert_eq!(revisions(), 3);

    let server = Server::start(&db);
    let page = server.client().get("/kb/forward-mail-to-another-address");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("and test it"));
}

#[test]
fn kb_import_reports_broken_files_by_file_and_line_and_writes_nothing() {
    let db = TestDb::new();
    assert_eq!(cli(&db, &["migrate"], "", &[]).0, 0);
    let fx = crate::fixtures::Fixtures::new(&db);
    fx.staff("kb_author2");
    fx.kb_section("email", "Email");
    let dir = db.dir.path().join("articles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("good.md"),
        "+++\ntitle = \"A perfectly good article\"\nsection = \"email\"\n+++\nThis one would be fine on its own.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.md"),
        "+++\ntitle = \"Broken front matter\"\nsection = \"email\"\ntags = [\"x\"\n+++\nBody\n",
    )
    .unwrap();
    let dir_arg = dir.to_str().unwrap();
    let (code, out, err) = cli(&db, &["kb", "import", dir_arg], "", &[]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(err.contains("broken.md: line 4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM kb_articles"), 0);

    // Values the knowledge base refuses are reported where they are written.
    std::fs::write(
        dir.join("broken.md"),
        "+++\ntitle = \"Broken slug here\"\nslug = \"Not A Slug\"\nsection = \"nowhere\"\n+++\nBody text that is long enough.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("unknown.md"),
        "+++\ntitle = \"In a section that is not there\"\nsection = \"nowhere\"\n+++\nBody text that is long enough.\n",
    )
    .unwrap();
    let (code, _, err) = cli(&db, &["kb", "import", dir_arg], "", &[]);
    assert_ne!(code, 0);
    assert!(err.contains("broken.md: line 3: slug:"), "{err}");
    assert!(
        err.contains("unknown.md: line 3: section “nowhere” does not exist"),
        "{err}"
    );
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM kb_articles"), 0);
    assert_eq!(
        db.number("SELECT COUNT(*) AS n FROM events WHERE kind = 'kb.article_saved'"),
        0
    );

    let (code, _, err) = cli(&db, &["kb", "import", "/no/such/dir"], "", &[]);
    assert_ne!(code, 0);
    assert!(err.contains("/no/such/dir"), "{err}");
}
