//! Test harness: starts real services on `127.0.0.1:0` over a fresh database
//! (a temporary SQLite file, or a PostgreSQL schema of its own) and hands out
//! gRPC channels to them.
//!
//! PostgreSQL runs when `INNOLAB_TEST_POSTGRES_URL` is set, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod assert;
pub mod fixtures;
mod suite;
mod wire;

pub use suite::{Suite, UPSTREAMS};
pub use wire::{HttpAnswer, envelope, envelopes, grpc_frame, http_post, http1, http1_over};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use innolab_kit::config::{DatabaseSettings, Settings};
use innolab_kit::db::Backend as Kind;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_ENV: &str = "INNOLAB_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh schema on this PostgreSQL server.
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL backend, when configured.
    pub fn postgres() -> Option<Backend> {
        match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                skipped(&format!(
                    "{POSTGRES_ENV} is not set: skipping the PostgreSQL run of this test"
                ));
                None
            }
        }
    }
}

/// Says that a test skipped part of its work, on the process's standard
/// error itself: the test harness captures `eprintln!` of a passing test, and
/// a skip must stay visible (CI fails when its PostgreSQL pass shows one).
pub fn skipped(why: &str) {
    use std::io::Write as _;
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Every message of a server stream's answer, in order; panics on an error
/// (the call's or midway).
pub async fn collect<T>(
    answer: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>,
) -> Vec<T> {
    use tokio_stream::StreamExt as _;
    let mut stream = answer.expect("the stream opens").into_inner();
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item.expect("the stream goes on"));
    }
    items
}

/// A fresh, private database for one test.
#[derive(Debug)]
pub struct TestDb {
    /// Settings pointing at it.
    pub settings: DatabaseSettings,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Makes a database on `backend`.
    pub fn new(backend: &Backend, service: &str) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/{service}.db", dir.path().display());
                TestDb {
                    settings: DatabaseSettings::new(&url, service, 5).expect("settings"),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres(url) => {
                let schema = format!("test_{}", uuid::Uuid::now_v7().simple());
                TestDb {
                    settings: DatabaseSettings::new(url, &schema, 5).expect("settings"),
                    _dir: None,
                }
            }
        }
    }

    /// A connection to the database (its schema on PostgreSQL).
    async fn connect(&self) -> sqlx::AnyConnection {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(self.settings.url.expose())
            .await
            .expect("connect");
        if self.settings.backend == Kind::Postgres {
            let path = format!("SET search_path TO \"{}\"", self.settings.schema);
            sqlx::raw_sql(&path)
                .execute(&mut conn)
                .await
                .expect("search_path");
        }
        conn
    }

    /// Runs `statements` on the database behind the service's back (its
    /// schema on PostgreSQL): how a test writes what an earlier release
    /// stored, or runs a migration again.
    pub async fn run(&self, statements: &str) {
        use sqlx::Connection as _;
        let mut conn = self.connect().await;
        sqlx::raw_sql(statements)
            .execute(&mut conn)
            .await
            .expect("statements");
        conn.close().await.expect("close");
    }

    /// The number `query` (one row, one integer column) answers, read
    /// behind the service's back like `run`.
    pub async fn count(&self, query: &str) -> i64 {
        use sqlx::Connection as _;
        let mut conn = self.connect().await;
        let (n,): (i64,) = sqlx::query_as(query)
            .fetch_one(&mut conn)
            .await
            .expect("count");
        conn.close().await.expect("close");
        n
    }

    /// Drops the PostgreSQL schema (the SQLite folder goes with the value).
    pub async fn drop_schema(&self) {
        if self.settings.backend == Kind::Postgres {
            sqlx::any::install_default_drivers();
            if let Ok(pool) = sqlx::AnyPool::connect(self.settings.url.expose()).await {
                let _ = sqlx::query(&format!(
                    "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                    self.settings.schema
                ))
                .execute(&pool)
                .await;
                pool.close().await;
            }
        }
    }
}

/// A running service.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database.
    pub db: TestDb,
    /// Its stack, for a gateway in this process to call without a socket.
    pub local: innolab_kit::server::InProcess,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// How to start a service: its `serve` function.
pub type ServeFn =
    fn(
        tokio::net::TcpListener,
        Settings,
        oneshot::Receiver<()>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

/// The membership service's `serve`.
pub fn membership(
    listener: tokio::net::TcpListener,
    settings: Settings,
    stop: oneshot::Receiver<()>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(innolab_membership::serve(listener, settings, async {
        let _ = stop.await;
    }))
}

/// The initiatives service's `serve`, checking organisations against the
/// membership service at `membership_url`.
pub async fn initiatives(
    listener: tokio::net::TcpListener,
    settings: Settings,
    membership_url: String,
    stop: oneshot::Receiver<()>,
) -> anyhow::Result<()> {
    innolab_initiatives::serve(listener, settings, &membership_url, async {
        let _ = stop.await;
    })
    .await
}

impl TestServer {
    /// Starts the initiatives service on a fresh database, asking the
    /// membership service at `membership_url` about organisations, and waits
    /// until it is SERVING.
    pub async fn initiatives(backend: &Backend, membership_url: &str) -> TestServer {
        let db = TestDb::new(backend, "initiatives");
        let mut settings = Settings::new(db.settings.clone());
        settings.shutdown_drain = Duration::from_secs(5);
        let local = innolab_kit::server::InProcess::new();
        settings.in_process = Some(local.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(initiatives(
            listener,
            settings,
            membership_url.to_string(),
            rx,
        ));
        let server = TestServer {
            addr,
            db,
            local,
            shutdown: Some(tx),
            task: Some(task),
        };
        server.wait_for("", ServingStatus::Serving).await;
        server
    }
}

/// The guidance service's `serve`.
pub fn guidance(
    listener: tokio::net::TcpListener,
    settings: Settings,
    stop: oneshot::Receiver<()>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(innolab_guidance::serve(listener, settings, async {
        let _ = stop.await;
    }))
}

impl TestServer {
    /// Starts the guidance service on a fresh database and waits until it is SERVING.
    pub async fn guidance(backend: &Backend) -> TestServer {
        let server = TestServer::start(backend, "guidance", guidance, |_| {}).await;
        server.wait_for("", ServingStatus::Serving).await;
        server
    }
}

impl TestServer {
    /// Starts the membership service on a fresh database and waits until it is SERVING.
    pub async fn membership(backend: &Backend) -> TestServer {
        let server = TestServer::start(backend, "membership", membership, |_| {}).await;
        server
            .wait_for(innolab_kit::server::LIVENESS, ServingStatus::Serving)
            .await;
        server.wait_for("", ServingStatus::Serving).await;
        server
    }

    /// Starts a service with adjusted settings, without waiting for readiness.
    pub async fn start(
        backend: &Backend,
        service: &str,
        serve: ServeFn,
        adjust: impl FnOnce(&mut Settings),
    ) -> TestServer {
        let db = TestDb::new(backend, service);
        let mut settings = Settings::new(db.settings.clone());
        settings.shutdown_drain = Duration::from_secs(5);
        let local = innolab_kit::server::InProcess::new();
        settings.in_process = Some(local.clone());
        adjust(&mut settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, settings, rx));
        TestServer {
            addr,
            db,
            local,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect")
    }

    /// The serving status of `service` ("" for the whole server).
    pub async fn health(&self, service: &str) -> ServingStatus {
        let mut client = HealthClient::new(self.channel().await);
        let response = client
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .expect("health check");
        ServingStatus::try_from(response.into_inner().status).expect("status")
    }

    /// Waits (at most 30 s) until `service` reports `status`.
    pub async fn wait_for(&self, service: &str, status: ServingStatus) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut client = HealthClient::new(self.channel().await);
            if let Ok(r) = client
                .check(HealthCheckRequest {
                    service: service.to_string(),
                })
                .await
                && r.into_inner().status == status as i32
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{service:?} did not become {status:?} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Shuts down gracefully, checks the server exited cleanly, drops the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("server stops within 30 s")
                .expect("server task");
            result.expect("server exits cleanly");
        }
        self.db.drop_schema().await;
    }
}

/// The impact service's `serve`.
pub fn impact(
    listener: tokio::net::TcpListener,
    settings: Settings,
    stop: oneshot::Receiver<()>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(innolab_impact::serve(listener, settings, async {
        let _ = stop.await;
    }))
}

impl TestServer {
    /// Starts the impact service on a fresh database and waits until it is SERVING.
    pub async fn impact(backend: &Backend) -> TestServer {
        let server = TestServer::start(backend, "impact", impact, |_| {}).await;
        server.wait_for("", ServingStatus::Serving).await;
        server
    }
}

/// Runs a test body against SQLite, and against PostgreSQL when configured.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::Backend::postgres() {
                        super::$name(backend).await;
                    }
                }
            )+
        }
    };
}
