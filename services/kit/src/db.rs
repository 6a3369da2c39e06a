//! The database pool, chosen by URL scheme, and embedded migrations.
//!
//! Services use sqlx's `Any` driver: one SQL text, written in the common
//! subset of SQLite and PostgreSQL (`$1` placeholders, `BIGINT`, `TEXT`), runs
//! on both, and the few places that differ ask [`Database::backend`].

use std::borrow::Cow;

use sqlx::any::AnyConnectOptions;
use sqlx::migrate::{Migrate, MigrationSource, MigrationType, Migrator};
use sqlx::{ConnectOptions, Connection, Executor};

mod pool;

pub use pool::{ACQUIRE_TIMEOUT, Pool, PooledConnection, Tx};

use crate::config::{DatabaseSettings, Pooling};
use crate::error::Error;

/// Purpose of the advisory lock writers hold (see [`Database::begin`]).
pub const WRITE_LOCK: &str = "change_log";

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend of a URL, by scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// One migration compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigration {
    /// Version, increasing.
    pub version: i64,
    /// Short description.
    pub description: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

impl EmbeddedMigration {
    /// The migration in file `path` (`.../NNNN_what_it_does.sql`) holding
    /// `sql`: the version is the file name's number, the description the rest
    /// of its name, so each is written once. Use [`crate::migration!`].
    pub const fn from_file(path: &'static str, sql: &'static str) -> EmbeddedMigration {
        let bytes = path.as_bytes();
        let mut start = bytes.len();
        while start > 0 && bytes[start - 1] != b'/' {
            start -= 1;
        }
        let mut version: i64 = 0;
        let mut at = start;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            version = version * 10 + (bytes[at] - b'0') as i64;
            at += 1;
        }
        assert!(
            at > start && at < bytes.len() && bytes[at] == b'_',
            "a migration file is named NNNN_description.sql"
        );
        let name = bytes.split_at(at + 1).1;
        assert!(
            name.len() > 4 && name[name.len() - 4] == b'.',
            "a migration file ends in .sql"
        );
        // Split at ASCII bytes, so always UTF-8; evaluated when compiled.
        let description = match core::str::from_utf8(name.split_at(name.len() - 4).0) {
            Ok(description) => description,
            Err(_) => "",
        };
        assert!(
            !description.is_empty(),
            "a migration file is named NNNN_description.sql"
        );
        EmbeddedMigration {
            version,
            description,
            sql,
        }
    }
}

/// The [`EmbeddedMigration`] of a file beside the calling source, its version
/// and description taken from its name (`migration!("../migrations/0001_network.sql")`).
#[macro_export]
macro_rules! migration {
    ($path:literal) => {
        $crate::db::EmbeddedMigration::from_file($path, include_str!($path))
    };
}

/// A service's migrations, one list per backend.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// For SQLite.
    pub sqlite: &'static [EmbeddedMigration],
    /// For PostgreSQL.
    pub postgres: &'static [EmbeddedMigration],
}

#[derive(Debug)]
struct Embedded(&'static [EmbeddedMigration]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> futures_core::future::BoxFuture<
        's,
        Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
    > {
        let migrations = self
            .0
            .iter()
            .map(|m| {
                sqlx::migrate::Migration::new(
                    m.version,
                    Cow::Borrowed(m.description),
                    MigrationType::Simple,
                    Cow::Borrowed(m.sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// A pool on the configured database.
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
    schema: String,
    pooling: Pooling,
    /// The change log's newest sequence, watched for every follower of this
    /// process by one poller (`changes::stream`), while anyone follows.
    log_head: LogHead,
}

/// Where the change log's head watcher is kept, once started.
pub(crate) type LogHead =
    std::sync::Arc<std::sync::Mutex<Option<std::sync::Arc<tokio::sync::watch::Sender<i64>>>>>;

impl Database {
    /// Prepares a pool. Connections are opened lazily, so a service starts
    /// (and reports NOT_SERVING) while its database is still unreachable.
    pub fn connect_lazy(settings: &DatabaseSettings) -> anyhow::Result<Database> {
        sqlx::any::install_default_drivers();
        let mut url = settings.url.expose().to_string();
        if settings.backend == Backend::Sqlite {
            url = prepare_sqlite_url(&url)?;
        }
        let options: AnyConnectOptions = url
            .parse::<AnyConnectOptions>()
            .map_err(|e| anyhow::anyhow!("INNOLAB_DATABASE_URL is not a valid URL: {e}"))?
            .log_statements(tracing::log::LevelFilter::Debug);
        let backend = settings.backend;
        let schema = settings.schema.clone();
        let session_schema = schema.clone();
        let pooling = settings.pooling;
        // A connection goes back to the pool without the round trip sqlx's
        // own pool makes (see `pool`).
        let pool = Pool::new(options, settings.max_connections, move |conn| {
            let schema = session_schema.clone();
            Box::pin(async move {
                match backend {
                    Backend::Sqlite => {
                        // busy_timeout first: the journal_mode pragma
                        // needs a lock, and a connection opened while
                        // another writes must wait for it, not fail
                        // ("database is locked").
                        conn.execute(
                            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    // The time zone is UTC from the start (sqlx sends
                    // TimeZone=UTC, a parameter poolers keep per client).
                    Backend::Postgres if pooling == Pooling::Session => {
                        conn.execute(format!("SET search_path TO \"{schema}\"").as_str())
                            .await?;
                    }
                    // Session state would leak to whichever client the
                    // pooler hands this server connection next: the
                    // role's search_path selects the schema instead.
                    Backend::Postgres => {}
                }
                Ok(())
            })
        })?;
        Ok(Database {
            pool,
            backend,
            schema,
            pooling,
            log_head: LogHead::default(),
        })
    }

    /// The change log's head watcher slot.
    pub(crate) fn log_head(&self) -> &LogHead {
        &self.log_head
    }

    /// The pool, for stores.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that will write, holding this service's write lock
    /// from its first statement: on SQLite the database lock (`BEGIN
    /// IMMEDIATE`), so two writers queue instead of failing with "database is
    /// locked" when a read turns into a write; on PostgreSQL a transaction-scoped
    /// advisory lock for the schema. Writers of one service therefore commit one
    /// at a time, which keeps the change log gapless and in commit order, and
    /// since the lock is always the first one taken, writers never deadlock on
    /// it (taking it at the log append, after row locks, can).
    pub async fn begin(&self) -> Result<Tx, Error> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(self.lock_key(WRITE_LOCK))
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        Ok(tx)
    }

    /// A write transaction whose statements before its first change-log
    /// record take no lock another writer waits for (inserts of rows with new
    /// ids), so on PostgreSQL it takes the write lock only there (in
    /// `changes::record`) and its inserts run beside another writer's. SQLite
    /// has one writer at a time: `BEGIN IMMEDIATE` as in [`Database::begin`].
    pub async fn begin_deferred(&self) -> Result<Tx, Error> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Applies pending migrations under the database's migration lock
    /// (an advisory lock on PostgreSQL), creating the schema first.
    pub async fn migrate(&self, migrations: &Migrations) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", self.schema);
            if let Err(e) = self.pool.execute(create.as_str()).await {
                // Two replicas creating the schema at once: one wins, the other
                // sees a unique violation on the catalog, which is fine.
                if !is_unique_violation(&e) {
                    return Err(e.into());
                }
            }
        }
        self.check_search_path().await?;
        let mut migrator = self.migrator(migrations).await?;
        if self.pooling == Pooling::Transaction {
            // The migration lock is a session lock, which a transaction
            // pooler cannot keep; two replicas migrating at once then
            // collide on the catalog, and the loser retries and finds the
            // migration applied.
            migrator.set_locking(false);
        }
        let mut conn = self.pool.acquire().await?;
        migrator.run_direct(&mut *conn).await?;
        Ok(())
    }

    /// Behind a transaction pooler, the schema must be the role's own: its
    /// `search_path` must name it first.
    async fn check_search_path(&self) -> anyhow::Result<()> {
        if self.backend != Backend::Postgres || self.pooling != Pooling::Transaction {
            return Ok(());
        }
        let path: String = sqlx::query_scalar("SELECT current_setting('search_path')")
            .fetch_one(&self.pool)
            .await?;
        let first = path
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        if first != self.schema {
            anyhow::bail!(
                "INNOLAB_DATABASE_POOLING=transaction: the database role's search_path is \
                 {path:?}, not the schema {schema:?}; run ALTER ROLE <role> SET search_path = \
                 {schema} (one role per service)",
                schema = self.schema
            );
        }
        Ok(())
    }

    /// Connects to the configured database, applies `migrations` and closes
    /// (a service's `migrate` command).
    pub async fn migrate_once(
        settings: &DatabaseSettings,
        migrations: &Migrations,
    ) -> anyhow::Result<()> {
        let db = Database::connect_lazy(settings)?;
        db.migrate(migrations).await?;
        db.close().await;
        Ok(())
    }

    /// Runs `read` (a command's work: an export) on the configured
    /// database, refused unless this release's migrations are all applied
    /// (`binary migrate` first), then closes the pool.
    pub async fn with_migrated<T, F, Fut>(
        settings: &DatabaseSettings,
        migrations: &Migrations,
        binary: &str,
        read: F,
    ) -> anyhow::Result<T>
    where
        F: FnOnce(Database) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let db = Database::connect_lazy(settings)?;
        let result = match db.is_migrated(migrations).await {
            Ok(true) => read(db.clone()).await,
            Ok(false) => Err(anyhow::anyhow!(
                "the database is not migrated to this release; run `{binary} migrate` first"
            )),
            Err(e) => Err(e),
        };
        db.close().await;
        result
    }

    /// Whether every migration of this release has been applied.
    pub async fn is_migrated(&self, migrations: &Migrations) -> anyhow::Result<bool> {
        self.check_search_path().await?;
        let migrator = self.migrator(migrations).await?;
        let mut conn = self.pool.acquire().await?;
        conn.ensure_migrations_table().await?;
        let applied = conn.list_applied_migrations().await?;
        let all_applied = migrator
            .iter()
            .all(|m| applied.iter().any(|a| a.version == m.version));
        // A migration this binary does not know means a newer release ran here.
        let none_unknown = applied.iter().all(|a| migrator.version_exists(a.version));
        Ok(all_applied && none_unknown)
    }

    /// A PostgreSQL advisory-lock key private to this service's schema and `purpose`.
    pub fn lock_key(&self, purpose: &str) -> i64 {
        // FNV-1a: stable across releases and platforms, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.schema.bytes().chain([0]).chain(purpose.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    async fn migrator(&self, migrations: &Migrations) -> anyhow::Result<Migrator> {
        let list = match self.backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        Ok(Migrator::new(Embedded(list)).await?)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether [`Database::close`] was called: the service is stopping, and
    /// its background tasks end.
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }
}

/// SQLite creates the file (`mode=rwc`) and its folder, so the default
/// configuration runs with no setup.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path != ":memory:"
        && !path.is_empty()
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("cannot create the folder of SQLite file {path}: {e}"))?;
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => url.to_string(),
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    })
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Error::Unavailable(format!("database: {error}")),
            sqlx::Error::Database(e) if e.is_unique_violation() => Error::AlreadyExists {
                resource: String::new(),
                message: "a record with the same unique key already exists".into(),
            },
            sqlx::Error::Database(e) if is_transient(e.code().as_deref()) => {
                Error::Unavailable(format!("database busy, retry: {e}"))
            }
            _ => Error::Internal(format!("database: {error}")),
        }
    }
}

/// SQLite busy/locked, PostgreSQL serialization failure, deadlock, admin shutdown.
fn is_transient(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("5" | "6" | "517" | "40001" | "40P01" | "57P01" | "57P03")
    )
}

/// Microseconds since the Unix epoch, the form timestamps are stored in.
pub fn now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_migration_is_named_by_its_file() {
        const M: EmbeddedMigration =
            EmbeddedMigration::from_file("../../migrations/sqlite/0003_terms_bulk.sql", "SELECT 1");
        assert_eq!(M.version, 3);
        assert_eq!(M.description, "terms_bulk");
        assert_eq!(M.sql, "SELECT 1");
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = std::env::temp_dir().join(format!("innolab-kit-{}", std::process::id()));
        let file = dir.join("x.db");
        let url = format!("sqlite://{}", file.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.exists());
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:?cache=shared").unwrap(),
            "sqlite::memory:?cache=shared&mode=rwc"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
