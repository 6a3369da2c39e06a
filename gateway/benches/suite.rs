//! Speed and memory of the suite (issue 6's targets), a plain program that
//! measures and writes a report; it is not a timed test.
//!
//! It runs the real `innolab` binary (the whole suite in one process) as a
//! child process, stores a small world through the gateway, and measures from
//! outside:
//! - a unary read (`GetOrganization`) made directly to the membership service
//!   and through the gateway, one call at a time, the two paths taking turns
//!   call by call so that drift hits both alike: median and p99 (target: gateway at most 1.25x
//!   direct, median and p99);
//! - `GetInitiativeDossier` of an initiative with partners, challenges,
//!   guidance and two assessments with indicators: p99 (target under 15 ms);
//! - the suite process's peak resident memory (VmHWM) after a load of mixed
//!   calls from 16 concurrent callers (target under 100 MB).
//!
//! Run: `cargo bench -p innolab-gateway --bench suite`. Embedded SQLite by
//! default; PostgreSQL when `INNOLAB_BENCH_POSTGRES_URL` is set (a fresh
//! database is created for the run and dropped after). The report goes to
//! `BENCH_REPORT` (default `target/suite-bench.md`); `BENCH_CALLS` sets the
//! sequential calls per path (default 4000) and `BENCH_LOAD_CALLS` the calls
//! of the load (default 20000).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::impact::v1 as im;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use tonic::transport::Channel;

mod common;
use common::{percentile, wait_ready};

type Membership = mb::membership_service_client::MembershipServiceClient<Channel>;
type Gateway = gw::gateway_service_client::GatewayServiceClient<Channel>;

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// VmHWM (peak) and VmRSS of a process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// What the benchmark reads.
struct World {
    organizations: Vec<String>,
    initiative: String,
}

async fn world(gateway: Channel) -> World {
    let mut members = Membership::new(gateway.clone());
    let mut library =
        ini::initiatives_service_client::InitiativesServiceClient::new(gateway.clone());
    let mut guides = gd::guidance_service_client::GuidanceServiceClient::new(gateway.clone());
    let mut impact = im::impact_service_client::ImpactServiceClient::new(gateway);

    let mut organizations = Vec::new();
    for i in 0..200 {
        let org = members
            .create_organization(mb::CreateOrganizationRequest {
                organization: Some(mb::Organization {
                    display_names: vec![mb::LocalizedText {
                        language_code: "ro".into(),
                        text: format!("Primăria {i}"),
                    }],
                    kind: mb::OrganizationKind::LocalGovernment as i32,
                    country_code: "RO".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        organizations.push(org.name);
    }
    let mut challenges = Vec::new();
    for (i, raised_by) in organizations.iter().take(2).enumerate() {
        challenges.push(
            library
                .create_challenge(ini::CreateChallengeRequest {
                    challenge: Some(ini::Challenge {
                        title: format!("Bottleneck {i}"),
                        raised_by: raised_by.clone(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .name,
        );
    }
    let mut initiatives = Vec::new();
    for i in 0..50 {
        let initiative = library
            .create_initiative(ini::CreateInitiativeRequest {
                initiative: Some(ini::Initiative {
                    titles: vec![ini::LocalizedText {
                        language_code: "ro".into(),
                        text: format!("Inițiativa {i}"),
                    }],
                    lead_organization: organizations[i].clone(),
                    partners: vec![
                        ini::Partner {
                            organization: organizations[i + 1].clone(),
                            role: ini::PartnerRole::Implementing as i32,
                        },
                        ini::Partner {
                            organization: organizations[i + 2].clone(),
                            role: ini::PartnerRole::Funding as i32,
                        },
                    ],
                    country_code: "RO".into(),
                    stage: ini::InitiativeStage::ImplementingProjects as i32,
                    challenges: challenges.clone(),
                    sdgs: vec![9, 16],
                    ..Default::default()
                }),
                actor: "people/bench".into(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        initiatives.push(initiative.name);
    }
    let initiative = initiatives[0].clone();
    for i in 0..4 {
        let related = if i < 3 {
            vec![initiative.clone()]
        } else {
            vec![]
        };
        let doc = guides
            .create_document(gd::CreateDocumentRequest {
                document: Some(gd::Document {
                    r#type: gd::DocumentType::Guide as i32,
                    title: format!("Ghid {i}"),
                    license: "CC-BY-4.0".into(),
                    related_initiatives: related,
                    lifecycle_stages: vec![gd::LifecycleStage::ImplementingProjects as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let edition = guides
            .create_edition(gd::CreateEditionRequest {
                parent: doc.name,
                edition: Some(gd::Edition {
                    translations: vec![gd::Translation {
                        language_code: "ro".into(),
                        title: format!("Ghid {i}"),
                        summary: "Pași".into(),
                        body: "Pașii unei autorizații digitale, explicați.".into(),
                        original: true,
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        guides
            .submit_edition(gd::SubmitEditionRequest {
                name: edition.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();
        guides
            .publish_edition(gd::PublishEditionRequest {
                name: edition.name,
                etag: String::new(),
            })
            .await
            .unwrap();
    }
    for a in 0..2 {
        let assessment = impact
            .create_assessment(im::CreateAssessmentRequest {
                assessment: Some(im::Assessment {
                    initiative: initiative.clone(),
                    title: format!("Evaluarea {a}"),
                    nesta_level: 2,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        for k in 0..3 {
            impact
                .create_indicator(im::CreateIndicatorRequest {
                    parent: assessment.name.clone(),
                    indicator: Some(im::Indicator {
                        title: format!("Indicator {k}"),
                        result_type: im::ResultType::Outcome as i32,
                        measure: "days".into(),
                        direction: im::Direction::LowerIsBetter as i32,
                        baseline: Some(im::Point {
                            value: 60.0,
                            date: date(2024, 1, 1),
                        }),
                        target: Some(im::Point {
                            value: 30.0,
                            date: date(2025, 1, 1),
                        }),
                        measurements: (1..=6)
                            .map(|m| im::Measurement {
                                date: date(2024, m * 2, 1),
                                value: 60.0 - f64::from(m) * 4.0,
                                source: "register".into(),
                                note: String::new(),
                            })
                            .collect(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap();
        }
    }
    World {
        organizations,
        initiative,
    }
}

async fn reads(client: &mut Membership, names: &[String], calls: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls {
        let started = Instant::now();
        client
            .get_organization(mb::GetOrganizationRequest {
                name: names[i % names.len()].clone(),
            })
            .await
            .unwrap();
        samples.push(started.elapsed());
    }
    samples
}

async fn dossiers(client: &mut Gateway, name: &str, calls: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let dossier = client
            .get_initiative_dossier(gw::GetInitiativeDossierRequest {
                name: name.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(dossier.missing_parts.is_empty());
        samples.push(started.elapsed());
    }
    samples
}

/// Mixed calls through the gateway from 16 concurrent callers; calls/s.
async fn load(gateway: Channel, world: &World, calls: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let mut members = Membership::new(gateway.clone());
        let mut composed = Gateway::new(gateway.clone());
        let mut library =
            ini::initiatives_service_client::InitiativesServiceClient::new(gateway.clone());
        let names = world.organizations.clone();
        let initiative = world.initiative.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..calls / 16 {
                match i % 4 {
                    0 | 1 => {
                        members
                            .get_organization(mb::GetOrganizationRequest {
                                name: names[(i + worker) % names.len()].clone(),
                            })
                            .await
                            .unwrap();
                    }
                    2 => {
                        composed
                            .get_initiative_dossier(gw::GetInitiativeDossierRequest {
                                name: initiative.clone(),
                            })
                            .await
                            .unwrap();
                    }
                    _ => {
                        library
                            .list_initiatives(ini::ListInitiativesRequest {
                                page_size: 50,
                                filter: "sdg = 9".into(),
                                ..Default::default()
                            })
                            .await
                            .unwrap();
                    }
                }
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
    let env_usize = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let calls = env_usize("BENCH_CALLS", 4000);
    let load_calls = env_usize("BENCH_LOAD_CALLS", 20_000);
    let report_path = std::env::var("BENCH_REPORT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/suite-bench.md").into()
    });
    let dir = tempfile::tempdir().unwrap();

    // PostgreSQL: a database of its own, since the suite uses fixed schema names.
    let postgres = std::env::var("INNOLAB_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let database = format!("bench_{}", uuid::Uuid::now_v7().simple());
    let mut env: Vec<(&str, String)> = vec![
        ("INNOLAB_LISTEN_ADDR", "127.0.0.1:0".into()),
        ("INNOLAB_METRICS_ADDR", "off".into()),
        ("INNOLAB_LOG_FORMAT", "json".into()),
        ("RUST_LOG", "info".into()),
    ];
    let backend = if let Some(url) = &postgres {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
        env.push(("INNOLAB_DATABASE_URL", format!("{base}/{database}")));
        "PostgreSQL"
    } else {
        "SQLite"
    };

    let mut child = Command::new(env!("CARGO_BIN_EXE_innolab"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the suite starts");
    let pid = child.id();

    // Where each service listens, from the suite's JSON log on standard
    // output (drained for the whole run).
    let (tx, rx) = std::sync::mpsc::channel::<(String, String)>();
    let log = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(log).lines() {
            let Ok(line) = line else { return };
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let (Some(service), Some(addr)) = (entry["service"].as_str(), entry["addr"].as_str())
            {
                let _ = tx.send((service.to_string(), addr.to_string()));
            }
        }
    });
    let mut addrs: HashMap<String, String> = HashMap::new();
    while addrs.len() < 5 {
        let (service, addr) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the suite logs where it listens");
        addrs.insert(service, addr);
    }
    let gateway_addr = addrs["innolab.gateway.v1.GatewayService"].clone();
    let membership_addr = addrs["innolab.membership.v1.MembershipService"].clone();
    wait_ready(&gateway_addr).await;
    let (idle_peak, idle_rss) = memory_mib(pid);

    let world = world(channel(&gateway_addr).await).await;

    // Unary read: direct vs through the gateway, call by call in turns (the
    // order swapped every pair), so that both see the same moments of the
    // machine: a burst of other work lands on both paths, not on one.
    let mut direct = Membership::new(channel(&membership_addr).await);
    let mut through = Membership::new(channel(&gateway_addr).await);
    reads(&mut direct, &world.organizations, 500).await;
    reads(&mut through, &world.organizations, 500).await;
    let (mut d, mut g) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    for i in 0..calls {
        let names = std::slice::from_ref(&world.organizations[i % world.organizations.len()]);
        if i % 2 == 0 {
            d.extend(reads(&mut direct, names, 1).await);
            g.extend(reads(&mut through, names, 1).await);
        } else {
            g.extend(reads(&mut through, names, 1).await);
            d.extend(reads(&mut direct, names, 1).await);
        }
    }
    d.sort();
    g.sort();
    let (d50, d99, g50, g99) = (
        percentile(&d, 0.5),
        percentile(&d, 0.99),
        percentile(&g, 0.5),
        percentile(&g, 0.99),
    );

    // The dossier, one call at a time.
    let mut composed = Gateway::new(channel(&gateway_addr).await);
    dossiers(&mut composed, &world.initiative, 100).await;
    let mut s = dossiers(&mut composed, &world.initiative, calls / 4).await;
    s.sort();
    let (s50, s99) = (percentile(&s, 0.5), percentile(&s, 0.99));

    // Load, then the suite's memory.
    let rate = load(channel(&gateway_addr).await, &world, load_calls).await;
    let (peak, rss) = memory_mib(pid);

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut report = String::new();
    let _ = writeln!(report, "# Suite speed and memory ({backend})\n");
    let _ = writeln!(
        report,
        "`cargo bench -p innolab-gateway --bench suite`: the real `innolab` binary (whole suite, one \
         process) as a child process on {backend}, called over loopback from this program; {cpus} CPUs. \
         Inside the suite the gateway calls each service's stack in process (no socket); the direct \
         calls go to the service's own port. Direct and gateway calls take turns, call by call. World: 200 organisations, 50 initiatives, 4 published guides, 2 assessments with 3 indicators \
         of 6 measurements each.\n"
    );
    let _ = writeln!(report, "| measurement | median | p99 | target |");
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(
        report,
        "| GetOrganization direct to membership ({} calls) | {d50:.2?} | {d99:.2?} | |",
        d.len()
    );
    let _ = writeln!(
        report,
        "| GetOrganization through the gateway ({} calls) | {g50:.2?} | {g99:.2?} | |",
        g.len()
    );
    let _ = writeln!(
        report,
        "| gateway / direct | {:.2}x | {:.2}x | at most 1.25x: {} |",
        ratio(g50, d50),
        ratio(g99, d99),
        verdict(ratio(g50, d50) <= 1.25 && ratio(g99, d99) <= 1.25)
    );
    let _ = writeln!(
        report,
        "| GetInitiativeDossier through the gateway ({} calls) | {s50:.2?} | {s99:.2?} | p99 under 15 ms: {} |",
        s.len(),
        verdict(s99 < Duration::from_millis(15))
    );
    let _ = writeln!(
        report,
        "\nLoad: {} mixed calls (GetOrganization, GetInitiativeDossier, ListInitiatives with a filter) \
         from 16 concurrent callers through the gateway: {rate:.0} calls/s.\n",
        load_calls / 16 * 16
    );
    let _ = writeln!(
        report,
        "Suite process memory: {idle_rss:.1} MiB resident when ready; after the run {rss:.1} MiB \
         resident, peak {peak:.1} MiB (VmHWM; target under 100 MB = 95.4 MiB: {}).",
        verdict(peak < 95.4)
    );
    let _ = idle_peak;
    print!("{report}");
    if let Some(parent) = std::path::Path::new(&report_path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&report_path, &report).unwrap();
    eprintln!("report written to {report_path}");

    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    if let Some(url) = &postgres {
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}
