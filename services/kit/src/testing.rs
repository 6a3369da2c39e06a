//! Test support for a service's binary, shared by every service's
//! `tests/binary.rs` (feature `testing`, a dev-dependency only): start the
//! real binary on free loopback ports over a fresh SQLite file, wait until it
//! is SERVING, read its metrics, stop it with SIGTERM and check it exits
//! cleanly.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A service binary running on its own ports and database file.
#[derive(Debug)]
pub struct Running {
    /// The process.
    pub child: Child,
    /// Its gRPC port.
    pub grpc: u16,
    /// Its metrics port.
    pub metrics: u16,
    /// Its folder (the SQLite file is `service.db` in it).
    pub dir: tempfile::TempDir,
}

/// Starts `bin` configured only by environment variables: loopback ports,
/// a fresh SQLite file, a 5 s drain, JSON logs, then `env`.
pub fn start(bin: &str, env: &[(&str, String)]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, metrics) = (free_port(), free_port());
    let child = Command::new(bin)
        .env("INNOLAB_LISTEN_ADDR", format!("127.0.0.1:{grpc}"))
        .env("INNOLAB_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .env(
            "INNOLAB_DATABASE_URL",
            format!("sqlite://{}/service.db", dir.path().display()),
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
        dir,
    }
}

/// Whether the server on `port` answers SERVING.
pub async fn serving(port: u16) -> bool {
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

/// The raw HTTP/1.0 answer to `GET path` on `port`.
pub fn http_get(port: u16, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

impl Running {
    /// A channel to its gRPC port.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", self.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Waits until it answers SERVING (30 s at most, and it must not exit).
    pub async fn wait_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !serving(self.grpc).await {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "binary exited early"
            );
            assert!(Instant::now() < deadline, "not SERVING within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM and checks it exits with success within 15 s.
    pub async fn sigterm_and_expect_clean_exit(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                assert!(exit.success(), "exit status after SIGTERM: {exit}");
                return;
            }
            assert!(Instant::now() < deadline, "did not stop within the drain");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
