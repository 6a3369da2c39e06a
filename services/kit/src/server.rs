//! Server bootstrap shared by every service: a function of a bound listener and
//! a shutdown signal (as in tokio's mini-redis), adding health, reflection,
//! a readiness gate, metrics and a bounded graceful drain.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::Settings;
use crate::db::{Database, Migrations};

mod calls;

use calls::Calls;
pub use calls::{REQUEST_IDLE, code_name, grpc_timeout, status_trailers};

/// Health-check service name that reports only whether the process is alive
/// (for liveness probes). The empty name `""` and the service's own name report
/// readiness: SERVING once migrations are applied and while the database answers.
pub const LIVENESS: &str = "liveness";

/// What the bootstrap needs to know about a service.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    /// Fully qualified gRPC service name, e.g. `innolab.membership.v1.MembershipService`.
    pub grpc_name: &'static str,
    /// Encoded file descriptor set, served by reflection.
    pub descriptor_set: &'static [u8],
    /// The service's migrations.
    pub migrations: Migrations,
}

/// A server's whole stack (its routes, health, reflection and the readiness
/// gate), called as a tower service with no socket in between.
pub type LocalService = tower::util::BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    Infallible,
>;

/// A layer given as a function of the stack it wraps (a [`LocalService`]),
/// for [`ServeOptions::around_routes`] and [`ServeOptions::edge`].
#[derive(Clone)]
pub struct Wrap(Arc<dyn Fn(LocalService) -> LocalService + Send + Sync>);

impl Wrap {
    /// Wraps with `layer`.
    pub fn new(layer: impl Fn(LocalService) -> LocalService + Send + Sync + 'static) -> Self {
        Wrap(Arc::new(layer))
    }

    fn apply(&self, inner: LocalService) -> LocalService {
        (self.0)(inner)
    }
}

impl std::fmt::Debug for Wrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wrap")
    }
}

/// Where a server running in this process publishes its [`LocalService`], so
/// that a caller in the same process (the gateway of the one-process suite)
/// reaches it without HTTP/2 over loopback. Empty until the server starts; a
/// server started again with the same slot replaces what the last one put there.
#[derive(Clone, Default)]
pub struct InProcess(Arc<RwLock<Option<LocalService>>>);

impl InProcess {
    /// An empty slot.
    pub fn new() -> Self {
        InProcess::default()
    }

    /// The published stack, once its server has started.
    pub fn get(&self) -> Option<LocalService> {
        self.0.read().ok().and_then(|s| s.clone())
    }

    fn publish(&self, service: LocalService) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(service);
        }
    }
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("published", &self.get().is_some())
            .finish()
    }
}

/// Serves Prometheus metrics on `addr` (see [`crate::meter`]), labelled
/// with `service` in `innolab_build_info`. Call once per process; a busy
/// port is an error naming it.
pub async fn install_metrics(
    addr: SocketAddr,
    service: &'static str,
) -> anyhow::Result<SocketAddr> {
    crate::meter::serve(addr, service).await
}

/// Serves the service `routes` makes of its database and page tokens, plus
/// health and reflection, on `listener` until `shutdown` completes, then
/// drains in-flight calls for at most `settings.shutdown_drain`. Readiness
/// follows the database.
pub async fn serve(
    listener: TcpListener,
    settings: &Settings,
    spec: ServiceSpec,
    routes: impl FnOnce(Database, crate::page::PageTokens) -> anyhow::Result<Routes>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = Database::connect_lazy(&settings.database)?;
    let tokens = crate::page::PageTokens::new(settings.page_token_key.expose().as_bytes());
    let routes = routes(db.clone(), tokens)?;
    let migrate = settings.migrate_on_start;
    let watcher_db = db.clone();
    let options = ServeOptions {
        grpc_name: spec.grpc_name,
        descriptor_sets: vec![spec.descriptor_set],
        drain: settings.shutdown_drain,
        accept_http1: false,
        tls: None,
        limits: crate::transport::ConnectionLimits::SERVICE,
        request_idle: settings.request_idle,
        probe_addr: None,
        in_process: settings.in_process.clone(),
        reported: Vec::new(),
        around_routes: None,
        edge: None,
    };
    let result = serve_routes(
        listener,
        options,
        routes,
        move |readiness| watch_database(watcher_db, spec.migrations, migrate, readiness),
        shutdown,
    )
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(5), db.close()).await;
    result
}

/// What [`serve_routes`] needs besides the routes.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Name whose health status is readiness, besides `""`.
    pub grpc_name: &'static str,
    /// Encoded descriptor sets served by reflection.
    pub descriptor_sets: Vec<&'static [u8]>,
    /// Bound on the drain after the shutdown signal.
    pub drain: Duration,
    /// Also answer HTTP/1.1 (for JSON clients such as curl); gRPC needs HTTP/2.
    pub accept_http1: bool,
    /// Serve over TLS (and ask for client certificates) instead of plaintext
    /// ([`crate::transport::tls_config`]).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Connection limits and timeouts.
    pub limits: crate::transport::ConnectionLimits,
    /// How long a request's body may stay silent before the call fails
    /// (a unary request arrives at once; an upload or import keeps sending).
    pub request_idle: Duration,
    /// Also serve `grpc.health.v1` alone, in plaintext, here: Kubernetes'
    /// native gRPC probes cannot speak TLS.
    pub probe_addr: Option<std::net::SocketAddr>,
    /// Also publish the stack here for callers in this process.
    pub in_process: Option<InProcess>,
    /// Other names whose health the watcher reports (the gateway's
    /// services), NOT_SERVING from before the first call until it does.
    pub reported: Vec<&'static str>,
    /// Wraps the routes (health and reflection included), inside the gate
    /// and the calls' bookkeeping: every call passes it (the gateway's
    /// guard; it lets health and reflection through itself).
    pub around_routes: Option<Wrap>,
    /// Wraps the whole stack, outside the calls' bookkeeping: a protocol
    /// edge (the gateway's Connect and gRPC-Web) that hands gRPC to it, so
    /// that metrics, deadlines and everything inside see gRPC only.
    pub edge: Option<Wrap>,
}

/// The generic bootstrap: health, reflection, readiness gate, metrics, trace
/// spans and the bounded drain around `routes`. `watcher` drives readiness
/// (it is stopped at shutdown).
pub async fn serve_routes<W, F>(
    listener: TcpListener,
    options: ServeOptions,
    routes: Routes,
    watcher: W,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    W: FnOnce(Readiness) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let (reporter, health) = tonic_health::server::health_reporter();
    let readiness = Readiness {
        ready: Arc::new(AtomicBool::new(false)),
        reporter,
        grpc_name: options.grpc_name,
    };
    readiness.set(false, "starting").await;
    readiness
        .reporter
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;
    for name in &options.reported {
        readiness.report(name, false).await;
    }

    let sets: Vec<&[u8]> = options
        .descriptor_sets
        .iter()
        .copied()
        .chain([
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_types::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ])
        .collect();
    let reflection = Arc::new(crate::reflection::Index::new(&sets)?);
    crate::meter::register(&sets)?;
    let probe = match options.probe_addr {
        Some(addr) => {
            let probe_listener = TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen for probes on {addr}: {e}"))?;
            tracing::info!(%addr, "serving health alone, in plaintext, for probes on {addr}");
            let health = health.clone();
            Some(tokio::spawn(async move {
                let served = tonic::transport::Server::builder()
                    .add_service(health)
                    .serve_with_incoming(TcpIncoming::from(probe_listener));
                if let Err(e) = served.await {
                    tracing::error!(error = %e, "the probe listener stopped");
                }
            }))
        }
        None => None,
    };
    let routes = routes
        .add_service(health)
        .add_service(crate::reflection::v1::server(reflection.clone()))
        .add_service(crate::reflection::v1alpha::server(reflection));

    let (stop_tx, stop_rx) = watch::channel(false);
    let routes = LocalService::new(routes.prepare());
    let routes = match &options.around_routes {
        Some(wrap) => wrap.apply(routes),
        None => routes,
    };
    let calls = Calls {
        inner: Gate {
            inner: routes,
            ready: readiness.ready.clone(),
        },
        stopping: stop_rx.clone(),
        request_idle: options.request_idle,
        meter: true,
    };
    if let Some(slot) = &options.in_process {
        // The same stack the socket serves, minus the transport: the gate
        // refuses calls while not ready. Its calls are measured by the
        // caller in this process (the gateway's server and client metrics),
        // so they are not counted twice in the process's one registry.
        slot.publish(LocalService::new(Calls {
            meter: false,
            ..calls.clone()
        }));
    }
    let stack = LocalService::new(calls);
    let stack = match &options.edge {
        Some(wrap) => wrap.apply(stack),
        None => stack,
    };

    let local = listener.local_addr()?;
    tracing::info!(service = options.grpc_name, addr = %local, "listening for gRPC on {local}");

    let watchdog = tokio::spawn(watcher(readiness.clone()));
    let transport = crate::transport::Transport {
        accept_http1: options.accept_http1,
        tls: options.tls.clone(),
        limits: options.limits,
    };
    let server = crate::transport::serve(listener, transport, stack, stop_rx, options.drain);
    let mut server = tokio::spawn(server);

    let stop_probe = move || {
        if let Some(probe) = &probe {
            probe.abort();
        }
    };
    tokio::select! {
        result = &mut server => {
            watchdog.abort();
            stop_probe();
            result?;
            anyhow::bail!("the server stopped by itself");
        }
        () = shutdown => {}
    }

    tracing::info!(
        service = options.grpc_name,
        drain_seconds = options.drain.as_secs(),
        "shutting down: NOT_SERVING, ending followed streams, draining in-flight calls"
    );
    watchdog.abort();
    // Liveness stays SERVING until the process exits: a probe that failed
    // during the drain would have the pod killed before its calls finish.
    // Calls that reach the server before its GOAWAY are still served.
    readiness.draining().await;
    let _ = stop_tx.send(true);
    let drained = server.await.unwrap_or(false);
    // The connections are closed; what still holds the stack (the gateway
    // in this process) is refused from now on.
    readiness.ready.store(false, Ordering::SeqCst);
    stop_probe();
    if !drained {
        tracing::warn!("drain time exceeded; remaining calls are cut off");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

/// The server's readiness: the `""` and service health statuses and the gate
/// in front of service calls.
#[derive(Debug, Clone)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    reporter: HealthReporter,
    grpc_name: &'static str,
}

impl Readiness {
    /// Marks the server ready (SERVING) or not (NOT_SERVING, calls refused);
    /// `cause` says why, in the log line of a change.
    pub async fn set(&self, ready: bool, cause: &str) {
        let was = self.ready.swap(ready, Ordering::SeqCst);
        let status = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status("", status).await;
        self.reporter
            .set_service_status(self.grpc_name, status)
            .await;
        if was != ready {
            tracing::info!(
                service = self.grpc_name,
                ready,
                cause,
                "readiness of {} changed: {}",
                self.grpc_name,
                if ready { "SERVING" } else { "NOT_SERVING" }
            );
        }
    }

    /// At shutdown: health says NOT_SERVING (so balancers and Kubernetes stop
    /// sending calls), but the gate stays as it was, so that a call sent
    /// before the caller saw the server's GOAWAY is served, not refused.
    pub async fn draining(&self) {
        let status = ServingStatus::NotServing;
        self.reporter.set_service_status("", status).await;
        self.reporter
            .set_service_status(self.grpc_name, status)
            .await;
        tracing::info!(
            service = self.grpc_name,
            ready = false,
            cause = "shutting down",
            "readiness of {} changed: NOT_SERVING",
            self.grpc_name
        );
    }

    /// Reports `name`'s health status apart from this server's own readiness
    /// (the gateway reports each service behind it under the service's name).
    pub async fn report(&self, name: &str, serving: bool) {
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status(name, status).await;
    }
}

/// Brings the schema up to date, then keeps readiness in step with the database.
async fn watch_database(db: Database, migrations: Migrations, migrate: bool, readiness: Readiness) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let outcome = if migrate {
            db.migrate(&migrations).await.map(|()| true)
        } else {
            db.is_migrated(&migrations).await
        };
        match outcome {
            Ok(true) => break,
            Ok(false) => tracing::warn!(
                service = readiness.grpc_name,
                retry_in_ms = backoff.as_millis(),
                "database schema of {} is not migrated yet (INNOLAB_MIGRATE_ON_START=false); waiting",
                readiness.grpc_name
            ),
            Err(e) => tracing::warn!(
                service = readiness.grpc_name,
                error = format!("{e:#}"),
                retry_in_ms = backoff.as_millis(),
                "database not ready; retrying: {} stays NOT_SERVING until it answers",
                readiness.grpc_name
            ),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
    tracing::info!(
        service = readiness.grpc_name,
        "database schema of {} is up to date",
        readiness.grpc_name
    );
    readiness.set(true, "database schema up to date").await;
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        match db.ping().await {
            Ok(()) => readiness.set(true, "database reachable again").await,
            Err(e) => {
                tracing::warn!(
                    service = readiness.grpc_name,
                    error = %e,
                    "database of {} unreachable",
                    readiness.grpc_name
                );
                readiness.set(false, "database unreachable").await;
            }
        }
    }
}

/// Refuses service calls with UNAVAILABLE until the database is ready.
/// Health and reflection always pass.
#[derive(Debug, Clone)]
struct Gate<S> {
    inner: S,
    ready: Arc<AtomicBool>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Gate<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let infrastructure = crate::meter::is_infrastructure(request.uri().path());
        if !infrastructure && !self.ready.load(Ordering::SeqCst) {
            let status = tonic::Status::unavailable(
                "the service is starting or its database is unreachable; retry shortly",
            );
            return Box::pin(async move { Ok(status.into_http()) });
        }
        // Take the service that was polled ready, leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move { inner.call(request).await })
    }
}
