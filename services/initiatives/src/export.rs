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

fn rfc3339(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The CSV header line (RFC 4180, CRLF line ends).
pub fn csv_header() -> String {
    let cells: Vec<String> = COLUMNS.iter().map(|(c, _)| csv_cell(c)).collect();
    format!("{}\r\n", cells.join(","))
}

/// One CSV line: texts as they are, lists and objects as JSON text.
pub fn csv_line(record: &Value) -> String {
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|(column, _)| match record.get(column) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => csv_cell(s),
            Some(other) => csv_cell(&other.to_string()),
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

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

/// Writes `initiatives.csv` and `initiatives.json` (an array, one record per
/// line) into `dir`, reading page by page; returns how many were written.
pub async fn write_files(
    store: &Store,
    query: &InitiativeQuery,
    dir: &std::path::Path,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("initiatives.csv"))?);
    let mut json = std::io::BufWriter::new(std::fs::File::create(dir.join("initiatives.json"))?);
    csv.write_all(csv_header().as_bytes())?;
    json.write_all(b"[")?;
    let mut initiatives = stream(store.clone(), query.clone());
    let mut count = 0usize;
    while let Some(initiative) = initiatives.recv().await {
        let initiative = initiative.map_err(|e: Error| anyhow::anyhow!("{e}"))?;
        let record = record(&initiative);
        csv.write_all(csv_line(&record).as_bytes())?;
        json.write_all(if count == 0 { b"\n" } else { b",\n" })?;
        json.write_all(record.to_string().as_bytes())?;
        count += 1;
    }
    json.write_all(b"\n]\n")?;
    csv.flush()?;
    json.flush()?;
    Ok(count)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
        let line = csv_line(&json!({"name": "initiatives/1", "tags": ["a", "b"]}));
        assert!(line.starts_with("initiatives/1,"));
        assert!(line.contains("\"[\"\"a\"\",\"\"b\"\"]\""));
        assert_eq!(line.matches(',').count(), COLUMNS.len() - 1 + 1);
    }
}
