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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A suite started on the addresses it is given; `ready` is its "ready" log line.
struct Placed {
    child: std::process::Child,
    ready: String,
    _dir: tempfile::TempDir,
}

/// The suite in a folder of its own, its output piped.
fn place(env: &[(&str, String)], dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_innolab"))
        .current_dir(dir)
        .env("INNOLAB_LOG_FORMAT", "json")
        .env("INNOLAB_SHUTDOWN_DRAIN_SECONDS", "5")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn start_placed(env: &[(&str, String)]) -> Placed {
    let dir = tempfile::tempdir().unwrap();
    let mut child = place(env, dir.path());
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("innolab suite ready") {
                let _ = tx.send(line);
            }
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the suite says once where it listens when it is ready");
    Placed {
        child,
        ready,
        _dir: dir,
    }
}

async fn serving(addr: &str) -> bool {
    let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
    else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .is_ok_and(|r| r.into_inner().status == 1)
}

#[tokio::test]
async fn two_suites_run_side_by_side_on_the_addresses_they_are_given() {
    let mut suites = Vec::new();
    let mut all_ports = Vec::new();
    for _ in 0..2 {
        let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
        let env = [
            ("INNOLAB_LISTEN_ADDR", format!("127.0.0.1:{}", ports[0])),
            ("INNOLAB_MEMBERSHIP_ADDR", format!("127.0.0.1:{}", ports[1])),
            (
                "INNOLAB_INITIATIVES_ADDR",
                format!("127.0.0.1:{}", ports[2]),
            ),
            ("INNOLAB_GUIDANCE_ADDR", format!("127.0.0.1:{}", ports[3])),
            ("INNOLAB_IMPACT_ADDR", format!("127.0.0.1:{}", ports[4])),
            ("INNOLAB_METRICS_ADDR", format!("127.0.0.1:{}", ports[5])),
        ];
        suites.push(start_placed(&env));
        all_ports.push(ports);
    }
    for (suite, ports) in suites.iter().zip(&all_ports) {
        // Every address is in the one "ready" line, and answers.
        for (service, port) in ["gateway", "membership", "initiatives", "guidance", "impact"]
            .iter()
            .zip(ports)
        {
            let addr = format!("127.0.0.1:{port}");
            assert!(
                suite.ready.contains(&addr),
                "{service} {addr} not in {}",
                suite.ready
            );
            assert!(serving(&addr).await, "{service} does not answer at {addr}");
        }
    }

    // A third one on a busy port stops at once, naming the port and its setting.
    let busy = &all_ports[0];
    for (variable, port) in [
        ("INNOLAB_GUIDANCE_ADDR", busy[3]),
        ("INNOLAB_METRICS_ADDR", busy[5]),
    ] {
        let mut env = vec![
            ("INNOLAB_LISTEN_ADDR", "127.0.0.1:0".to_string()),
            ("INNOLAB_METRICS_ADDR", "off".to_string()),
        ];
        env.retain(|(k, _)| *k != variable);
        env.push((variable, format!("127.0.0.1:{port}")));
        let dir = tempfile::tempdir().unwrap();
        let output = place(&env, dir.path()).wait_with_output().unwrap();
        assert!(!output.status.success());
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            log.contains(&format!("127.0.0.1:{port}")) && log.contains(variable),
            "the error names the port and {variable}: {log}"
        );
    }

    for mut suite in suites {
        assert!(
            Command::new("kill")
                .args(["-TERM", &suite.child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        assert!(suite.child.wait().unwrap().success());
    }
}

#[test]
fn help_describes_the_suite() {
    let output = Command::new(env!("CARGO_BIN_EXE_innolab"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.starts_with("innolab suite:"), "{help}");
    for shown in ["--membership-addr", "INNOLAB_IMPACT_ADDR", "--demo"] {
        assert!(help.contains(shown), "{shown} missing: {help}");
    }
    // The suite gives each service its schema itself.
    assert!(!help.contains("--database-schema"), "{help}");
    assert!(!help.contains("sqlite://"), "{help}");
}
