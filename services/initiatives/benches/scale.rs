//! Scale benchmark of the initiatives service (issue 3's targets), a plain
//! program that measures and writes a report; it is not a timed test.
//!
//! For each backend it starts a real membership server and a real initiatives
//! server on loopback, bulk-imports `BENCH_ROWS` initiatives (default
//! 1,000,000) over gRPC, then measures:
//! - bulk import throughput (target: at least 10,000 initiatives/s on PostgreSQL);
//! - page 1 and page 1000 of filtered lists (target: page 1000 at most 1.2x page 1);
//! - the portfolio summary over the whole library (target: under 100 ms);
//! - FindSimilar (issue 20): p50 and p99 of free-text queries of two to
//!   three title words in Romanian or English, of a query with a word every
//!   initiative has (the generated problem statement), and of queries by an
//!   initiative (target: p99 under 50 ms).
//! - the open-data export (issue 19): the real `innolab-initiatives export`
//!   binary, in a process of its own, writing every initiative (and the
//!   other collections) from one snapshot: rows/s and its peak resident
//!   memory (VmHWM), which must not grow with the library.
//!   `BENCH_EXPORT_ONLY=1` stops after it.
//!
//! Run: `cargo bench -p innolab-initiatives --bench scale`; PostgreSQL is
//! measured too when `INNOLAB_BENCH_POSTGRES_URL` is set (a fresh schema is
//! made and dropped). The report goes to `BENCH_REPORT` (default
//! `target/initiatives-bench.md`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use innolab_kit::config::{DatabaseSettings, Settings};
use innolab_proto::innolab::initiatives::v1 as pb;
use innolab_proto::innolab::membership::v1 as mpb;
use pb::initiatives_service_client::InitiativesServiceClient;
use tokio::sync::oneshot;
use tonic::transport::Channel;

// A directory rather than `benches/corpus.rs`, which Cargo would take for a
// benchmark of its own; the gateway's FindSimilar benchmark uses it too.
mod corpus;
use corpus::{WORDS, first_initiatives, mix, organization, row};

const IMPORT_CHUNK: usize = 50_000;

struct Server {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn listener() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn settings(url: &str, schema: &str) -> Settings {
    let mut s = Settings::new(DatabaseSettings::new(url, schema, 10).unwrap());
    s.shutdown_drain = Duration::from_secs(5);
    s
}

async fn start_membership(dir: &std::path::Path) -> Server {
    let (l, addr) = listener().await;
    let (stop, rx) = oneshot::channel();
    let url = format!("sqlite://{}/membership.db", dir.display());
    let task = tokio::spawn(innolab_membership::serve(
        l,
        settings(&url, "membership"),
        async {
            let _ = rx.await;
        },
    ));
    Server { addr, stop, task }
}

async fn start_initiatives(url: &str, schema: &str, membership: &str) -> Server {
    let (l, addr) = listener().await;
    let (stop, rx) = oneshot::channel();
    let membership = membership.to_string();
    let s = settings(url, schema);
    let task = tokio::spawn(async move {
        innolab_initiatives::serve(l, s, &membership, async {
            let _ = rx.await;
        })
        .await
    });
    Server { addr, stop, task }
}

/// How long until the word indexer has no cursor left (polled every 200 ms
/// on a connection of its own).
async fn words_indexed(url: &str, schema: &str) -> Duration {
    let settings = settings(url, schema);
    let db = innolab_kit::db::Database::connect_lazy(&settings.database).unwrap();
    let started = Instant::now();
    loop {
        let (pending,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM word_backfill")
            .fetch_one(db.pool())
            .await
            .unwrap();
        if pending == 0 {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap()
}

/// Retries `f` while the server is still starting (UNAVAILABLE).
async fn when_ready<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(s) if s.code() == tonic::Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn list(
    client: &mut InitiativesServiceClient<Channel>,
    filter: &str,
    token: &str,
) -> (Duration, String) {
    let start = Instant::now();
    let r = client
        .list_initiatives(pb::ListInitiativesRequest {
            page_size: 50,
            page_token: token.into(),
            filter: filter.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.initiatives.len(),
        50,
        "filter {filter:?} has too few matches"
    );
    (start.elapsed(), r.next_page_token)
}

/// FindSimilar latencies per kind of query.
async fn find_similar(
    client: &mut InitiativesServiceClient<Channel>,
    queries: usize,
) -> Vec<(&'static str, Vec<Duration>)> {
    let names = first_initiatives(client.clone()).await;
    let queries = queries.clamp(20, 200);
    let mut kinds: Vec<(&'static str, Vec<pb::FindSimilarRequest>)> = vec![
        ("free text, 2-3 title words, ro or en", Vec::new()),
        ("free text with a word every initiative has", Vec::new()),
        ("by initiative", Vec::new()),
    ];
    for n in 0..queries {
        let w = |k: u64| WORDS[mix(n, 300 + k, WORDS.len())];
        let (language, text) = if n % 2 == 0 {
            ("ro", format!("{} {}", w(1), w(2)))
        } else {
            ("en", format!("{} {} {}", w(1), w(2), w(3)))
        };
        kinds[0].1.push(pb::FindSimilarRequest {
            text,
            language_code: language.into(),
            ..Default::default()
        });
        kinds[1].1.push(pb::FindSimilarRequest {
            text: format!("{} services", w(4)),
            language_code: "en".into(),
            ..Default::default()
        });
        kinds[2].1.push(pb::FindSimilarRequest {
            initiative: names[n % names.len()].clone(),
            ..Default::default()
        });
    }
    let mut out = Vec::new();
    for (what, requests) in kinds {
        let mut times = Vec::new();
        for request in requests {
            let start = Instant::now();
            client.find_similar(request).await.unwrap();
            times.push(start.elapsed());
        }
        eprintln!(
            "   FindSimilar {what}: worst {:.1} ms",
            ms(*times.iter().max().unwrap())
        );
        out.push((what, times));
    }
    out
}

/// Runs the `export` command's binary on the library at `url`, sampling its
/// peak resident memory (`VmHWM` of /proc/<pid>/status) while it runs; the
/// report's lines.
fn export(url: &str, schema: &str, dir: &std::path::Path, rows: i64) -> String {
    let out = dir.join("open-data");
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_innolab-initiatives"))
        .args(["export", "--out-dir"])
        .arg(&out)
        .env("INNOLAB_DATABASE_URL", url)
        .env("INNOLAB_DATABASE_SCHEMA", schema)
        .env("INNOLAB_LOG_FORMAT", "text")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kib: u64 = 0;
    let exit = loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak_kib = peak_kib.max(hwm.unwrap_or(0));
        }
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    assert!(exit.success(), "export failed: {exit}");
    let csv = std::fs::metadata(out.join("initiatives.csv"))
        .unwrap()
        .len();
    let json = std::fs::metadata(out.join("initiatives.json"))
        .unwrap()
        .len();
    let lines = std::fs::read(out.join("initiatives.csv"))
        .unwrap()
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    assert_eq!(lines as i64, rows + 1, "a header and every initiative");
    format!(
        "- Open-data export (`innolab-initiatives export`, its own process, one snapshot): \
         {rows} initiatives in {:.1} s = **{:.0} initiatives/s**, peak RSS **{:.1} MiB** \
         (initiatives.csv {:.0} MiB, initiatives.json {:.0} MiB)\n",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        peak_kib as f64 / 1024.0,
        csv as f64 / 1048576.0,
        json as f64 / 1048576.0,
    )
}

async fn run_backend(
    name: &str,
    url: &str,
    schema: &str,
    rows: usize,
    far: usize,
    report: &mut String,
) {
    eprintln!("== {name}: {rows} initiatives");
    let dir = tempfile::tempdir().unwrap();
    let membership = start_membership(dir.path()).await;
    let initiatives = start_initiatives(url, schema, &format!("http://{}", membership.addr)).await;
    let members = mpb::membership_service_client::MembershipServiceClient::new(
        channel(membership.addr).await,
    );
    let mut orgs = Vec::new();
    for i in 0..20 {
        let request = organization(i);
        let org = when_ready(|| {
            let mut c = members.clone();
            let r = request.clone();
            async move { c.create_organization(r).await }
        })
        .await;
        orgs.push(org.into_inner().name);
    }
    let mut client = InitiativesServiceClient::new(channel(initiatives.addr).await);
    when_ready(|| {
        let mut c = client.clone();
        async move {
            c.list_initiatives(pb::ListInitiativesRequest::default())
                .await
        }
    })
    .await;

    // Bulk import, in streams of IMPORT_CHUNK rows.
    let started = Instant::now();
    let mut imported = 0i64;
    let mut first = 0;
    while first < rows {
        let last = (first + IMPORT_CHUNK).min(rows);
        let orgs = orgs.clone();
        let key = format!("bench-{first}");
        let messages =
            tokio_stream::iter((first..last).map(move |n| pb::ImportInitiativesRequest {
                request_id: if n % IMPORT_CHUNK == 0 {
                    key.clone()
                } else {
                    String::new()
                },
                initiative: Some(row(n, &orgs)),
                actor: String::new(),
            }));
        let r = client
            .import_initiatives(messages)
            .await
            .unwrap()
            .into_inner();
        assert!(r.errors.is_empty(), "{:?}", r.errors.first());
        imported += r.imported;
        eprintln!(
            "   imported {last} ({:.0}/s)",
            last as f64 / started.elapsed().as_secs_f64()
        );
        first = last;
    }
    let import_time = started.elapsed();
    let rate = imported as f64 / import_time.as_secs_f64();
    // The import leaves its `word` terms to the background indexer: wait
    // until it is done (its cursor row gone), so that FindSimilar below is
    // measured over the whole index.
    let words_time = words_indexed(url, schema).await;
    let indexed = format!(
        "- Words indexed in the background after the import: {:.1} s more \
         ({:.0} initiatives/s); import and words together: {:.0} initiatives/s\n",
        words_time.as_secs_f64(),
        imported as f64 / words_time.as_secs_f64().max(0.001),
        imported as f64 / (import_time + words_time).as_secs_f64()
    );
    eprintln!("{indexed}");

    let export = export(url, schema, dir.path(), imported);
    if std::env::var_os("BENCH_EXPORT_ONLY").is_some() {
        writeln!(
            report,
            "\n## {name}\n\n- Bulk import: {imported} initiatives in {:.1} s = **{rate:.0} initiatives/s**\n{export}",
            import_time.as_secs_f64()
        )
        .unwrap();
        let _ = initiatives.stop.send(());
        let _ = membership.stop.send(());
        initiatives.task.await.unwrap().unwrap();
        membership.task.await.unwrap().unwrap();
        return;
    }

    let mut results = Vec::new();
    for filter in [
        "status = PILOT",
        "country_code = \"RO\"",
        "sdg = 4",
        "(stage = GENERATING_IDEAS OR stage = DEVELOPING_PROPOSALS) \
         AND (country_code = \"RO\" OR country_code = \"FI\" OR country_code = \"SE\")",
    ] {
        // Walk to the far page once to get its token.
        let mut token = String::new();
        let mut walk = Vec::new();
        for _ in 1..far {
            let (d, next) = list(&mut client, filter, &token).await;
            walk.push(d);
            token = next;
        }
        let mut page1 = Vec::new();
        let mut page1000 = Vec::new();
        for _ in 0..21 {
            page1.push(list(&mut client, filter, "").await.0);
            page1000.push(list(&mut client, filter, &token).await.0);
        }
        let (p1, p1000) = (median(page1), median(page1000));
        eprintln!(
            "   {filter}: page 1 {:.2} ms, page {far} {:.2} ms",
            ms(p1),
            ms(p1000)
        );
        results.push((filter, p1, p1000, median(walk)));
    }

    let mut summaries = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        let s = client
            .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
            .await
            .unwrap()
            .into_inner();
        summaries.push(start.elapsed());
        assert_eq!(s.total, imported);
    }
    let summary = median(summaries);
    let start = Instant::now();
    client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
            filter: "country_code = \"RO\"".into(),
        })
        .await
        .unwrap();
    let filtered_summary = start.elapsed();
    eprintln!("   summary {:.1} ms", ms(summary));

    let similar = find_similar(&mut client, far).await;

    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let _ = writeln!(report, "\n## {name}\n");
    let _ = writeln!(
        report,
        "- Bulk import: {imported} initiatives in {:.1} s = **{rate:.0} initiatives/s** \
         (streams of {IMPORT_CHUNK} rows over loopback gRPC; target >= 10,000/s on PostgreSQL: {})",
        import_time.as_secs_f64(),
        if name == "PostgreSQL" {
            verdict(rate >= 10_000.0)
        } else {
            "n/a"
        }
    );
    report.push_str(&indexed);
    report.push_str(&export);
    let _ = writeln!(
        report,
        "- Portfolio summary, whole library: **{:.1} ms** median of 11 (target < 100 ms: {}); \
         filtered to one country: {:.1} ms",
        ms(summary),
        verdict(summary < Duration::from_millis(100)),
        ms(filtered_summary)
    );
    let _ = writeln!(
        report,
        "\n| Filter (page size 50) | page 1 | page {far} | ratio | median page while walking | target <= 1.2x |\n|---|---|---|---|---|---|"
    );
    for (filter, p1, p1000, walk) in results {
        let ratio = p1000.as_secs_f64() / p1.as_secs_f64();
        let _ = writeln!(
            report,
            "| `{filter}` | {:.2} ms | {:.2} ms | {ratio:.2} | {:.2} ms | {} |",
            ms(p1),
            ms(p1000),
            ms(walk),
            verdict(ratio <= 1.2)
        );
    }

    let _ = writeln!(
        report,
        "\n| FindSimilar (10 matches) | queries | p50 | p99 | target p99 < 50 ms |\n|---|---|---|---|---|"
    );
    for (what, mut times) in similar {
        times.sort();
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let (p50, p99) = (p(0.5), p(0.99));
        let _ = writeln!(
            report,
            "| {what} | {} | {:.1} ms | {:.1} ms | {} |",
            times.len(),
            ms(p50),
            ms(p99),
            verdict(p99 < Duration::from_millis(50))
        );
    }

    let _ = initiatives.stop.send(());
    let _ = membership.stop.send(());
    initiatives.task.await.unwrap().unwrap();
    membership.task.await.unwrap().unwrap();
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let far: usize = std::env::var("BENCH_FAR_PAGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let path =
        std::env::var("BENCH_REPORT").unwrap_or_else(|_| "target/initiatives-bench.md".to_string());
    let mut report = format!(
        "# innolab-initiatives scale benchmark\n\n{rows} initiatives per backend, {} CPUs, \
         release build, client and servers in one process over loopback gRPC.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // BENCH_BACKENDS=postgres skips SQLite (for measuring one change quickly).
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let dir = tempfile::tempdir().unwrap();
    if backends.contains("sqlite") {
        let sqlite = format!("sqlite://{}/initiatives.db", dir.path().display());
        run_backend("SQLite", &sqlite, "initiatives", rows, far, &mut report).await;
    }
    if let (Ok(url), true) = (
        std::env::var("INNOLAB_BENCH_POSTGRES_URL"),
        backends.contains("postgres"),
    ) {
        let schema = format!("bench_{}", uuid::Uuid::now_v7().simple());
        run_backend("PostgreSQL", &url, &schema, rows, far, &mut report).await;
        sqlx::any::install_default_drivers();
        if std::env::var_os("BENCH_KEEP_SCHEMA").is_some() {
            eprintln!("kept schema {schema} (BENCH_KEEP_SCHEMA)");
        } else if let Ok(pool) = sqlx::AnyPool::connect(&url).await {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&pool)
                .await;
        }
    } else {
        report.push_str("\nPostgreSQL not measured: set INNOLAB_BENCH_POSTGRES_URL.\n");
    }
    std::fs::write(&path, &report).unwrap();
    eprintln!("report written to {path}");
}
