//! Gateway overhead benchmark (issue 6's speed targets), a plain program that
//! measures and writes a report; it is not a timed test.
//!
//! It starts the membership service and the gateway in this process on
//! loopback (real gRPC), stores 200 organisations, then measures the same
//! unary read (`GetOrganization`) made directly to the service and through the
//! gateway, in alternating rounds so that drift hits both alike:
//! - latency, one call at a time: median and p99 (target: gateway at most
//!   1.25x direct, median and p99);
//! - throughput with 16 concurrent callers;
//! - the process's peak resident memory (VmHWM), which includes both servers.
//!
//! Run: `cargo bench -p innolab-gateway --bench overhead`. SQLite by default;
//! PostgreSQL when `INNOLAB_BENCH_POSTGRES_URL` is set (a fresh schema is made
//! and dropped). The report goes to `BENCH_REPORT` (default
//! `target/gateway-bench.md`); `BENCH_CALLS` sets the calls per round (default 2000).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use innolab_gateway::{GatewaySettings, UpstreamAddr};
use innolab_kit::config::{DatabaseSettings, Settings};
use innolab_proto::innolab::membership::v1 as pb;
use pb::membership_service_client::MembershipServiceClient;
use tonic::transport::Channel;

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn wait_ready(addr: SocketAddr) {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(addr).await);
    for _ in 0..600 {
        let ready = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_ok_and(|r| r.get_ref().status == 1);
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{addr} not ready");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn sequential(
    client: &mut MembershipServiceClient<Channel>,
    names: &[String],
    calls: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls {
        let started = Instant::now();
        client
            .get_organization(pb::GetOrganizationRequest {
                name: names[i % names.len()].clone(),
            })
            .await
            .unwrap();
        samples.push(started.elapsed());
    }
    samples
}

async fn concurrent(target: Channel, names: &[String], calls: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let mut client = MembershipServiceClient::new(target.clone());
        let names = names.to_vec();
        tasks.push(tokio::spawn(async move {
            for i in 0..calls / 16 {
                client
                    .get_organization(pb::GetOrganizationRequest {
                        name: names[(i + worker) % names.len()].clone(),
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    (calls / 16 * 16) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let report_path =
        std::env::var("BENCH_REPORT").unwrap_or_else(|_| "target/gateway-bench.md".into());
    let dir = tempfile::tempdir().unwrap();
    let (backend, database) = match std::env::var("INNOLAB_BENCH_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("bench_{}", uuid::Uuid::now_v7().simple());
            (
                "PostgreSQL",
                DatabaseSettings::new(&url, &schema, 10).unwrap(),
            )
        }
        _ => {
            let url = format!("sqlite://{}/membership.db", dir.path().display());
            (
                "SQLite",
                DatabaseSettings::new(&url, "membership", 10).unwrap(),
            )
        }
    };

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let service_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_addr = service_listener.local_addr().unwrap();
    let service = tokio::spawn(innolab_membership::serve(
        service_listener,
        Settings::new(database.clone()),
        stopped(),
    ));
    let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_addr = gateway_listener.local_addr().unwrap();
    let gateway = tokio::spawn(innolab_gateway::serve(
        gateway_listener,
        GatewaySettings {
            upstreams: vec![UpstreamAddr {
                service: "membership",
                env: "INNOLAB_MEMBERSHIP_URL",
                url: format!("http://{service_addr}"),
            }],
            shutdown_drain: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
        },
        stopped(),
    ));
    wait_ready(gateway_addr).await;

    let mut direct = MembershipServiceClient::new(channel(service_addr).await);
    let mut through = MembershipServiceClient::new(channel(gateway_addr).await);
    let mut names = Vec::new();
    for i in 0..200 {
        let org = direct
            .create_organization(pb::CreateOrganizationRequest {
                organization: Some(pb::Organization {
                    display_names: vec![pb::LocalizedText {
                        language_code: "ro".into(),
                        text: format!("Primăria {i}"),
                    }],
                    kind: pb::OrganizationKind::LocalGovernment as i32,
                    country_code: "RO".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        names.push(org.name);
    }

    // Warm up both paths, then alternate rounds.
    sequential(&mut direct, &names, 300).await;
    sequential(&mut through, &names, 300).await;
    let (mut d, mut g) = (Vec::new(), Vec::new());
    for _ in 0..4 {
        d.extend(sequential(&mut direct, &names, calls / 4).await);
        g.extend(sequential(&mut through, &names, calls / 4).await);
    }
    d.sort();
    g.sort();
    let (d50, d99, g50, g99) = (
        percentile(&d, 0.5),
        percentile(&d, 0.99),
        percentile(&g, 0.5),
        percentile(&g, 0.99),
    );
    let direct_rate = concurrent(channel(service_addr).await, &names, calls * 2).await;
    let gateway_rate = concurrent(channel(gateway_addr).await, &names, calls * 2).await;
    let rss = peak_rss_mib();

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let mut report = String::new();
    let _ = writeln!(report, "# Gateway overhead ({backend})\n");
    let _ = writeln!(
        report,
        "`cargo bench -p innolab-gateway --bench overhead`, {} sequential GetOrganization calls per path \
         in 4 alternating rounds, then {} calls from 16 concurrent callers per path; one process, loopback, \
         {} CPUs.\n",
        d.len(),
        calls * 2,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(report, "| path | median | p99 | calls/s (16 callers) |");
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(
        report,
        "| direct to the service | {d50:.2?} | {d99:.2?} | {direct_rate:.0} |"
    );
    let _ = writeln!(
        report,
        "| through the gateway | {g50:.2?} | {g99:.2?} | {gateway_rate:.0} |"
    );
    let _ = writeln!(
        report,
        "\nGateway / direct: median {:.2}x, p99 {:.2}x (target at most 1.25x: {}). \
         Peak resident memory of the process (service + gateway + load): {rss:.1} MiB.",
        ratio(g50, d50),
        ratio(g99, d99),
        if ratio(g50, d50) <= 1.25 && ratio(g99, d99) <= 1.25 {
            "met"
        } else {
            "NOT met"
        }
    );
    print!("{report}");
    if let Some(parent) = std::path::Path::new(&report_path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&report_path, &report).unwrap();
    eprintln!("report written to {report_path}");

    drop(stopped);
    let _ = stop_tx.send(true);
    let _ = gateway.await;
    let _ = service.await;
    if backend == "PostgreSQL" {
        sqlx::any::install_default_drivers();
        if let Ok(pool) = sqlx::AnyPool::connect(database.url.expose()).await {
            let _ = sqlx::query(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                database.schema
            ))
            .execute(&pool)
            .await;
        }
    }
}
