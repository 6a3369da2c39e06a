//! How cases reach the library, as open data: the challenges members raise,
//! the calls for innovations, and the submissions accepted into the library
//! (rejected or pending ones are not published). Nothing personal: who
//! submitted or screened a submission, and the screening note, are left out.

use std::path::Path;

use innolab_kit::opendata::{CREATED, Collection, Column, Release, UPDATED, rfc3339};
use innolab_kit::store::Snapshot;
use serde_json::{Value, json};

use crate::domain::{Challenge, InnovationCall, Submission};
use crate::store::export as read;

/// The challenges' columns.
pub const CHALLENGES: &[Column] = &[
    Column::new("name", "string", "Resource name, `challenges/{id}`."),
    Column::new("title", "string", "Short title."),
    Column::new("description", "string", "The problem."),
    Column::new("process", "string", "The administrative process concerned."),
    Column::new(
        "raised_by",
        "string",
        "The member organisation that raised it, `organizations/{id}`.",
    ),
    Column::new(
        "country_code",
        "string",
        "ISO 3166-1 alpha-2 country code, or empty.",
    ),
    CREATED,
    UPDATED,
];

/// The calls' columns.
pub const CALLS: &[Column] = &[
    Column::new("name", "string", "Resource name, `calls/{id}`."),
    Column::new("title", "string", "The call's title."),
    Column::new("description", "string", "What the call asks for."),
    Column::new(
        "open_date",
        "date",
        "First day submissions are taken, YYYY-MM-DD, or empty.",
    ),
    Column::new(
        "close_date",
        "date",
        "Last day submissions are taken, YYYY-MM-DD, or empty.",
    ),
    CREATED,
    UPDATED,
];

/// The accepted submissions' columns.
pub const SUBMISSIONS: &[Column] = &[
    Column::new(
        "name",
        "string",
        "Resource name, `calls/{call}/submissions/{id}`.",
    ),
    Column::new("call", "string", "The call, `calls/{id}`."),
    Column::new(
        "initiative",
        "string",
        "The case created on acceptance, `initiatives/{id}` (see initiatives.csv).",
    ),
    Column::new(
        "titles",
        "json",
        "JSON array of {language_code, text}: the title per language, as submitted.",
    ),
    Column::new(
        "summaries",
        "json",
        "JSON array of {language_code, text}: the summary per language, as submitted.",
    ),
    Column::new(
        "lead_organization",
        "string",
        "Lead organisation, `organizations/{id}`.",
    ),
    Column::new("country_code", "string", "ISO 3166-1 alpha-2 country code."),
    Column::new("stage", "string", "OPSI lifecycle stage as submitted."),
    Column::new("status", "string", "Status as submitted."),
    Column::new(
        "accept_time",
        "datetime",
        "When the screening accepted it (all four criteria met), RFC 3339 UTC.",
    ),
    Column::new(
        "create_time",
        "datetime",
        "When it was submitted, RFC 3339 UTC.",
    ),
    UPDATED,
];

/// Challenges as a collection of the release.
pub const CHALLENGE_COLLECTION: Collection = Collection {
    id: "challenges",
    titles: &[
        ("en", "Challenges raised by the innovation network"),
        ("ro", "Provocări semnalate de rețeaua de inovare"),
    ],
    descriptions: &[(
        "en",
        "Bottlenecks in administrative processes that member organisations raised for \
         initiatives to answer (initiatives.csv names the challenges each answers).",
    )],
    columns: CHALLENGES,
    json: false,
};

/// Calls as a collection of the release.
pub const CALL_COLLECTION: Collection = Collection {
    id: "calls",
    titles: &[
        ("en", "Calls for innovations"),
        ("ro", "Apeluri pentru inovații"),
    ],
    descriptions: &[(
        "en",
        "The lab's calls for public-sector innovations, with the days they are open.",
    )],
    columns: CALLS,
    json: false,
};

/// Accepted submissions as a collection of the release.
pub const SUBMISSION_COLLECTION: Collection = Collection {
    id: "submissions",
    titles: &[
        ("en", "Submissions accepted from calls for innovations"),
        ("ro", "Propuneri acceptate din apelurile pentru inovații"),
    ],
    descriptions: &[(
        "en",
        "Submissions to the calls that the screening accepted into the case library, \
         each naming the initiative it became. Pending and rejected submissions are not \
         published, nor who submitted or screened them.",
    )],
    columns: SUBMISSIONS,
    json: false,
};

fn day(d: Option<time::Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn challenge_record(c: &Challenge) -> Value {
    let f = &c.fields;
    json!({
        "name": c.name(),
        "title": f.title,
        "description": f.description,
        "process": f.process,
        "raised_by": f.raised_by,
        "country_code": f.country_code,
        "create_time": rfc3339(c.meta.create_time),
        "update_time": rfc3339(c.meta.update_time),
    })
}

fn call_record(c: &InnovationCall) -> Value {
    let f = &c.fields;
    json!({
        "name": c.name(),
        "title": f.title,
        "description": f.description,
        "open_date": day(f.open_date),
        "close_date": day(f.close_date),
        "create_time": rfc3339(c.meta.create_time),
        "update_time": rfc3339(c.meta.update_time),
    })
}

fn submission_record(s: &Submission) -> Value {
    let f = &s.fields;
    json!({
        "name": s.name(),
        "call": format!("calls/{}", s.call_id),
        "initiative": s.initiative_id.as_ref().map(|i| format!("initiatives/{i}")),
        "titles": f.titles,
        "summaries": f.summaries,
        "lead_organization": f.lead_organization,
        "country_code": f.country_code,
        "stage": s.stage.as_str(),
        "status": s.status.as_str(),
        "accept_time": s.screening.as_ref().map(|x| rfc3339(x.time)),
        "create_time": rfc3339(s.meta.create_time),
        "update_time": rfc3339(s.meta.update_time),
    })
}

/// Writes `challenges.csv`, `calls.csv` and `submissions.csv` (accepted
/// only) from `snapshot`, with their metadata; returns how many of each.
pub async fn write(
    snapshot: &mut Snapshot,
    dir: &Path,
    release: &Release,
) -> anyhow::Result<(usize, usize, usize)> {
    let sequence = snapshot.sequence();
    let mut table = CHALLENGE_COLLECTION.create(dir)?;
    read::each_challenge::<anyhow::Error, _, _>(
        snapshot,
        table.sink(|c: &Challenge| (challenge_record(c), c.meta.update_time, (None, None))),
    )
    .await?;
    let challenges = table.finish(release, sequence, &[])?.records;
    let mut table = CALL_COLLECTION.create(dir)?;
    read::each_call::<anyhow::Error, _, _>(
        snapshot,
        table.sink(|c: &InnovationCall| {
            let days = (c.fields.open_date, c.fields.close_date);
            (call_record(c), c.meta.update_time, days)
        }),
    )
    .await?;
    let calls = table.finish(release, sequence, &[])?.records;
    let mut table = SUBMISSION_COLLECTION.create(dir)?;
    read::each_accepted_submission::<anyhow::Error, _, _>(
        snapshot,
        table.sink(|s: &Submission| (submission_record(s), s.meta.update_time, (None, None))),
    )
    .await?;
    let submissions = table.finish(release, sequence, &[])?.records;
    Ok((challenges, calls, submissions))
}
