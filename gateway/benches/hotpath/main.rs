//! The hot path against its ceilings (issue 22), a plain program that
//! measures and writes a report; it is not a timed test.
//!
//! In one run, under the same concurrent load (h2load from Debian's
//! `nghttp2-client`: 8 connections x 4 streams, one thread), it measures:
//! - the gRPC ceiling: a bare tonic server answering Health/Check;
//! - the database ceiling: `pgbench -S -M prepared` with 8 clients, when
//!   `INNOLAB_BENCH_POSTGRES_URL` is set;
//! - on PostgreSQL, the stack's floor: the same read from a tonic server
//!   with no layers over typed sqlx connections (`floor.rs`);
//! - `GetOrganization` of a stored organisation straight to the membership
//!   service and through the gateway, in the one-process suite (`innolab`)
//!   and with every service and the gateway in processes of their own (as on
//!   Kubernetes), on SQLite and, with the URL, on PostgreSQL;
//! - through the gateway in the one-process suite: a filtered list page
//!   (`ListInitiatives`, page size 50), the dossier and a create, for the
//!   record; and the suite's peak resident memory after all of it.
//!
//! Each measurement is checked: the process's own Prometheus counters must
//! show every request answered OK (h2load sees only HTTP statuses, and a
//! gRPC error is an HTTP 200). p50 and p99 come from h2load's per-request
//! log.
//!
//! Run: `cargo build --release --bins && cargo bench -p innolab-gateway
//! --bench hotpath`. `INNOLAB_BIN_DIR` runs other builds of the binaries
//! (an older commit's, to compare); `BENCH_REQUESTS` sets the requests per
//! measurement (default 40000); the report goes to `BENCH_REPORT` (default
//! `target/hotpath-bench.md`).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use tonic::transport::Channel;

#[path = "../common/mod.rs"]
mod common;
mod floor;
mod load;

use common::{Process, free_addr, memory_peak_mib};

use load::{Measured, bare_server, framed, measure, measure_bare, measure_counted, pgbench};

/// CPU time (user and system) a process has used so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 12th and 13th, in clock ticks of 1/100 s on Linux.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

/// What `measure` costs each process in `pids`, in CPU microseconds per call.
fn cpu_per_call(
    pids: &[u32],
    calls: usize,
    measure: impl FnOnce() -> Measured,
) -> (Measured, Vec<f64>) {
    let before: Vec<f64> = pids.iter().map(|p| cpu_seconds(*p)).collect();
    let m = measure();
    let per_call = pids
        .iter()
        .zip(before)
        .map(|(p, b)| (cpu_seconds(*p) - b) * 1e6 / calls as f64)
        .collect();
    (m, per_call)
}

fn start(bin: &Path, name: &str, dir: &Path, env: &[(&str, String)]) -> Process {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Process(
        Command::new(bin.join(name))
            .env_clear()
            .env("INNOLAB_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}")),
    )
}

/// A running suite: where its gateway, membership and metrics are.
struct Suite {
    gateway: String,
    membership: String,
    gateway_metrics: String,
    membership_metrics: String,
    processes: Vec<Process>,
}

/// The whole suite in one process; its services on ports of their own.
fn one_process(bin: &Path, dir: &Path, database: &[(&str, String)]) -> Suite {
    let (gateway, metrics) = (free_addr(), free_addr());
    let membership = free_addr();
    let mut env = vec![
        ("INNOLAB_LISTEN_ADDR", gateway.clone()),
        ("INNOLAB_METRICS_ADDR", metrics.clone()),
        ("INNOLAB_MEMBERSHIP_ADDR", membership.clone()),
        ("INNOLAB_INITIATIVES_ADDR", free_addr()),
        ("INNOLAB_GUIDANCE_ADDR", free_addr()),
        ("INNOLAB_IMPACT_ADDR", free_addr()),
    ];
    env.extend(database.iter().cloned());
    Suite {
        processes: vec![start(bin, "innolab", dir, &env)],
        gateway,
        membership,
        gateway_metrics: metrics.clone(),
        membership_metrics: metrics,
    }
}

/// Every service and the gateway in a process of its own, as on Kubernetes.
fn separate(
    bin: &Path,
    dir: &Path,
    database: &dyn Fn(&str) -> Vec<(&'static str, String)>,
) -> Suite {
    let mut processes = Vec::new();
    let mut urls = Vec::new();
    let mut membership = (String::new(), String::new());
    for service in ["membership", "initiatives", "guidance", "impact"] {
        let (addr, metrics) = (free_addr(), free_addr());
        let mut env = vec![
            ("INNOLAB_LISTEN_ADDR", addr.clone()),
            ("INNOLAB_METRICS_ADDR", metrics.clone()),
        ];
        env.extend(database(service));
        if service != "membership" {
            env.push(("INNOLAB_MEMBERSHIP_URL", format!("http://{}", membership.0)));
        } else {
            membership = (addr.clone(), metrics.clone());
        }
        processes.push(start(bin, &format!("innolab-{service}"), dir, &env));
        urls.push(format!("http://{addr}"));
    }
    let (gateway, metrics) = (free_addr(), free_addr());
    let env = vec![
        ("INNOLAB_LISTEN_ADDR", gateway.clone()),
        ("INNOLAB_METRICS_ADDR", metrics.clone()),
        ("INNOLAB_MEMBERSHIP_URL", urls[0].clone()),
        ("INNOLAB_INITIATIVES_URL", urls[1].clone()),
        ("INNOLAB_GUIDANCE_URL", urls[2].clone()),
        ("INNOLAB_IMPACT_URL", urls[3].clone()),
    ];
    processes.push(start(bin, "innolab-gateway", dir, &env));
    Suite {
        gateway,
        membership: membership.0,
        gateway_metrics: metrics,
        membership_metrics: membership.1,
        processes,
    }
}

const GET_ORGANIZATION: &str = "/innolab.membership.v1.MembershipService/GetOrganization";

/// Stores an organisation (and, for the composed reads, an initiative of
/// it) through the gateway; returns the framed GetOrganization request and
/// the initiative's name.
async fn seed(gateway: &str) -> (Vec<u8>, String) {
    let channel = Channel::from_shared(format!("http://{gateway}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let org = mb::membership_service_client::MembershipServiceClient::new(channel.clone())
        .create_organization(organization_request())
        .await
        .unwrap()
        .into_inner();
    let initiative = ini::initiatives_service_client::InitiativesServiceClient::new(channel)
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(ini::Initiative {
                titles: vec![ini::LocalizedText {
                    language_code: "ro".into(),
                    text: "Ghișeul unic digital".into(),
                }],
                lead_organization: org.name.clone(),
                country_code: "RO".into(),
                stage: ini::InitiativeStage::ImplementingProjects as i32,
                sdgs: vec![9],
                ..Default::default()
            }),
            actor: "people/bench".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    (
        framed(&mb::GetOrganizationRequest { name: org.name }),
        initiative.name,
    )
}

fn organization_request() -> mb::CreateOrganizationRequest {
    mb::CreateOrganizationRequest {
        organization: Some(mb::Organization {
            display_names: vec![mb::LocalizedText {
                language_code: "ro".into(),
                text: "Primăria Municipiului Cluj-Napoca".into(),
            }],
            kind: mb::OrganizationKind::LocalGovernment as i32,
            country_code: "RO".into(),
            identifiers: vec![mb::Identifier {
                scheme: "RO-CUI".into(),
                value: format!("{}", uuid::Uuid::now_v7().as_u128() % 100_000_000),
            }],
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

struct Row {
    path: String,
    m: Measured,
    against: String,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

#[tokio::main]
async fn main() {
    let requests = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000usize);
    let report_path = std::env::var("BENCH_REPORT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/hotpath-bench.md").into()
    });
    let bin: PathBuf = std::env::var("INNOLAB_BIN_DIR")
        .ok()
        .filter(|d| !d.is_empty())
        .map_or_else(
            || {
                Path::new(env!("CARGO_BIN_EXE_innolab"))
                    .parent()
                    .unwrap()
                    .to_path_buf()
            },
            PathBuf::from,
        );
    for name in [
        "innolab",
        "innolab-gateway",
        "innolab-membership",
        "innolab-impact",
    ] {
        assert!(
            bin.join(name).exists(),
            "{} is missing: run `cargo build --release --bins` first",
            bin.join(name).display()
        );
    }
    let postgres = std::env::var("INNOLAB_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut rows: Vec<Row> = Vec::new();
    let mut checks: Vec<String> = Vec::new();

    let bare = bare_server().await;
    let grpc = measure_bare(&bare, requests);
    rows.push(Row {
        path: "bare tonic server, Health/Check".into(),
        m: grpc,
        against: "the gRPC ceiling".into(),
    });

    let mut databases: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    let mut ceiling_pg = None;
    if let Some(url) = &postgres {
        let name = format!("bench_{}", uuid::Uuid::now_v7().simple());
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .unwrap();
        let base = url.split('?').next().unwrap();
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let query = url
            .split_once('?')
            .map_or(String::new(), |(_, q)| format!("?{q}"));
        let db_url = format!("{base}/{name}{query}");
        let pg = pgbench(&db_url, 10);
        rows.push(Row {
            path: "`pgbench -S -M prepared -c 8 -j 2` (p50 column: its mean latency)".into(),
            m: pg,
            against: "the database ceiling".into(),
        });
        ceiling_pg = Some(pg);
        databases.push(("PostgreSQL", Some(db_url)));
        pool.close().await;
    }

    let mut peak = 0.0f64;
    let mut cpu: Vec<String> = Vec::new();
    for (backend, url) in &databases {
        let ceiling = url.as_ref().and(ceiling_pg).unwrap_or(grpc);
        let ceiling_name = if url.is_some() {
            "pgbench"
        } else {
            "bare tonic"
        };
        for topology in ["one process", "separate processes"] {
            let dir = tempfile::tempdir().unwrap();
            let database = |service: &str| match url {
                None => vec![(
                    "INNOLAB_DATABASE_URL",
                    format!("sqlite://{}/{service}.db", dir.path().display()),
                )],
                Some(url) => vec![
                    ("INNOLAB_DATABASE_URL", url.clone()),
                    (
                        "INNOLAB_DATABASE_SCHEMA",
                        format!("{}_{service}", topology.replace(' ', "_")),
                    ),
                ],
            };
            let suite = if topology == "one process" {
                // The one-process suite names its schemas after the services.
                let env = match url {
                    None => vec![],
                    Some(url) => vec![("INNOLAB_DATABASE_URL", url.clone())],
                };
                one_process(&bin, dir.path(), &env)
            } else {
                separate(&bin, dir.path(), &database)
            };
            common::wait_ready(&suite.gateway).await;
            let (get, initiative) = seed(&suite.gateway).await;
            // With separate processes, what each costs in CPU per call (the
            // membership service first, the gateway last); the warm-up is
            // counted too, a tenth more calls.
            let pids: Vec<u32> = match (suite.processes.first(), suite.processes.last()) {
                (Some(m), Some(g)) if suite.processes.len() > 1 => vec![m.0.id(), g.0.id()],
                _ => vec![],
            };
            let calls = requests + requests / 10;
            let (direct, direct_cpu) = cpu_per_call(&pids, calls, || {
                measure(
                    &suite.membership,
                    GET_ORGANIZATION,
                    &get,
                    requests,
                    &suite.membership_metrics,
                )
            });
            let (through, through_cpu) = cpu_per_call(&pids, calls, || {
                measure(
                    &suite.gateway,
                    GET_ORGANIZATION,
                    &get,
                    requests,
                    &suite.gateway_metrics,
                )
            });
            if let ([membership, _], [service, gateway]) = (&direct_cpu[..], &through_cpu[..]) {
                cpu.push(format!(
                    "| {backend} | {membership:.0} | {service:.0} | {gateway:.0} |"
                ));
            }
            let label = format!("{backend}, {topology}");
            // The stack's floor, on the one-process suite's database while
            // that suite idles: what a read with no layers reaches here.
            if let (Some(url), "one process", Some(pg)) = (url, topology, ceiling_pg) {
                let floor = floor::floor_server(url, "membership").await;
                let m = measure_counted(&floor.addr, GET_ORGANIZATION, &get, requests, || {
                    floor.answered_ok()
                });
                rows.push(Row {
                    path: "GetOrganization, the stack's floor: tonic and 10 typed sqlx \
                           connections, no layers, PostgreSQL"
                        .into(),
                    m,
                    against: format!("{:.2}x pgbench", m.rate / pg.rate),
                });
                checks.push(format!(
                    "| {label}: direct against the stack's floor (not a target: what the suite's layers, pool and `Any` driver keep) | {:.2}x | |",
                    direct.rate / m.rate
                ));
            }
            rows.push(Row {
                path: format!("GetOrganization direct, {label}"),
                m: direct,
                against: format!("{:.2}x {ceiling_name}", direct.rate / ceiling.rate),
            });
            rows.push(Row {
                path: format!("GetOrganization through the gateway, {label}"),
                m: through,
                against: format!(
                    "{:.2}x direct; p50 {:.2}x, p99 {:.2}x",
                    through.rate / direct.rate,
                    through.p50 / direct.p50,
                    through.p99 / direct.p99
                ),
            });
            checks.push(format!(
                "| {label}: direct at least 0.5x {ceiling_name} | {:.2}x | {} |",
                direct.rate / ceiling.rate,
                verdict(direct.rate / ceiling.rate >= 0.5)
            ));
            checks.push(format!(
                "| {label}: gateway at least 0.8x direct, p50 and p99 at most 1.25x | {:.2}x, {:.2}x, {:.2}x | {} |",
                through.rate / direct.rate,
                through.p50 / direct.p50,
                through.p99 / direct.p99,
                verdict(
                    through.rate / direct.rate >= 0.8
                        && through.p50 / direct.p50 <= 1.25
                        && through.p99 / direct.p99 <= 1.25
                )
            ));
            if topology == "one process" {
                let composed = [
                    (
                        "ListInitiatives `sdg = 9`, page size 50",
                        "/innolab.initiatives.v1.InitiativesService/ListInitiatives",
                        framed(&ini::ListInitiativesRequest {
                            page_size: 50,
                            filter: "sdg = 9".into(),
                            ..Default::default()
                        }),
                    ),
                    (
                        "GetInitiativeDossier",
                        "/innolab.gateway.v1.GatewayService/GetInitiativeDossier",
                        framed(&gw::GetInitiativeDossierRequest { name: initiative }),
                    ),
                    (
                        "CreateOrganization",
                        "/innolab.membership.v1.MembershipService/CreateOrganization",
                        framed(&mb::CreateOrganizationRequest {
                            organization: organization_request().organization.map(|o| {
                                mb::Organization {
                                    identifiers: vec![],
                                    ..o
                                }
                            }),
                            request_id: String::new(),
                        }),
                    ),
                ];
                for (what, path, body) in composed {
                    let m = measure(
                        &suite.gateway,
                        path,
                        &body,
                        requests / 4,
                        &suite.gateway_metrics,
                    );
                    rows.push(Row {
                        path: format!("{what} through the gateway, {label}"),
                        m,
                        against: "kept or better (see below)".into(),
                    });
                }
                if let Some(process) = suite.processes.first() {
                    let mib = memory_peak_mib(process.0.id());
                    peak = peak.max(mib);
                    checks.push(format!(
                        "| {label}: suite peak resident memory under 100 MB (95.4 MiB) | {mib:.1} MiB | {} |",
                        verdict(mib < 95.4)
                    ));
                }
            }
            drop(suite);
        }
    }
    if let (Some(url), Some(base)) = (databases.last().and_then(|d| d.1.clone()), &postgres) {
        let name = url
            .split('?')
            .next()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let pool = sqlx::AnyPool::connect(base).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await;
        pool.close().await;
    }

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut report = String::new();
    let _ = writeln!(report, "# The hot path against its ceilings\n");
    let _ = writeln!(
        report,
        "`cargo bench -p innolab-gateway --bench hotpath`, {cpus} CPUs, release build. Load: \
         `h2load -n {requests} -c 8 -m 4 -t 1` (after a warm-up of a tenth of that), the gRPC \
         request as its body; p50 and p99 from h2load's per-request log; every request of every \
         suite measurement counted as answered OK by the process's own metrics.\n"
    );
    let _ = writeln!(report, "| path | calls/s | p50 ms | p99 ms | against |");
    let _ = writeln!(report, "|---|---|---|---|---|");
    for row in &rows {
        let _ = writeln!(
            report,
            "| {} | {:.0} | {:.2} | {:.2} | {} |",
            row.path, row.m.rate, row.m.p50, row.m.p99, row.against
        );
    }
    let _ = writeln!(report, "\n| target | measured | |\n|---|---|---|");
    for check in &checks {
        let _ = writeln!(report, "{check}");
    }
    if !cpu.is_empty() {
        let _ = writeln!(
            report,
            "\nCPU per GetOrganization call with separate processes, in microseconds (user and \
             system time of each process over the measurement, warm-up included): on a machine \
             whose cores the load generator, the database and every process share, the gateway's \
             throughput against direct is bounded by what its CPU per call adds.\n\n\
             | backend | membership, direct | membership, through the gateway | gateway |\n\
             |---|---|---|---|"
        );
        for line in &cpu {
            let _ = writeln!(report, "{line}");
        }
    }
    let _ = peak;
    print!("{report}");
    if let Some(parent) = Path::new(&report_path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&report_path, &report).unwrap();
    eprintln!("report written to {report_path}");
}
