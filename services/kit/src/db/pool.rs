//! The connection pool: sqlx connections kept by `deadpool`.
//!
//! sqlx's own pool tests every connection when it goes back (a `Sync` round
//! trip to PostgreSQL, a hand-off to SQLite's connection thread and back)
//! from a task spawned for it: one more round trip per statement, which cost
//! a read a quarter of its throughput under load (issue 22, measured in
//! `gateway/BENCHMARK.md`). Here a connection goes back as it is; what the
//! test was for is kept otherwise:
//! - a statement cut off midway leaves its connection usable: sqlx drains
//!   what PostgreSQL still sends before the connection's next statement; a
//!   transaction dropped open is rolled back at once, on a task of its own
//!   (see [`Tx`]);
//! - a connection whose statement failed on the connection itself (I/O, TLS,
//!   protocol, a crashed SQLite worker) is closed instead of kept;
//! - one that sat idle for [`IDLE_BEFORE_PING`] or more is tested when it is
//!   taken out (a server restarted meanwhile), one older than
//!   [`MAX_LIFETIME`] is replaced, and one unused for [`IDLE_TIMEOUT`] is
//!   closed, as sqlx's pool did.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed;
use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use futures_util::{StreamExt as _, TryStreamExt as _};
use sqlx::any::{AnyConnectOptions, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, AnyConnection, ConnectOptions as _, Connection as _, Either, TransactionManager};

/// A connection idle this long is tested before it is handed out.
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);
/// A connection this old is closed and replaced when next taken out.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// A connection unused this long is closed (as sqlx's pool did), by a
/// sweep every [`SWEEP_EVERY`].
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Longest wait for a free connection, and for a new one to connect.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

type Setup =
    Arc<dyn Fn(&mut AnyConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> + Send + Sync>;

/// Opens connections with `options`, then runs `setup` on each.
pub struct Connector {
    options: AnyConnectOptions,
    setup: Setup,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

impl managed::Manager for Connector {
    type Type = AnyConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<AnyConnection, sqlx::Error> {
        let mut conn = self.options.connect().await?;
        (self.setup)(&mut conn).await?;
        Ok(conn)
    }

    fn recycle(
        &self,
        conn: &mut AnyConnection,
        metrics: &managed::Metrics,
    ) -> impl Future<Output = managed::RecycleResult<sqlx::Error>> + Send {
        let (age, idle) = (metrics.age(), metrics.last_used());
        async move {
            if age >= MAX_LIFETIME {
                return Err(managed::RecycleError::message("past its lifetime"));
            }
            if idle >= IDLE_BEFORE_PING {
                conn.ping().await?;
            }
            Ok(())
        }
    }
}

/// A connection taken from the [`Pool`]; it goes back when dropped.
pub type PooledConnection = managed::Object<Connector>;

/// A pool of database connections; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: managed::Pool<Connector>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.inner.status();
        f.debug_struct("Pool")
            .field("max_size", &status.max_size)
            .field("size", &status.size)
            .field("available", &status.available)
            .finish()
    }
}

impl Pool {
    /// A pool of at most `max` connections; none is opened before one is needed.
    pub fn new<F>(options: AnyConnectOptions, max: u32, setup: F) -> anyhow::Result<Pool>
    where
        F: Fn(&mut AnyConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> + Send + Sync + 'static,
    {
        let connector = Connector {
            options,
            setup: Arc::new(setup),
        };
        let inner = managed::Pool::builder(connector)
            .max_size(usize::try_from(max.max(1)).unwrap_or(1))
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(ACQUIRE_TIMEOUT))
            .recycle_timeout(Some(ACQUIRE_TIMEOUT))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| anyhow::anyhow!("database pool: {e}"))?;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(sweep_idle(inner.weak()));
        }
        Ok(Pool { inner })
    }

    /// A connection, within [`ACQUIRE_TIMEOUT`] (else `PoolTimedOut`).
    pub fn acquire(&self) -> BoxFuture<'static, Result<PooledConnection, sqlx::Error>> {
        let pool = self.inner.clone();
        Box::pin(async move {
            pool.get().await.map_err(|e| match e {
                managed::PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
                managed::PoolError::Backend(e) => e,
                managed::PoolError::Closed => sqlx::Error::PoolClosed,
                other => sqlx::Error::Configuration(other.to_string().into()),
            })
        })
    }

    /// Starts a transaction with `BEGIN`.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Tx::begin(self.acquire().await?, None).await
    }

    /// Starts a transaction with `statement` (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin_with(&self, statement: &'static str) -> Result<Tx, sqlx::Error> {
        Tx::begin(self.acquire().await?, Some(Cow::Borrowed(statement))).await
    }

    /// Whether [`Pool::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closes the pool: idle connections now (each told so: PostgreSQL gets
    /// a Terminate, SQLite's thread ends), the others as they come back.
    pub async fn close(&self) {
        let idle = self.inner.retain(|_, _| false).removed;
        self.inner.close();
        for conn in idle {
            let _ = conn.close().await;
        }
    }
}

/// Closes the connections idle for [`IDLE_TIMEOUT`] or older than
/// [`MAX_LIFETIME`], every [`SWEEP_EVERY`], until the pool is closed or gone.
async fn sweep_idle(pool: managed::WeakPool<Connector>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let stale = match pool.upgrade() {
            Some(pool) if !pool.is_closed() => {
                pool.retain(|_, used| used.last_used() < IDLE_TIMEOUT && used.age() < MAX_LIFETIME)
                    .removed
            }
            _ => return,
        };
        for conn in stale {
            let _ = conn.close().await;
        }
    }
}

/// Whether `error` says the connection itself is broken (so it is not kept).
fn breaks_connection(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    )
}

/// Drops `conn` from the pool when `result` says it broke.
fn keep_if_sound<T>(conn: PooledConnection, result: &Result<T, sqlx::Error>) {
    if let Err(e) = result
        && breaks_connection(e)
    {
        drop(managed::Object::take(conn));
    }
}

impl<'p> sqlx::Executor<'p> for &'_ Pool {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        E: 'q + sqlx::Execute<'q, Any>,
    {
        // Read whole, then handed out: stores stream large reads through a
        // transaction (`&mut *tx`), never through the pool.
        let pool = self.clone();
        let read = async move {
            let mut conn = pool.acquire().await?;
            let result: Result<Vec<_>, sqlx::Error> =
                (&mut *conn).fetch_many(query).try_collect().await;
            keep_if_sound(conn, &result);
            result
        };
        Box::pin(
            futures_util::stream::once(read)
                .map(|read| match read {
                    Ok(items) => {
                        futures_util::stream::iter(items.into_iter().map(Ok)).left_stream()
                    }
                    Err(e) => futures_util::stream::once(std::future::ready(Err(e))).right_stream(),
                })
                .flatten(),
        )
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        E: 'q + sqlx::Execute<'q, Any>,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let result = (&mut *conn).fetch_optional(query).await;
            keep_if_sound(conn, &result);
            result
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let result = (&mut *conn).prepare_with(sql, parameters).await;
            keep_if_sound(conn, &result);
            result
        })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let result = (&mut *conn).describe(sql).await;
            keep_if_sound(conn, &result);
            result
        })
    }
}

/// A transaction on a pooled connection: `&mut *tx` runs statements in it.
/// Dropped without [`Tx::commit`] (an error returned early, a caller gone),
/// it is rolled back at once, on a task of its own: until the rollback
/// reaches the server the transaction would keep its locks (the write
/// lock among them) while its connection sat idle in the pool.
pub struct Tx {
    conn: Option<PooledConnection>,
    open: bool,
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

type Manager = <Any as sqlx::Database>::TransactionManager;

impl Tx {
    async fn begin(
        mut conn: PooledConnection,
        statement: Option<Cow<'static, str>>,
    ) -> Result<Tx, sqlx::Error> {
        match Manager::begin(&mut conn, statement).await {
            Ok(()) => Ok(Tx {
                conn: Some(conn),
                open: true,
            }),
            Err(e) => {
                if breaks_connection(&e) {
                    drop(managed::Object::take(conn));
                }
                Err(e)
            }
        }
    }

    /// Commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        Manager::commit(&mut self).await?;
        self.open = false;
        Ok(())
    }

    /// Rolls back.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        Manager::rollback(&mut self).await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.conn {
            Some(conn) => conn,
            None => unreachable!("a transaction lets go of its connection only when dropped"),
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable!("a transaction lets go of its connection only when dropped"),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        Manager::start_rollback(&mut conn);
        // The ping sends the queued ROLLBACK and waits for the server's
        // answer (on SQLite, for the connection's thread to have run it).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if conn.ping().await.is_err() {
                    drop(managed::Object::take(conn));
                }
            });
        }
    }
}
