//! What strict audit mode costs (issue 16): creates through the gateway
//! under concurrent load, with the audit log written after the answer (the
//! default) and with every write held until its entry is committed
//! (`INNOLAB_AUDIT_STRICT=true`), side by side in one run, on SQLite and, when
//! `INNOLAB_TEST_POSTGRES_URL` is set, on PostgreSQL. Writes a Markdown report.
//!
//! `cargo bench -p innolab-tests --bench audit` (release build; the suite runs
//! in this process, every part on its own loopback socket). The report goes
//! to stdout and to `BENCH_REPORT` (default `target/audit-report.md`).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::{Backend, Suite};

type Members = mb::membership_service_client::MembershipServiceClient<tonic::transport::Channel>;

/// Concurrent callers, each on its own connection.
const CALLERS: usize = 8;
/// Creates per caller.
const CALLS: usize = 250;

struct Measured {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// `CALLERS` x `CALLS` creates through a gateway whose audit log is strict or not.
async fn measure(backend: &Backend, strict: bool, dir: &std::path::Path) -> Measured {
    let schema = format!("bench_audit_{}", uuid::Uuid::now_v7().simple());
    let mut vars = HashMap::from([("INNOLAB_AUDIT_STRICT".to_string(), strict.to_string())]);
    match backend {
        Backend::Postgres(url) => {
            vars.insert("INNOLAB_AUDIT_DATABASE_URL".into(), url.clone());
            vars.insert("INNOLAB_AUDIT_DATABASE_SCHEMA".into(), schema.clone());
        }
        Backend::Sqlite => {
            vars.insert(
                "INNOLAB_AUDIT_DATABASE_URL".into(),
                format!("sqlite://{}/{schema}.db", dir.display()),
            );
        }
    }
    let security = innolab_gateway::security::from_vars(|name| vars.get(name).cloned()).unwrap();
    let suite = Suite::start_with(backend, security).await;
    let mut tasks = Vec::new();
    let started = Instant::now();
    for caller in 0..CALLERS {
        let mut client = Members::new(suite.channel().await);
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(CALLS);
            for n in 0..CALLS {
                let request = mb::CreateOrganizationRequest {
                    organization: Some(mb::Organization {
                        display_names: vec![mb::LocalizedText {
                            language_code: "ro".into(),
                            text: format!("Primăria {caller}-{n}"),
                        }],
                        kind: mb::OrganizationKind::Government as i32,
                        country_code: "RO".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                };
                let call = Instant::now();
                client.create_organization(request).await.unwrap();
                times.push(call.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    suite.stop().await;
    if let Backend::Postgres(url) = backend {
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    times.sort();
    Measured {
        per_second: times.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec![("SQLite", Backend::Sqlite)];
    if let Some(postgres) = Backend::postgres() {
        backends.push(("PostgreSQL", postgres));
    }
    let mut report = String::new();
    writeln!(
        report,
        "## What strict audit mode costs\n\n\
         {CALLERS} callers, each on its own connection, {CALLS} CreateOrganization \
         calls each through the gateway (services and gateway in one process, \
         audit log on the same backend). Default: the entry is appended after \
         the answer; strict: the answer waits until the entry is committed.\n\n\
         | backend | audit | creates/s | p50 ms | p99 ms | strict / default |\n\
         |---|---|---|---|---|---|"
    )
    .unwrap();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (name, backend) in &backends {
        let default = measure(backend, false, dir.path()).await;
        let strict = measure(backend, true, dir.path()).await;
        for (mode, m) in [("default", &default), ("strict", &strict)] {
            let ratio = if mode == "strict" {
                format!(
                    "{:.2}x throughput, {:.2}x p50",
                    m.per_second / default.per_second,
                    ms(m.p50) / ms(default.p50)
                )
            } else {
                String::new()
            };
            writeln!(
                report,
                "| {name} | {mode} | {:.0} | {:.2} | {:.2} | {ratio} |",
                m.per_second,
                ms(m.p50),
                ms(m.p99)
            )
            .unwrap();
        }
    }
    if backends.len() == 1 {
        writeln!(
            report,
            "\nPostgreSQL: skipped (INNOLAB_TEST_POSTGRES_URL is not set)."
        )
        .unwrap();
    }
    println!("{report}");
    let path = std::env::var("BENCH_REPORT")
        .unwrap_or_else(|_| format!("{}/../target/audit-report.md", env!("CARGO_MANIFEST_DIR")));
    if let Some(parent) = std::path::Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&path, &report).unwrap();
    println!("report written to {path}");
}
