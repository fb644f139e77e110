//! The status page: incidents opened and resolved through the token API show on every page,
//! on /status, in the Statuspage-compatible JSON and in the feeds, on every node; customer
//! reports; maintenance that starts and ends by itself; the staff UI; roles and bad input.

use serde_json::Value;
use townhall::accounts::Role;

use super::fixtures::{Fixtures, assert_shows, assert_status, eventually};
use super::support::{Server, TestDb, assert_well_formed_xml, topic_url};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn json(r: &super::support::Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// Every JSON error has one shape: {"error": {"status", "message"}}.
fn assert_api_error(r: &super::support::Resp, status: u16, needle: &str) {
    assert_status(r, status, needle);
    let v = json(r);
    assert_eq!(v["error"]["status"], status, "{}", r.body);
    let message = v["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

fn is_statuspage_time(v: &Value) -> bool {
    // 2026-12-03T09:15:00.123Z
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.' && s.as_bytes()[10] == b'T'
    })
}

#[test]
fn an_incident_opened_with_a_token_shows_everywhere_and_resolving_it_restores_and_answers() {
    let db = TestDb::new();
    let node_a = Server::start(&db);
    let node_b = Server::start(&db);
    let f = Fixtures::new(&db);
    let admin = f.person("root_admin", Role::Admin);
    let staff = f.staff("sam_staff");
    let reporter = f.member("rita");
    let category = f.category("help", "Help", false);
    let report = f.topic(
        &reporter,
        &category,
        "The API returns 502 for every call",
        "Since 10 minutes every request fails with a 502.",
    );
    let platform = f.status_component("Platform", None, true);
    let api = f.status_component("API", Some(platform), false);
    let web = f.status_component("Web app", Some(platform), false);
    let token = f.status_token(&admin);
    let auth = bearer(&token);

    let anon_a = node_a.client();
    let anon_b = node_b.client();
    assert_shows(&anon_a.get("/status"), "All Systems Operational");
    let summary = anon_b.json("/api/v2/summary.json");
    assert_eq!(summary["status"]["indicator"], "none");

    // A monitor opens the incident, in Statuspage's request shape.
    let body = format!(
        r#"{{"incident": {{"name": "API errors", "status": "investigating", "body": "We see **errors** on the API.", "component_ids": ["{web}"], "components": {{"{api}": "major_outage"}}, "deliver_notifications": true}}}}"#
    );
    let r = anon_a.send_json(
        "POST",
        "/api/status/incidents",
        &body,
        &[("Authorization", &auth)],
    );
    assert_status(&r, 201, "open incident");
    let opened = json(&r);
    let id = opened["id"].as_str().expect("string id").to_string();
    assert_eq!(opened["status"], "investigating");
    assert_eq!(opened["impact"], "critical");
    assert!(
        is_statuspage_time(&opened["created_at"]),
        "{}",
        opened["created_at"]
    );
    let change = &opened["incident_updates"][0]["affected_components"][0];
    assert_eq!(change["code"], api.to_string());
    assert_eq!(change["old_status"], "operational");
    assert_eq!(change["new_status"], "major_outage");

    // On every page of both nodes (visitors' cached pages included), and on /status.
    for anon in [&anon_a, &anon_b] {
        eventually("banner on the home page", || {
            let home = anon.get("/");
            home.body.contains("Ongoing incident") && home.body.contains("API errors")
        });
        eventually("status page shows the outage", || {
            anon.get("/status").body.contains("Major System Outage")
        });
    }
    let topic_page = anon_b.get(&topic_url(&report.slug, report.topic_id));
    assert!(
        topic_page.body.contains("Ongoing incident"),
        "banner on a topic page"
    );

    // The Statuspage v2 API: keys in order, ids as strings, groups listing their components.
    let r = anon_b.get("/api/v2/summary.json");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let order: Vec<usize> = [
        "\"page\"",
        "\"components\"",
        "\"incidents\"",
        "\"scheduled_maintenances\"",
        "\"status\":{",
    ]
    .iter()
    .map(|k| r.body.find(k).unwrap_or_else(|| panic!("{k} missing")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "top-level keys in Statuspage's order"
    );
    let s = json(&r);
    assert_eq!(s["status"]["indicator"], "critical");
    assert_eq!(s["status"]["description"], "Major System Outage");
    assert_eq!(s["page"]["time_zone"], "Etc/UTC");
    assert!(is_statuspage_time(&s["page"]["updated_at"]));
    let group = s["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["group"] == true)
        .expect("group");
    assert_eq!(
        group["components"],
        serde_json::json!([api.to_string(), web.to_string()])
    );
    assert_eq!(
        group["status"], "major_outage",
        "a group shows its worst component"
    );
    let component_keys: Vec<&str> = s["components"][1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
    ] {
        assert!(component_keys.contains(&key), "component field {key}");
    }
    assert_eq!(s["incidents"][0]["id"], id.as_str());
    assert!(s["incidents"][0]["resolved_at"].is_null());
    assert_eq!(
        s["incidents"][0]["incident_updates"][0]["body"],
        "We see **errors** on the API."
    );
    assert_eq!(
        anon_b.json("/api/v2/incidents/unresolved.json")["incidents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        anon_b.json("/api/v2/status.json")["status"]["indicator"],
        "critical"
    );
    let head = anon_b.head("/api/v2/summary.json");
    assert_status(&head, 200, "HEAD like GET");
    assert!(head.body.is_empty());
    let atom = anon_b.get("/status.atom");
    assert_well_formed_xml(&atom.body);
    assert!(atom.body.contains("API errors"));
    assert_eq!(atom.header("access-control-allow-origin"), Some("*"));
    assert_well_formed_xml(&anon_b.get("/history.rss").body);
    assert_status(
        &anon_b.get("/api/v2/nothing.json"),
        404,
        "unknown v2 endpoint",
    );

    let sitemap = anon_b.get("/sitemap-pages.xml").body;
    assert!(
        sitemap.contains(&format!("/status/incidents/{id}")) && sitemap.contains("/status</loc>")
    );
    // Incidents are search documents (in:status narrows to them).
    eventually("search finds the incident", || {
        anon_b
            .get("/search?q=api+errors+in%3Astatus")
            .body
            .contains(&format!("/status/incidents/{id}"))
    });
    // Staff tie the customer's report to it; the next customer is told before posting.
    let staff_c = staff.login(&node_a);
    let r = staff_c.post_with_token(
        &format!("/status/incidents/{id}/topics"),
        &[("topic", &format!("#{}", report.topic_id))],
    );
    assert_status(&r, 303, "link report");
    let other = f.member("oscar").login(&node_a);
    let form = other.get("/new-topic");
    assert_shows(&form, "We are aware of an ongoing incident");
    assert!(
        form.body.contains("affecting API, Web app")
            || form.body.contains("affecting Web app, API"),
        "names the components"
    );
    let r = other.post_with_token(
        &format!("/status/incidents/{id}/follow"),
        &[("next", &format!("/status/incidents/{id}"))],
    );
    assert_status(&r, 303, "follow instead of posting");
    assert_shows(
        &anon_a.get(&format!("/status/incidents/{id}")),
        "1 customer reported this",
    );

    // An update through the API, then the resolution.
    let r = anon_a.send_json(
        "PATCH",
        &format!("/api/status/incidents/{id}"),
        r#"{"incident": {"status": "identified", "body": "A bad deploy; rolling back."}}"#,
        &[("Authorization", &auth)],
    );
    assert_status(&r, 200, "update");
    let r = anon_a.send_json(
        "PATCH",
        &format!("/api/status/incidents/{id}"),
        r#"{"incident": {"status": "resolved", "body": "Rolled back: all calls succeed again."}}"#,
        &[("Authorization", &auth)],
    );
    assert_status(&r, 200, "resolve");
    let resolved = json(&r);
    assert!(resolved["resolved_at"].is_string());
    let restore = resolved["incident_updates"][0]["affected_components"]
        .as_array()
        .unwrap();
    assert!(
        restore
            .iter()
            .any(|c| c["code"].as_str() == Some(api.to_string().as_str())
                && c["new_status"] == "operational")
    );
    for anon in [&anon_a, &anon_b] {
        eventually("banner gone", || {
            !anon.get("/").body.contains("Ongoing incident")
        });
        eventually("components restored", || {
            anon.json("/api/v2/components.json")["components"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["status"] == "operational")
        });
    }
    assert_eq!(
        anon_b.json("/api/v2/status.json")["status"]["indicator"],
        "none"
    );
    // The downtime is in today's bar, the incident in its tip.
    let page = anon_b.get("/status");
    assert!(
        page.body.contains("day st-major_outage"),
        "today's bar shows the outage"
    );
    assert!(page.body.contains("% uptime"));

    // The report got a staff reply; the reporter and the follower are notified once each.
    let thread = staff_c.get(&topic_url(&report.slug, report.topic_id));
    assert_shows(&thread, "The incident behind this report is resolved");
    let rita = reporter.login(&node_a);
    eventually("reporter notified", || {
        rita.get("/notifications")
            .body
            .contains("Resolved: “API errors”")
    });
    let notes = rita.get("/notifications").body;
    assert_eq!(
        notes.matches("API errors").count(),
        1,
        "one notice for the reporter: {notes}"
    );
    eventually("follower notified", || {
        other
            .get("/notifications")
            .body
            .contains("Resolved: “API errors”")
    });

    // Resolved means over: a further update is refused, and nothing is written.
    let before = db.number("SELECT COUNT(*) AS n FROM status_updates");
    let r = anon_a.send_json(
        "PATCH",
        &format!("/api/status/incidents/{id}"),
        r#"{"incident": {"status": "monitoring", "body": "again"}}"#,
        &[("Authorization", &auth)],
    );
    assert_api_error(&r, 409, "takes no more updates");
    assert_eq!(
        db.number("SELECT COUNT(*) AS n FROM status_updates"),
        before
    );
    // Its postmortem is the one update a resolved incident takes.
    let r = anon_a.send_json(
        "PATCH",
        &format!("/api/status/incidents/{id}"),
        r#"{"incident": {"status": "postmortem", "body": "What happened and what we change."}}"#,
        &[("Authorization", &auth)],
    );
    assert_status(&r, 200, "postmortem");
    assert_shows(
        &anon_a.get(&format!("/status/incidents/{id}")),
        "What happened and what we change.",
    );
    // The postmortem becomes a knowledge-base draft in one step (staff only).
    f.kb_section("outages", "Outages");
    let to_kb = format!("/status/incidents/{id}/article");
    assert_status(
        &rita.post_with_token(&to_kb, &[]),
        403,
        "member turns it into an article",
    );
    let r = staff_c.post_with_token(&to_kb, &[]);
    assert_status(&r, 303, "to the KB");
    assert!(
        r.location().starts_with("/kb/what-happened-api-errors"),
        "{}",
        r.location()
    );
    let editor = staff_c.get(r.location());
    assert_shows(&editor, "What happened and what we change.");
    assert!(editor.body.contains("Timeline (UTC)"));
    assert_status(
        &anon_a.get("/kb/what-happened-api-errors"),
        404,
        "a draft until staff publish it",
    );
}

#[test]
fn the_status_api_refuses_bad_input_and_bad_credentials_with_one_error_shape() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let f = Fixtures::new(&db);
    let admin = f.person("root_admin", Role::Admin);
    let member = f.member("mia");
    let api = f.status_component("API", None, false);
    let group = f.status_component("Platform", None, true);
    let token = f.status_token(&admin);
    let auth = bearer(&token);
    let c = server.client();
    let open =
        |body: &str, h: &[(&str, &str)]| c.send_json("POST", "/api/status/incidents", body, h);
    let good = r#"{"incident": {"name": "Down", "body": "x"}}"#;

    let r = open(good, &[]);
    assert_api_error(&r, 401, "Authorization: Bearer");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_api_error(
        &open(good, &[("Authorization", "Bearer th_nonsense")]),
        401,
        "not valid",
    );
    // A token without the scope.
    let scopeless = "th_0000000000000000000000000000000000000000000000000000000000000001";
    let hash = townhall::tokens::hash_token(scopeless);
    db.sql(&format!("INSERT INTO api_tokens (name, token_hash, scopes, created_at) VALUES ('none', '{hash}', '', '2026-01-01 00:00:00')"));
    assert_api_error(
        &open(good, &[("Authorization", &bearer(scopeless))]),
        403,
        "scope",
    );
    // A member's session is not a credential here.
    let m = member.login(&server);
    let r = m.send_json("POST", "/api/status/incidents", good, &[]);
    assert_api_error(&r, 403, "Members cannot");

    // Bad bodies: every one refused with a message, nothing written.
    let h = [("Authorization", auth.as_str())];
    assert_api_error(&open("not json", &h), 400, "not what this API takes");
    assert_api_error(&open(r#"{"name": "no envelope"}"#, &h), 400, "incident");
    assert_api_error(
        &open(r#"{"incident": {"name": 5}}"#, &h),
        400,
        "invalid type",
    );
    assert_api_error(
        &open(r#"{"incident": {"body": "no name"}}"#, &h),
        422,
        "needs a name",
    );
    assert_api_error(
        &open(r#"{"incident": {"name": "x", "status": "exploded"}}"#, &h),
        422,
        "Unknown status “exploded”",
    );
    assert_api_error(
        &open(
            r#"{"incident": {"name": "x", "impact_override": "apocalyptic"}}"#,
            &h,
        ),
        422,
        "Unknown impact",
    );
    assert_api_error(
        &open(
            r#"{"incident": {"name": "x", "components": {"999": "major_outage"}}}"#,
            &h,
        ),
        422,
        "Component 999 does not exist",
    );
    assert_api_error(
        &open(
            &format!(r#"{{"incident": {{"name": "x", "components": {{"{api}": "on_fire"}}}}}}"#),
            &h,
        ),
        422,
        "Unknown status “on_fire”",
    );
    assert_api_error(
        &open(
            &format!(r#"{{"incident": {{"name": "x", "component_ids": ["{group}"]}}}}"#),
            &h,
        ),
        422,
        "is a group",
    );
    assert_api_error(
        &open(
            r#"{"incident": {"name": "Upgrade", "scheduled_for": "2030-01-02T04:00:00Z", "scheduled_until": "2030-01-02T03:00:00Z"}}"#,
            &h,
        ),
        422,
        "must end after it starts",
    );
    assert_api_error(
        &open(
            r#"{"incident": {"name": "Upgrade", "scheduled_for": "tomorrow", "scheduled_until": "2030-01-02T03:00:00Z"}}"#,
            &h,
        ),
        422,
        "is not a time",
    );
    let huge = format!(
        r#"{{"incident": {{"name": "x", "body": "{}"}}}}"#,
        "a".repeat(300 * 1024)
    );
    assert_status(&open(&huge, &h), 413, "oversized body");
    assert_eq!(
        db.number("SELECT COUNT(*) AS n FROM status_incidents"),
        0,
        "nothing half-written"
    );
    assert_eq!(db.number("SELECT COUNT(*) AS n FROM status_updates"), 0);

    let patch = |path: &str, body: &str| c.send_json("PATCH", path, body, &h);
    assert_api_error(
        &patch("/api/status/incidents/77", r#"{"incident": {"body": "x"}}"#),
        404,
        "Incident 77 does not exist",
    );
    assert_api_error(
        &patch(
            "/api/status/components/77",
            r#"{"component": {"status": "major_outage"}}"#,
        ),
        404,
        "Component 77 does not exist",
    );
    assert_api_error(
        &patch(
            &format!("/api/status/components/{api}"),
            r#"{"component": {"status": "sideways"}}"#,
        ),
        422,
        "Unknown component status",
    );
    assert_api_error(
        &patch(
            &format!("/api/status/components/{api}"),
            r#"{"component": {}}"#,
        ),
        400,
        "status",
    );
    assert_api_error(
        &patch(
            &format!("/api/status/components/{group}"),
            r#"{"component": {"status": "major_outage"}}"#,
        ),
        422,
        "is a group",
    );
    // A component set directly, and back.
    let r = patch(
        &format!("/api/status/components/{api}"),
        r#"{"component": {"status": "partial_outage"}}"#,
    );
    assert_status(&r, 200, "set component");
    assert_eq!(json(&r)["status"], "partial_outage");
    eventually("indicator follows the component", || {
        c.json("/api/v2/status.json")["status"]["indicator"] == "major"
    });
    // Revoked tokens stop working.
    let id = db.number("SELECT id AS n FROM api_tokens WHERE name = 'test monitor'");
    townhall::accounts::api_tokens::revoke(
        &townhall::db::Db::connect(&db.url).unwrap(),
        id,
        admin.id,
    )
    .unwrap();
    assert_api_error(
        &patch(
            &format!("/api/status/components/{api}"),
            r#"{"component": {"status": "operational"}}"#,
        ),
        401,
        "revoked",
    );
    assert!(
        db.number("SELECT COUNT(*) AS n FROM api_tokens WHERE last_used_at IS NOT NULL") >= 1,
        "last use recorded"
    );
}

#[test]
fn maintenance_starts_and_ends_by_itself_even_across_a_restart() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let f = Fixtures::new(&db);
    let admin = f.person("root_admin", Role::Admin);
    let databases = f.status_component("Databases", None, false);
    let auth = bearer(&f.status_token(&admin));
    let c = server.client();
    let at = |secs: i64| {
        (chrono::Utc::now() + chrono::TimeDelta::seconds(secs))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    let body = format!(
        r#"{{"incident": {{"name": "Database upgrade", "status": "scheduled", "body": "Read-only for a minute.", "component_ids": ["{databases}"], "scheduled_for": "{}", "scheduled_until": "{}"}}}}"#,
        at(2),
        at(7)
    );
    let r = c.send_json(
        "POST",
        "/api/status/incidents",
        &body,
        &[("Authorization", &auth)],
    );
    assert_status(&r, 201, "schedule");
    let m = json(&r);
    assert_eq!(m["impact"], "maintenance");
    assert!(is_statuspage_time(&m["scheduled_for"]));
    assert_eq!(
        c.json("/api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_shows(&c.get("/status"), "Scheduled maintenance");

    eventually("it starts on time", || {
        c.json("/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"]
            .as_array()
            .is_some_and(|a| a.len() == 1)
    });
    assert_shows(&c.get("/"), "Maintenance in progress");
    assert_eq!(
        c.json("/api/v2/components.json")["components"][0]["status"],
        "under_maintenance"
    );
    assert_eq!(
        c.json("/api/v2/status.json")["status"]["indicator"],
        "maintenance"
    );

    // The node restarts in the middle of the window; the end still comes, once.
    drop(server);
    let server = Server::start(&db);
    let c = server.client();
    super::fixtures::eventually_within(10, "it ends on time after the restart", || {
        c.json("/api/v2/scheduled-maintenances.json")["scheduled_maintenances"][0]["status"]
            == "completed"
    });
    assert_eq!(
        c.json("/api/v2/components.json")["components"][0]["status"],
        "operational"
    );
    assert!(!c.get("/").body.contains("Maintenance in progress"));
    assert_eq!(
        db.number("SELECT COUNT(*) AS n FROM status_updates WHERE status = 'completed'"),
        1,
        "completed once"
    );
}

#[test]
fn staff_run_the_status_page_from_the_web_and_each_role_gets_only_its_tools() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let f = Fixtures::new(&db);
    let admin = f.person("root_admin", Role::Admin).login(&server);
    let staff = f.staff("sam_staff").login(&server);
    let member_p = f.member("mia");
    let member = member_p.login(&server);
    let anon = server.client();

    // Components are the admin's.
    let r = admin.submit(
        "/staff/status/components/new",
        "/staff/status/components",
        &[
            ("name", "Email"),
            ("description", "Sending and receiving"),
            ("position", "1"),
            ("start_date", "2026-01-01"),
        ],
    );
    assert_status(&r, 303, "admin adds a component");
    let email = db.number("SELECT id AS n FROM status_components WHERE name = 'Email'");
    let r = admin.submit(
        "/staff/status/components/new",
        "/staff/status/components",
        &[("name", ""), ("start_date", "soon")],
    );
    assert_status(&r, 422, "bad component form");
    assert!(r.body.contains("Name the component") && r.body.contains("A date like"));
    for (who, c) in [("staff", &staff), ("member", &member)] {
        let r = c.post_with_token("/staff/status/components", &[("name", "Sneaky")]);
        assert_status(&r, 403, &format!("{who} adds a component"));
        assert_status(
            &c.get(&format!("/staff/status/components/{email}")),
            403,
            who,
        );
        assert_status(&c.get("/staff/status/components/new"), 403, who);
        assert_status(
            &c.post_with_token(
                &format!("/staff/status/components/{email}"),
                &[("name", "Renamed")],
            ),
            403,
            &format!("{who} edits a component"),
        );
        assert_status(&c.get("/admin/tokens"), 403, who);
        assert_status(
            &c.post_with_token("/admin/tokens", &[("name", "x"), ("scope_status", "on")]),
            403,
            who,
        );
        assert_status(
            &c.post_with_token("/admin/tokens/1/revoke", &[]),
            403,
            &format!("{who} revokes a token"),
        );
    }
    assert_eq!(
        db.number(&format!(
            "SELECT COUNT(*) AS n FROM status_components WHERE id = {email} AND name = 'Email'"
        )),
        1,
        "nothing renamed"
    );
    // Visitors are sent to log in from every staff and member action.
    for path in [
        "/staff/status/incidents",
        "/staff/status/components",
        "/status/subscribe",
        "/admin/tokens",
    ] {
        let r = anon.post_with_token(path, &[("name", "x")]);
        assert_eq!(r.status, 303, "{path}: {}", r.body);
        assert!(
            r.location().starts_with("/login"),
            "{path} → {}",
            r.location()
        );
    }
    assert_status(&member.get("/staff/status"), 403, "member manage page");
    assert_status(
        &member.post_with_token("/staff/status/incidents", &[("name", "Fake outage")]),
        403,
        "member opens",
    );
    assert_status(
        &member.post_with_token("/staff/status/maintenance", &[("name", "Fake")]),
        403,
        "member schedules",
    );
    assert_eq!(
        anon.get("/staff/status").status,
        303,
        "visitors are sent to log in"
    );

    // A member subscribes to status notices.
    assert_status(
        &member.post_with_token("/status/subscribe", &[("on", "1")]),
        303,
        "subscribe",
    );
    assert_status(
        &member.post_with_token("/status/subscribe", &[("on", "maybe")]),
        400,
        "bad subscribe",
    );

    // Staff open an incident from the form and post updates.
    let field = format!("c_{email}");
    let r = staff.submit(
        "/staff/status",
        "/staff/status/incidents",
        &[
            ("name", "Delayed email"),
            ("status", "investigating"),
            ("impact_override", ""),
            ("body", "Mail is queued."),
            (&field, "partial_outage"),
        ],
    );
    assert_status(&r, 303, "staff open");
    let path = r.location().to_string();
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let r = staff.submit(
        "/staff/status",
        "/staff/status/incidents",
        &[
            ("name", ""),
            ("status", "investigating"),
            (&field, "on_fire"),
        ],
    );
    assert_status(&r, 422, "bad incident form");
    assert!(
        r.body.contains("Give the incident a name") && r.body.contains("Unknown status “on_fire”")
    );
    assert_status(
        &member.post_with_token(
            &format!("{path}/updates"),
            &[("status", "resolved"), ("body", "no")],
        ),
        403,
        "member updates",
    );
    assert_status(
        &member.post_with_token(&format!("{path}/topics"), &[("topic", "1")]),
        403,
        "member links",
    );
    let r = staff.submit(
        &path,
        &format!("{path}/updates"),
        &[
            ("status", "monitoring"),
            ("body", "A fix is out."),
            (&field, "degraded_performance"),
        ],
    );
    assert_status(&r, 303, "update");
    let r = staff.submit(
        &path,
        &format!("{path}/updates"),
        &[("status", "monitoring"), ("body", "")],
    );
    assert_status(&r, 422, "an update that says nothing");
    assert!(r.body.contains("Say what changed"));
    let page = anon.get(&path);
    assert_shows(&page, "A fix is out.");
    assert!(
        page.body.contains("Partial outage → Degraded performance"),
        "changes shown"
    );
    eventually("subscriber notified", || {
        member
            .get("/notifications")
            .body
            .contains("On our status page: “Delayed email”")
    });
    let r = staff.submit(
        &path,
        &format!("{path}/updates"),
        &[("status", "resolved"), ("body", "Delivered.")],
    );
    assert_status(&r, 303, "resolve");
    assert_eq!(
        db.number(&format!(
            "SELECT COUNT(*) AS n FROM status_incidents WHERE id = {id} AND resolved_at IS NOT NULL"
        )),
        1
    );
    assert_eq!(db.number(&format!("SELECT COUNT(*) AS n FROM status_components WHERE id = {email} AND status = 'operational'")), 1);

    // Maintenance from the form; a window that ends before it starts is refused.
    let r = staff.submit(
        "/staff/status",
        "/staff/status/maintenance",
        &[
            ("title", "Mail server move"),
            ("scheduled_for", "2030-05-01T03:00"),
            ("scheduled_until", "2030-05-01T02:00"),
            ("details", ""),
        ],
    );
    assert_status(&r, 422, "backwards window");
    assert!(r.body.contains("must end after it starts"));
    let m = format!("m_{email}");
    let r = staff.submit(
        "/staff/status",
        "/staff/status/maintenance",
        &[
            ("title", "Mail server move"),
            ("scheduled_for", "2030-05-01T02:00"),
            ("scheduled_until", "2030-05-01T03:00"),
            ("details", "Mail waits an hour."),
            (&m, "1"),
        ],
    );
    assert_status(&r, 303, "schedule");
    assert_shows(&anon.get("/status"), "Mail server move");

    // History by month; bad months and ids are clear errors.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert_shows(
        &anon.get(&format!("/status/history?month={month}")),
        "Delayed email",
    );
    assert_status(
        &anon.get("/status/history?month=last-tuesday"),
        400,
        "bad month",
    );
    assert_status(&anon.get("/status/incidents/abc"), 404, "bad id");
    assert_status(&anon.get("/status/incidents/999"), 404, "missing incident");

    // API tokens from the admin page: shown once, revocable.
    let r = admin.submit(
        "/admin/tokens",
        "/admin/tokens",
        &[("name", "uptime monitor"), ("scope_status", "on")],
    );
    assert_shows(&r, "shown only once");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let start = r.body.find("th_").expect("token shown");
    let token = &r.body[start..start + 67];
    let list = admin.get("/admin/tokens");
    assert!(!list.body.contains(token), "never shown again");
    let ok = anon.send_json(
        "PATCH",
        &format!("/api/status/components/{email}"),
        r#"{"component": {"status": "operational"}}"#,
        &[("Authorization", &bearer(token))],
    );
    assert_status(&ok, 200, "the new token works");
    let r = admin.submit("/admin/tokens", "/admin/tokens", &[("name", "")]);
    assert_status(&r, 422, "token without a name or scope");
    let token_id = db.number("SELECT id AS n FROM api_tokens WHERE name = 'uptime monitor'");
    assert_status(
        &admin.submit(
            "/admin/tokens",
            &format!("/admin/tokens/{token_id}/revoke"),
            &[],
        ),
        303,
        "revoke",
    );
    let gone = anon.send_json(
        "PATCH",
        &format!("/api/status/components/{email}"),
        r#"{"component": {"status": "operational"}}"#,
        &[("Authorization", &bearer(token))],
    );
    assert_status(&gone, 401, "revoked");
}

#[test]
fn resolving_one_of_two_incidents_leaves_the_component_to_the_other_and_hidden_components_appear_when_degraded()
 {
    let db = TestDb::new();
    let server = Server::start(&db);
    let f = Fixtures::new(&db);
    let admin = f.person("root_admin", Role::Admin);
    let api = f.status_component("API", None, false);
    let admin_c = admin.login(&server);
    let r = admin_c.submit(
        "/staff/status/components/new",
        "/staff/status/components",
        &[("name", "Legacy v1 API"), ("only_show_if_degraded", "on")],
    );
    assert_status(&r, 303, "hidden component");
    let legacy = db.number("SELECT id AS n FROM status_components WHERE name = 'Legacy v1 API'");
    let auth = bearer(&f.status_token(&admin));
    let c = server.client();
    let h = [("Authorization", auth.as_str())];
    let open = |name: &str, status: &str, component: i64| {
        let body = format!(
            r#"{{"incident": {{"name": "{name}", "components": {{"{component}": "{status}"}}}}}}"#
        );
        let r = c.send_json("POST", "/api/status/incidents", &body, &h);
        assert_status(&r, 201, name);
        json(&r)["id"].as_str().unwrap().to_string()
    };
    let components = || c.json("/api/v2/components.json")["components"].clone();
    let status_of = |id: i64| {
        components()
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"].as_str() == Some(id.to_string().as_str()))
            .map(|x| x["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(
        !c.get("/status").body.contains("Legacy v1 API"),
        "hidden while operational"
    );

    let outage = open("API outage", "major_outage", api);
    let _slow = open("Slow API in one region", "degraded_performance", api);
    assert_eq!(
        status_of(api),
        "degraded_performance",
        "the latest change wins while both run"
    );
    let r = c.send_json(
        "PATCH",
        &format!("/api/status/incidents/{outage}"),
        r#"{"incident": {"status": "resolved", "body": "Fixed."}}"#,
        &h,
    );
    assert_status(&r, 200, "resolve the outage");
    assert_eq!(
        status_of(api),
        "degraded_performance",
        "still degraded: the other incident is open"
    );
    assert_eq!(
        c.json("/api/v2/status.json")["status"]["indicator"],
        "minor"
    );
    assert_eq!(
        c.json("/api/v2/incidents/unresolved.json")["incidents"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // The hidden component shows while it is not operational.
    open("Legacy API errors", "partial_outage", legacy);
    eventually("hidden component shown while degraded", || {
        c.get("/status").body.contains("Legacy v1 API")
    });
}
