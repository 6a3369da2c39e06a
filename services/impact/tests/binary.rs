//! The real `innolab-impact` binary, configured only by environment
//! variables: it starts, serves health and metrics, and stops cleanly on SIGTERM.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use innolab_proto::innolab::impact::v1 as pb;
use pb::impact_service_client::ImpactServiceClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const BIN: &str = env!("CARGO_BIN_EXE_innolab-impact");

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
            format!("sqlite://{}/impact.db", dir.path().display()),
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
async fn serves_the_api_health_and_metrics_then_stops_cleanly_on_sigterm() {
    let mut running = start();
    wait_serving(&mut running).await;
    let channel =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", running.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let mut client = ImpactServiceClient::new(channel);
    let created = client
        .create_assessment(pb::CreateAssessmentRequest {
            assessment: Some(pb::Assessment {
                initiative: "initiatives/a".into(),
                title: "Smoke".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let rollup = client
        .summarize_assessments(pb::SummarizeAssessmentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rollup.assessment_count, 1);
    assert!(created.name.starts_with("assessments/"));
    let metrics = http_get(running.metrics, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200") || metrics.starts_with("HTTP/1.0 200"));
    sigterm_and_expect_clean_exit(&mut running).await;
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
            format!("sqlite://{}/impact.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("impact.db").exists());
}
