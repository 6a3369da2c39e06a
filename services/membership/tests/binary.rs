//! The real `innolab-membership` binary, configured only by environment
//! variables: it starts, serves health and metrics, and stops cleanly on SIGTERM.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use innolab_kit::testing;
use innolab_proto::innolab::membership::v1 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use pb::membership_service_client::MembershipServiceClient;

const BIN: &str = env!("CARGO_BIN_EXE_innolab-membership");

#[tokio::test]
async fn serves_health_and_metrics_then_stops_cleanly_on_sigterm() {
    let mut running = testing::start(BIN, &[]);
    running.wait_serving().await;
    // One call that fails and one path that names no method.
    let channel = running.channel().await;
    let mut client = MembershipServiceClient::new(channel.clone());
    let status = client
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/unknown".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let unknown = grpc
        .unary::<_, pb::Organization, _>(
            tonic::Request::new(pb::GetOrganizationRequest::default()),
            "/innolab.membership.v1.MembershipService/NoSuchMethod"
                .parse()
                .unwrap(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::Unimplemented);

    let metrics = testing::http_get(running.metrics, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200") || metrics.starts_with("HTTP/1.0 200"));
    let labels = "grpc_service=\"innolab.membership.v1.MembershipService\",\
                  grpc_method=\"GetOrganization\",grpc_type=\"unary\"";
    for expected in [
        "# HELP grpc_server_handled_total ".to_string(),
        "# TYPE grpc_server_handled_total counter".to_string(),
        "# TYPE grpc_server_handling_seconds histogram".to_string(),
        format!("grpc_server_started_total{{{labels}}} 1"),
        format!("grpc_server_handled_total{{{labels},grpc_code=\"NotFound\"}} 1"),
        format!("grpc_server_handling_seconds_bucket{{{labels},le=\"+Inf\"}} 1"),
        // A path outside the contract is counted, under bounded labels.
        "grpc_server_handled_total{grpc_service=\"unknown\",grpc_method=\"unknown\",\
         grpc_type=\"unknown\",grpc_code=\"Unimplemented\"} 1"
            .to_string(),
        "innolab_build_info{service=\"membership\",version=\"".to_string(),
        "process_resident_memory_bytes ".to_string(),
    ] {
        assert!(
            metrics.contains(&expected),
            "{expected:?} missing from the scrape:\n{metrics}"
        );
    }
    assert!(
        !metrics.contains("NoSuchMethod"),
        "unbounded label:\n{metrics}"
    );
    running.sigterm_and_expect_clean_exit().await;
}

/// A minimal OTLP/gRPC collector that keeps what it receives.
#[derive(Default, Clone)]
struct Collector(std::sync::Arc<std::sync::Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The value of the attribute `key`.
fn value_of(
    attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<opentelemetry_proto::tonic::common::v1::any_value::Value> {
    attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.clone())
}

#[tokio::test]
async fn exports_spans_over_otlp_continuing_the_callers_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut running = testing::start(
        BIN,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}")),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
            ("OTEL_SERVICE_NAME", "membership-eu-west".to_string()),
        ],
    );
    running.wait_serving().await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let channel = running.channel().await;
    let mut client = MembershipServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::GetOrganizationRequest {
        name: "organizations/unknown".into(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    let status = client.get_organization(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);

    // Shutdown flushes the batch exporter.
    running.sigterm_and_expect_clean_exit().await;
    let received = collector.0.lock().unwrap().clone();
    let spans: Vec<_> = received
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    let ours = spans
        .iter()
        .find(|s| s.name.contains("GetOrganization"))
        .unwrap_or_else(|| panic!("no GetOrganization span among {} spans", spans.len()));
    let hex: String = ours.trace_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, trace_id, "the span continues the caller's trace");
    // OpenTelemetry's RPC conventions.
    assert_eq!(
        ours.name,
        "innolab.membership.v1.MembershipService/GetOrganization"
    );
    assert_eq!(ours.kind, 2, "SPAN_KIND_SERVER");
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let attribute = |key: &str| value_of(&ours.attributes, key);
    assert_eq!(
        attribute("rpc.system"),
        Some(Value::StringValue("grpc".into()))
    );
    assert_eq!(
        attribute("rpc.service"),
        Some(Value::StringValue(
            "innolab.membership.v1.MembershipService".into()
        ))
    );
    assert_eq!(
        attribute("rpc.method"),
        Some(Value::StringValue("GetOrganization".into()))
    );
    assert_eq!(attribute("rpc.grpc.status_code"), Some(Value::IntValue(5)));
    // NOT_FOUND is the caller's miss, not the server's error.
    assert_ne!(
        ours.status.as_ref().map(|s| s.code),
        Some(2),
        "not STATUS_CODE_ERROR"
    );
    // OTEL_SERVICE_NAME wins; the version is there.
    let resource = received
        .iter()
        .flat_map(|r| &r.resource_spans)
        .filter_map(|r| r.resource.as_ref())
        .next()
        .expect("a resource");
    let resource_attribute = |key: &str| value_of(&resource.attributes, key);
    assert_eq!(
        resource_attribute("service.name"),
        Some(Value::StringValue("membership-eu-west".into()))
    );
    assert_eq!(
        resource_attribute("service.version"),
        Some(Value::StringValue(env!("CARGO_PKG_VERSION").into()))
    );
    // Health probes make no spans.
    assert!(
        spans.iter().all(|s| !s.name.contains("grpc.health")),
        "health probes traced: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

#[test]
fn a_bad_setting_is_refused_at_start_naming_the_variable() {
    let output = Command::new(BIN)
        .env("INNOLAB_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INNOLAB_DATABASE_URL"), "{stderr}");
}

#[test]
fn migrate_command_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .arg("migrate")
        .env(
            "INNOLAB_DATABASE_URL",
            format!("sqlite://{}/m.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("m.db").exists());
}
