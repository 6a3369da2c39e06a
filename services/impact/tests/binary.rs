//! The real `innolab-impact` binary, configured only by environment
//! variables: it starts, serves health and metrics, and stops cleanly on SIGTERM.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use innolab_kit::testing;
use innolab_proto::innolab::impact::v1 as pb;
use pb::impact_service_client::ImpactServiceClient;

const BIN: &str = env!("CARGO_BIN_EXE_innolab-impact");

#[tokio::test]
async fn serves_the_api_health_and_metrics_then_stops_cleanly_on_sigterm() {
    let mut running = testing::start(BIN, &[]);
    running.wait_serving().await;
    let channel = running.channel().await;
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
    let metrics = testing::http_get(running.metrics, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200") || metrics.starts_with("HTTP/1.0 200"));
    running.sigterm_and_expect_clean_exit().await;
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
