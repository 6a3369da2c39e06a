//! What the benchmarks of this package share.

#![allow(clippy::unwrap_used, clippy::panic)]
// Each benchmark uses some of these.
#![allow(dead_code)]

use std::process::{Child, Command};
use std::time::Duration;

use tonic::transport::Channel;

/// Waits until the gateway at `addr`, and every service as it sees them,
/// answer SERVING.
pub async fn wait_ready(addr: &str) {
    for _ in 0..1200 {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            // The gateway, and every service as the gateway sees it.
            let mut ready = true;
            for service in [""].into_iter().chain(innolab_gateway::UPSTREAM_NAMES) {
                ready &= tonic_health::pb::health_client::HealthClient::new(channel.clone())
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: service.into(),
                    })
                    .await
                    .is_ok_and(|r| r.get_ref().status == 1);
            }
            if ready {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{addr} not ready");
}

/// A free loopback address (`127.0.0.1:<port>`).
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The `p` percentile (0 to 1) of `sorted`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The peak resident memory (VmHWM) of process `pid`, in MiB.
pub fn memory_peak_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A child process, stopped with SIGTERM when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}
