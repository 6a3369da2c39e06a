//! What every RPC leaves behind, on both sides of a call: Prometheus metrics
//! in the standard gRPC shape (the families and labels of
//! go-grpc-prometheus, which dashboards and alerts expect) and an
//! OpenTelemetry span following the RPC semantic conventions.
//!
//! - `grpc_{server,client}_started_total{grpc_service,grpc_method,grpc_type}`
//! - `grpc_{server,client}_handled_total{...,grpc_code}`, counted from the
//!   status actually sent: the trailers of a stream, the headers of a
//!   trailers-only answer, the HTTP status of a JSON answer, `Canceled` when
//!   the caller went away first;
//! - `grpc_{server,client}_handling_seconds` (a histogram), from the call's
//!   arrival to its last frame.
//!
//! Label values are bounded: a path that is not a method of a registered
//! descriptor set is counted as `unknown`. The exposition is the
//! `metrics-exporter-prometheus` recorder's, served by [`serve`] with
//! process metrics (`metrics-process`) and `innolab_build_info`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use prost::Message as _;

/// Which side of a call is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// A call this process answers.
    Server,
    /// A call this process makes.
    Client,
}

/// A method's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// Full service name, `innolab.membership.v1.MembershipService`.
    pub service: &'static str,
    /// Bare method name, `GetOrganization`.
    pub method: &'static str,
    /// `unary`, `client_stream`, `server_stream` or `bidi_stream`.
    pub kind: &'static str,
}

/// The labels of a path that names no registered method.
pub const UNKNOWN: Method = Method {
    service: "unknown",
    method: "unknown",
    kind: "unknown",
};

/// Health checks and reflection: measured, never traced.
pub fn is_infrastructure(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

fn methods() -> &'static RwLock<HashMap<String, Method>> {
    static METHODS: OnceLock<RwLock<HashMap<String, Method>>> = OnceLock::new();
    METHODS.get_or_init(Default::default)
}

/// Makes the methods of `sets` (encoded `FileDescriptorSet`s) known, so
/// their calls are counted under their own names. Idempotent.
pub fn register(sets: &[&[u8]]) -> anyhow::Result<()> {
    let mut found = Vec::new();
    for set in sets {
        let set = prost_types::FileDescriptorSet::decode(*set)?;
        for file in set.file {
            for service in &file.service {
                let full = match file.package() {
                    "" => service.name().to_string(),
                    package => format!("{package}.{}", service.name()),
                };
                for method in &service.method {
                    let kind = match (method.client_streaming(), method.server_streaming()) {
                        (false, false) => "unary",
                        (true, false) => "client_stream",
                        (false, true) => "server_stream",
                        (true, true) => "bidi_stream",
                    };
                    found.push((
                        format!("/{full}/{}", method.name()),
                        full.clone(),
                        method.name().to_string(),
                        kind,
                    ));
                }
            }
        }
    }
    let mut known = methods()
        .write()
        .map_err(|_| anyhow::anyhow!("method registry poisoned"))?;
    for (path, service, method, kind) in found {
        if known.contains_key(&path) {
            continue;
        }
        // Leaked once per method of the process's contract: label values
        // are then `&'static str`, with no allocation per call.
        let method = Method {
            service: Box::leak(service.into_boxed_str()),
            method: Box::leak(method.into_boxed_str()),
            kind,
        };
        known.insert(path, method);
    }
    Ok(())
}

/// The labels of the call to `path` (`/pkg.Service/Method`).
pub fn method(path: &str) -> Method {
    methods()
        .read()
        .ok()
        .and_then(|known| known.get(path).copied())
        .unwrap_or(UNKNOWN)
}

/// A status code's name in the metrics (Go's names, as go-grpc-prometheus
/// writes them: `OK`, `InvalidArgument`, `Unavailable`).
pub fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// The code an answer reports, put in a response's extensions by whoever
/// answers in another shape than gRPC (the gateway's JSON errors), so the
/// metrics count what the caller was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome(pub tonic::Code);

/// One call being measured: started now, counted once when [`Call::finish`]
/// is called or, if never, as `Canceled` when dropped (the caller or the
/// callee went away before the end).
#[derive(Debug)]
pub struct Call {
    side: Side,
    series: &'static Series,
    started: Instant,
    span: tracing::Span,
    done: bool,
}

/// The series of one method on one side: its handles are looked up in the
/// recorder once, not on every call (a key built, hashed and found three
/// times per call, on each side). Kept per method and side for the
/// process's life: the methods are those of its contract, a bounded set.
#[derive(Debug)]
pub struct Series {
    method: Method,
    started: metrics::Counter,
    seconds: metrics::Histogram,
    /// `grpc_*_handled_total` by code, made at its first use.
    handled: [OnceLock<metrics::Counter>; 17],
}

impl Series {
    /// The series of `method` on `side`. Before the recorder is installed a
    /// handle would count nothing for ever, so none is kept until then.
    fn of(side: Side, method: Method) -> &'static Series {
        type Known = RwLock<HashMap<(Side, usize, usize), &'static Series>>;
        static KNOWN: OnceLock<Known> = OnceLock::new();
        // Label values are interned (`register`), so their addresses name them.
        let key = (
            side,
            method.service.as_ptr() as usize,
            method.method.as_ptr() as usize,
        );
        if RECORDER.get().is_none() {
            // No recorder (a test that never serves metrics): nothing to count.
            static UNRECORDED: OnceLock<Series> = OnceLock::new();
            return UNRECORDED.get_or_init(|| Series {
                method: UNKNOWN,
                started: metrics::Counter::noop(),
                seconds: metrics::Histogram::noop(),
                handled: std::array::from_fn(|_| OnceLock::from(metrics::Counter::noop())),
            });
        }
        let known = KNOWN.get_or_init(Default::default);
        if let Some(series) = known.read().ok().and_then(|k| k.get(&key).copied()) {
            return series;
        }
        let mut known = known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .entry(key)
            .or_insert_with(|| Box::leak(Box::new(Series::new(side, method))))
    }

    fn new(side: Side, m: Method) -> Series {
        let (started, seconds) = match side {
            Side::Server => ("grpc_server_started_total", "grpc_server_handling_seconds"),
            Side::Client => ("grpc_client_started_total", "grpc_client_handling_seconds"),
        };
        Series {
            method: m,
            started: metrics::counter!(
                started,
                "grpc_service" => m.service,
                "grpc_method" => m.method,
                "grpc_type" => m.kind
            ),
            seconds: metrics::histogram!(
                seconds,
                "grpc_service" => m.service,
                "grpc_method" => m.method,
                "grpc_type" => m.kind
            ),
            handled: Default::default(),
        }
    }

    fn handled(&self, side: Side, code: tonic::Code) -> &metrics::Counter {
        let m = self.method;
        let slot = usize::try_from(code as i32).unwrap_or(2).min(16);
        self.handled[slot].get_or_init(|| {
            let family = match side {
                Side::Server => "grpc_server_handled_total",
                Side::Client => "grpc_client_handled_total",
            };
            metrics::counter!(
                family,
                "grpc_service" => m.service,
                "grpc_method" => m.method,
                "grpc_type" => m.kind,
                "grpc_code" => code_label(code)
            )
        })
    }
}

impl Call {
    /// Counts the start of a call to `path`; `span` is the call's trace span
    /// (or `Span::none()`), which gets the status at the end.
    pub fn start(side: Side, path: &str, span: tracing::Span) -> Call {
        let method = method(path);
        let series = Series::of(side, method);
        series.started.increment(1);
        Call {
            side,
            series,
            started: Instant::now(),
            span,
            done: false,
        }
    }

    /// Counts the call as answered with `code` (only the first time).
    pub fn finish(&mut self, code: tonic::Code) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        self.series.handled(self.side, code).increment(1);
        self.series
            .seconds
            .record(self.started.elapsed().as_secs_f64());
        self.span.record("rpc.grpc.status_code", code as i32);
        if is_error(self.side, code) {
            self.span.record("otel.status_code", "ERROR");
            self.span
                .record("otel.status_description", code_label(code));
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(tonic::Code::Cancelled);
    }
}

/// Whether a span ends in error, per OpenTelemetry's gRPC conventions: on
/// the client every code but OK; on the server only the codes that are the
/// server's fault (a caller's bad argument is not a server error).
fn is_error(side: Side, code: tonic::Code) -> bool {
    use tonic::Code::*;
    match side {
        Side::Client => code != Ok,
        Side::Server => matches!(
            code,
            Unknown | DeadlineExceeded | Unimplemented | Internal | Unavailable | DataLoss
        ),
    }
}

/// Starts measuring an outgoing call: its CLIENT span (none for health
/// checks and reflection), whose context is put in the request's headers,
/// and its client metrics.
pub fn client_call<B>(request: &mut http::Request<B>) -> (tracing::Span, Call) {
    let path = request.uri().path();
    let span = if is_infrastructure(path) {
        tracing::Span::none()
    } else {
        crate::telemetry::client_span(path)
    };
    crate::telemetry::inject(&span, request.headers_mut());
    let call = Call::start(Side::Client, request.uri().path(), span.clone());
    (span, call)
}

/// The `grpc-status` of a header map (a trailers-only answer or trailers).
pub fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
}

/// The code of an HTTP status, for answers that carry no gRPC status (the
/// Connect protocol's mapping, read backwards).
pub fn http_code(status: http::StatusCode) -> tonic::Code {
    use tonic::Code;
    match status.as_u16() {
        200..=299 => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        408 => Code::DeadlineExceeded,
        409 => Code::Aborted,
        412 => Code::FailedPrecondition,
        413 => Code::ResourceExhausted,
        429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        501 => Code::Unimplemented,
        502..=503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        500 => Code::Internal,
        _ => Code::Unknown,
    }
}

/// Measures `call` until the end of `response`'s body: counted at once for
/// a trailers-only answer, at the trailers of a stream, at the end of the
/// body for an answer in another shape (its [`Outcome`] or HTTP status).
pub fn observe<B>(mut call: Call, response: http::Response<B>) -> http::Response<Observed<B>> {
    let grpc = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    let at_end = if let Some(code) = grpc_status(response.headers()) {
        call.finish(code);
        tonic::Code::Ok
    } else if let Some(Outcome(code)) = response.extensions().get::<Outcome>() {
        *code
    } else if grpc {
        // A gRPC answer reports its code in the trailers; none is Unknown.
        tonic::Code::Unknown
    } else {
        http_code(response.status())
    };
    response.map(|inner| Observed {
        inner,
        call: (!call.done).then_some(call),
        at_end,
    })
}

pin_project_lite::pin_project! {
    /// A response body that finishes its [`Call`] at its trailers or end.
    pub struct Observed<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
        at_end: tonic::Code,
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for Observed<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B> http_body::Body for Observed<B>
where
    B: http_body::Body,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        if let Some(call) = this.call.as_mut() {
            match &frame {
                Some(Ok(f)) => {
                    if let Some(trailers) = f.trailers_ref() {
                        call.finish(grpc_status(trailers).unwrap_or(tonic::Code::Unknown));
                    }
                }
                // A body that broke midway: the caller got no status.
                Some(Err(_)) => call.finish(tonic::Code::Unknown),
                None => call.finish(*this.at_end),
            }
            if call.done {
                *this.call = None;
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Buckets of the handling-time histograms, in seconds.
pub const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The process's Prometheus recorder, once installed.
static RECORDER: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls
/// return the same handle), with HELP texts, histogram buckets and
/// `innolab_build_info{service,version}`.
pub fn install(
    service: &'static str,
) -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle.clone());
    }
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_handling_seconds".into()),
            BUCKETS,
        )?
        .install_recorder()?;
    let _ = RECORDER.set(handle.clone());
    describe();
    metrics_process::Collector::default().describe();
    metrics::gauge!(
        "innolab_build_info",
        "service" => service,
        "version" => env!("CARGO_PKG_VERSION")
    )
    .set(1.0);
    Ok(handle)
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    for (side, whom) in [("server", "on the server"), ("client", "by the client")] {
        describe_counter!(
            format!("grpc_{side}_started_total"),
            format!("Total number of RPCs started {whom}.")
        );
        describe_counter!(
            format!("grpc_{side}_handled_total"),
            format!("Total number of RPCs completed {whom}, regardless of success or failure.")
        );
        describe_histogram!(
            format!("grpc_{side}_handling_seconds"),
            Unit::Seconds,
            format!("Histogram of response latency (seconds) of gRPC calls handled {whom}.")
        );
    }
    describe_gauge!(
        "innolab_build_info",
        "Always 1: the service and the version of the running build."
    );
}

/// Serves `GET /metrics` on `addr` until the process ends: the recorder of
/// [`install`], with process metrics collected at each scrape. The port is
/// bound before this returns, so a busy one is an error naming it.
pub async fn serve(addr: SocketAddr, service: &'static str) -> anyhow::Result<SocketAddr> {
    let handle = install(service)?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen for metrics on {addr} (INNOLAB_METRICS_ADDR): {e}")
    })?;
    let bound = listener.local_addr()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    let collector = std::sync::Arc::new(metrics_process::Collector::default());
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, "metrics listener: accept failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    continue;
                }
            };
            let handle = handle.clone();
            let collector = collector.clone();
            tokio::spawn(async move {
                let page = hyper::service::service_fn(
                    move |request: http::Request<hyper::body::Incoming>| {
                        let page = scrape(&handle, &collector, request.uri().path());
                        async move { page }
                    },
                );
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, page)
                    .await;
            });
        }
    });
    tracing::info!(service, addr = %bound, "metrics at http://{bound}/metrics");
    Ok(bound)
}

/// The answer to a `GET` of `path` on the metrics port.
fn scrape(
    handle: &metrics_exporter_prometheus::PrometheusHandle,
    collector: &metrics_process::Collector,
    path: &str,
) -> Result<http::Response<http_body_util::Full<bytes::Bytes>>, http::Error> {
    if path != "/metrics" {
        return http::Response::builder()
            .status(http::StatusCode::NOT_FOUND)
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                b"metrics are at /metrics\n",
            )));
    }
    collector.collect();
    http::Response::builder()
        .header(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )
        .body(http_body_util::Full::new(bytes::Bytes::from(
            handle.render(),
        )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_labelled_from_their_descriptors() {
        register(&[tonic_health::pb::FILE_DESCRIPTOR_SET]).unwrap();
        assert_eq!(
            method("/grpc.health.v1.Health/Watch"),
            Method {
                service: "grpc.health.v1.Health",
                method: "Watch",
                kind: "server_stream"
            }
        );
        assert_eq!(method("/grpc.health.v1.Health/Check").kind, "unary");
        assert!(is_infrastructure("/grpc.health.v1.Health/Check"));
        assert_eq!(method("/anything/else"), UNKNOWN);
    }

    #[test]
    fn http_statuses_map_back_to_codes() {
        assert_eq!(http_code(http::StatusCode::OK), tonic::Code::Ok);
        assert_eq!(
            http_code(http::StatusCode::BAD_REQUEST),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            http_code(http::StatusCode::SERVICE_UNAVAILABLE),
            tonic::Code::Unavailable
        );
        assert_eq!(code_label(tonic::Code::Cancelled), "Canceled");
    }
}
