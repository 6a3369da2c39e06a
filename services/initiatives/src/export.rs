//! The open-data export: one record per initiative (lists, and texts per
//! language, inside the record rather than one column per language), as CSV
//! and as JSON. `COLUMNS` is the description the README repeats. The
//! initiatives are read page by page, for the `export` command's files and
//! for the ExportInitiatives stream alike.

use std::io::Write;

use innolab_kit::Error;
use innolab_kit::page::PageRequest;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::domain::{Initiative, InitiativeQuery};
use crate::store::Store;

/// Every column, in order, with its description.
pub const COLUMNS: &[(&str, &str)] = &[
    ("name", "Resource name, `initiatives/{id}`."),
    (
        "titles",
        "JSON array of {language_code, text}: the title per language.",
    ),
    (
        "summaries",
        "JSON array of {language_code, text}: the summary per language.",
    ),
    (
        "problem",
        "JSON array of {language_code, text}: the problem addressed per language.",
    ),
    (
        "objectives",
        "JSON array of {language_code, text}: objectives per language.",
    ),
    (
        "solution",
        "JSON array of {language_code, text}: the solution per language.",
    ),
    (
        "lead_organization",
        "Lead organisation, `organizations/{id}` of the membership service.",
    ),
    (
        "partners",
        "JSON array of {organization, role}; role is an IATI organisation role (FUNDING, ACCOUNTABLE, EXTENDING, IMPLEMENTING).",
    ),
    ("country_code", "ISO 3166-1 alpha-2 country code."),
    ("nuts_code", "NUTS region code, or empty."),
    (
        "government_level",
        "CENTRAL, STATE, REGIONAL, LOCAL, SOCIAL_SECURITY, INTERNATIONAL, or empty.",
    ),
    (
        "sector",
        "COFOG level I function, e.g. GENERAL_PUBLIC_SERVICES, or empty.",
    ),
    ("start_date", "First day, YYYY-MM-DD, or empty."),
    ("end_date", "Last day, YYYY-MM-DD, or empty."),
    ("tags", "JSON array of lower-case keywords."),
    (
        "sdgs",
        "JSON array of UN Sustainable Development Goal numbers (1-17).",
    ),
    (
        "principles",
        "JSON array of OECD Declaration principles: EMBRACE_INNOVATION (1), EQUIP_PUBLIC_SERVANTS (2), CULTIVATE_PARTNERSHIPS (3), SUPPORT_EXPLORATION (4), DIFFUSE_LESSONS (5).",
    ),
    (
        "facet",
        "OPSI facet: ENHANCEMENT_ORIENTED, MISSION_ORIENTED, ADAPTIVE, ANTICIPATORY, or empty.",
    ),
    (
        "stage",
        "OPSI lifecycle stage: IDENTIFYING_PROBLEMS, GENERATING_IDEAS, DEVELOPING_PROPOSALS, IMPLEMENTING_PROJECTS, EVALUATING_PROJECTS, DIFFUSING_LESSONS.",
    ),
    (
        "status",
        "IN_DEVELOPMENT, PILOT, IMPLEMENTED, PAUSED, DISCONTINUED, NOT_IN_USE_ANYMORE.",
    ),
    (
        "results",
        "JSON array of {language_code, text}: results achieved per language.",
    ),
    (
        "lessons_learned",
        "JSON array of {language_code, text}: lessons learned per language.",
    ),
    ("links", "JSON array of http(s) URIs."),
    ("recognition", "JSON array of awards and distinctions."),
    (
        "milestones",
        "JSON array of {title, due_date, done_date} (dates YYYY-MM-DD or null).",
    ),
    (
        "challenges",
        "JSON array of `challenges/{id}` the initiative answers.",
    ),
    ("create_time", "When the record was created, RFC 3339 UTC."),
    ("update_time", "When the record last changed, RFC 3339 UTC."),
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

use innolab_kit::opendata::rfc3339;

/// Initiatives read per query (and buffered for a slow reader).
const PAGE: usize = 500;

/// Every initiative matching `query`, in id order, read page by page on a
/// task of its own; the stream ends with the error that stopped it, and the
/// task stops when the receiver goes away.
pub fn stream(store: Store, query: InitiativeQuery) -> mpsc::Receiver<Result<Initiative, Error>> {
    let (tx, rx) = mpsc::channel(PAGE);
    tokio::spawn(async move {
        let mut page = PageRequest {
            size: PAGE,
            after: None,
        };
        loop {
            let found = match store.list_initiatives(&query, &page).await {
                Ok(found) => found,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            for initiative in found.items {
                if tx.send(Ok(initiative)).await.is_err() {
                    return; // the caller went away
                }
            }
            match found.next {
                Some(next) => page.after = Some(next),
                None => return,
            }
        }
    });
    rx
}

/// The CSVW datatype of a column of [`COLUMNS`]: JSON where the description
/// says the cell is JSON, dates and times by name, text otherwise.
fn datatype(column: &str, description: &str) -> &'static str {
    match column {
        _ if description.starts_with("JSON") => "json",
        "start_date" | "end_date" => "date",
        "create_time" | "update_time" => "datetime",
        _ => "string",
    }
}

/// The columns as the open-data metadata describes them.
pub fn columns() -> Vec<innolab_kit::opendata::Column> {
    COLUMNS
        .iter()
        .map(|(name, description)| innolab_kit::opendata::Column {
            name,
            description,
            datatype: datatype(name, description),
        })
        .collect()
}

/// What an export saw, for its metadata: the newest change, the days the
/// initiatives cover, and how many there were.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Initiatives written.
    pub count: usize,
    /// The newest `update_time` (microseconds).
    pub modified: Option<i64>,
    /// The earliest start and the latest end (or start) day.
    pub temporal: (Option<time::Date>, Option<time::Date>),
}

impl Written {
    fn add(&mut self, i: &Initiative) {
        self.count += 1;
        self.modified = self.modified.max(Some(i.meta.update_time));
        let (first, last) = &mut self.temporal;
        if let Some(start) = i.fields.start_date {
            *first = Some(first.map_or(start, |f| f.min(start)));
        }
        if let Some(end) = i.fields.end_date.or(i.fields.start_date) {
            *last = Some(last.map_or(end, |l| l.max(end)));
        }
    }
}

/// Writes `initiatives.csv` and `initiatives.json` (an array, one record per
/// line) into `dir`, reading page by page; says what it wrote.
pub async fn write_files(
    store: &Store,
    query: &InitiativeQuery,
    dir: &std::path::Path,
) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("initiatives.csv"))?);
    let mut json = std::io::BufWriter::new(std::fs::File::create(dir.join("initiatives.json"))?);
    let columns = columns();
    csv.write_all(innolab_kit::opendata::csv_header(&columns).as_bytes())?;
    json.write_all(b"[")?;
    let mut initiatives = stream(store.clone(), query.clone());
    let mut written = Written::default();
    while let Some(initiative) = initiatives.recv().await {
        let initiative = initiative.map_err(|e: Error| anyhow::anyhow!("{e}"))?;
        let record = record(&initiative);
        csv.write_all(innolab_kit::opendata::csv_line(&columns, &record).as_bytes())?;
        json.write_all(if written.count == 0 { b"\n" } else { b",\n" })?;
        json.write_all(record.to_string().as_bytes())?;
        written.add(&initiative);
    }
    json.write_all(b"\n]\n")?;
    csv.flush()?;
    json.flush()?;
    Ok(written)
}

/// Writes the open-data metadata of an export in `dir` beside its files:
/// `initiatives.csv-metadata.json` (CSVW), `initiatives.dcat.jsonld` (the
/// DCAT-AP dataset record) and `catalogue.jsonld` (the release's
/// catalogue). `sequence` is the change log's head read before the export.
pub fn write_metadata(
    dir: &std::path::Path,
    release: &innolab_kit::opendata::Release,
    written: &Written,
    sequence: i64,
) -> anyhow::Result<()> {
    use innolab_kit::opendata::{self, Dataset};
    let columns = columns();
    let day = |d: Option<time::Date>| d.map(|d| d.to_string());
    let dataset = Dataset {
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
        columns: &columns,
        modified: written.modified.map(rfc3339),
        temporal: (day(written.temporal.0), day(written.temporal.1)),
        sequence,
        records: written.count,
    };
    opendata::write_dataset(
        dir,
        release,
        &dataset,
        &[
            ("initiatives.csv", "text/csv"),
            ("initiatives.json", "application/json"),
        ],
    )?;
    opendata::write_catalogue(dir, release)?;
    Ok(())
}
