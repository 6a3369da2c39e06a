//! FindSimilar through the gateway over a national library (issue 20's
//! target: p99 under 50 ms over 1,000,000 initiatives and 100,000 guidance
//! documents, on both backends), a plain program that measures and writes a
//! report; it is not a timed test.
//!
//! For each backend it
//! - loads `BENCH_DOCS` published guidance documents (default 100,000, in
//!   ro, sv, fi, da, nb and en, the guidance benchmark's corpus) through the
//!   guidance store's bulk path into the database the suite will use;
//! - starts the real `innolab` binary (the whole suite in one process) on
//!   that database, creates 20 organisations through the gateway and
//!   imports `BENCH_ROWS` initiatives (default 1,000,000, the initiatives
//!   scale benchmark's library) over gRPC, then waits until the word
//!   indexer has passed over all of them;
//! - times the gateway's FindSimilar, whose answer is the initiatives
//!   service's FindSimilar, then up to five guidance searches and the
//!   organisations behind the matches: `BENCH_QUERIES` (default 200) of each
//!   kind one after another after as many untimed ones, then the same mix
//!   from 4 concurrent callers; every answer must have all its parts.
//!
//! Run: `cargo bench -p innolab-gateway --bench similar`. PostgreSQL is
//! measured too when `INNOLAB_BENCH_POSTGRES_URL` is set (a fresh database is
//! created and dropped); `BENCH_BACKENDS=sqlite` or `postgres` picks one.
//! The report goes to `BENCH_REPORT` (default `target/similar-bench.md`).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use innolab_kit::config::DatabaseSettings;
use innolab_kit::db::Database;
use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use tonic::transport::Channel;

mod common;
use common::{Process, free_addr, memory_peak_mib, percentile};

// The initiatives scale benchmark's library and the guidance benchmark's
// corpus, the same generators (not copies).
#[allow(dead_code)]
#[path = "../../services/guidance/examples/bench/corpus.rs"]
mod corpus;
#[path = "../../services/initiatives/benches/corpus/mod.rs"]
mod library;

/// Documents per bulk-path transaction.
const DOCS_PER_BATCH: usize = 500;
/// Initiatives per ImportInitiatives stream.
const IMPORT_CHUNK: usize = 50_000;
/// Concurrent callers of the second pass.
const CALLERS: usize = 4;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Loads `docs` documents into the guidance database of `settings`; the
/// time it took.
async fn load_guidance(settings: &DatabaseSettings, docs: usize) -> Duration {
    let db = Database::connect_lazy(settings).unwrap();
    db.migrate(&innolab_guidance::SPEC.migrations)
        .await
        .unwrap();
    let store = innolab_guidance::store::Store::new(db.clone());
    let vocabularies: Vec<corpus::Vocabulary> = (0..corpus::LANGUAGES.len())
        .map(|l| corpus::Vocabulary::new(l, 3_000))
        .collect();
    let mut rng = corpus::Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut first = 0;
    while first < docs {
        let last = (first + DOCS_PER_BATCH).min(docs);
        let batch: Vec<_> = (first..last)
            .map(|i| corpus::document(i as u64, &vocabularies, &mut rng))
            .collect();
        store.import_published(&batch).await.unwrap();
        if last % 10_000 < DOCS_PER_BATCH || last == docs {
            eprintln!(
                "   guidance: {last} documents ({:.0}/s)",
                last as f64 / started.elapsed().as_secs_f64()
            );
        }
        first = last;
    }
    let took = started.elapsed();
    if db.backend() == innolab_kit::db::Backend::Postgres {
        // What autovacuum does after a load, done now so that the searches
        // meet the steady state rather than a vacuum in progress.
        sqlx::query("VACUUM (ANALYZE) search_terms, search_entries, documents")
            .execute(db.pool())
            .await
            .unwrap();
    }
    db.close().await;
    took
}

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap()
}

/// Imports the library over gRPC; the time it took.
async fn import_initiatives(addr: &str, orgs: &[String], rows: usize) -> Duration {
    let mut client =
        ini::initiatives_service_client::InitiativesServiceClient::new(channel(addr).await);
    let started = Instant::now();
    let mut first = 0;
    while first < rows {
        let last = (first + IMPORT_CHUNK).min(rows);
        let orgs = orgs.to_vec();
        let key = format!("similar-bench-{first}");
        let messages =
            tokio_stream::iter((first..last).map(move |n| ini::ImportInitiativesRequest {
                request_id: if n == first {
                    key.clone()
                } else {
                    String::new()
                },
                initiative: Some(library::row(n, &orgs)),
                actor: String::new(),
            }));
        let r = client
            .import_initiatives(messages)
            .await
            .unwrap()
            .into_inner();
        assert!(r.errors.is_empty(), "{:?}", r.errors.first());
        eprintln!(
            "   initiatives: {last} ({:.0}/s)",
            last as f64 / started.elapsed().as_secs_f64()
        );
        first = last;
    }
    started.elapsed()
}

/// How long until the initiatives service's word indexer has no cursor left.
async fn words_indexed(settings: &DatabaseSettings) -> Duration {
    let db = Database::connect_lazy(settings).unwrap();
    let started = Instant::now();
    loop {
        let (pending,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM word_backfill")
            .fetch_one(db.pool())
            .await
            .unwrap();
        if pending == 0 {
            db.close().await;
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The kinds of query, each a list of `n` requests; `first` picks which.
fn queries(
    names: &[String],
    first: usize,
    n: usize,
) -> Vec<(&'static str, Vec<ini::FindSimilarRequest>)> {
    let words = library::WORDS;
    let nordic = &corpus::LANGUAGES[1..5];
    let mut kinds: Vec<(&'static str, Vec<ini::FindSimilarRequest>)> = vec![
        ("free text, 2-3 title words, ro or en", Vec::new()),
        ("free text, 3 words of a Nordic language", Vec::new()),
        ("by initiative", Vec::new()),
    ];
    for q in first..first + n {
        let w = |k: u64| words[library::mix(q, 300 + k, words.len())];
        let (language, text) = if q % 2 == 0 {
            ("ro", format!("{} {}", w(1), w(2)))
        } else {
            ("en", format!("{} {} {}", w(1), w(2), w(3)))
        };
        kinds[0].1.push(ini::FindSimilarRequest {
            text,
            language_code: language.into(),
            ..Default::default()
        });
        let (language, domain) = nordic[q % nordic.len()];
        let d = |k: u64| domain[library::mix(q, 400 + k, domain.len())];
        kinds[1].1.push(ini::FindSimilarRequest {
            text: format!("{} {} {}", d(1), d(2), d(3)),
            language_code: language.into(),
            ..Default::default()
        });
        kinds[2].1.push(ini::FindSimilarRequest {
            initiative: names[library::mix(q, 500, names.len())].clone(),
            ..Default::default()
        });
    }
    kinds
}

type Gateway = gw::gateway_service_client::GatewayServiceClient<Channel>;

/// What the answers held, summed.
#[derive(Default)]
struct Found {
    answers: usize,
    with_matches: usize,
    with_documents: usize,
    with_organizations: usize,
}

impl Found {
    fn add(&mut self, answer: &gw::SimilarAnswer) {
        assert!(
            answer.missing_parts.is_empty(),
            "a part is missing: {:?}",
            answer.missing_parts
        );
        self.answers += 1;
        self.with_matches += usize::from(!answer.matches.is_empty());
        self.with_documents += usize::from(!answer.documents.is_empty());
        self.with_organizations += usize::from(!answer.organizations.is_empty());
    }
}

async fn similar(
    client: &mut Gateway,
    query: ini::FindSimilarRequest,
) -> (Duration, gw::SimilarAnswer) {
    let started = Instant::now();
    let answer = client
        .find_similar(gw::FindSimilarRequest { query: Some(query) })
        .await
        .unwrap()
        .into_inner();
    (started.elapsed(), answer)
}

fn line(what: &str, times: &mut [Duration], found: &Found) -> String {
    times.sort();
    format!(
        "| {what} | {} | {:.1} ms | **{:.1} ms** | {:.1} ms | {}/{}/{} of {} |\n",
        times.len(),
        ms(percentile(times, 0.50)),
        ms(percentile(times, 0.99)),
        ms(*times.last().unwrap()),
        found.with_matches,
        found.with_documents,
        found.with_organizations,
        found.answers,
    )
}

/// Measures one backend: `url` None is SQLite in `dir`.
async fn run_backend(name: &str, url: Option<&str>, dir: &Path, report: &mut String) {
    let docs = env("BENCH_DOCS", 100_000);
    let rows = env("BENCH_ROWS", 1_000_000);
    let n = env("BENCH_QUERIES", 200);
    eprintln!("== {name}: {docs} guidance documents, {rows} initiatives");
    std::fs::create_dir_all(dir.join("innolab-data")).unwrap();
    // The suite's own defaults: a file per service in innolab-data/, or a
    // schema per service named after it.
    let settings = |service: &str| match url {
        None => DatabaseSettings::new(
            &format!("sqlite://{}/innolab-data/{service}.db", dir.display()),
            service,
            4,
        )
        .unwrap(),
        Some(url) => DatabaseSettings::new(url, service, 4).unwrap(),
    };
    let load_time = load_guidance(&settings("guidance"), docs).await;

    let (gateway, metrics, initiatives) = (free_addr(), free_addr(), free_addr());
    let log = std::fs::File::create(dir.join("suite.log")).unwrap();
    let mut suite = Command::new(env!("CARGO_BIN_EXE_innolab"));
    suite
        .env_clear()
        .env("INNOLAB_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .env("INNOLAB_LISTEN_ADDR", &gateway)
        .env("INNOLAB_METRICS_ADDR", &metrics)
        .env("INNOLAB_MEMBERSHIP_ADDR", free_addr())
        .env("INNOLAB_INITIATIVES_ADDR", &initiatives)
        .env("INNOLAB_GUIDANCE_ADDR", free_addr())
        .env("INNOLAB_IMPACT_ADDR", free_addr())
        .current_dir(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null());
    if let Some(url) = url {
        suite.env("INNOLAB_DATABASE_URL", url);
    }
    let suite = Process(suite.spawn().expect("the innolab binary starts"));
    common::wait_ready(&gateway).await;

    let gateway_channel = channel(&gateway).await;
    let members =
        mb::membership_service_client::MembershipServiceClient::new(gateway_channel.clone());
    let mut orgs = Vec::new();
    for i in 0..20 {
        let org = members
            .clone()
            .create_organization(library::organization(i))
            .await
            .unwrap()
            .into_inner();
        orgs.push(org.name);
    }
    let import_time = import_initiatives(&initiatives, &orgs, rows).await;
    let words_time = words_indexed(&settings("initiatives")).await;
    eprintln!(
        "   words indexed {:.1} s after the import",
        words_time.as_secs_f64()
    );

    let names = library::first_initiatives(
        ini::initiatives_service_client::InitiativesServiceClient::new(gateway_channel.clone()),
    )
    .await;
    let mut client = Gateway::new(gateway_channel.clone());
    // Untimed first (other queries of the same kinds), then timed.
    for (_, requests) in queries(&names, n, n) {
        for request in requests {
            similar(&mut client, request).await;
        }
    }
    let _ = writeln!(
        report,
        "\n## {name}\n\n\
         - Guidance: {docs} published documents loaded through the store's bulk path in {:.1} s \
           ({:.0}/s)\n\
         - Initiatives: {rows} imported over gRPC in {:.1} s ({:.0}/s), their words indexed \
           {:.1} s after\n\n\
         | FindSimilar through the gateway | calls | p50 | p99 | max | answers with matches/documents/organisations |\n\
         |---|---|---|---|---|---|",
        load_time.as_secs_f64(),
        docs as f64 / load_time.as_secs_f64().max(0.001),
        import_time.as_secs_f64(),
        rows as f64 / import_time.as_secs_f64().max(0.001),
        words_time.as_secs_f64(),
    );
    let kinds = queries(&names, 0, n);
    let mut worst_p99 = Duration::ZERO;
    for (what, requests) in &kinds {
        let mut times = Vec::new();
        let mut found = Found::default();
        for request in requests {
            let (took, answer) = similar(&mut client, request.clone()).await;
            times.push(took);
            found.add(&answer);
        }
        times.sort();
        worst_p99 = worst_p99.max(percentile(&times, 0.99));
        report.push_str(&line(&format!("{what}, one caller"), &mut times, &found));
    }
    // The same requests, interleaved, from concurrent callers.
    let all: Vec<ini::FindSimilarRequest> = (0..n)
        .flat_map(|q| kinds.iter().map(move |(_, r)| r[q].clone()))
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CALLERS {
        let mine: Vec<_> = all.iter().skip(c).step_by(CALLERS).cloned().collect();
        let mut client = Gateway::new(gateway_channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for request in mine {
                out.push(similar(&mut client, request).await);
            }
            out
        }));
    }
    let mut times = Vec::new();
    let mut found = Found::default();
    for t in tasks {
        for (took, answer) in t.await.unwrap() {
            times.push(took);
            found.add(&answer);
        }
    }
    let wall = started.elapsed();
    report.push_str(&line(
        &format!("all kinds, {CALLERS} concurrent callers"),
        &mut times,
        &found,
    ));
    let _ = writeln!(
        report,
        "\n- {CALLERS} concurrent callers: {:.0} calls/s\n\
         - Target p99 under 50 ms, one caller: **{}** (worst kind {:.1} ms)\n\
         - The suite's peak resident memory (VmHWM): {:.0} MiB",
        times.len() as f64 / wall.as_secs_f64(),
        if worst_p99 < Duration::from_millis(50) {
            "met"
        } else {
            "not met"
        },
        ms(worst_p99),
        memory_peak_mib(suite.0.id()),
    );
    drop(suite);
}

#[tokio::main]
async fn main() {
    let path = std::env::var("BENCH_REPORT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/similar-bench.md").into()
    });
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    sqlx::any::install_default_drivers();
    let mut report = format!(
        "# FindSimilar through the gateway at scale\n\n\
         The one-process suite (release `innolab` binary), {} CPUs; client in another \
         process over loopback gRPC. Command: `cargo bench -p innolab-gateway --bench similar`.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if backends.contains("sqlite") {
        let dir = tempfile::tempdir().unwrap();
        run_backend("SQLite", None, dir.path(), &mut report).await;
    }
    let postgres = std::env::var("INNOLAB_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    match postgres {
        Some(admin) if backends.contains("postgres") => {
            let name = format!("similar_{}", uuid::Uuid::now_v7().simple());
            let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .unwrap();
            let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            let url = if query.is_empty() {
                format!("{base}/{name}")
            } else {
                format!("{base}/{name}?{query}")
            };
            let dir = tempfile::tempdir().unwrap();
            run_backend("PostgreSQL", Some(&url), dir.path(), &mut report).await;
            if std::env::var_os("BENCH_KEEP").is_some() {
                eprintln!("kept database {name} (BENCH_KEEP)");
            } else {
                let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
            }
            pool.close().await;
        }
        _ => report.push_str("\nPostgreSQL not measured: set INNOLAB_BENCH_POSTGRES_URL.\n"),
    }
    std::fs::write(&path, &report).unwrap();
    println!("{report}\nreport written to {path}");
}
