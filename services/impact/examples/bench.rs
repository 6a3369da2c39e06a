//! Benchmark of issue 5's scale targets; writes a Markdown report.
//!
//! 50,000 assessments with 10 indicators of 24 measurements each: a rollup
//! over all of them should answer in under 200 ms on SQLite and PostgreSQL,
//! and rendering a chart should take under 10 ms. The program loads that data
//! (through the store's bulk loader), starts the real service on loopback and
//! times the RPCs a client would call. It is a measurement, not a test: it
//! reports what it saw and never fails on a slow number.
//!
//! ```sh
//! cargo run --release -p innolab-impact --example impact-bench -- \
//!     [--assessments 50000] [--indicators 10] [--measurements 24] [--runs 20] \
//!     [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--report impact-bench.md] \
//!     [--no-postgres] [--sqlite-file FILE]
//! ```
//!
//! PostgreSQL runs when `--postgres` (or `INNOLAB_TEST_POSTGRES_URL`) is
//! given; the benchmark makes a schema of its own and drops it at the end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use innolab_impact::chart;
use innolab_impact::domain::{
    AssessmentFields, AssessmentQuery, AssessmentState, CapacityFields, CriterionRating, Date,
    Direction, IndicatorFields, Measurement, Point, PublicValueOutcome, ResultType, Score,
};
use innolab_impact::store::{LoadItem, MIGRATIONS, Store};
use innolab_kit::config::{DatabaseSettings, Settings};
use innolab_kit::db::{Backend, Database};
use innolab_proto::innolab::impact::v1 as pb;
use pb::impact_service_client::ImpactServiceClient;

#[derive(Debug)]
struct Args {
    assessments: usize,
    indicators: usize,
    measurements: usize,
    runs: usize,
    postgres: Option<String>,
    report: PathBuf,
    sqlite_file: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        assessments: 50_000,
        indicators: 10,
        measurements: 24,
        runs: 20,
        postgres: std::env::var("INNOLAB_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty()),
        report: PathBuf::from("impact-bench.md"),
        sqlite_file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--assessments" => args.assessments = value()?.parse()?,
            "--indicators" => args.indicators = value()?.parse()?,
            "--measurements" => args.measurements = value()?.parse()?,
            "--runs" => args.runs = value()?.parse()?,
            "--postgres" => args.postgres = Some(value()?),
            "--no-postgres" => args.postgres = None,
            "--report" => args.report = PathBuf::from(value()?),
            "--sqlite-file" => args.sqlite_file = Some(PathBuf::from(value()?)),
            other => bail!("unknown flag {other}; see the header of examples/bench.rs"),
        }
    }
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(args)
}

/// A small deterministic generator (xorshift), so every run loads the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn date(year: i32, month: u8, day: u8) -> anyhow::Result<Date> {
    Ok(Date::from_calendar_date(
        year,
        time::Month::try_from(month)?,
        day,
    )?)
}

fn rating(rng: &mut Rng) -> CriterionRating {
    let rating = rng.below(5) as i32;
    CriterionRating {
        rating,
        rationale: if rating > 0 {
            "Rated from the evaluation report".into()
        } else {
            String::new()
        },
    }
}

fn indicator(rng: &mut Rng, measurements: usize) -> anyhow::Result<IndicatorFields> {
    let direction = if rng.below(2) == 0 {
        Direction::HigherIsBetter
    } else {
        Direction::LowerIsBetter
    };
    let baseline = 50.0 + 50.0 * rng.unit();
    let gap = 10.0 + 30.0 * rng.unit();
    let target = match direction {
        Direction::HigherIsBetter => baseline + gap,
        Direction::LowerIsBetter => baseline - gap,
    };
    let start = date(2023, 1, 1)?;
    // Each indicator moves at its own pace, from backwards to well ahead.
    let pace = 1.6 * rng.unit() - 0.2;
    let mut list = Vec::with_capacity(measurements);
    for month in 1..=measurements {
        let progress = pace * month as f64 / 24.0 + 0.05 * (rng.unit() - 0.5);
        list.push(Measurement {
            date: start + time::Duration::days(30 * month as i64),
            value: baseline + (target - baseline) * progress,
            source: String::new(),
            note: String::new(),
        });
    }
    Ok(IndicatorFields {
        title: "Indicator".into(),
        result_type: Some(ResultType::Outcome),
        measure: "units".into(),
        direction: Some(direction),
        baseline: Some(Point {
            value: baseline,
            date: start,
        }),
        target: Some(Point {
            value: target,
            date: date(2025, 1, 1)?,
        }),
        measurements: list,
    }
    .validate()?)
}

fn item(n: usize, rng: &mut Rng, args: &Args) -> anyhow::Result<LoadItem> {
    let outcomes = PublicValueOutcome::ALL
        .iter()
        .copied()
        .filter(|_| rng.below(2) == 0)
        .collect();
    let fields = AssessmentFields {
        initiative: format!("initiatives/i{}", n % 5000),
        title: format!("Assessment {n}"),
        nesta_level: rng.below(6) as i32,
        maryland_level: rng.below(6) as i32,
        dac: innolab_impact::domain::DacCriteria {
            relevance: rating(rng),
            coherence: rating(rng),
            effectiveness: rating(rng),
            efficiency: rating(rng),
            impact: rating(rng),
            sustainability: rating(rng),
        },
        public_value_outcomes: outcomes,
        findings: "Findings of the evaluation, a paragraph or two.".into(),
        ..AssessmentFields::default()
    }
    .validate()?;
    let indicators = (0..args.indicators)
        .map(|_| indicator(rng, args.measurements))
        .collect::<anyhow::Result<_>>()?;
    Ok(LoadItem {
        fields,
        state: AssessmentState::ALL[n % AssessmentState::ALL.len()],
        indicators,
    })
}

/// min / median / p95 / max of some timings, in milliseconds.
fn stats(mut times: Vec<Duration>) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    format!(
        "{:.2} | {:.2} | {:.2} | {:.2}",
        ms(times[0]),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(times[times.len() - 1])
    )
}

async fn time_runs<F, Fut>(runs: usize, mut call: F) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // Two warm-up calls fill caches, as on a running server.
    call().await?;
    call().await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        call().await?;
        times.push(start.elapsed());
    }
    Ok(times)
}

async fn backend(label: &str, db: DatabaseSettings, args: &Args) -> anyhow::Result<String> {
    let mut out = format!("\n## {label}\n\n");
    let database = Database::connect_lazy(&db)?;
    database.migrate(&MIGRATIONS).await?;
    let store = Store::new(database.clone());

    eprintln!("{label}: loading {} assessments", args.assessments);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = Instant::now();
    let mut n = 0;
    while n < args.assessments {
        let end = (n + 500).min(args.assessments);
        let items = (n..end)
            .map(|i| item(i, &mut rng, args))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.load(&items).await?;
        n = end;
    }
    let load = start.elapsed();
    // Planner statistics, as after any bulk load (autovacuum does it later).
    sqlx::query("ANALYZE").execute(database.pool()).await?;
    out.push_str(&format!(
        "Loaded {} assessments, {} indicators, {} measurements in {:.1} s.\n\n",
        args.assessments,
        args.assessments * args.indicators,
        args.assessments * args.indicators * args.measurements,
        load.as_secs_f64()
    ));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(innolab_impact::serve(
        listener,
        Settings::new(db.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?;
    let mut client = loop {
        if let Ok(c) = channel.clone().connect().await {
            let mut client = ImpactServiceClient::new(c);
            if client
                .summarize_assessments(pb::SummarizeAssessmentsRequest::default())
                .await
                .is_ok()
            {
                break client;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    out.push_str(&format!(
        "Times over {} runs after 2 warm-up calls, over real gRPC on loopback, in ms.\n\n\
         | call | min | median | p95 | max |\n|---|---|---|---|---|\n",
        args.runs
    ));
    let initiatives = (0..10)
        .map(|i| format!("initiative = \"initiatives/i{i}\""))
        .collect::<Vec<_>>()
        .join(" OR ");
    for (what, filter) in [
        ("SummarizeAssessments, all", String::new()),
        (
            "SummarizeAssessments, `state = COMPLETED`",
            "state = COMPLETED".to_string(),
        ),
        (
            "SummarizeAssessments, 10 initiatives",
            format!("({initiatives})"),
        ),
    ] {
        let times = time_runs(args.runs, || {
            let mut c = client.clone();
            let filter = filter.clone();
            async move {
                let r = c
                    .summarize_assessments(pb::SummarizeAssessmentsRequest { filter })
                    .await?;
                anyhow::ensure!(r.get_ref().indicator_progress.is_some());
                Ok(())
            }
        })
        .await?;
        out.push_str(&format!("| {what} | {} |\n", stats(times)));
    }
    // The same rollups in process, straight from the store: the database's
    // share of the time, without gRPC.
    for (what, filter) in [
        ("store rollup in process, all", String::new()),
        (
            "store rollup in process, `state = COMPLETED`",
            "state = COMPLETED".to_string(),
        ),
    ] {
        let query = AssessmentQuery::from_filter(&filter)?;
        let times = time_runs(args.runs, || {
            let store = store.clone();
            let query = query.clone();
            async move {
                store.rollup(&query).await?;
                Ok(())
            }
        })
        .await?;
        out.push_str(&format!("| {what} | {} |\n", stats(times)));
    }
    let total = client
        .summarize_assessments(pb::SummarizeAssessmentsRequest::default())
        .await?
        .into_inner();
    let first = client
        .list_assessments(pb::ListAssessmentsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await?
        .into_inner();
    let parent = first
        .assessments
        .first()
        .map(|a| a.name.clone())
        .context("no assessment listed")?;
    let indicator = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent,
            page_size: 1,
            ..Default::default()
        })
        .await?
        .into_inner()
        .indicators
        .first()
        .map(|i| i.name.clone())
        .context("no indicator listed")?;
    let times = time_runs(args.runs, || {
        let mut c = client.clone();
        let name = indicator.clone();
        async move {
            c.render_indicator_chart(pb::RenderIndicatorChartRequest { name })
                .await?;
            Ok(())
        }
    })
    .await?;
    out.push_str(&format!(
        "| RenderIndicatorChart ({} measurements) | {} |\n",
        args.measurements,
        stats(times)
    ));
    let p = total.indicator_progress.unwrap_or_default();
    out.push_str(&format!(
        "\nThe rollup counted {} assessments and {} indicators: {} achieved, {} on track, \
         {} off track, {} without data.\n",
        total.assessment_count, p.total, p.achieved, p.on_track, p.off_track, p.no_data
    ));

    let _ = stop.send(());
    server.await??;
    if db.backend == Backend::Postgres {
        sqlx::query(&format!("DROP SCHEMA \"{}\" CASCADE", db.schema))
            .execute(database.pool())
            .await?;
    }
    database.close().await;
    Ok(out)
}

fn charts(args: &Args) -> anyhow::Result<String> {
    let mut rng = Rng(7);
    let fields = indicator(&mut rng, args.measurements)?;
    let mut times = Vec::new();
    for _ in 0..args.runs.max(50) {
        let start = Instant::now();
        chart::indicator_history("Indicator", &fields)?;
        times.push(start.elapsed());
    }
    let mut out = format!(
        "\n## Charts (rendering only, in process)\n\n| chart | min | median | p95 | max |\n\
         |---|---|---|---|---|\n| indicator history, {} measurements | {} |\n",
        args.measurements,
        stats(times)
    );
    let mut rounds = [CapacityFields::default(), CapacityFields::default()];
    for (r, round) in rounds.iter_mut().enumerate() {
        for level in [
            &mut round.purpose,
            &mut round.potential,
            &mut round.capacity,
            &mut round.impact,
        ] {
            for s in [
                &mut level.individual,
                &mut level.organizational,
                &mut level.system,
            ] {
                *s = Score {
                    score: 1 + (rng.below(4) as i32) + r as i32 % 2,
                    evidence: "e".into(),
                };
            }
        }
    }
    let mut times = Vec::new();
    for _ in 0..args.runs.max(50) {
        let start = Instant::now();
        chart::capacity_profile(
            "Capacity",
            &[("2021".into(), &rounds[0]), ("2023".into(), &rounds[1])],
        )?;
        times.push(start.elapsed());
    }
    out.push_str(&format!(
        "| capacity profile, two rounds | {} |\n",
        stats(times)
    ));
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut report = format!(
        "# Impact service benchmark\n\nTargets (issue 5): a rollup over 50,000 assessments \
         with 10 indicators of 24 measurements each in under 200 ms on SQLite and \
         PostgreSQL; a chart in under 10 ms.\n\nThis run: {} assessments x {} indicators x {} \
         measurements, {cores} CPU cores, {} build.\n",
        args.assessments,
        args.indicators,
        args.measurements,
        if cfg!(debug_assertions) {
            "debug (numbers are not representative; use --release)"
        } else {
            "release"
        }
    );
    report.push_str(&charts(&args)?);
    let dir = tempfile::tempdir()?;
    // A kept file (--sqlite-file, which must not exist yet) can be inspected
    // afterwards, e.g. with `sqlite3 FILE 'EXPLAIN QUERY PLAN ...'`.
    let file = args
        .sqlite_file
        .clone()
        .unwrap_or_else(|| dir.path().join("impact.db"));
    let sqlite = DatabaseSettings::new(&format!("sqlite://{}", file.display()), "impact", 5)?;
    report.push_str(&backend("SQLite", sqlite, &args).await?);
    if let Some(url) = &args.postgres {
        let schema = format!("bench_{}", uuid::Uuid::now_v7().simple());
        let pg = DatabaseSettings::new(url, &schema, 5)?;
        report.push_str(&backend("PostgreSQL", pg, &args).await?);
    } else {
        report.push_str("\n## PostgreSQL\n\nNot run: pass --postgres URL.\n");
    }
    std::fs::write(&args.report, &report)
        .with_context(|| format!("writing {}", args.report.display()))?;
    eprintln!("{report}\nreport written to {}", args.report.display());
    Ok(())
}
