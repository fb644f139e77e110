//! The only place that talks SQL: the connection pool, the backend switch and the
//! queries both backends share (one file per table family below).

pub mod events;
pub mod forum;
pub mod notifications;
pub mod schema;
pub mod search;
pub mod settings;
pub mod users;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

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

/// Opens connections of the configured engine. Written by hand rather than using
/// diesel's generic manager, whose multi-connection `establish` would try every engine in turn.
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    url: String,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.url)?;
                conn.set_instrumentation(QueryCounter);
                Ok(DbConn::Postgres(conn))
            }
            Backend::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
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

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
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
        let pool = Pool::builder()
            .max_size(max_size)
            // Connections open on demand: a background thread opening one while a short CLI
            // command exits crashed libpq's TLS cleanup now and then.
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            // No "SELECT 1" round trip per checkout: a connection that broke (database
            // restarted) fails one request, is seen as broken and replaced.
            .test_on_check_out(false)
            .build(Manager {
                backend,
                url: url.to_string(),
            })
            .map_err(|e| anyhow::anyhow!("cannot open the database at {url}: {e}"))?;
        Ok(Db {
            inner: Arc::new(DbInner {
                pool,
                backend,
                sqlite_writer: Mutex::new(()),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Applies pending migrations; returns the names of those applied.
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self.conn()?;
        let applied = match &mut *conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    }

    pub fn conn(&self) -> Result<Conn, AppError> {
        self.inner
            .pool
            .get()
            .map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// True when the database answers a trivial query within `timeout`.
    pub fn ping(&self, timeout: Duration) -> bool {
        match self.inner.pool.get_timeout(timeout) {
            Ok(mut conn) => conn.batch_execute("SELECT 1").is_ok(),
            Err(_) => false,
        }
    }

    /// Runs `f` in one transaction. Every write goes through here so that its rows and
    /// its event commit together, and so that SQLite writers queue in-process.
    pub fn write_sync<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        match self.inner.backend {
            Backend::Postgres => conn.transaction(|c| f(c)),
            Backend::Sqlite => {
                let _writer = self
                    .inner
                    .sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                sqlite_immediate_transaction(&mut conn, f)
            }
        }
    }

    pub fn read_sync<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// `read_sync` on the blocking pool: diesel is synchronous and must not stall the async workers.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.read_sync(f))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
    }

    /// `write_sync` on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.write_sync(f))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
    }
}

/// SQLite's default `BEGIN` is deferred: a transaction that reads first and writes later
/// can fail with SQLITE_BUSY when another process wrote meanwhile, without waiting.
/// `BEGIN IMMEDIATE` takes the write lock up front, so the busy timeout applies.
fn sqlite_immediate_transaction<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    match conn {
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConn::Postgres(_) => unreachable!("only called for SQLite"),
    }
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
