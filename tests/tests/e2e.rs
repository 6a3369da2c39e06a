//! The real topology: the four service binaries and the gateway binary as
//! separate processes, configured only by environment variables (as on
//! Kubernetes), driven through the gateway by a full scenario: register
//! organisations, record an initiative through its lifecycle, publish
//! guidance, complete an assessment, read the dossier, follow the change feed.
//!
//! Over 600 lines: one scenario across every service, read top to bottom,
//! with the topologies it runs in (replicas, traces) beside it.
//!
//! The binaries come from `INNOLAB_BIN_DIR` when set (CI points it at the
//! release build the container image holds); otherwise the test builds the
//! workspace's binaries with the cargo that runs it and uses those.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_tests::assert::{Outcome, date};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::impact::v1 as im;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::organization;
use innolab_tests::{Backend, on_both_backends};
use tonic::Status;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The folder holding the binaries, built once per test process.
fn bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(dir) = std::env::var("INNOLAB_BIN_DIR")
            && !dir.is_empty()
        {
            return PathBuf::from(dir);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = Command::new(cargo)
            .args(["build", "--workspace", "--bins", "--quiet"])
            .current_dir(&workspace)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --bins failed");
        // This test runs from <target>/<profile>/deps/; the binaries are in <target>/<profile>/.
        let exe = std::env::current_exe().expect("test executable");
        exe.parent()
            .and_then(|deps| deps.parent())
            .expect("target profile folder")
            .to_path_buf()
    })
    .clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One process of the suite.
struct Process {
    name: &'static str,
    child: Child,
    port: u16,
    log: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Process {
    fn start(name: &'static str, dir: &std::path::Path, env: &[(&str, String)]) -> Process {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let child = Process::spawn(name, dir, port, &log, &env);
        Process {
            name,
            child,
            port,
            log,
            dir: dir.to_path_buf(),
            env,
        }
    }

    fn spawn(
        name: &'static str,
        dir: &std::path::Path,
        port: u16,
        log: &std::path::Path,
        env: &[(String, String)],
    ) -> Child {
        let binary = bin_dir().join(name);
        assert!(binary.exists(), "{} is missing", binary.display());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        Command::new(&binary)
            .env_clear()
            .env("INNOLAB_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("INNOLAB_METRICS_ADDR", "off")
            .env("INNOLAB_SHUTDOWN_DRAIN_SECONDS", "5")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir)
            // The log (on stdout) and anything on stderr, both in the file.
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"))
    }

    /// SIGTERM and wait for the exit, leaving the process stopped.
    fn terminate(&mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                assert!(
                    exit.success(),
                    "{} exited with {exit}: {}",
                    self.name,
                    self.log_text()
                );
                return;
            }
            assert!(Instant::now() < deadline, "{} did not stop", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the stopped process again on the same port, database and settings.
    fn restart(&mut self) {
        self.child = Process::spawn(self.name, &self.dir, self.port, &self.log, &self.env);
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A connected channel to the process.
    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Waits (at most 60 s) until the process reports SERVING.
    async fn wait_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(channel) = Channel::from_shared(self.url()).unwrap().connect().await
                && let Ok(r) = HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                && r.into_inner().status == 1
            {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("{} exited with {exit}: {}", self.name, self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "{} not SERVING within 60 s: {}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and the process exits 0 after draining.
    fn stop(mut self) {
        self.terminate();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Database settings for one service: a file in `dir`, or a schema of its own.
fn database(
    backend: &Backend,
    dir: &std::path::Path,
    service: &str,
    run: &str,
) -> Vec<(&'static str, String)> {
    match backend {
        Backend::Sqlite => vec![(
            "INNOLAB_DATABASE_URL",
            format!("sqlite://{}/{service}.db", dir.display()),
        )],
        Backend::Postgres(url) => vec![
            ("INNOLAB_DATABASE_URL", url.clone()),
            ("INNOLAB_DATABASE_SCHEMA", format!("e2e_{run}_{service}")),
        ],
    }
}

async fn drop_schemas(backend: &Backend, run: &str) {
    if let Backend::Postgres(url) = backend {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        for service in ["membership", "initiatives", "guidance", "impact"] {
            sqlx::query(&format!(
                "DROP SCHEMA IF EXISTS e2e_{run}_{service} CASCADE"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
}

/// Records made by the scenario, one per service.
struct Names {
    organization: String,
    initiative: String,
    document: String,
    assessment: String,
}

fn grpc_name(service: &str) -> &'static str {
    match service {
        "membership" => "innolab.membership.v1.MembershipService",
        "initiatives" => "innolab.initiatives.v1.InitiativesService",
        "guidance" => "innolab.guidance.v1.GuidanceService",
        _ => "innolab.impact.v1.ImpactService",
    }
}

async fn health(channel: &Channel, service: &str) -> i32 {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or(-1)
}

/// Waits (at most 20 s) until the gateway reports `service` in `status`.
async fn wait_gateway_sees(channel: &Channel, service: &str, status: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while health(channel, grpc_name(service)).await != status {
        assert!(
            Instant::now() < deadline,
            "the gateway does not report {service} as {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads one record of `service` through the gateway.
async fn read_one(channel: &Channel, service: &str, names: &Names) -> Result<(), Status> {
    let channel = channel.clone();
    match service {
        "membership" => mb::membership_service_client::MembershipServiceClient::new(channel)
            .get_organization(mb::GetOrganizationRequest {
                name: names.organization.clone(),
            })
            .await
            .map(drop),
        "initiatives" => ini::initiatives_service_client::InitiativesServiceClient::new(channel)
            .get_initiative(ini::GetInitiativeRequest {
                name: names.initiative.clone(),
            })
            .await
            .map(drop),
        "guidance" => gd::guidance_service_client::GuidanceServiceClient::new(channel)
            .get_document(gd::GetDocumentRequest {
                name: names.document.clone(),
            })
            .await
            .map(drop),
        _ => im::impact_service_client::ImpactServiceClient::new(channel)
            .get_assessment(im::GetAssessmentRequest {
                name: names.assessment.clone(),
            })
            .await
            .map(drop),
    }
}

async fn separate_processes_run_the_whole_scenario(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let run = uuid::Uuid::now_v7().simple().to_string();
    whole_scenario(dir.path(), &|service| {
        database(&backend, dir.path(), service, &run)
    })
    .await;
    drop_schemas(&backend, &run).await;
}

/// The whole scenario through PgBouncer in transaction pooling, when
/// `INNOLAB_TEST_PGBOUNCER_URL` is set: a URL whose `{service}` is replaced
/// by the service's name, giving each service its own role (CI's:
/// `postgres://innolab_pgb_{service}@127.0.0.1:6432/postgres`, each role's
/// search_path set to the schema `pgb_<service>`, made empty by CI first).
#[tokio::test]
async fn the_whole_scenario_through_pgbouncer_in_transaction_mode() {
    let Some(template) = std::env::var("INNOLAB_TEST_PGBOUNCER_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        innolab_tests::skipped(
            "INNOLAB_TEST_PGBOUNCER_URL is not set: skipping the PgBouncer run of this test",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    whole_scenario(dir.path(), &|service| {
        vec![
            (
                "INNOLAB_DATABASE_URL",
                template.replace("{service}", service),
            ),
            ("INNOLAB_DATABASE_SCHEMA", format!("pgb_{service}")),
            ("INNOLAB_DATABASE_POOLING", "transaction".to_string()),
        ]
    })
    .await;
}

/// Every service and the gateway as separate processes, each on the
/// database `db` gives it, through the whole scenario.
async fn whole_scenario(dir: &std::path::Path, db: &dyn Fn(&str) -> Vec<(&'static str, String)>) {
    let mut membership = Process::start("innolab-membership", dir, &db("membership"));
    let mut initiatives = Process::start(
        "innolab-initiatives",
        dir,
        &[
            db("initiatives"),
            vec![("INNOLAB_MEMBERSHIP_URL", membership.url())],
        ]
        .concat(),
    );
    let mut guidance = Process::start("innolab-guidance", dir, &db("guidance"));
    let mut impact = Process::start("innolab-impact", dir, &db("impact"));
    let mut gateway = Process::start(
        "innolab-gateway",
        dir,
        &[
            ("INNOLAB_MEMBERSHIP_URL", membership.url()),
            ("INNOLAB_INITIATIVES_URL", initiatives.url()),
            ("INNOLAB_GUIDANCE_URL", guidance.url()),
            ("INNOLAB_IMPACT_URL", impact.url()),
        ],
    );
    for process in [
        &mut membership,
        &mut initiatives,
        &mut guidance,
        &mut impact,
        &mut gateway,
    ] {
        process.wait_serving().await;
    }

    let channel = gateway.channel().await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let mut library =
        ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone());
    let mut guides = gd::guidance_service_client::GuidanceServiceClient::new(channel.clone());
    let mut assessments = im::impact_service_client::ImpactServiceClient::new(channel.clone());
    let mut suite = gw::gateway_service_client::GatewayServiceClient::new(channel);

    // Register organisations.
    let agency = organization(&mut members, "Agency for Digitisation", "DK").await;
    let municipality = organization(&mut members, "Aarhus Municipality", "DK").await;

    // Record an initiative and take it through its lifecycle.
    let initiative = library
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(ini::Initiative {
                titles: vec![ini::LocalizedText {
                    language_code: "da".into(),
                    text: "Digital post til borgere".into(),
                }],
                lead_organization: agency.clone(),
                partners: vec![ini::Partner {
                    organization: municipality.clone(),
                    role: ini::PartnerRole::Implementing as i32,
                }],
                country_code: "DK".into(),
                stage: ini::InitiativeStage::DevelopingProposals as i32,
                ..Default::default()
            }),
            actor: "people/lab-lead".into(),
            request_id: "e2e-initiative".into(),
        })
        .await
        .accepted("CreateInitiative")
        .name;
    for stage in [
        ini::InitiativeStage::ImplementingProjects,
        ini::InitiativeStage::EvaluatingProjects,
    ] {
        library
            .move_initiative_stage(ini::MoveInitiativeStageRequest {
                name: initiative.clone(),
                stage: stage as i32,
                actor: "people/lab-lead".into(),
                note: format!("to {}", stage.as_str_name()),
                ..Default::default()
            })
            .await
            .accepted("MoveInitiativeStage");
    }
    library
        .change_initiative_status(ini::ChangeInitiativeStatusRequest {
            name: initiative.clone(),
            status: ini::InitiativeStatus::Implemented as i32,
            actor: "people/lab-lead".into(),
            note: "rolled out".into(),
            ..Default::default()
        })
        .await
        .accepted("ChangeInitiativeStatus");

    // Publish guidance about it.
    let document = guides
        .create_document(gd::CreateDocumentRequest {
            document: Some(gd::Document {
                r#type: gd::DocumentType::CaseStudy as i32,
                title: "Digital post: what we learnt".into(),
                license: "CC-BY-4.0".into(),
                related_initiatives: vec![initiative.clone()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateDocument")
        .name;
    let edition = guides
        .create_edition(gd::CreateEditionRequest {
            parent: document.clone(),
            edition: Some(gd::Edition {
                translations: vec![gd::Translation {
                    language_code: "da".into(),
                    title: "Digital post".into(),
                    summary: String::new(),
                    body: "Borgerne får post digitalt.".into(),
                    original: true,
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateEdition")
        .name;
    guides
        .submit_edition(gd::SubmitEditionRequest {
            name: edition.clone(),
            etag: String::new(),
        })
        .await
        .accepted("SubmitEdition");
    guides
        .publish_edition(gd::PublishEditionRequest {
            name: edition,
            etag: String::new(),
        })
        .await
        .accepted("PublishEdition");

    // Complete an assessment with an indicator.
    let assessment = assessments
        .create_assessment(im::CreateAssessmentRequest {
            assessment: Some(im::Assessment {
                initiative: initiative.clone(),
                title: "Evaluation of digital post".into(),
                nesta_level: 2,
                maryland_level: 2,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateAssessment")
        .name;
    assessments
        .create_indicator(im::CreateIndicatorRequest {
            parent: assessment.clone(),
            indicator: Some(im::Indicator {
                title: "Share of letters sent digitally".into(),
                result_type: im::ResultType::Outcome as i32,
                measure: "%".into(),
                direction: im::Direction::HigherIsBetter as i32,
                baseline: Some(im::Point {
                    value: 40.0,
                    date: Some(date(2020, 1, 1)),
                }),
                target: Some(im::Point {
                    value: 90.0,
                    date: Some(date(2024, 1, 1)),
                }),
                measurements: vec![im::Measurement {
                    date: Some(date(2023, 1, 1)),
                    value: 92.0,
                    source: "Statistics".into(),
                    note: String::new(),
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateIndicator");
    assessments
        .start_assessment(im::StartAssessmentRequest {
            name: assessment.clone(),
            decided_by: "people/evaluator".into(),
            ..Default::default()
        })
        .await
        .accepted("StartAssessment");
    assessments
        .submit_assessment(im::SubmitAssessmentRequest {
            name: assessment.clone(),
            decided_by: "people/evaluator".into(),
            reason: "done".into(),
            ..Default::default()
        })
        .await
        .accepted("SubmitAssessment");
    assessments
        .review_assessment(im::ReviewAssessmentRequest {
            name: assessment.clone(),
            reviewer: "people/reviewer".into(),
            decision: im::ReviewDecision::Approved as i32,
            comment: "sound".into(),
            ..Default::default()
        })
        .await
        .accepted("ReviewAssessment");

    // Read the dossier.
    let dossier = suite
        .get_initiative_dossier(gw::GetInitiativeDossierRequest {
            name: initiative.clone(),
        })
        .await
        .accepted("GetInitiativeDossier");
    assert!(
        dossier.missing_parts.is_empty(),
        "{:?}",
        dossier.missing_parts
    );
    let record = dossier.initiative.unwrap();
    assert_eq!(
        record.timeline.len(),
        4,
        "creation, two moves, a status change"
    );
    assert_eq!(
        record.stage,
        ini::InitiativeStage::EvaluatingProjects as i32
    );
    assert_eq!(dossier.lead_organization.unwrap().name, agency);
    assert_eq!(dossier.partner_organizations[0].name, municipality);
    assert_eq!(dossier.related_guidance[0].name, document);
    let assessed = &dossier.assessments[0];
    assert_eq!(
        assessed.assessment.as_ref().unwrap().state,
        im::AssessmentState::Completed as i32
    );
    assert_eq!(
        assessed.indicators[0].progress.as_ref().unwrap().status,
        im::ProgressStatus::Achieved as i32
    );

    // Follow the change feed: every service's changes, then a resume from
    // the middle with no gap and no duplicate.
    let read = |cursor: String| {
        let mut suite = suite.clone();
        async move {
            let mut stream = suite
                .stream_changes(gw::StreamChangesRequest {
                    cursor,
                    follow: false,
                })
                .await
                .accepted("StreamChanges");
            let mut changes = Vec::new();
            while let Some(change) = stream.message().await.unwrap() {
                changes.push(change);
            }
            changes
        }
    };
    let all = read(String::new()).await;
    for service in ["membership", "initiatives", "guidance", "impact"] {
        assert!(
            all.iter().any(|c| c.service == service),
            "no change from {service}"
        );
    }
    let resources: Vec<&str> = all
        .iter()
        .map(|c| c.change.as_ref().unwrap().resource.as_str())
        .collect();
    for name in [&agency, &initiative, &document, &assessment] {
        assert!(resources.contains(&name.as_str()), "{name} not in the feed");
    }
    let middle = all.len() / 2;
    let rest = read(all[middle - 1].cursor.clone()).await;
    let key =
        |c: &gw::StreamChangesResponse| (c.service.clone(), c.change.as_ref().unwrap().sequence);
    let mut expected: Vec<_> = all[middle..].iter().map(key).collect();
    let mut resumed: Vec<_> = rest.iter().map(key).collect();
    expected.sort();
    resumed.sort();
    assert_eq!(resumed, expected, "resume: no gap, no duplicate");

    // One service down at a time: every call to the other three through the
    // gateway succeeds, the gateway stays ready, calls to the one that is
    // down get UNAVAILABLE naming it, the dossier names the missing part;
    // once the service is back its calls succeed without restarting the
    // gateway.
    let names = Names {
        organization: agency.clone(),
        initiative: initiative.clone(),
        document: document.clone(),
        assessment: assessment.clone(),
    };
    let gateway_channel = gateway.channel().await;
    for (down, process) in [
        ("membership", &mut membership),
        ("initiatives", &mut initiatives),
        ("guidance", &mut guidance),
        ("impact", &mut impact),
    ] {
        process.terminate();
        wait_gateway_sees(&gateway_channel, down, 2).await;
        assert_eq!(
            health(&gateway_channel, "").await,
            1,
            "the gateway stays ready with {down} down"
        );
        for service in ["membership", "initiatives", "guidance", "impact"] {
            let outcome = read_one(&gateway_channel, service, &names).await;
            if service == down {
                let status = outcome.expect_err(service);
                assert_eq!(
                    status.code(),
                    tonic::Code::Unavailable,
                    "{down}: {status:?}"
                );
                let info = tonic_types::StatusExt::get_details_error_info(&status)
                    .unwrap_or_else(|| panic!("{down}: ErrorInfo in {status:?}"));
                assert_eq!(info.metadata["service"], grpc_name(down));
            } else {
                outcome.unwrap_or_else(|s| panic!("{service} with {down} down: {s:?}"));
            }
        }
        let dossier = suite
            .get_initiative_dossier(gw::GetInitiativeDossierRequest {
                name: initiative.clone(),
            })
            .await;
        if down == "initiatives" {
            // The initiative is the dossier's one required part.
            assert_eq!(dossier.unwrap_err().code(), tonic::Code::Unavailable);
        } else {
            let dossier = dossier.accepted("GetInitiativeDossier");
            assert!(
                dossier.missing_parts.iter().any(|p| p.service == down),
                "{down} down: {:?}",
                dossier.missing_parts
            );
            assert!(dossier.initiative.is_some());
        }
        process.restart();
        process.wait_serving().await;
        wait_gateway_sees(&gateway_channel, down, 1).await;
        read_one(&gateway_channel, down, &names)
            .await
            .unwrap_or_else(|s| panic!("{down} back: {s:?}"));
    }

    // Every process drains and exits 0 on SIGTERM.
    for process in [gateway, impact, guidance, initiatives, membership] {
        process.stop();
    }
}

/// Calls of `method` a process answered OK, read from its Prometheus
/// endpoint at `metrics` as an operator's scraper would.
async fn answered(metrics: &str, method: &str) -> u64 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(metrics).await.unwrap();
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {metrics}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total{")
                && l.contains(&format!("grpc_method=\"{method}\""))
                && l.contains("grpc_code=\"OK\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// `calls` reads of `organization` through the gateway, eight at a time;
/// returns the failures. `midway` runs once half of them were sent.
async fn read_organizations(
    gateway: &Channel,
    organization: &str,
    calls: usize,
    midway: impl FnOnce() + Send + 'static,
) -> Vec<Status> {
    use futures_util::StreamExt as _;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let midway = std::sync::Mutex::new(Some(midway));
    let midway = std::sync::Arc::new(midway);
    futures_util::stream::iter(0..calls)
        .map(|_| {
            let mut client =
                mb::membership_service_client::MembershipServiceClient::new(gateway.clone());
            let request = mb::GetOrganizationRequest {
                name: organization.to_string(),
            };
            let sent = sent.clone();
            let midway = midway.clone();
            async move {
                if sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == calls / 2
                    && let Some(run) = midway.lock().unwrap().take()
                {
                    // Off the runtime's threads: it waits for a process to exit.
                    tokio::task::spawn_blocking(run);
                }
                client.get_organization(request).await.err()
            }
        })
        .buffer_unordered(8)
        .filter_map(|failure| async move { failure })
        .collect()
        .await
}

/// Two replicas of membership on one database behind one gateway whose
/// membership address lists both: calls are balanced over them, and stopping
/// one mid-run fails no call (SIGTERM drains what is in flight; the gateway
/// sends nothing more to a replica that said GOAWAY).
async fn calls_balance_over_replicas(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let run = uuid::Uuid::now_v7().simple().to_string();
    let db = database(&backend, dir.path(), "membership", &run);
    let metrics_a = format!("127.0.0.1:{}", free_port());
    let metrics_b = format!("127.0.0.1:{}", free_port());
    let with_metrics = |addr: &String| {
        let mut env = db.clone();
        env.push(("INNOLAB_METRICS_ADDR", addr.clone()));
        env
    };
    let mut replica_a = Process::start("innolab-membership", dir.path(), &with_metrics(&metrics_a));
    replica_a.wait_serving().await;
    let mut replica_b = Process::start("innolab-membership", dir.path(), &with_metrics(&metrics_b));
    replica_b.wait_serving().await;
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let mut gateway = Process::start(
        "innolab-gateway",
        dir.path(),
        &[
            (
                "INNOLAB_MEMBERSHIP_URL",
                format!("{},{}", replica_a.url(), replica_b.url()),
            ),
            ("INNOLAB_INITIATIVES_URL", nowhere.clone()),
            ("INNOLAB_GUIDANCE_URL", nowhere.clone()),
            ("INNOLAB_IMPACT_URL", nowhere),
            ("RUST_LOG", "info,innolab_kit::balance=debug".into()),
        ],
    );
    gateway.wait_serving().await;
    let channel = gateway.channel().await;
    wait_gateway_sees(&channel, "membership", 1).await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let agency = organization(&mut members, "Agency for Digitisation", "DK").await;

    const METHOD: &str = "GetOrganization";
    let before = (
        answered(&metrics_a, METHOD).await,
        answered(&metrics_b, METHOD).await,
    );
    let failures = read_organizations(&channel, &agency, 1_000, || {}).await;
    assert!(failures.is_empty(), "failed reads: {failures:?}");
    let on_a = answered(&metrics_a, METHOD).await - before.0;
    let on_b = answered(&metrics_b, METHOD).await - before.1;
    assert_eq!(on_a + on_b, 1_000, "every read answered by a replica");
    assert!(
        on_a >= 300 && on_b >= 300,
        "1,000 reads: {on_a} on one replica, {on_b} on the other"
    );

    // Stop one replica half-way through another 1,000 reads: none fails.
    let stopping = std::sync::Arc::new(std::sync::Mutex::new(Some(replica_b)));
    let stopped = stopping.clone();
    let failures = read_organizations(&channel, &agency, 1_000, move || {
        if let Some(replica) = stopped.lock().unwrap().as_mut() {
            replica.terminate();
        }
    })
    .await;
    if !failures.is_empty() {
        let log = gateway.log_text();
        let stopped = stopping.lock().unwrap().as_ref().map(Process::log_text);
        panic!(
            "{} reads failed while a replica stopped: {:?}\n--- gateway log (end)\n{}\n--- stopped replica's log (end)\n{}",
            failures.len(),
            failures.first(),
            &log[log.len().saturating_sub(6000)..],
            stopped
                .as_deref()
                .map_or("", |l| &l[l.len().saturating_sub(4000)..]),
        );
    }
    // After the stop, every read lands on the replica left.
    let left = answered(&metrics_a, METHOD).await;
    let failures = read_organizations(&channel, &agency, 100, || {}).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(answered(&metrics_a, METHOD).await, left + 100);

    gateway.stop();
    replica_a.stop();
    drop(stopping);
    drop_schemas(&backend, &run).await;
}

on_both_backends!(
    separate_processes_run_the_whole_scenario,
    calls_balance_over_replicas,
    traces_are_one_tree_through_the_gateway
);

/// A minimal OTLP/gRPC collector that keeps the spans it receives.
#[derive(Default, Clone)]
struct Collector(std::sync::Arc<std::sync::Mutex<Vec<otlp::ExportTraceServiceRequest>>>);

mod otlp {
    pub use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    pub use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    pub use opentelemetry_proto::tonic::trace::v1::Span;
}

#[tonic::async_trait]
impl otlp::TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<otlp::ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<otlp::ExportTraceServiceResponse>, Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(
            otlp::ExportTraceServiceResponse::default(),
        ))
    }
}

impl Collector {
    /// Listens on a free port; returns the endpoint to export to.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(otlp::TraceServiceServer::new(self.clone()))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        format!("http://{addr}")
    }

    /// The spans of trace `trace_id` (hex), with the name of the service
    /// (resource) that sent each.
    fn trace(&self, trace_id: &str) -> Vec<(String, otlp::Span)> {
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let mut spans = Vec::new();
        for request in self.0.lock().unwrap().iter() {
            for resource in &request.resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .and_then(|a| a.value.as_ref())
                    .map(|v| format!("{:?}", v.value))
                    .unwrap_or_default();
                for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
                    if hex(&span.trace_id) == trace_id {
                        spans.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        spans
    }
}

/// A call through the gateway leaves one trace: the gateway's SERVER span,
/// its CLIENT span under it, and the service's SERVER span under that, in
/// both topologies (separate processes, and the one-process suite).
async fn traces_are_one_tree_through_the_gateway(backend: Backend) {
    if matches!(backend, Backend::Postgres(_)) {
        // Tracing does not depend on the database; once is enough.
        return;
    }
    for topology in ["separate processes", "one process"] {
        let collector = Collector::default();
        let endpoint = collector.start().await;
        let dir = tempfile::tempdir().unwrap();
        let otel = |name: &str| {
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
                ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
                ("OTEL_SERVICE_NAME", name.to_string()),
            ]
        };
        let mut processes = Vec::new();
        if topology == "separate processes" {
            let mut env = otel("membership");
            env.push((
                "INNOLAB_DATABASE_URL",
                format!("sqlite://{}/membership.db", dir.path().display()),
            ));
            let mut membership = Process::start("innolab-membership", dir.path(), &env);
            membership.wait_serving().await;
            let mut env = otel("gateway");
            env.push(("INNOLAB_MEMBERSHIP_URL", membership.url()));
            processes.push(membership);
            processes.push(Process::start("innolab-gateway", dir.path(), &env));
        } else {
            let mut env = otel("suite");
            for variable in [
                "INNOLAB_MEMBERSHIP_ADDR",
                "INNOLAB_INITIATIVES_ADDR",
                "INNOLAB_GUIDANCE_ADDR",
                "INNOLAB_IMPACT_ADDR",
            ] {
                env.push((variable, "127.0.0.1:0".to_string()));
            }
            processes.push(Process::start("innolab", dir.path(), &env));
        }
        let gateway = processes.last_mut().unwrap();
        gateway.wait_serving().await;
        let channel = gateway.channel().await;
        wait_gateway_sees(&channel, "membership", 1).await;

        let trace_id = uuid::Uuid::now_v7().simple().to_string();
        let mut request = tonic::Request::new(mb::GetOrganizationRequest {
            name: "organizations/unknown".into(),
        });
        request.metadata_mut().insert(
            "traceparent",
            format!("00-{trace_id}-00f067aa0ba902b7-01")
                .parse()
                .unwrap(),
        );
        let status = mb::membership_service_client::MembershipServiceClient::new(channel)
            .get_organization(request)
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{topology}");

        // Stopping flushes every exporter.
        let logs: Vec<String> = processes.iter().map(Process::log_text).collect();
        for process in processes.iter_mut().rev() {
            process.terminate();
        }
        let spans = collector.trace(&trace_id);
        let described: Vec<String> = spans
            .iter()
            .map(|(service, s)| format!("{service} {} kind {}", s.name, s.kind))
            .collect();
        let find = |kind: i32, service: &str| {
            spans
                .iter()
                .find(|(from, s)| {
                    s.kind == kind
                        && from.contains(service)
                        && s.name == "innolab.membership.v1.MembershipService/GetOrganization"
                })
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| {
                    panic!(
                        "{topology}: no span of kind {kind} from {service} in {described:?}\n{}",
                        logs.join("\n")
                    )
                })
        };
        let (gateway_name, service_name) = match topology {
            "separate processes" => ("gateway", "membership"),
            _ => ("suite", "suite"),
        };
        let root = spans
            .iter()
            .filter(|(from, s)| from.contains(gateway_name) && s.kind == 2)
            .find(|(_, s)| hex_of(&s.parent_span_id) == "00f067aa0ba902b7")
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| {
                panic!("{topology}: no gateway SERVER span under the caller's: {described:?}")
            });
        let client = find(3, gateway_name);
        let server = spans
            .iter()
            .filter(|(from, s)| from.contains(service_name) && s.kind == 2)
            .find(|(_, s)| s.parent_span_id == client.span_id)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| {
                panic!("{topology}: no service SERVER span under the CLIENT span: {described:?}")
            });
        assert_eq!(
            client.parent_span_id, root.span_id,
            "{topology}: CLIENT under the gateway's SERVER span"
        );
        assert_ne!(server.span_id, root.span_id, "{topology}");
        // The client sees NOT_FOUND as an error; the service does not.
        assert_eq!(
            client.status.as_ref().map(|s| s.code),
            Some(2),
            "{topology}"
        );
        assert_ne!(
            server.status.as_ref().map(|s| s.code),
            Some(2),
            "{topology}"
        );
        let _ = find(2, service_name);
        // No health probe left a span in this trace or any other.
        let all: Vec<String> = collector
            .0
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect();
        assert!(
            all.iter().all(|n| !n.contains("grpc.health")),
            "{topology}: health probes traced: {all:?}"
        );
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
