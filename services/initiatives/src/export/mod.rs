//! The open-data export of the initiatives service: the case library (one
//! record per initiative: lists, and texts per language, inside the record
//! rather than one column per language) as CSV and JSON, and its challenges,
//! calls for innovations and accepted submissions as CSV (`cases.rs`), each
//! with its CSVW and DCAT-AP records. Every collection is read in one
//! snapshot (`Store::snapshot`), rows streamed to the files, so the files
//! agree with each other and with the change-log sequence their records
//! name, and memory does not grow with the library. The ExportInitiatives
//! stream reads the same way. `COLUMNS` is the description the README
//! repeats.

use std::path::Path;

use innolab_kit::Error;
use innolab_kit::opendata::{self, Collection, Column, Release, rfc3339};
use innolab_kit::store::{ChangeLog as _, export as in_snapshot};
use innolab_kit::subscriber::Subscription;
use serde_json::{Value, json};

use crate::domain::{Challenge, Initiative, InitiativeQuery, InnovationCall, Submission};
use crate::store::{Store, export as read};

mod cases;
pub use cases::{CALLS, CHALLENGES, SUBMISSIONS};

/// Every column, in order, with its description.
pub const COLUMNS: &[Column] = &[
    Column::new("name", "string", "Resource name, `initiatives/{id}`."),
    Column::new(
        "titles",
        "json",
        "JSON array of {language_code, text}: the title per language.",
    ),
    Column::new(
        "summaries",
        "json",
        "JSON array of {language_code, text}: the summary per language.",
    ),
    Column::new(
        "problem",
        "json",
        "JSON array of {language_code, text}: the problem addressed per language.",
    ),
    Column::new(
        "objectives",
        "json",
        "JSON array of {language_code, text}: objectives per language.",
    ),
    Column::new(
        "solution",
        "json",
        "JSON array of {language_code, text}: the solution per language.",
    ),
    Column::new(
        "lead_organization",
        "string",
        "Lead organisation, `organizations/{id}` of the membership service.",
    ),
    Column::new(
        "partners",
        "json",
        "JSON array of {organization, role}; role is an IATI organisation role (FUNDING, ACCOUNTABLE, EXTENDING, IMPLEMENTING).",
    ),
    Column::new("country_code", "string", "ISO 3166-1 alpha-2 country code."),
    Column::new("nuts_code", "string", "NUTS region code, or empty."),
    Column::new(
        "government_level",
        "string",
        "CENTRAL, STATE, REGIONAL, LOCAL, SOCIAL_SECURITY, INTERNATIONAL, or empty.",
    ),
    Column::new(
        "sector",
        "string",
        "COFOG level I function, e.g. GENERAL_PUBLIC_SERVICES, or empty.",
    ),
    Column::new("start_date", "date", "First day, YYYY-MM-DD, or empty."),
    Column::new("end_date", "date", "Last day, YYYY-MM-DD, or empty."),
    Column::new("tags", "json", "JSON array of lower-case keywords."),
    Column::new(
        "sdgs",
        "json",
        "JSON array of UN Sustainable Development Goal numbers (1-17).",
    ),
    Column::new(
        "principles",
        "json",
        "JSON array of OECD Declaration principles: EMBRACE_INNOVATION (1), EQUIP_PUBLIC_SERVANTS (2), CULTIVATE_PARTNERSHIPS (3), SUPPORT_EXPLORATION (4), DIFFUSE_LESSONS (5).",
    ),
    Column::new(
        "facet",
        "string",
        "OPSI facet: ENHANCEMENT_ORIENTED, MISSION_ORIENTED, ADAPTIVE, ANTICIPATORY, or empty.",
    ),
    Column::new(
        "stage",
        "string",
        "OPSI lifecycle stage: IDENTIFYING_PROBLEMS, GENERATING_IDEAS, DEVELOPING_PROPOSALS, IMPLEMENTING_PROJECTS, EVALUATING_PROJECTS, DIFFUSING_LESSONS.",
    ),
    Column::new(
        "status",
        "string",
        "IN_DEVELOPMENT, PILOT, IMPLEMENTED, PAUSED, DISCONTINUED, NOT_IN_USE_ANYMORE.",
    ),
    Column::new(
        "results",
        "json",
        "JSON array of {language_code, text}: results achieved per language.",
    ),
    Column::new(
        "lessons_learned",
        "json",
        "JSON array of {language_code, text}: lessons learned per language.",
    ),
    Column::new("links", "json", "JSON array of http(s) URIs."),
    Column::new(
        "recognition",
        "json",
        "JSON array of awards and distinctions.",
    ),
    Column::new(
        "milestones",
        "json",
        "JSON array of {title, due_date, done_date} (dates YYYY-MM-DD or null).",
    ),
    Column::new(
        "challenges",
        "json",
        "JSON array of `challenges/{id}` the initiative answers.",
    ),
    Column::new(
        "create_time",
        "datetime",
        "When the record was created, RFC 3339 UTC.",
    ),
    Column::new(
        "update_time",
        "datetime",
        "When the record last changed, RFC 3339 UTC.",
    ),
];

/// The export record of an initiative: one JSON object, keys as in `COLUMNS`.
pub fn record(i: &Initiative) -> Value {
    let f = &i.fields;
    let text = |s: &str| Value::String(s.to_string());
    let name = |v: Option<&'static str>| Value::String(v.unwrap_or_default().to_string());
    let date = |d: Option<time::Date>| Value::String(d.map(|d| d.to_string()).unwrap_or_default());
    json!({
        "name": i.name(),
        "titles": f.titles,
        "summaries": f.summaries,
        "problem": f.problem,
        "objectives": f.objectives,
        "solution": f.solution,
        "lead_organization": text(&f.lead_organization),
        "partners": f.partners,
        "country_code": text(&f.country_code),
        "nuts_code": text(&f.nuts_code),
        "government_level": name(f.government_level.map(|l| l.as_str())),
        "sector": name(f.sector.map(|s| s.as_str())),
        "start_date": date(f.start_date),
        "end_date": date(f.end_date),
        "tags": f.tags,
        "sdgs": f.sdgs,
        "principles": f.principles,
        "facet": name(f.facet.map(|x| x.as_str())),
        "stage": i.stage.as_str(),
        "status": i.status.as_str(),
        "results": f.results,
        "lessons_learned": f.lessons_learned,
        "links": f.links,
        "recognition": f.recognition,
        "milestones": f.milestones,
        "challenges": f.challenges,
        "create_time": rfc3339(i.meta.create_time),
        "update_time": rfc3339(i.meta.update_time),
    })
}

/// The initiatives as a collection of the release.
pub const INITIATIVES: Collection = Collection {
    id: "initiatives",
    titles: &[
        ("en", "Public sector innovation initiatives"),
        ("ro", "Inițiative de inovare în sectorul public"),
    ],
    descriptions: &[
        (
            "en",
            "The lab's case library: one record per initiative, with its titles and \
             summaries per language, lead organisation and partners, OPSI lifecycle stage \
             and status, COFOG sector, SDGs and OECD Declaration principles.",
        ),
        (
            "ro",
            "Biblioteca de cazuri a laboratorului: câte o înregistrare pe inițiativă.",
        ),
    ],
    columns: COLUMNS,
    json: true,
};

/// The days an initiative covers: its start, and its end (or start).
fn days(i: &Initiative) -> (Option<time::Date>, Option<time::Date>) {
    (
        i.fields.start_date,
        i.fields.end_date.or(i.fields.start_date),
    )
}

/// Every initiative matching `query`, in id order, with its timeline, read
/// in one snapshot as a stream ([`innolab_kit::store::export`]: a reader
/// that stops reading is dropped, and lets go of the snapshot).
pub fn stream(store: Store, query: InitiativeQuery) -> Subscription<Initiative, Error> {
    in_snapshot(store.database().clone(), move |snapshot, emit| {
        Box::pin(async move {
            read::each_initiative(snapshot, &query, |initiative| emit.send(initiative)).await
        })
    })
}

/// Every challenge, in id order, in one snapshot (as [`stream`]).
pub fn challenges(store: Store) -> Subscription<Challenge, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_challenge(snapshot, |c| emit.send(c)))
    })
}

/// Every call for innovations, in id order, in one snapshot (as [`stream`]).
pub fn calls(store: Store) -> Subscription<InnovationCall, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_call(snapshot, |c| emit.send(c)))
    })
}

/// Every accepted submission, in id order, in one snapshot (as [`stream`]).
pub fn accepted_submissions(store: Store) -> Subscription<Submission, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_accepted_submission(snapshot, |s| emit.send(s)))
    })
}

/// How many records of each collection an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Initiatives (those matching the filter).
    pub initiatives: usize,
    /// Challenges.
    pub challenges: usize,
    /// Calls for innovations.
    pub calls: usize,
    /// Accepted submissions.
    pub submissions: usize,
    /// The change-log sequence the files reflect.
    pub sequence: i64,
}

/// Writes the service's open data into `dir` for `release`, every collection
/// read in one snapshot: the initiatives matching `query`
/// (`initiatives.csv`, `initiatives.json`), and every challenge, call and
/// accepted submission (`challenges.csv`, `calls.csv`, `submissions.csv`);
/// each with its CSVW and DCAT-AP records, and the folder's catalogue.
pub async fn write_files(
    store: &Store,
    query: &InitiativeQuery,
    dir: &Path,
    release: &Release,
) -> anyhow::Result<Counts> {
    let mut snapshot = store.snapshot().await?;
    let sequence = snapshot.sequence();
    let mut table = INITIATIVES.create(dir)?;
    read::each_initiative::<anyhow::Error, _, _>(
        &mut snapshot,
        query,
        table.sink(|i: &Initiative| (record(i), i.meta.update_time, days(i))),
    )
    .await?;
    let initiatives = table.finish(release, sequence, &[])?.records;
    let (challenges, calls, submissions) = cases::write(&mut snapshot, dir, release).await?;
    snapshot.end().await?;
    opendata::write_catalogue(dir, release)?;
    Ok(Counts {
        initiatives,
        challenges,
        calls,
        submissions,
        sequence,
    })
}
