//! The `innolab` binary runs the whole suite in one process: the gateway
//! answers for every service, and SIGTERM stops everything cleanly.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use innolab_proto::innolab::membership::v1 as pb;
use pb::membership_service_client::MembershipServiceClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn one_command_runs_the_suite_behind_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_innolab"))
        .current_dir(dir.path())
        .env("INNOLAB_LISTEN_ADDR", "127.0.0.1:0")
        .env("INNOLAB_METRICS_ADDR", "off")
        .env("INNOLAB_LOG_FORMAT", "json")
        .env("INNOLAB_SHUTDOWN_DRAIN_SECONDS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The gateway's address is in the log line that announces it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("\"gateway\":\"").nth(1) {
                let _ = tx.send(rest.split('"').next().unwrap_or_default().to_string());
            }
        }
    });
    let gateway = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("gateway address logged");

    let channel = tonic::transport::Channel::from_shared(format!("http://{gateway}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The gateway's own readiness does not wait for the services: ask
        // for membership's state as the gateway sees it.
        let ready = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: "innolab.membership.v1.MembershipService".into(),
            })
            .await
            .map(|r| r.into_inner().status == 1)
            .unwrap_or(false);
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "suite not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut client = MembershipServiceClient::new(channel);
    let created = client
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_names: vec![pb::LocalizedText {
                    language_code: "fi".into(),
                    text: "Valtiovarainministeriö".into(),
                }],
                kind: pb::OrganizationKind::Government as i32,
                country_code: "FI".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.name.starts_with("organizations/"));
    assert!(
        dir.path().join("innolab-data/membership.db").exists(),
        "data lives in an embedded SQLite file"
    );

    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "exit after SIGTERM: {exit}");
            break;
        }
        assert!(Instant::now() < deadline, "suite did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
