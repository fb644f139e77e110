//! The only place that talks SQL: the connection pool, the backend switch and the
//! queries both backends share (one file per table family below).

pub mod api_tokens;
pub mod changelog;
pub mod events;
pub mod forum;
pub mod ideas;
pub mod kb;
pub mod notifications;
pub mod related;
pub mod scheduler;
pub mod schema;
pub mod search;
pub mod settings;
pub mod status;
pub mod users;

mod health;

pub use health::is_outage;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A multi-row `INSERT` (which diesel's `MultiConnection` cannot express) on whichever
/// engine `conn` is; `?` on the result, inside a function returning `AppError`.
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $values:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite(c) => {
                diesel::insert_into($table).values($values).execute(c)?
            }
            $crate::db::DbConn::Postgres(c) => {
                diesel::insert_into($table).values($values).execute(c)?
            }
        }
    };
}
pub(crate) use bulk_insert;

/// `INSERT … ON CONFLICT DO NOTHING`, evaluating to the number of rows inserted (0 when the
/// row was there already, even if another transaction put it there a moment ago). Written
/// per engine like [`bulk_insert`]: diesel's connection over both does not build it.
macro_rules! insert_or_ignore {
    ($conn:expr, $table:expr, $values:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c)?,
            $crate::db::DbConn::Postgres(c) => diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c)?,
        }
    };
}
pub(crate) use insert_or_ignore;

/// One connection type over both engines; queries written against it run on either.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the engine from the URL scheme; anything else is a configuration error.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                Err("sqlite:// needs a file path, e.g. sqlite://data/townhall.db".into())
            } else {
                Ok(Backend::Sqlite)
            }
        } else {
            Err(format!(
                "{url:?} is neither sqlite://PATH nor postgres://USER@HOST/DB"
            ))
        }
    }
}

/// Opens one connection of the given engine, outside the pool (the pool's manager and the
/// outage probe both use it).
fn establish(backend: Backend, url: &str) -> Result<DbConn, diesel::ConnectionError> {
    match backend {
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(url)?;
            conn.set_instrumentation(QueryCounter);
            Ok(DbConn::Postgres(conn))
        }
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path)?;
            conn.set_instrumentation(QueryCounter);
            // WAL lets readers run beside the single writer; the busy timeout covers
            // other processes (a second node in tests, the CLI) holding the write lock.
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                 PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
            )
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Opens connections of the configured engine. Written by hand rather than using
/// diesel's generic manager, whose multi-connection `establish` would try every engine in turn.
#[derive(Debug)]
pub struct Manager {
    health: Arc<health::Health>,
}

/// While the database is down, how long the pool's own attempt to connect waits for the
/// probe to see it back before failing. Long: a failed attempt is retried by r2d2 only after
/// a growing delay (up to half the pool timeout), during which its slot cannot be refilled,
/// and nobody waits on these attempts (requests fail fast meanwhile).
const WAIT_FOR_PROBE: Duration = Duration::from_secs(30);
/// A failed attempt to connect that took less than this is tried again before the database
/// is declared down.
const CONFIRM_FAILURES_FASTER_THAN: Duration = Duration::from_millis(500);

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        let health = &self.health;
        // r2d2 retries a failed attempt after up to half its timeout: waiting for the probe
        // instead lets the pool fill again as soon as the database is back.
        if health.is_down() && !health.wait_up(WAIT_FOR_PROBE) {
            return Err(diesel::ConnectionError::BadConnection(health.describe()));
        }
        let started = Instant::now();
        let first = match establish(health.backend, &health.url) {
            Ok(conn) => return Ok(conn),
            Err(e) => e,
        };
        // One failure may be a glitch (a connection dropped mid-handshake): a quick one is
        // cheap to confirm; a slow one (a timeout) is conclusive already.
        let error = if started.elapsed() < CONFIRM_FAILURES_FASTER_THAN {
            match establish(health.backend, &health.url) {
                Ok(conn) => return Ok(conn),
                Err(e) => e,
            }
        } else {
            first
        };
        health.mark_down(&error.to_string());
        Err(error)
    }

    /// Checks run only while pooled connections are suspect (see `health`).
    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        if !self.health.check_checkouts() {
            return Ok(());
        }
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        health::discarding() || conn.is_broken()
    }
}

/// How long a request waits for a connection while all are busy (the database is fine).
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// While waiting for a busy pool, how often to look whether the database went down meanwhile.
const NOTICE_DOWN_EVERY: Duration = Duration::from_millis(50);
/// libpq otherwise waits as long as the operating system does for a host that does not answer.
const CONNECT_TIMEOUT_SECS: u32 = 2;

/// The PostgreSQL URL with a `connect_timeout`, unless it names one.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={CONNECT_TIMEOUT_SECS}")
}

/// libpq's messages span lines (with tabs); logs want one.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when `e` says the connection itself is gone (the server closed it, restarted or
/// cannot be reached) rather than that the statement failed: the request may succeed on
/// another connection, and the person should hear "try again" (503), not "our bug" (500).
pub fn is_connection_error(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    const LOST: &[&str] = &[
        "server closed the connection",
        "terminating connection",
        "connection to server was lost",
        "no connection to the server",
        "could not send data to server",
        "could not receive data from server",
        "ssl connection has been closed",
        "connection reset by peer",
        "broken pipe",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
    ];
    match e {
        Error::BrokenTransactionManager => true,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            LOST.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

pub type Conn = PooledConnection<Manager>;

/// The database handle shared by the web layer, the CLI and the event followers.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    pool: Pool<Manager>,
    backend: Backend,
    health: Arc<health::Health>,
    /// SQLite allows one writer: queueing writers here instead of in SQLite's busy
    /// handler (which backs off in sleeps) keeps write latency flat. Unused on PostgreSQL.
    sqlite_writer: Mutex<()>,
}

impl Db {
    pub fn connect(url: &str) -> anyhow::Result<Db> {
        let backend = Backend::from_url(url).map_err(anyhow::Error::msg)?;
        if backend == Backend::Sqlite {
            let path = std::path::Path::new(url.trim_start_matches("sqlite://"));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("cannot create database directory {}: {e}", dir.display())
                })?;
            }
        }
        let max_size = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let connect_url = match backend {
            Backend::Postgres => with_connect_timeout(url),
            Backend::Sqlite => url.to_string(),
        };
        let health = health::Health::new(backend, connect_url);
        let pool = Pool::builder()
            .max_size(max_size)
            // Connections open on demand: a background thread opening one while a short CLI
            // command exits crashed libpq's TLS cleanup now and then.
            .min_idle(Some(0))
            .connection_timeout(POOL_TIMEOUT)
            // `Manager::is_valid` sends "SELECT 1" only for a while after a connection was
            // found lost or the database came back; otherwise a checkout costs no round trip.
            .test_on_check_out(true)
            .error_handler(Box::new(health::QuietErrors))
            .build(Manager {
                health: health.clone(),
            })
            .map_err(|e| anyhow::anyhow!("cannot open the database at {url}: {e}"))?;
        Ok(Db {
            inner: Arc::new(DbInner {
                pool,
                backend,
                health,
                sqlite_writer: Mutex::new(()),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Applies pending migrations; returns the names of those applied.
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self.conn_patiently(POOL_TIMEOUT).map_err(|e| match e {
            AppError::Unavailable(detail) => anyhow::anyhow!("cannot reach the database: {detail}"),
            e => e.into(),
        })?;
        let applied = match &mut *conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    }

    /// A pooled connection. While the database is known to be down this answers
    /// `Unavailable` at once (an idle connection that still answers is used, should the
    /// database refuse only new ones); otherwise it waits up to `POOL_TIMEOUT` for a busy pool.
    pub fn conn(&self) -> Result<Conn, AppError> {
        self.checkout(POOL_TIMEOUT)
    }

    /// `conn`, but while the database is down it waits up to `timeout` for it to come back:
    /// for start-up and the CLI (the database may be starting too), where no page waits.
    fn conn_patiently(&self, timeout: Duration) -> Result<Conn, AppError> {
        let started = Instant::now();
        loop {
            match self.conn() {
                Err(AppError::Unavailable(_))
                    if self.inner.health.is_down() && started.elapsed() < timeout =>
                {
                    self.inner
                        .health
                        .wait_up(timeout.saturating_sub(started.elapsed()));
                }
                other => return other,
            }
        }
    }

    fn checkout(&self, timeout: Duration) -> Result<Conn, AppError> {
        let started = Instant::now();
        let health = &self.inner.health;
        loop {
            if health.is_down() {
                return self
                    .inner
                    .pool
                    .try_get()
                    .ok_or_else(|| AppError::Unavailable(health.describe()));
            }
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(AppError::Unavailable(format!(
                    "no database connection came free within {timeout:?}"
                )));
            }
            if let Ok(conn) = self.inner.pool.get_timeout(left.min(NOTICE_DOWN_EVERY)) {
                return Ok(conn);
            }
        }
    }

    /// Throws away a connection found lost, and has the pool check the others on their next
    /// checkout: they may have died with it.
    fn lost(&self, conn: Conn, error: &str) {
        tracing::warn!(
            error = one_line(error),
            "lost a database connection; it is replaced"
        );
        self.inner.health.suspect();
        health::discard(conn);
    }

    /// True when the database answers a trivial query within `timeout` (at once false
    /// while it is known to be down).
    pub fn ping(&self, timeout: Duration) -> bool {
        self.read_within(timeout, |c| Ok(c.batch_execute("SELECT 1")?))
            .is_ok()
    }

    /// Runs `f` in one transaction. Every write goes through here so that its rows and
    /// its event commit together, and so that SQLite writers queue in-process.
    ///
    /// A connection that died while idle fails at `BEGIN`, before anything was sent: then a
    /// fresh connection is tried once. A connection lost later is not retried (the write may
    /// have committed and must not be applied twice): the caller gets `Unavailable`.
    pub fn write_sync<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let backend = self.inner.backend;
        let mut conn = self.conn()?;
        let _writer = (backend == Backend::Sqlite).then(|| {
            self.inner
                .sqlite_writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        });
        if let Err(e) = begin_transaction(&mut conn) {
            if backend == Backend::Sqlite || !is_connection_error(&e) {
                return Err(e.into());
            }
            self.lost(conn, &e.to_string());
            conn = self.conn()?;
            begin_transaction(&mut conn)?;
        }
        let result = finish_transaction(&mut conn, f);
        if let Err(AppError::Unavailable(error)) = &result {
            self.lost(conn, error);
        }
        result
    }

    /// Runs `f` on a pooled connection. When that connection turns out to be lost (the
    /// database restarted, the network dropped it), it is thrown away and `f` runs once more
    /// on a fresh one: a read is safe to repeat.
    pub fn read_sync<T>(
        &self,
        f: impl FnMut(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.read_within(POOL_TIMEOUT, f)
    }

    fn read_within<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.checkout(timeout)?;
        match f(&mut conn) {
            Err(AppError::Unavailable(error)) => {
                self.lost(conn, &error);
                let mut conn = self.checkout(timeout)?;
                let result = f(&mut conn);
                if let Err(AppError::Unavailable(error)) = &result {
                    self.lost(conn, error);
                }
                result
            }
            result => result,
        }
    }
}

/// Opens the transaction of a write. SQLite's default `BEGIN` is deferred: a transaction
/// that reads first and writes later can fail with SQLITE_BUSY when another process wrote
/// meanwhile, without waiting. `BEGIN IMMEDIATE` takes the write lock up front, so the busy
/// timeout applies.
fn begin_transaction(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
        }
        DbConn::Postgres(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn),
    }
}

/// Runs `f` in the transaction `begin_transaction` opened, then commits (or rolls back).
fn finish_transaction<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    match f(conn) {
        Ok(value) => {
            if let Err(e) = <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// The current time as stored in the database: UTC, microsecond precision on both engines.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    // PostgreSQL keeps microseconds; truncate so values read back compare equal.
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

/// True when `e` is a unique-constraint violation (a concurrent duplicate insert).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Makes a check-then-write sequence atomic among writers that call this too (for example
/// "no admin exists yet, so create one"). SQLite writers are already serialised by
/// `BEGIN IMMEDIATE`; on PostgreSQL a transaction-scoped advisory lock does it.
pub fn serialize_writers(conn: &mut DbConn) -> Result<(), AppError> {
    advisory_lock(conn, SERIAL_WRITERS_LOCK)
}

/// Advisory lock keys (PostgreSQL): one per thing that must not interleave.
pub const EVENT_ORDER_LOCK: i64 = 7_411_000_001;
pub const SERIAL_WRITERS_LOCK: i64 = 7_411_000_002;
pub const NOTIFIER_LOCK: i64 = 7_411_000_003;
pub const RELATED_LOCK: i64 = 7_411_000_004;
pub const SCHEDULER_LOCK: i64 = 7_411_000_005;

/// Transaction-scoped lock on PostgreSQL (no-op on SQLite, where writers are serial).
pub fn advisory_lock(conn: &mut DbConn, key: i64) -> Result<(), AppError> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})")).execute(pg)?;
    }
    Ok(())
}

thread_local! {
    static QUERIES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts the statements each connection runs, per thread, so that a page can show (and a
/// test can check) how many queries it took.
struct QueryCounter;

impl diesel::connection::Instrumentation for QueryCounter {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
            QUERIES.with(|q| q.set(q.get() + 1));
        }
    }
}

/// Runs `f` and returns its result with the number of queries it ran on this thread.
pub fn count_queries<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = QUERIES.with(|q| q.get());
    let value = f();
    (value, QUERIES.with(|q| q.get()) - before)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// See `.cargo/config.toml`: without this option the bundled SQLite re-prepares every
    /// statement that binds a LIMIT, each time it runs.
    #[test]
    fn sqlite_plans_ignore_bound_values() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).unwrap();
        let used: i32 = db
            .read_sync(|c| {
                Ok(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
                        "sqlite_compileoption_used('ENABLE_QPSG')",
                    ))
                    .get_result(c)?,
                )
            })
            .unwrap();
        assert_eq!(used, 1, "SQLite was built without SQLITE_ENABLE_QPSG");
    }
}
