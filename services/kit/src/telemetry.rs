//! Logs and traces: `tracing` everywhere, exported over OTLP when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` variable is set, with W3C trace-context
//! propagation so a gateway call and the service calls it makes share a trace.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Flushes pending spans when dropped; keep it alive for the life of `main`.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: flushing spans failed: {e}");
        }
    }
}

/// Installs the global subscriber. Log level from `RUST_LOG` (default `info`).
pub fn init(service_name: &'static str, format: LogFormat) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));

    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let provider = match endpoint {
        Some(_) => {
            // The exporter reads the endpoint, headers and timeout from the
            // standard OTEL_EXPORTER_OTLP_* variables itself.
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()?;
            // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by the
            // builder's own detectors) win over the built-in values.
            let given = |key: &str| {
                std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| {
                    v.split(',')
                        .any(|kv| kv.trim().starts_with(&format!("{key}=")))
                })
            };
            let mut resource = opentelemetry_sdk::Resource::builder();
            if !given("service.name")
                && !std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
            {
                resource = resource.with_service_name(format!("innolab-{service_name}"));
            }
            if !given("service.version") {
                resource = resource.with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ));
            }
            let resource = resource.build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
        None => None,
    };
    let otel_layer = provider.as_ref().map(|p| {
        opentelemetry::global::set_tracer_provider(p.clone());
        tracing_opentelemetry::layer().with_tracer(p.tracer(service_name))
    });

    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    // Colours only for a person at a terminal, never in a file or a pod's log.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    match format {
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_ansi(ansi))
            .try_init()?,
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init()?,
    }
    if provider.is_some() {
        tracing::info!("exporting traces over OTLP");
    }
    Ok(TelemetryGuard { provider })
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// `(rpc.service, rpc.method)` of a path `/pkg.Service/Method`.
fn rpc_names(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path.trim_start_matches('/'), ""))
}

/// A span of one gRPC call per OpenTelemetry's RPC conventions: named
/// `pkg.Service/Method`, with `rpc.*` attributes; the status code and the
/// error status are recorded when the call ends ([`crate::meter::Call::finish`]).
macro_rules! rpc_span {
    ($name:literal, $kind:literal, $path:expr $(, $field:ident = $value:expr)*) => {{
        let (service, method) = rpc_names($path);
        tracing::info_span!(
            $name,
            otel.kind = $kind,
            otel.name = %$path.trim_start_matches('/'),
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            $($field = %$value,)*
        )
    }};
}

/// The span of one incoming gRPC call, child of the caller's `traceparent`.
pub fn server_span(path: &str, headers: &http::HeaderMap) -> tracing::Span {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = rpc_span!("grpc", "server", path, request_id = request_id);
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    // Fails only when no OpenTelemetry layer is installed; then there is no trace to join.
    let _ = span.set_parent(parent);
    record_trace_id(&span);
    span
}

/// The span of one outgoing gRPC call (the gateway's, initiatives'), a child
/// of the current span; [`inject`] puts it in the call's headers.
pub fn client_span(path: &str) -> tracing::Span {
    let span = rpc_span!("grpc.client", "client", path);
    record_trace_id(&span);
    span
}

/// Puts the trace id in the span's fields, so log lines of the call carry it.
fn record_trace_id(span: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt as _;
    if span.is_disabled() {
        return;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", span_context.trace_id().to_string());
    }
}

/// Writes `span`'s context into outgoing headers (W3C `traceparent`).
pub fn inject(span: &tracing::Span, headers: &mut http::HeaderMap) {
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(headers));
    });
}
