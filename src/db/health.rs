//! Whether the database is reachable, and how the pool behaves while it is not.
//!
//! A failed attempt to open a connection marks the database down ("down since …"). While it
//! is down, [`super::Db::conn`] answers [`crate::error::AppError::Unavailable`] at once
//! instead of holding a worker thread for the pool's timeout, and one background probe starts
//! an attempt to connect every [`PROBE_EVERY`]; the first that succeeds marks the database up
//! again, so service resumes within about that long after the database returns. A checkout that merely
//! waits because every connection is busy says nothing about the database and changes
//! nothing here: only a failed connection attempt does.
//!
//! Connections that died while idle in the pool (the database restarted, the network dropped
//! them) are weeded out by checking checkouts with `SELECT 1`, but only for a while after a
//! connection was found lost or the database came back; the rest of the time a checkout
//! costs no round trip.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::Backend;

/// How often the probe tries to connect while the database is down.
pub const PROBE_EVERY: Duration = Duration::from_millis(50);
/// Attempts of the probe that may be under way at once: one that hangs (a lost packet, a slow
/// handshake: libpq gives up only after its connect timeout, 2 s at the least) must not hold
/// up noticing that the database is back.
const PROBES_AT_ONCE: usize = 3;
/// How long checkouts are checked after a connection was found lost or the database came back.
const CHECK_CHECKOUTS_FOR: Duration = Duration::from_secs(10);
/// How `Unavailable` errors refused during a known outage begin (see `is_outage`).
const OUTAGE: &str = "the database has been unreachable";

/// True for the error of a request refused at once because the database is known to be
/// down: the outage is logged once, so each of these needs no warning of its own.
pub fn is_outage(error: &str) -> bool {
    error.starts_with(OUTAGE)
}

#[derive(Debug)]
pub struct Health {
    pub backend: Backend,
    /// The URL connections are opened with (the probe opens its own).
    pub url: String,
    base: Instant,
    down: AtomicBool,
    /// Checkouts are checked until this many milliseconds after `base`.
    check_until_ms: AtomicU64,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    down_since: Option<Instant>,
    last_error: String,
    /// Counts outages; each has its own probe, which stops when its outage is over.
    outage: u64,
}

impl Health {
    pub fn new(backend: Backend, url: String) -> Arc<Health> {
        Arc::new(Health {
            backend,
            url,
            base: Instant::now(),
            down: AtomicBool::new(false),
            check_until_ms: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// True while the last attempt to connect failed and the probe has not connected since.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Whether a checkout should prove its connection alive before it is used.
    pub fn check_checkouts(&self) -> bool {
        self.is_down() || self.now_ms() < self.check_until_ms.load(Ordering::Relaxed)
    }

    /// A connection was found lost: its siblings in the pool may be dead too.
    pub fn suspect(&self) {
        let until = self.now_ms() + CHECK_CHECKOUTS_FOR.as_millis() as u64;
        self.check_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// For logs and error details: since when and why the database is unreachable.
    pub fn describe(&self) -> String {
        let s = self.lock();
        match s.down_since {
            Some(since) => format!(
                "{OUTAGE} for {:.1} s: {}",
                since.elapsed().as_secs_f64(),
                s.last_error
            ),
            None => "the database is reachable".into(),
        }
    }

    /// Waits at most `timeout` for the database to be up; true when it is.
    pub fn wait_up(&self, timeout: Duration) -> bool {
        let s = self.lock();
        let (s, _) = self
            .changed
            .wait_timeout_while(s, timeout, |s| s.down_since.is_some())
            .unwrap_or_else(|p| p.into_inner());
        s.down_since.is_none()
    }

    /// An attempt to connect failed: the database is down until the probe connects.
    pub fn mark_down(self: &Arc<Self>, error: &str) {
        let error = super::one_line(error);
        let mut s = self.lock();
        if s.down_since.is_none() {
            s.outage += 1;
            let (health, outage) = (Arc::downgrade(self), s.outage);
            let started = std::thread::Builder::new()
                .name("db-probe".into())
                .spawn(move || probe(health, outage));
            if let Err(e) = started {
                // Nothing would clear the state: keep waiting on the pool instead.
                tracing::error!(error = %e, "could not start the database probe");
                return;
            }
            s.down_since = Some(Instant::now());
            self.down.store(true, Ordering::Release);
            tracing::warn!(
                error,
                "cannot reach the database: answering 503 at once until it is back"
            );
        }
        s.last_error = error;
    }

    /// Whether `outage` is still going on.
    fn is_current(&self, outage: u64) -> bool {
        let s = self.lock();
        s.outage == outage && s.down_since.is_some()
    }

    fn mark_up(&self, outage: u64) {
        let mut s = self.lock();
        if s.outage != outage {
            return; // a late attempt of an earlier outage
        }
        if let Some(since) = s.down_since.take() {
            // Connections pooled before the outage are most likely dead.
            self.suspect();
            self.down.store(false, Ordering::Release);
            tracing::warn!(
                down_ms = since.elapsed().as_millis() as u64,
                "the database is reachable again"
            );
        }
        self.changed.notify_all();
    }

    fn note_error(&self, error: &str) {
        self.lock().last_error = super::one_line(error);
    }
}

/// The probe: one thread per outage, starting an attempt to connect every `PROBE_EVERY`
/// (each on its own short-lived thread, at most `PROBES_AT_ONCE` under way) until one
/// succeeds, or the database handle is gone.
fn probe(health: Weak<Health>, outage: u64) {
    let under_way = Arc::new(AtomicUsize::new(0));
    loop {
        std::thread::sleep(PROBE_EVERY);
        match health.upgrade() {
            Some(h) if h.is_current(outage) => {}
            _ => return,
        }
        if under_way.load(Ordering::Acquire) >= PROBES_AT_ONCE {
            continue;
        }
        under_way.fetch_add(1, Ordering::AcqRel);
        let (h, counter) = (health.clone(), under_way.clone());
        let spawned = std::thread::Builder::new()
            .name("db-probe-attempt".into())
            .spawn(move || attempt(&h, outage, &counter));
        if spawned.is_err() {
            attempt(&health, outage, &under_way);
        }
    }
}

fn attempt(health: &Weak<Health>, outage: u64, under_way: &AtomicUsize) {
    if let Some(health) = health.upgrade() {
        match super::establish(health.backend, &health.url) {
            Ok(conn) => {
                drop(conn);
                health.mark_up(outage);
            }
            Err(e) => health.note_error(&e.to_string()),
        }
    }
    under_way.fetch_sub(1, Ordering::AcqRel);
}

thread_local! {
    /// Set while a lost connection is handed back, so that the pool drops it.
    static DISCARD: Cell<bool> = const { Cell::new(false) };
}

/// Hands a connection back so that the pool closes it instead of keeping it. (diesel's
/// `is_broken` says a lost PostgreSQL connection is broken only when the loss was noticed
/// while executing a statement; noticed while preparing one the connection had not cached
/// yet, it looks healthy and would be pooled again: see the test below.)
pub fn discard(conn: super::Conn) {
    DISCARD.with(|d| d.set(true));
    drop(conn); // r2d2 asks `Manager::has_broken`, on this thread, right here
    DISCARD.with(|d| d.set(false));
}

/// For `Manager::has_broken`: whether the connection being handed back is to be discarded.
pub fn discarding() -> bool {
    DISCARD.with(|d| d.get())
}

/// r2d2 reports every failed attempt to connect (and every dead connection found on
/// checkout); the outage itself is logged once, by `Health`.
#[derive(Debug)]
pub struct QuietErrors;

impl diesel::r2d2::HandleError<diesel::ConnectionError> for QuietErrors {
    fn handle_error(&self, error: diesel::ConnectionError) {
        tracing::debug!(error = %error, "database connection attempt failed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use diesel::prelude::*;

    use super::super::{Db, DbConn, is_connection_error};

    fn backend_pid(c: &mut DbConn) -> QueryResult<i32> {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
            "pg_backend_pid()",
        ))
        .get_result(c)
    }

    /// Ends the server process of a connection and waits until it is gone.
    fn terminate(admin: &mut PgConnection, pid: i32) {
        diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
            .execute(admin)
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alive: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                &format!("(SELECT count(*) FROM pg_stat_activity WHERE pid = {pid})"),
            ))
            .get_result(admin)
            .unwrap();
            if alive == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "backend {pid} did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A statement this connection has not prepared before: diesel prepares (and caches) it.
    fn fresh_statement(c: &mut DbConn) -> QueryResult<chrono::NaiveDateTime> {
        diesel::select(diesel::dsl::now).get_result(c)
    }

    /// PostgreSQL only (TOWNHALL_TEST_DATABASE=postgres://USER@HOST:PORT).
    #[test]
    fn a_lost_connection_leaves_the_pool_and_its_work_is_redone_when_safe() {
        let Some(server) = std::env::var("TOWNHALL_TEST_DATABASE")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            return;
        };
        let url = format!("{}/postgres", server.trim_end_matches('/'));
        let mut admin = PgConnection::establish(&url).unwrap();

        // diesel by itself: whether a connection lost outside a transaction counts as broken
        // depends on where the loss is noticed. Executing a statement updates the transaction
        // state from libpq ("unknown": broken); preparing a statement new to the connection
        // fails before that update, and the dead connection would go back to the pool.
        for prepared in [false, true] {
            let mut raw = DbConn::Postgres(PgConnection::establish(&url).unwrap());
            let pid = backend_pid(&mut raw).unwrap();
            terminate(&mut admin, pid);
            let err = if prepared {
                fresh_statement(&mut raw).unwrap_err()
            } else {
                backend_pid(&mut raw).unwrap_err()
            };
            assert!(is_connection_error(&err), "{err:?}");
            let as_app_error = crate::error::AppError::from(err);
            assert!(
                matches!(as_app_error, crate::error::AppError::Unavailable(_)),
                "a lost connection is a 503: {as_app_error:?}"
            );
            let broken = diesel::r2d2::R2D2Connection::is_broken(&mut raw);
            eprintln!("lost while preparing: {prepared}; diesel calls it broken: {broken}");
        }

        let db = Db::connect(&url).unwrap();
        let pool = &db.inner.pool;
        // `discard` closes the connection instead of pooling it again.
        let conn = db.conn().unwrap();
        assert_eq!(pool.state().connections, 1);
        super::discard(conn);
        assert_eq!(
            pool.state().connections,
            0,
            "a discarded connection was pooled"
        );
        let first = db.read_sync(|c| Ok(backend_pid(c)?)).unwrap();
        assert_eq!(pool.state().connections, 1);

        // A read on the dead connection is run again on a fresh one; the dead one is dropped
        // (noticed while preparing, so diesel alone would have pooled it again).
        terminate(&mut admin, first);
        let second = db
            .read_sync(|c| {
                fresh_statement(c)?;
                Ok(backend_pid(c)?)
            })
            .unwrap();
        assert_ne!(first, second);
        assert_eq!(
            pool.state().connections,
            1,
            "the lost connection was pooled again"
        );
        assert!(
            !db.inner.health.is_down(),
            "a lost connection is not an outage"
        );

        // A write whose BEGIN fails (nothing sent yet) is tried once more on a fresh connection.
        db.inner.health.check_until_ms.store(0, Ordering::Relaxed); // no checks on checkout
        terminate(&mut admin, second);
        let third = db.write_sync(|c| Ok(backend_pid(c)?)).unwrap();
        assert_ne!(second, third);
        assert_eq!(pool.state().connections, 1);

        // A write that loses its connection after BEGIN is not repeated: 503.
        let mut calls = 0;
        let result = db.write_sync(|c| {
            calls += 1;
            terminate(&mut admin, backend_pid(c)?);
            Ok(backend_pid(c)?)
        });
        assert_eq!(calls, 1);
        assert!(
            matches!(result, Err(crate::error::AppError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(
            pool.state().connections,
            0,
            "the lost connection was pooled again"
        );

        // A read that fails on the fresh connection too is a 503, not a 500.
        let mut calls = 0;
        let result = db.read_sync(|c| {
            calls += 1;
            terminate(&mut admin, backend_pid(c)?);
            Ok(backend_pid(c)?)
        });
        assert_eq!(calls, 2, "a read is tried twice, no more");
        assert!(
            matches!(result, Err(crate::error::AppError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(
            pool.state().connections,
            0,
            "both lost connections were dropped"
        );
    }
}
