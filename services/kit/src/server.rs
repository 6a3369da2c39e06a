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
    let calls = Calls {
        inner: Gate {
            inner: routes.prepare(),
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

/// How long a request's body may stay silent by default.
pub const REQUEST_IDLE: Duration = Duration::from_secs(10);

/// The caller's `grpc-timeout` (e.g. `250m`), per the gRPC over HTTP/2 spec;
/// a malformed one is INVALID_ARGUMENT.
pub fn grpc_timeout(headers: &http::HeaderMap) -> Result<Option<Duration>, tonic::Status> {
    let Some(value) = headers.get("grpc-timeout") else {
        return Ok(None);
    };
    let bad = || tonic::Status::invalid_argument("malformed grpc-timeout header");
    let text = value.to_str().map_err(|_| bad())?;
    if text.len() < 2 || text.len() > 9 {
        return Err(bad());
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let amount: u64 = digits.parse().map_err(|_| bad())?;
    Ok(Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return Err(bad()),
    }))
}

/// A status as the trailers that end a stream.
pub fn status_trailers(status: &tonic::Status) -> http::HeaderMap {
    let mut trailers = http::HeaderMap::new();
    if status.add_header(&mut trailers).is_err() {
        trailers.insert("grpc-status", http::HeaderValue::from_static("13"));
    }
    trailers
}

/// What every call gets, on the socket and in process, before the gate:
/// its metrics (on the socket, see [`crate::meter`]), a trace span (none
/// for health and reflection), the caller's deadline
/// enforced (DEADLINE_EXCEEDED, the work dropped, a stream ended when it
/// expires), a request body that may not stay silent for longer than
/// `request_idle`, and at shutdown, open streams that are waiting for
/// something to send ended with UNAVAILABLE and a retry hint.
#[derive(Debug, Clone)]
struct Calls<S> {
    inner: S,
    stopping: watch::Receiver<bool>,
    request_idle: Duration,
    meter: bool,
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for Calls<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        use tracing::Instrument as _;
        let path = request.uri().path();
        let infrastructure = crate::meter::is_infrastructure(path);
        let span = if infrastructure {
            tracing::Span::none()
        } else {
            crate::telemetry::server_span(path, request.headers())
        };
        let call = self
            .meter
            .then(|| crate::meter::Call::start(crate::meter::Side::Server, path, span.clone()));
        let measured = move |response: http::Response<tonic::body::Body>| match call {
            Some(call) => crate::meter::observe(call, response).map(tonic::body::Body::new),
            None => response,
        };
        let deadline = match grpc_timeout(request.headers()) {
            Ok(timeout) => timeout.map(|t| tokio::time::Instant::now() + t),
            Err(status) => {
                let response = measured(status.into_http());
                return Box::pin(async move { Ok(response) });
            }
        };
        let request = if infrastructure {
            request
        } else {
            let idle = self.request_idle;
            request.map(|body| tonic::body::Body::new(IdleBody::new(body, idle)))
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let stopping = self.stopping.clone();
        Box::pin(
            async move {
                let answer = inner.call(request);
                let response = match deadline {
                    Some(at) => match tokio::time::timeout_at(at, answer).await {
                        Ok(response) => response?,
                        Err(_) => {
                            return Ok(measured(
                                tonic::Status::deadline_exceeded(
                                    "the deadline passed before the call was answered",
                                )
                                .into_http(),
                            ));
                        }
                    },
                    None => answer.await?,
                };
                let mut response = response;
                caller_fault(response.headers_mut());
                if deadline.is_some() {
                    deadline_fault(response.headers_mut());
                }
                Ok(measured(response.map(|body| {
                    tonic::body::Body::new(Bounded::new(body, deadline, stopping))
                })))
            }
            .instrument(span),
        )
    }
}

/// A response body that ends with DEADLINE_EXCEEDED when the caller's
/// deadline passes, and, once the server is stopping, with UNAVAILABLE the
/// next time it has nothing ready to send (a followed stream waiting for
/// news; a unary answer is always ready, so it is never cut).
struct Bounded {
    inner: tonic::body::Body,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
    done: bool,
}

impl Bounded {
    fn new(
        inner: tonic::body::Body,
        deadline: Option<tokio::time::Instant>,
        mut stopping: watch::Receiver<bool>,
    ) -> Self {
        Bounded {
            inner,
            deadline: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
            stopping: Box::pin(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            }),
            done: false,
        }
    }

    fn end(
        &mut self,
        status: tonic::Status,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        self.done = true;
        Poll::Ready(Some(Ok(http_body::Frame::trailers(status_trailers(
            &status,
        )))))
    }
}

impl http_body::Body for Bounded {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return self.end(tonic::Status::deadline_exceeded(
                "the deadline passed; the stream ends here",
            ));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(mut frame) => {
                if !matches!(&frame, Some(Ok(f)) if f.is_data()) {
                    self.done = true;
                }
                if let Some(Ok(f)) = &mut frame
                    && let Some(trailers) = f.trailers_mut()
                {
                    caller_fault(trailers);
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                if self.stopping.as_mut().poll(cx).is_ready() {
                    let mut details = tonic_types::ErrorDetails::new();
                    details.set_retry_info(Some(Duration::from_secs(1)));
                    return self.end(<tonic::Status as tonic_types::StatusExt>::with_error_details(
                        tonic::Code::Unavailable,
                        "the server is shutting down; resume from the last cursor on another replica",
                        details,
                    ));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // An answer that is already whole (a trailers-only error) must go out
        // as one HEADERS frame with END_STREAM, as gRPC clients expect.
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        if self.deadline.is_some() {
            http_body::SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}

/// A request body that fails when it stays silent for longer than `idle`.
struct IdleBody {
    inner: tonic::body::Body,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl IdleBody {
    fn new(inner: tonic::body::Body, idle: Duration) -> Self {
        IdleBody {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl http_body::Body for IdleBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + self.idle;
                self.timer.as_mut().reset(next);
                Poll::Ready(frame)
            }
            Poll::Pending => {
                if self.timer.as_mut().poll(cx).is_ready() {
                    let idle = self.idle.as_secs();
                    return Poll::Ready(Some(Err(tonic::Status::deadline_exceeded(format!(
                        "the request's body stayed silent for {idle} s; send it whole, or keep streaming"
                    )))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// tonic answers a request message it cannot decode (not protobuf, a
/// truncated message, invalid UTF-8 in a string, a wrong wire type) with
/// INTERNAL; those are the caller's mistake: INVALID_ARGUMENT, with tonic's
/// message, which names the message and field where the decoder says it.
fn caller_fault(headers: &mut http::HeaderMap) {
    if headers.get("grpc-status").map(|v| v.as_bytes()) != Some(b"13") {
        return;
    }
    let Some(message) = headers.get("grpc-message").and_then(|v| v.to_str().ok()) else {
        return;
    };
    const CALLER_FAULTS: [&str; 3] = [
        "failed%20to%20decode%20Protobuf%20message",
        "failed to decode Protobuf message",
        "protocol%20error:%20received%20message%20with%20invalid%20compression%20flag",
    ];
    if CALLER_FAULTS.iter().any(|fault| message.starts_with(fault)) {
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
    }
}

/// A handler that passes on the error of a call it made with the caller's
/// remaining deadline gets tonic's client-side "Timeout expired", which
/// tonic calls CANCELLED; for the caller, its deadline passed.
fn deadline_fault(headers: &mut http::HeaderMap) {
    if headers.get("grpc-status").map(|v| v.as_bytes()) == Some(b"1")
        && headers.get("grpc-message").map(|v| v.as_bytes()) == Some(b"Timeout%20expired")
    {
        headers.insert("grpc-status", http::HeaderValue::from_static("4"));
    }
}
