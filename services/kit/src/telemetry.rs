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
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(format!("innolab-{service_name}"))
                .build();
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

/// The span of one incoming gRPC call, child of the caller's `traceparent`.
pub fn server_span(path: &str, headers: &http::HeaderMap) -> tracing::Span {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "grpc",
        otel.kind = "server",
        otel.name = %path,
        rpc.system = "grpc",
        request_id = %request_id,
    );
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    // Fails only when no OpenTelemetry layer is installed; then there is no trace to join.
    let _ = span.set_parent(parent);
    span
}

/// Writes the current span's context into outgoing headers (for clients such
/// as the gateway).
pub fn inject_current_context(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(headers));
    });
}
