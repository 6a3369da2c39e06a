//! Benchmark of issue 4's scale targets; writes a Markdown report.
//!
//! ```sh
//! cargo run --release -p innolab-guidance --example guidance-bench                 # SQLite
//! INNOLAB_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p innolab-guidance --example guidance-bench               # PostgreSQL
//! ```
//!
//! Settings (environment): `BENCH_DOCS` (published documents, default
//! 100000), `BENCH_QUERIES` (searches timed, default 2000), `BENCH_REPORT`
//! (report path, default `guidance-bench-<backend>.md`),
//! `BENCH_ATTACHMENT_MB` (default 50), `BENCH_KEEP` (set to 1: keep the
//! corpus for the next run, in `guidance-bench.db` or, on PostgreSQL, the
//! schema `guidance_bench`, and load only the documents it lacks),
//! `BENCH_SLOW_MS` (print each search that took at least this long),
//! `BENCH_WARMUP` (untimed searches first, default `BENCH_QUERIES`).
//!
//! It loads the corpus through the store's bulk path (the gRPC path is what
//! is timed, not the loading), starts the service as a child process (this
//! program with `serve`) on 127.0.0.1:0, runs the searches one after another
//! over gRPC, then streams one attachment in and out while sampling the
//! service's resident memory, and stops the service with SIGTERM.

#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use innolab_guidance::domain::{DocumentFields, DocumentType};
use innolab_guidance::store::Store;
use innolab_kit::config::{DatabaseSettings, Settings};
use innolab_kit::db::Database;
use innolab_proto::innolab::guidance::v1 as pb;
use pb::guidance_service_client::GuidanceServiceClient;
use sha2::{Digest, Sha256};

// Beside this file rather than in `examples/` itself, where Cargo would take
// it for an example of its own.
#[path = "bench/corpus.rs"]
mod corpus;

use corpus::{LANGUAGES, Rng, Vocabulary};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Server mode (`bench serve`): the service alone in a child process, so its
/// memory is measured apart from the load generator's. Prints its port.
async fn serve_child() -> anyhow::Result<()> {
    let url = std::env::var("BENCH_URL")?;
    let schema = std::env::var("BENCH_SCHEMA")?;
    let max = env("BENCH_MAX_BYTES", 64 * 1024 * 1024);
    let mut settings = Settings::new(DatabaseSettings::new(&url, &schema, 8)?);
    settings.shutdown_drain = Duration::from_secs(5);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?.port());
    innolab_guidance::serve_with(
        listener,
        settings,
        innolab_guidance::Options {
            max_attachment_bytes: max,
        },
        innolab_kit::server::shutdown_signal(),
    )
    .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        return serve_child().await;
    }
    let docs = env("BENCH_DOCS", 100_000);
    let queries = env("BENCH_QUERIES", 2_000);
    let attachment_mb = env("BENCH_ATTACHMENT_MB", 50);
    let keep = env("BENCH_KEEP", 0) == 1;
    let dir = tempfile::tempdir()?;
    let url = std::env::var("INNOLAB_DATABASE_URL").unwrap_or_else(|_| {
        if keep {
            "sqlite://guidance-bench.db".to_string()
        } else {
            format!("sqlite://{}/guidance.db", dir.path().display())
        }
    });
    let schema = if keep {
        "guidance_bench".to_string()
    } else {
        format!("bench_{}", std::process::id())
    };
    let database = DatabaseSettings::new(&url, &schema, 8)?;
    let backend = format!("{:?}", database.backend).to_lowercase();

    let db = Database::connect_lazy(&database)?;
    db.migrate(&innolab_guidance::SPEC.migrations).await?;
    let store = Store::new(db.clone());

    // ---- load ----
    let (loaded,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM documents WHERE current_edition IS NOT NULL")
            .fetch_one(db.pool())
            .await?;
    let loaded = u64::try_from(loaded)?;
    println!(
        "loading {} published documents on {backend} ({loaded} there already)...",
        docs.saturating_sub(loaded)
    );
    let started = Instant::now();
    let vocab_size = env("BENCH_VOCABULARY", 3_000) as usize;
    let vocabularies: Vec<Vocabulary> = (0..6).map(|l| Vocabulary::new(l, vocab_size)).collect();
    // Through the store's bulk path, a transaction per 500 documents: the
    // rows publishing through the API leaves, without four transactions a
    // document (which took 21 to 33 minutes for 100,000).
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ loaded);
    let mut i = loaded;
    while i < docs {
        let last = (i + 500).min(docs);
        let batch: Vec<_> = (i..last)
            .map(|n| corpus::document(n, &vocabularies, &mut rng))
            .collect();
        store.import_published(&batch).await?;
        i = last;
    }
    let load_time = started.elapsed();
    println!("loaded in {:.1} s", load_time.as_secs_f64());
    if backend == "postgres" && docs > loaded {
        // What autovacuum does after a load, done now so that the searches
        // meet the steady state (statistics for the planner, the visibility
        // map for index-only scans) rather than a vacuum in progress.
        sqlx::query("VACUUM (ANALYZE) search_terms, search_entries, documents")
            .execute(db.pool())
            .await?;
    }

    // ---- serve (a child process: the service alone) ----
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("BENCH_URL", &url)
        .env("BENCH_SCHEMA", &schema)
        .env(
            "BENCH_MAX_BYTES",
            ((attachment_mb + 1) * 1024 * 1024).to_string(),
        )
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let child_pid = child.id().unwrap_or(0);
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
    ));
    let port: u16 = lines
        .next_line()
        .await?
        .ok_or_else(|| anyhow::anyhow!("the server printed no port"))?
        .trim()
        .parse()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut client = loop {
        if let Ok(c) = GuidanceServiceClient::connect(format!("http://{addr}")).await {
            let ready = c
                .clone()
                .list_documents(pb::ListDocumentsRequest {
                    page_size: 1,
                    ..Default::default()
                })
                .await;
            if ready.is_ok() {
                break c;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // ---- search ----
    // A warm-up pass of other searches (another seed) first, so the timed
    // pass meets caches as a running service has them, not as a fresh load
    // left them; BENCH_WARMUP=0 times the cold pass instead.
    let warmup = env("BENCH_WARMUP", queries);
    let mut latencies = Vec::with_capacity(queries as usize);
    let mut hits_total = 0usize;
    // BENCH_SLOW_MS: print the searches that took at least this long.
    let slow = Duration::from_millis(env("BENCH_SLOW_MS", u64::MAX / 1_000_000));
    for (seed, count, timed) in [(7, warmup, false), (42, queries, true)] {
        let mut rng = Rng(seed);
        for q in 0..count {
            let language = LANGUAGES[(q % 6) as usize].0;
            let words = &vocabularies[(q % 6) as usize];
            let query = if q % 2 == 0 {
                words.uniform(&mut rng).to_string()
            } else {
                format!("{} {}", words.uniform(&mut rng), words.zipf(&mut rng))
            };
            // Every third round of the six languages filters by language.
            let filter = if (q / 6) % 3 == 0 {
                format!("language = \"{language}\"")
            } else {
                String::new()
            };
            let t = Instant::now();
            let r = client
                .search_documents(pb::SearchDocumentsRequest {
                    query: query.clone(),
                    filter: filter.clone(),
                    page_size: 10,
                    page_token: String::new(),
                })
                .await?;
            let took = t.elapsed();
            if !timed {
                continue;
            }
            latencies.push(took);
            if took >= slow {
                println!(
                    "slow: {:.1} ms {query:?} {filter:?}",
                    took.as_secs_f64() * 1000.0
                );
            }
            hits_total += r.into_inner().results.len();
        }
    }
    latencies.sort();

    // ---- attachment ----
    let d = store
        .create_document(
            &DocumentFields {
                doc_type: Some(DocumentType::Report),
                title: "Attachment benchmark".into(),
                license: "CC-BY-4.0".into(),
                ..DocumentFields::default()
            },
            None,
        )
        .await?;
    let size = (attachment_mb * 1024 * 1024) as usize;
    // 256 KiB chunks, as the contract recommends (at most 1 MiB).
    let chunk = 256 * 1024;
    let block: Vec<u8> = (0..chunk).map(|i| (i % 251) as u8).collect();
    let mut hasher = Sha256::new();
    for _ in 0..size / chunk {
        hasher.update(&block);
    }
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler_peak = peak.clone();
    let sampler = tokio::spawn(async move {
        loop {
            sampler_peak.fetch_max(rss_kib(child_pid), std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let baseline = rss_kib(child_pid);
    let parent = format!("documents/{}", d.id);
    let first = pb::UploadAttachmentRequest {
        part: Some(pb::upload_attachment_request::Part::Metadata(
            pb::UploadMetadata {
                parent,
                attachment: Some(pb::Attachment {
                    filename: "big.pdf".into(),
                    content_type: "application/pdf".into(),
                    sha256: sha.clone(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        )),
    };
    let chunks = size / chunk;
    let block_for_stream = block.clone();
    let messages = tokio_stream::iter(std::iter::once(first).chain((0..chunks).map(move |_| {
        pb::UploadAttachmentRequest {
            part: Some(pb::upload_attachment_request::Part::Chunk(
                block_for_stream.clone(),
            )),
        }
    })));
    let t = Instant::now();
    let stored = client.upload_attachment(messages).await?.into_inner();
    let upload_time = t.elapsed();
    let t = Instant::now();
    let mut stream = client
        .download_attachment(pb::DownloadAttachmentRequest {
            name: stored.name.clone(),
        })
        .await?
        .into_inner();
    let mut downloaded = 0usize;
    let mut check = Sha256::new();
    while let Some(m) = stream.message().await? {
        if let Some(pb::download_attachment_response::Part::Chunk(c)) = m.part {
            downloaded += c.len();
            check.update(&c);
        }
    }
    let download_time = t.elapsed();
    sampler.abort();
    let peak_kib = peak.load(std::sync::atomic::Ordering::Relaxed);
    let growth_mib = peak_kib.saturating_sub(baseline) as f64 / 1024.0;
    let check: String = check
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // SIGTERM: the service drains and exits.
    let _ = std::process::Command::new("kill")
        .arg(child_pid.to_string())
        .status();
    let _ = child.wait().await;
    if backend == "postgres" && !keep {
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(db.pool())
            .await?;
    }

    let p = |x: f64| percentile(&latencies, x).as_secs_f64() * 1000.0;
    let report = format!(
        "# Guidance benchmark ({backend})\n\n\
         - Published documents: {docs} over ro, sv, fi, da, nb, en ({} loaded in {:.1} s); \
           title 6 and body 150 words drawn by Zipf's law from {vocab_size} + 20 words per language\n\
         - Searches: {queries} timed after {warmup} others, one after another over gRPC on \
           loopback, page size 10; half one word drawn uniformly from the vocabulary, half that \
           and a word drawn by Zipf's law; a third with a language filter; {hits_total} \
           results in all\n\
         - Search latency: p50 {:.2} ms, p95 {:.2} ms, **p99 {:.2} ms** (target < 25 ms), max {:.2} ms\n\
         - Attachment: {attachment_mb} MiB uploaded in {:.2} s and downloaded in {:.2} s \
           (checksum {}), the service's resident memory grew by **{growth_mib:.1} MiB** \
           at peak (target < 16 MiB; sampled every 5 ms in /proc)\n",
        docs.saturating_sub(loaded),
        load_time.as_secs_f64(),
        p(0.50),
        p(0.95),
        p(0.99),
        latencies
            .last()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0),
        upload_time.as_secs_f64(),
        download_time.as_secs_f64(),
        if check == sha && downloaded == size {
            "matches"
        } else {
            "MISMATCH"
        },
    );
    let path = std::env::var("BENCH_REPORT").unwrap_or(format!("guidance-bench-{backend}.md"));
    std::fs::write(&path, &report)?;
    println!("{report}\nreport written to {path}");
    Ok(())
}
