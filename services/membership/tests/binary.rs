//! The real `innolab-membership` binary, configured only by environment
//! variables: it starts, serves health and metrics, and stops cleanly on SIGTERM.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use innolab_proto::innolab::membership::v1 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use pb::membership_service_client::MembershipServiceClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const BIN: &str = env!("CARGO_BIN_EXE_innolab-membership");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running {
    child: Child,
    grpc: u16,
    metrics: u16,
    _dir: tempfile::TempDir,
}

fn start() -> Running {
    start_with(&[])
}

fn start_with(env: &[(&str, String)]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, metrics) = (free_port(), free_port());
    let child = Command::new(BIN)
        .env("INNOLAB_LISTEN_ADDR", format!("127.0.0.1:{grpc}"))
        .env("INNOLAB_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .env(
            "INNOLAB_DATABASE_URL",
            format!("sqlite://{}/m.db", dir.path().display()),
        )
        .env("INNOLAB_SHUTDOWN_DRAIN_SECONDS", "5")
        .env("INNOLAB_LOG_FORMAT", "json")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    Running {
        child,
        grpc,
        metrics,
        _dir: dir,
    }
}

async fn serving(port: u16) -> bool {
    let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
    else {
        return false;
    };
    let mut client = HealthClient::new(channel);
    match client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
    {
        Ok(r) => r.get_ref().status == 1,
        Err(_) => false,
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

async fn wait_serving(running: &mut Running) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !serving(running.grpc).await {
        assert!(
            running.child.try_wait().unwrap().is_none(),
            "binary exited early"
        );
        assert!(Instant::now() < deadline, "not SERVING within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sigterm_and_expect_clean_exit(running: &mut Running) {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(exit) = running.child.try_wait().unwrap() {
            assert!(exit.success(), "exit status after SIGTERM: {exit}");
            return;
        }
        assert!(Instant::now() < deadline, "did not stop within the drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn serves_health_and_metrics_then_stops_cleanly_on_sigterm() {
    let mut running = start();
    wait_serving(&mut running).await;
    // One call that fails and one path that names no method.
    let channel =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", running.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
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

    let metrics = http_get(running.metrics, "/metrics");
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
    sigterm_and_expect_clean_exit(&mut running).await;
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
    let mut running = start_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}")),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
        ("OTEL_SERVICE_NAME", "membership-eu-west".to_string()),
    ]);
    wait_serving(&mut running).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let channel =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", running.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
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
    sigterm_and_expect_clean_exit(&mut running).await;
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
