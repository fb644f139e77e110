//! Timers: "when X is due, do Y" runs once across nodes, from database state.

use std::time::{Duration, Instant};

use crate::support::{Server, TestDb, cli};

#[test]
fn two_nodes_expire_old_sessions_once_between_them() {
    let db = TestDb::new();
    let (code, _, err) = cli(&db, &["migrate"], "", &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(
        &db,
        &[
            "admin",
            "create-user",
            "--username",
            "sched_admin",
            "--email",
            "sched@example.com",
            "--role",
            "admin",
        ],
        "a long enough secret\n",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    for (token, expires) in [
        ("expired-1", "2020-01-01 00:00:00"),
        ("expired-2", "2021-06-01 00:00:00"),
        ("live", "2999-01-01 00:00:00"),
    ] {
        db.sql(&format!(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ('{token}', (SELECT MIN(id) FROM users), 'csrf', '2020-01-01 00:00:00', '{expires}')"
        ));
    }
    // Two nodes start together: each sets up the hourly job and looks for due runs.
    let node_a = Server::start(&db);
    let node_b = Server::start(&db);
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.number("SELECT COUNT(*) AS n FROM sessions WHERE expires_at < '2022-01-01'") > 0 {
        assert!(
            Instant::now() < deadline,
            "expired sessions were not removed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500)); // both nodes have polled again
    assert_eq!(
        db.number("SELECT COUNT(*) AS n FROM sessions WHERE token_hash = 'live'"),
        1,
        "a live session stays"
    );
    assert_eq!(
        db.number("SELECT COUNT(*) AS n FROM events WHERE kind = 'sessions.expired'"),
        1,
        "one run between the two nodes"
    );
    assert_eq!(
        db.number(
            "SELECT COUNT(*) AS n FROM scheduled_jobs WHERE kind = 'sessions.expire' AND done_at IS NULL"
        ),
        1,
        "the next hourly run is pending, once"
    );
    drop((node_a, node_b));
}
