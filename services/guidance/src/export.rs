//! Published guidance as open data (`innolab-guidance export`): one record
//! per document whose current edition is published, its Dublin Core
//! metadata beside that edition (number, publication time, change note, and
//! its translations, each with title, summary and body), as CSV and JSON
//! with their CSVW and DCAT-AP records. Drafts, submitted, superseded and
//! withdrawn editions are not published; creators and publishers are
//! organisations. Read in one snapshot, streamed to the files.

use std::path::Path;

use innolab_kit::Error;
use innolab_kit::opendata::{self, Collection, Column, Release, rfc3339};
use innolab_kit::store::{ChangeLog as _, export as in_snapshot};
use innolab_kit::subscriber::Subscription;
use serde_json::{Value, json};

use crate::domain::{Document, Edition};
use crate::store::{Store, export as read};

/// Every column, in order.
pub const COLUMNS: &[Column] = &[
    Column::new("name", "string", "Resource name, `documents/{id}`."),
    Column::new(
        "doc_type",
        "string",
        "Kind: GUIDE, TOOLKIT, METHOD_CARD, PLAYBOOK, CASE_STUDY, POLICY_BRIEF, TRAINING_MATERIAL or REPORT.",
    ),
    Column::new("title", "string", "dc:title."),
    Column::new("description", "string", "dc:description."),
    Column::new("topics", "json", "JSON array of subjects (dc:subject)."),
    Column::new(
        "creators",
        "json",
        "JSON array of `organizations/{id}` (dc:creator).",
    ),
    Column::new(
        "publisher",
        "string",
        "dc:publisher, `organizations/{id}`, or empty.",
    ),
    Column::new("license", "string", "SPDX licence identifier."),
    Column::new(
        "related_initiatives",
        "json",
        "JSON array of `initiatives/{id}` (dc:relation).",
    ),
    Column::new(
        "lifecycle_stages",
        "json",
        "JSON array of the OPSI lifecycle stages the document serves.",
    ),
    Column::new(
        "issue_date",
        "date",
        "dc:date.issued, YYYY-MM-DD, or empty.",
    ),
    Column::new(
        "modify_date",
        "date",
        "dc:date.modified, YYYY-MM-DD, or empty.",
    ),
    Column::new(
        "edition",
        "string",
        "The current published edition, `documents/{id}/editions/{number}`.",
    ),
    Column::new("edition_number", "integer", "Its number, from 1."),
    Column::new(
        "publish_time",
        "datetime",
        "When it was published, RFC 3339 UTC.",
    ),
    Column::new(
        "change_note",
        "string",
        "What changed from the edition before.",
    ),
    Column::new(
        "translations",
        "json",
        "JSON array of {language_code, title, summary, body, original}: the edition's text per language (body in Markdown; original marks the language it was written in).",
    ),
    Column::new(
        "create_time",
        "datetime",
        "When the document was created, RFC 3339 UTC.",
    ),
    Column::new(
        "update_time",
        "datetime",
        "When the document or its current edition last changed, RFC 3339 UTC.",
    ),
];

/// Published guidance as a collection of the release.
pub const GUIDANCE: Collection = Collection {
    id: "guidance",
    titles: &[
        ("en", "Published guidance on public sector innovation"),
        ("ro", "Ghiduri publicate despre inovarea în sectorul public"),
    ],
    descriptions: &[(
        "en",
        "The lab's guides, toolkits, case studies and methods: one record per document, \
         with its Dublin Core metadata and the text of its current published edition in \
         every language it has.",
    )],
    columns: COLUMNS,
    json: true,
};

fn day(d: Option<time::Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// The export record of a document and its current edition.
pub fn record(d: &Document, e: &Edition) -> Value {
    let f = &d.fields;
    json!({
        "name": d.name(),
        "doc_type": f.doc_type.map(|t| t.as_str()).unwrap_or_default(),
        "title": f.title,
        "description": f.description,
        "topics": f.topics,
        "creators": f.creators,
        "publisher": f.publisher,
        "license": f.license,
        "related_initiatives": f.related_initiatives,
        "lifecycle_stages": f.lifecycle_stages.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "issue_date": day(f.issue_date),
        "modify_date": day(f.modify_date),
        "edition": format!("{}/editions/{}", d.name(), e.number),
        "edition_number": e.number,
        "publish_time": e.publish_time.map(rfc3339),
        "change_note": e.fields.change_note,
        "translations": e.fields.translations.iter().map(|t| json!({
            "language_code": t.language_code,
            "title": t.title,
            "summary": t.summary,
            "body": t.body,
            "original": t.original,
        })).collect::<Vec<_>>(),
        "create_time": rfc3339(d.meta.create_time),
        "update_time": rfc3339(d.meta.update_time.max(e.meta.update_time)),
    })
}

/// How many records an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Published documents.
    pub documents: usize,
    /// The change-log sequence the files reflect.
    pub sequence: i64,
}

/// Writes `guidance.csv` and `guidance.json` into `dir` for `release`, read
/// in one snapshot, with their metadata; adds the dataset to the folder's
/// catalogue.
pub async fn write_files(store: &Store, dir: &Path, release: &Release) -> anyhow::Result<Counts> {
    let mut snapshot = store.snapshot().await?;
    let sequence = snapshot.sequence();
    let mut table = GUIDANCE.create(dir)?;
    read::each_published::<anyhow::Error, _, _>(
        &mut snapshot,
        table.sink(|(d, e): &(Document, Edition)| {
            let updated = d.meta.update_time.max(e.meta.update_time);
            let days = (
                d.fields.issue_date,
                d.fields.modify_date.or(d.fields.issue_date),
            );
            (record(d, e), updated, days)
        }),
    )
    .await?;
    snapshot.end().await?;
    let documents = table.finish(release, sequence, &[])?.records;
    opendata::write_catalogue(dir, release)?;
    Ok(Counts {
        documents,
        sequence,
    })
}

/// Every published document with its current edition, in id order, read in
/// one snapshot as a stream ([`innolab_kit::store::export`]: a reader that
/// stops reading is dropped, and lets go of the snapshot).
pub fn documents(store: &Store) -> Subscription<(Document, Edition), Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_published(snapshot, |published| {
            emit.send(published)
        }))
    })
}
