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
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::Settings;
use crate::db::{Database, Migrations};

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

/// Installs the Prometheus exporter on its own port. Call once per process.
pub fn install_metrics(addr: SocketAddr) -> anyhow::Result<()> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()?;
    tracing::info!(%addr, "metrics at http://{addr}/metrics");
    Ok(())
}

/// Serves `routes` (the service itself) plus health and reflection on
/// `listener` until `shutdown` completes, then drains in-flight calls for at
/// most `settings.shutdown_drain`. Readiness follows the database.
pub async fn serve(
    listener: TcpListener,
    settings: &Settings,
    db: Database,
    spec: ServiceSpec,
    routes: Routes,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let migrate = settings.migrate_on_start;
    let watcher_db = db.clone();
    let options = ServeOptions {
        grpc_name: spec.grpc_name,
        descriptor_sets: vec![spec.descriptor_set],
        drain: settings.shutdown_drain,
        accept_http1: false,
        tls: None,
        probe_addr: None,
        in_process: settings.in_process.clone(),
        reported: Vec::new(),
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
    /// Serve over TLS (and ask for client certificates) instead of plaintext.
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    /// Also serve `grpc.health.v1` alone, in plaintext, here: Kubernetes'
    /// native gRPC probes cannot speak TLS.
    pub probe_addr: Option<std::net::SocketAddr>,
    /// Also publish the stack here for callers in this process.
    pub in_process: Option<InProcess>,
    /// Other names whose health the watcher reports (the gateway's
    /// services), NOT_SERVING from before the first call until it does.
    pub reported: Vec<&'static str>,
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
    readiness.set(false).await;
    readiness
        .reporter
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;
    for name in &options.reported {
        readiness.report(name, false).await;
    }

    let mut reflection_v1 = tonic_reflection::server::Builder::configure();
    let mut reflection_v1alpha = tonic_reflection::server::Builder::configure();
    for set in options.descriptor_sets.iter().copied().chain([
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_types::pb::FILE_DESCRIPTOR_SET,
    ]) {
        reflection_v1 = reflection_v1.register_encoded_file_descriptor_set(set);
        reflection_v1alpha = reflection_v1alpha.register_encoded_file_descriptor_set(set);
    }
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
        .add_service(reflection_v1.build_v1()?)
        .add_service(reflection_v1alpha.build_v1alpha()?);

    if let Some(slot) = &options.in_process {
        // The same stack the socket serves, minus the transport: the gate
        // refuses calls while not ready and records the same metrics.
        let gate = Gate {
            inner: routes.clone().prepare(),
            ready: readiness.ready.clone(),
        };
        slot.publish(LocalService::new(gate));
    }

    let local = listener.local_addr()?;
    tracing::info!(service = options.grpc_name, addr = %local, "listening for gRPC on {local}");

    let watchdog = tokio::spawn(watcher(readiness.clone()));

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let stop = async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = options.tls.clone() {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .accept_http1(options.accept_http1)
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .trace_fn(crate::telemetry::server_span)
        .layer(GateLayer {
            ready: readiness.ready.clone(),
        })
        .add_routes(routes)
        // `tcp_nodelay` above applies only to addresses tonic binds itself: a
        // listener handed in keeps Nagle's algorithm (about 40 ms per call
        // against delayed ACKs) unless the incoming stream sets it.
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), stop);
    tokio::pin!(server);

    let stop_probe = move || {
        if let Some(probe) = &probe {
            probe.abort();
        }
    };
    tokio::select! {
        result = &mut server => {
            watchdog.abort();
            stop_probe();
            return result.map_err(Into::into);
        }
        () = shutdown => {}
    }

    tracing::info!(
        drain_seconds = options.drain.as_secs(),
        "shutting down: NOT_SERVING, draining in-flight calls"
    );
    watchdog.abort();
    // Liveness stays SERVING until the process exits: a probe that failed
    // during the drain would have the pod killed before its calls finish.
    readiness.set(false).await;
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(options.drain, &mut server).await;
    stop_probe();
    match drained {
        Ok(result) => result?,
        Err(_) => tracing::warn!("drain time exceeded; remaining calls are cut off"),
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
    /// Marks the server ready (SERVING) or not (NOT_SERVING, calls refused).
    pub async fn set(&self, ready: bool) {
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
            tracing::info!(service = self.grpc_name, ready, "readiness changed");
        }
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
            Ok(false) => tracing::warn!("database schema is not migrated yet; waiting"),
            Err(e) => tracing::warn!(error = %e, "database not ready; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
    tracing::info!("database schema is up to date");
    readiness.set(true).await;
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        match db.ping().await {
            Ok(()) => readiness.set(true).await,
            Err(e) => {
                tracing::warn!(error = %e, "database unreachable");
                readiness.set(false).await;
            }
        }
    }
}

/// Refuses service calls with UNAVAILABLE until the database is ready, and
/// records per-method metrics. Health and reflection always pass.
#[derive(Debug, Clone)]
struct GateLayer {
    ready: Arc<AtomicBool>,
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;
    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            ready: self.ready.clone(),
        }
    }
}

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
        let path = request.uri().path().to_string();
        let infrastructure =
            path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.");
        if !infrastructure && !self.ready.load(Ordering::SeqCst) {
            let status = tonic::Status::unavailable(
                "the service is starting or its database is unreachable; retry shortly",
            );
            record(&path, "UNAVAILABLE", Instant::now());
            return Box::pin(async move { Ok(status.into_http()) });
        }
        // Take the service that was polled ready, leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let started = Instant::now();
            let response = inner.call(request).await?;
            if !infrastructure {
                // Errors come back trailers-only, so their code is in the
                // headers; a response without grpc-status there succeeded (or
                // reports its code in trailers, as a stream failing midway would).
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(tonic::Code::from_i32)
                    .unwrap_or(tonic::Code::Ok);
                record(&path, code_name(code), started);
            }
            Ok(response)
        })
    }
}

fn record(path: &str, code: &'static str, started: Instant) {
    let method = path.to_string();
    metrics::counter!("grpc_server_handled_total", "grpc_method" => method.clone(), "grpc_code" => code)
        .increment(1);
    metrics::histogram!("grpc_server_handling_seconds", "grpc_method" => method)
        .record(started.elapsed().as_secs_f64());
}

/// The canonical name of a gRPC status code (`UNAVAILABLE`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}
