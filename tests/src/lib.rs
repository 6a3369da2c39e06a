//! Test harness: starts real services on `127.0.0.1:0` over a fresh database
//! (a temporary SQLite file, or a PostgreSQL schema of its own) and hands out
//! gRPC channels to them.
//!
//! PostgreSQL runs when `INNOLAB_TEST_POSTGRES_URL` is set, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod assert;

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

/// The gRPC names of the services behind the gateway, under which the
/// gateway reports each one's health.
pub const UPSTREAMS: [&str; 4] = [
    "innolab.membership.v1.MembershipService",
    "innolab.initiatives.v1.InitiativesService",
    "innolab.guidance.v1.GuidanceService",
    "innolab.impact.v1.ImpactService",
];

/// The four services and the gateway in front of them, each on its own
/// `127.0.0.1:0` port and database, as the gateway's integration tests need.
#[derive(Debug)]
pub struct Suite {
    /// The membership service.
    pub membership: TestServer,
    /// The initiatives service.
    pub initiatives: TestServer,
    /// The guidance service.
    pub guidance: TestServer,
    /// The impact service; `None` once a test stopped it.
    pub impact: Option<TestServer>,
    /// Where the gateway listens.
    pub gateway: SocketAddr,
    /// Whether the gateway calls the services' stacks directly, as in the
    /// one-process suite, instead of over their sockets.
    pub in_process: bool,
    gateway_stop: Option<oneshot::Sender<()>>,
    gateway_task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Suite {
    /// Starts every service on `backend` and the gateway, and waits until
    /// the gateway is SERVING.
    pub async fn start(backend: &Backend) -> Suite {
        Suite::start_with(backend, Default::default()).await
    }

    /// Starts every service on `backend` and the gateway with `security`
    /// (identity, access rules, TLS), and waits until the services are
    /// SERVING (with TLS the gateway's own health is left to the caller, who
    /// holds the client credentials).
    pub async fn start_with(
        backend: &Backend,
        security: innolab_gateway::security::Security,
    ) -> Suite {
        let mut suite = Suite::start_services(backend).await;
        suite.start_gateway(security).await;
        suite
    }

    /// Starts every service on `backend` and the gateway calling them in
    /// process, as the one-process suite does, and waits until it is SERVING.
    pub async fn start_in_process(
        backend: &Backend,
        security: innolab_gateway::security::Security,
    ) -> Suite {
        let mut suite = Suite::start_services(backend).await;
        suite.in_process = true;
        suite.start_gateway(security).await;
        suite
    }

    /// Starts every service on `backend`, without the gateway yet (tests
    /// that store data directly first); `start_gateway` adds it.
    pub async fn start_services(backend: &Backend) -> Suite {
        let membership = TestServer::membership(backend).await;
        let membership_url = format!("http://{}", membership.addr);
        let (initiatives, guidance, impact) = tokio::join!(
            TestServer::initiatives(backend, &membership_url),
            TestServer::guidance(backend),
            TestServer::impact(backend),
        );
        Suite {
            membership,
            initiatives,
            guidance,
            impact: Some(impact),
            gateway: SocketAddr::from(([127, 0, 0, 1], 0)),
            in_process: false,
            gateway_stop: None,
            gateway_task: None,
        }
    }

    /// Starts the gateway in front of the services with `security`.
    pub async fn start_gateway(&mut self, security: innolab_gateway::security::Security) {
        let tls = security.tls.is_some();
        let url = |server: &TestServer| format!("http://{}", server.addr);
        let impact = self.impact.as_ref().map(url).unwrap_or_default();
        let impact_local = self.impact.as_ref().map(|s| s.local.clone());
        let upstreams = innolab_gateway::SERVICES
            .iter()
            .map(|&(service, env, _)| innolab_gateway::UpstreamAddr {
                service,
                env,
                url: match service {
                    "membership" => url(&self.membership),
                    "initiatives" => url(&self.initiatives),
                    "guidance" => url(&self.guidance),
                    _ => impact.clone(),
                },
                in_process: match service {
                    _ if !self.in_process => None,
                    "membership" => Some(self.membership.local.clone()),
                    "initiatives" => Some(self.initiatives.local.clone()),
                    "guidance" => Some(self.guidance.local.clone()),
                    _ => impact_local.clone(),
                },
            })
            .collect();
        let settings = innolab_gateway::GatewaySettings {
            upstreams,
            shutdown_drain: Duration::from_secs(5),
            connect_timeout: Duration::from_millis(500),
            security,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        self.gateway = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(innolab_gateway::serve(listener, settings, async {
            let _ = rx.await;
        }));
        self.gateway_stop = Some(tx);
        self.gateway_task = Some(task);
        if tls {
            return;
        }
        // The gateway's own readiness does not wait for the services; each
        // one's state is reported under its name.
        let mut names = vec![String::new()];
        names.extend(UPSTREAMS.iter().map(|n| n.to_string()));
        if self.impact.is_none() {
            names.retain(|n| !n.starts_with("innolab.impact."));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for name in names {
            loop {
                let mut health = HealthClient::new(self.channel().await);
                if let Ok(r) = health
                    .check(HealthCheckRequest {
                        service: name.clone(),
                    })
                    .await
                    && r.into_inner().status == ServingStatus::Serving as i32
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "gateway: {name:?} not SERVING within 30 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// A channel to the gateway.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.gateway))
            .expect("uri")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect")
    }

    /// Stops the gateway and every service still running.
    pub async fn stop(mut self) {
        if let Some(tx) = self.gateway_stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.gateway_task.take() {
            let result = tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("gateway stops within 30 s")
                .expect("gateway task");
            result.expect("gateway exits cleanly");
        }
        if let Some(impact) = self.impact.take() {
            impact.stop().await;
        }
        self.guidance.stop().await;
        self.initiatives.stop().await;
        self.membership.stop().await;
    }
}

/// Records the tests make again and again, created over gRPC.
pub mod fixtures {
    use innolab_proto::innolab::guidance::v1 as gd;
    use innolab_proto::innolab::membership::v1 as mb;
    use mb::membership_service_client::MembershipServiceClient;
    use tonic::transport::Channel;

    /// The request stream of an upload to `document` that sends its
    /// metadata (a PDF named `filename`) and one chunk of `chunk` bytes, then
    /// stays silent while the returned sender is held.
    pub async fn stalled_upload(
        document: &str,
        filename: &str,
        chunk: Vec<u8>,
    ) -> (
        tokio::sync::mpsc::Sender<gd::UploadAttachmentRequest>,
        tokio_stream::wrappers::ReceiverStream<gd::UploadAttachmentRequest>,
    ) {
        use gd::upload_attachment_request::Part;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        for part in [
            Part::Metadata(gd::UploadMetadata {
                parent: document.to_string(),
                attachment: Some(gd::Attachment {
                    filename: filename.into(),
                    content_type: "application/pdf".into(),
                    sha256: "0".repeat(64),
                    ..Default::default()
                }),
                request_id: String::new(),
            }),
            Part::Chunk(chunk),
        ] {
            tx.send(gd::UploadAttachmentRequest { part: Some(part) })
                .await
                .unwrap();
        }
        (tx, tokio_stream::wrappers::ReceiverStream::new(rx))
    }

    /// A government organisation named `name` in `country`; its resource name.
    pub async fn organization(
        client: &mut MembershipServiceClient<Channel>,
        name: &str,
        country: &str,
    ) -> String {
        client
            .create_organization(mb::CreateOrganizationRequest {
                organization: Some(mb::Organization {
                    display_names: vec![mb::LocalizedText {
                        language_code: "en".into(),
                        text: name.into(),
                    }],
                    kind: mb::OrganizationKind::Government as i32,
                    country_code: country.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_or_else(|s| panic!("CreateOrganization {name:?}: {s:?}"))
            .into_inner()
            .name
    }

    /// An import stream of `rows`: the request id and an actor on the first
    /// message.
    pub fn import_messages(
        request_id: &str,
        rows: Vec<innolab_proto::innolab::initiatives::v1::Initiative>,
    ) -> Vec<innolab_proto::innolab::initiatives::v1::ImportInitiativesRequest> {
        rows.into_iter()
            .enumerate()
            .map(|(i, initiative)| {
                innolab_proto::innolab::initiatives::v1::ImportInitiativesRequest {
                    request_id: if i == 0 {
                        request_id.to_string()
                    } else {
                        String::new()
                    },
                    initiative: Some(initiative),
                    actor: if i == 0 {
                        "Register loader".into()
                    } else {
                        String::new()
                    },
                }
            })
            .collect()
    }
}

/// A plain HTTP/1.1 POST of JSON, the way curl sends it: (status, body text).
pub async fn http_post(addr: SocketAddr, path: &str, json: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk is all these small answers take.
        body.split_once("\r\n")
            .unwrap()
            .1
            .rsplit_once("\r\n0")
            .unwrap()
            .0
            .trim_end()
            .to_string()
    } else {
        body.to_string()
    };
    (status, body)
}

/// A gRPC message with its five-byte prefix, for raw HTTP/2 clients.
pub fn grpc_frame(message: &impl prost::Message) -> bytes::Bytes {
    let body = message.encode_to_vec();
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    bytes::Bytes::from(framed)
}
