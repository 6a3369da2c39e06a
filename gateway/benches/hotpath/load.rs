//! The load and the ceilings: h2load against one path, checked against
//! the process's own counters; the bare tonic server; pgbench.

use std::path::Path;
use std::process::Command;

use prost::Message;

/// What h2load measured of one path.
#[derive(Clone, Copy)]
pub struct Measured {
    pub rate: f64,
    pub p50: f64,
    pub p99: f64,
}

/// The load: h2load with `BENCH_REQUESTS` requests, 8 connections of 4
/// streams each, one thread; `body` is one gRPC message, framed.
fn h2load(url: &str, body: &[u8], requests: usize, work: &Path) -> Measured {
    let data = work.join("body.bin");
    let log = work.join("h2load.log");
    std::fs::write(&data, body).unwrap();
    let run = |n: usize| {
        Command::new("h2load")
            .args(["-n", &n.to_string(), "-c", "8", "-m", "4", "-t", "1", "-d"])
            .arg(&data)
            .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
            .arg(format!("--log-file={}", log.display()))
            .arg(url)
            .output()
            .expect("h2load runs (Debian: apt-get install nghttp2-client)")
    };
    run(requests / 10); // warm-up: connections, statement caches, pools
    let out = run(requests);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{requests} succeeded")),
        "h2load {url}: {text}"
    );
    let rate = text
        .lines()
        .find(|l| l.starts_with("finished in"))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|r| r.trim_end_matches(" req/s").parse::<f64>().ok())
        .expect("h2load's rate");
    let mut micros: Vec<f64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| l.split('\t').nth(2)?.parse().ok())
        .collect();
    micros.sort_by(f64::total_cmp);
    let at = |p: f64| micros[((micros.len() - 1) as f64 * p).round() as usize] / 1000.0;
    Measured {
        rate,
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// One gRPC message, framed for h2load's body.
pub fn framed(message: &impl Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&bytes);
    out
}

/// Requests a process answered OK for `method`, from its metrics.
fn answered_ok(metrics: &str, method: &str) -> f64 {
    let body = Command::new("curl")
        .args(["-sf", &format!("http://{metrics}/metrics")])
        .output()
        .expect("curl runs")
        .stdout;
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total{")
                && l.contains(&format!("grpc_method=\"{method}\""))
                && l.contains("grpc_code=\"OK\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Measures `method` at `addr` and checks the process at `metrics` answered
/// every request of it OK.
pub fn measure(addr: &str, path: &str, body: &[u8], requests: usize, metrics: &str) -> Measured {
    let method = path.rsplit('/').next().unwrap();
    let before = answered_ok(metrics, method);
    let work = tempfile::tempdir().unwrap();
    let m = h2load(&format!("http://{addr}{path}"), body, requests, work.path());
    let ok = answered_ok(metrics, method) - before;
    let sent = (requests + requests / 10) as f64;
    assert!(
        ok >= sent,
        "{addr}{path}: {ok} of {sent} requests answered OK"
    );
    m
}

/// The gRPC ceiling: a bare tonic server with only the health service.
pub async fn bare_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    addr
}

/// `pgbench -S -M prepared` with 8 clients on a scale-10 database of its own.
pub fn pgbench(url: &str, seconds: u32) -> Measured {
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", url])
        .output()
        .expect("pgbench runs (Debian: postgresql-contrib)");
    assert!(init.status.success(), "pgbench -i: {init:?}");
    let out = Command::new("pgbench")
        .args(["-S", "-M", "prepared", "-c", "8", "-j", "2", "-T"])
        .arg(seconds.to_string())
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| {
                l[prefix.len()..]
                    .split_whitespace()
                    .next()?
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("pgbench printed no {prefix:?}: {text}"))
    };
    let latency = field("latency average = ");
    Measured {
        rate: field("tps = "),
        p50: latency,
        p99: f64::NAN,
    }
}

/// Measures `path` at `addr` on a server of this program that counts its
/// own OK answers: every request must be among them.
pub fn measure_counted(
    addr: &str,
    path: &str,
    body: &[u8],
    requests: usize,
    answered_ok: impl Fn() -> u64,
) -> Measured {
    let before = answered_ok();
    let work = tempfile::tempdir().unwrap();
    let m = h2load(&format!("http://{addr}{path}"), body, requests, work.path());
    let ok = answered_ok() - before;
    let sent = (requests + requests / 10) as u64;
    assert!(
        ok >= sent,
        "{addr}{path}: {ok} of {sent} requests answered OK"
    );
    m
}

/// The bare server has no metrics: h2load's count of HTTP 200s, and one
/// checked call, stand for its answers.
pub fn measure_bare(addr: &str, requests: usize) -> Measured {
    let work = tempfile::tempdir().unwrap();
    h2load(
        &format!("http://{addr}/grpc.health.v1.Health/Check"),
        &framed(&tonic_health::pb::HealthCheckRequest::default()),
        requests,
        work.path(),
    )
}
