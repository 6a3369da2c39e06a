//! The real `innolab-guidance` binary, configured only by environment
//! variables: it migrates, serves, refuses a bad attachment limit, and stops
//! cleanly on SIGTERM.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use innolab_proto::innolab::guidance::v1 as pb;
use pb::guidance_service_client::GuidanceServiceClient;

const BIN: &str = env!("CARGO_BIN_EXE_innolab-guidance");

fn command(dir: &tempfile::TempDir, port: u16) -> Command {
    let mut c = Command::new(BIN);
    c.env("INNOLAB_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("INNOLAB_METRICS_ADDR", "off")
        .env(
            "INNOLAB_DATABASE_URL",
            format!("sqlite://{}/g.db", dir.path().display()),
        )
        .env("INNOLAB_SHUTDOWN_DRAIN_SECONDS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[tokio::test]
async fn migrates_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = innolab_kit::testing::free_port();
    let status = command(&dir, port).arg("migrate").status().unwrap();
    assert!(status.success(), "migrate: {status}");
    let mut child = command(&dir, port)
        .env("INNOLAB_MIGRATE_ON_START", "false")
        .env("INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES", "1048576")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let answered = loop {
        if let Ok(mut client) =
            GuidanceServiceClient::connect(format!("http://127.0.0.1:{port}")).await
            && let Ok(r) = client
                .list_documents(pb::ListDocumentsRequest::default())
                .await
        {
            break r.into_inner();
        }
        assert!(Instant::now() < deadline, "no answer within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(answered.documents.is_empty());
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "exit status after SIGTERM: {exit}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_zero_attachment_limit_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let status = command(&dir, innolab_kit::testing::free_port())
        .env("INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES", "0")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let status = command(&dir, innolab_kit::testing::free_port())
        .env("INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES", "lots")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}
