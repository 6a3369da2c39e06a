//! What was learnt, as open data (`innolab-impact export`): completed
//! impact assessments, their result indicators and every measurement of
//! them, and the innovation-capacity rounds, each as CSV with its CSVW and
//! DCAT-AP records. Assessments not yet completed are not published.
//! Nothing personal: evaluators are published only when they are
//! organisations, capacity assessors not at all, nor who decided a workflow
//! step. Every collection is read in one snapshot, streamed to the files.

use std::path::Path;

use innolab_kit::Error;
use innolab_kit::opendata::{self, CREATED, Collection, Column, Release, Table, UPDATED, rfc3339};
use innolab_kit::store::{ChangeLog as _, export as in_snapshot};
use innolab_kit::subscriber::Subscription;
use serde_json::{Value, json};

use crate::domain::{Assessment, CapacityAssessment, Indicator, Point};
use crate::store::{Store, export as read};

/// The completed assessments' columns.
pub const ASSESSMENTS: &[Column] = &[
    Column::new("name", "string", "Resource name, `assessments/{id}`."),
    Column::new(
        "initiative",
        "string",
        "The initiative assessed, `initiatives/{id}` (see initiatives.csv).",
    ),
    Column::new("title", "string", "The assessment's title."),
    Column::new(
        "logic_model",
        "json",
        "JSON object: inputs, activities, outputs, short_term_outcomes, medium_term_outcomes, long_term_outcomes (arrays of text) and impact (text).",
    ),
    Column::new(
        "evaluation_method",
        "string",
        "The evaluation method in words.",
    ),
    Column::new(
        "nesta_level",
        "integer",
        "Nesta Standards of Evidence level, 1-5 (0: not assessed).",
    ),
    Column::new(
        "maryland_level",
        "integer",
        "Maryland Scientific Methods Scale level, 1-5 (0: not assessed).",
    ),
    Column::new(
        "dac",
        "json",
        "JSON object of the OECD DAC criteria (relevance, coherence, effectiveness, efficiency, impact, sustainability), each {rating 1-4 (0: not rated), rationale}.",
    ),
    Column::new(
        "public_value_outcomes",
        "json",
        "JSON array of claimed public-value outcomes (IMPROVED_PUBLIC_SERVICE, IMPROVED_ADMINISTRATION, OPEN_GOVERNMENT_CAPABILITIES).",
    ),
    Column::new("findings", "string", "Findings."),
    Column::new("lessons", "json", "JSON array of lessons learnt."),
    Column::new(
        "evaluators",
        "json",
        "JSON array of the evaluating organisations, `organizations/{id}` (people are not published).",
    ),
    Column::new(
        "sroi",
        "json",
        "JSON object of social-return-on-investment inputs (investment, currency, discount_rate, outcomes), or empty.",
    ),
    Column::new(
        "complete_time",
        "datetime",
        "When it was signed off as COMPLETED, RFC 3339 UTC.",
    ),
    CREATED,
    UPDATED,
];

/// The indicators' columns.
pub const INDICATORS: &[Column] = &[
    Column::new(
        "name",
        "string",
        "Resource name, `assessments/{assessment}/indicators/{id}`.",
    ),
    Column::new(
        "assessment",
        "string",
        "The assessment, `assessments/{id}` (see assessments.csv).",
    ),
    Column::new("title", "string", "What is measured."),
    Column::new(
        "result_type",
        "string",
        "IATI result type: OUTPUT, OUTCOME or IMPACT.",
    ),
    Column::new("measure", "string", "Unit or measure."),
    Column::new(
        "direction",
        "string",
        "HIGHER_IS_BETTER or LOWER_IS_BETTER.",
    ),
    Column::new("baseline_value", "double", "Baseline value."),
    Column::new("baseline_date", "date", "Baseline date, YYYY-MM-DD."),
    Column::new("target_value", "double", "Target value."),
    Column::new("target_date", "date", "Target date, YYYY-MM-DD."),
    Column::new(
        "measurements",
        "integer",
        "How many measurements it has (see measurements.csv).",
    ),
    CREATED,
    UPDATED,
];

/// The measurements' columns.
pub const MEASUREMENTS: &[Column] = &[
    Column::new(
        "measurement",
        "string",
        "The indicator's name and the measurement's position, oldest first: `assessments/{a}/indicators/{i}/measurements/{n}`.",
    ),
    Column::new(
        "indicator",
        "string",
        "The indicator, `assessments/{a}/indicators/{i}` (see indicators.csv).",
    ),
    Column::new("date", "date", "When measured, YYYY-MM-DD."),
    Column::new("value", "double", "The value, in the indicator's measure."),
    Column::new("source", "string", "Where it comes from."),
    Column::new("note", "string", "Remarks."),
];

/// The capacity rounds' columns.
pub const CAPACITY_ROUNDS: &[Column] = &[
    Column::new(
        "name",
        "string",
        "Resource name, `capacityAssessments/{id}`.",
    ),
    Column::new(
        "subject",
        "string",
        "Who was assessed: `organizations/{id}` or `countries/{ISO 3166-1 alpha-2}`.",
    ),
    Column::new("round", "string", "The round's label, unique per subject."),
    Column::new("assess_date", "date", "When assessed, YYYY-MM-DD."),
    Column::new(
        "purpose",
        "json",
        "OECD Innovative Capacity Framework, purpose: JSON object of individual, organizational, system, each {score 1-5 (0: not scored), evidence}.",
    ),
    Column::new("potential", "json", "Potential, in the same shape."),
    Column::new("capacity", "json", "Capacity, in the same shape."),
    Column::new("impact", "json", "Impact, in the same shape."),
    Column::new(
        "declaration",
        "json",
        "OECD Declaration on Public Sector Innovation: JSON object of embrace_and_enhance, encourage_and_equip, cultivate_partnerships, support_exploration, diffuse_lessons, each {score, evidence}.",
    ),
    CREATED,
    UPDATED,
];

const ASSESSMENT_COLLECTION: Collection = Collection {
    id: "assessments",
    titles: &[
        ("en", "Completed impact assessments"),
        ("ro", "Evaluări de impact finalizate"),
    ],
    descriptions: &[(
        "en",
        "Impact assessments of the case library's initiatives once signed off: logic \
         model, evaluation method, Nesta and Maryland evidence levels, OECD DAC ratings, \
         public-value outcomes, findings and lessons.",
    )],
    columns: ASSESSMENTS,
    json: false,
};

const INDICATOR_COLLECTION: Collection = Collection {
    id: "indicators",
    titles: &[("en", "Result indicators of completed impact assessments")],
    descriptions: &[(
        "en",
        "The result indicators (IATI shape: output, outcome or impact) of completed \
         assessments, with baseline and target.",
    )],
    columns: INDICATORS,
    json: false,
};

const MEASUREMENT_COLLECTION: Collection = Collection {
    id: "measurements",
    titles: &[("en", "Measurements of result indicators")],
    descriptions: &[(
        "en",
        "Every measurement of the indicators of completed assessments, one row each.",
    )],
    columns: MEASUREMENTS,
    json: false,
};

const CAPACITY_COLLECTION: Collection = Collection {
    id: "capacity_rounds",
    titles: &[
        ("en", "Innovation capacity rounds"),
        ("ro", "Runde de evaluare a capacității de inovare"),
    ],
    descriptions: &[(
        "en",
        "Rounds of the OECD Innovative Capacity Framework and the OECD Declaration's \
         principles, scored per organisation or country, with their evidence.",
    )],
    columns: CAPACITY_ROUNDS,
    json: false,
};

fn day(d: Option<time::Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn assessment_record(a: &Assessment) -> Value {
    let f = &a.fields;
    json!({
        "name": a.name(),
        "initiative": f.initiative,
        "title": f.title,
        "logic_model": value(&f.logic_model),
        "evaluation_method": f.evaluation_method,
        "nesta_level": f.nesta_level,
        "maryland_level": f.maryland_level,
        "dac": value(&f.dac),
        "public_value_outcomes": f.public_value_outcomes.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        "findings": f.findings,
        "lessons": f.lessons,
        "evaluators": f.evaluators.iter().filter(|e| e.starts_with("organizations/")).collect::<Vec<_>>(),
        "sroi": f.sroi.as_ref().map(value),
        "complete_time": a.sign_off().map(|e| rfc3339(e.time)),
        "create_time": rfc3339(a.meta.create_time),
        "update_time": rfc3339(a.meta.update_time),
    })
}

fn point(p: Option<&Point>) -> (Value, String) {
    match p {
        Some(p) => (json!(p.value), day(Some(p.date))),
        None => (Value::Null, String::new()),
    }
}

fn indicator_record(i: &Indicator) -> Value {
    let f = &i.fields;
    let (baseline_value, baseline_date) = point(f.baseline.as_ref());
    let (target_value, target_date) = point(f.target.as_ref());
    json!({
        "name": i.name(),
        "assessment": format!("assessments/{}", i.assessment_id),
        "title": f.title,
        "result_type": f.result_type.map(|t| t.as_str()),
        "measure": f.measure,
        "direction": f.direction.map(|d| d.as_str()),
        "baseline_value": baseline_value,
        "baseline_date": baseline_date,
        "target_value": target_value,
        "target_date": target_date,
        "measurements": f.measurements.len(),
        "create_time": rfc3339(i.meta.create_time),
        "update_time": rfc3339(i.meta.update_time),
    })
}

/// Writes an indicator's row and one row per measurement.
fn write_indicator(
    indicators: &mut Table,
    measurements: &mut Table,
    i: &Indicator,
) -> std::io::Result<()> {
    let f = &i.fields;
    let days = (
        f.baseline.map(|p| p.date),
        f.measurements.last().map(|m| m.date),
    );
    indicators.write(&indicator_record(i), i.meta.update_time, days)?;
    for (n, m) in f.measurements.iter().enumerate() {
        let record = json!({
            "measurement": format!("{}/measurements/{}", i.name(), n + 1),
            "indicator": i.name(),
            "date": day(Some(m.date)),
            "value": m.value,
            "source": m.source,
            "note": m.note,
        });
        measurements.write(&record, i.meta.update_time, (Some(m.date), Some(m.date)))?;
    }
    Ok(())
}

fn capacity_record(c: &CapacityAssessment) -> Value {
    let f = &c.fields;
    json!({
        "name": c.name(),
        "subject": f.subject,
        "round": f.round,
        "assess_date": day(f.assess_date),
        "purpose": value(&f.purpose),
        "potential": value(&f.potential),
        "capacity": value(&f.capacity),
        "impact": value(&f.impact),
        "declaration": value(&f.declaration),
        "create_time": rfc3339(c.meta.create_time),
        "update_time": rfc3339(c.meta.update_time),
    })
}

/// How many records of each collection an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Completed assessments.
    pub assessments: usize,
    /// Their indicators.
    pub indicators: usize,
    /// The indicators' measurements.
    pub measurements: usize,
    /// Capacity rounds.
    pub capacity_rounds: usize,
    /// The change-log sequence the files reflect.
    pub sequence: i64,
}

/// Writes the service's open data into `dir` for `release`, every
/// collection read in one snapshot; adds its datasets to the folder's
/// catalogue.
pub async fn write_files(store: &Store, dir: &Path, release: &Release) -> anyhow::Result<Counts> {
    let mut snapshot = store.snapshot().await?;
    let sequence = snapshot.sequence();
    let mut table = ASSESSMENT_COLLECTION.create(dir)?;
    read::each_completed_assessment::<anyhow::Error, _, _>(
        &mut snapshot,
        table.sink(|a: &Assessment| {
            let done = a.sign_off().and_then(|e| {
                time::OffsetDateTime::from_unix_timestamp(e.time / 1_000_000)
                    .ok()
                    .map(|t| t.date())
            });
            (assessment_record(a), a.meta.update_time, (None, done))
        }),
    )
    .await?;
    let assessments = table.finish(release, sequence, &[])?.records;
    let mut indicators = INDICATOR_COLLECTION.create(dir)?;
    let mut measurements = MEASUREMENT_COLLECTION.create(dir)?;
    read::each_completed_indicator::<anyhow::Error, _, _>(&mut snapshot, |i: Indicator| {
        std::future::ready(
            write_indicator(&mut indicators, &mut measurements, &i).map_err(anyhow::Error::from),
        )
    })
    .await?;
    let indicators = indicators.finish(release, sequence, &[])?.records;
    let measurements = measurements.finish(release, sequence, &[])?.records;
    let mut table = CAPACITY_COLLECTION.create(dir)?;
    read::each_capacity_round::<anyhow::Error, _, _>(
        &mut snapshot,
        table.sink(|c: &CapacityAssessment| {
            let days = (c.fields.assess_date, c.fields.assess_date);
            (capacity_record(c), c.meta.update_time, days)
        }),
    )
    .await?;
    let capacity_rounds = table.finish(release, sequence, &[])?.records;
    snapshot.end().await?;
    opendata::write_catalogue(dir, release)?;
    Ok(Counts {
        assessments,
        indicators,
        measurements,
        capacity_rounds,
        sequence,
    })
}

/// Every completed assessment, in id order, read in one snapshot as a
/// stream ([`innolab_kit::store::export`]: a reader that stops reading is
/// dropped, and lets go of the snapshot).
pub fn assessments(store: &Store) -> Subscription<Assessment, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_completed_assessment(snapshot, |a| emit.send(a)))
    })
}

/// Every indicator of a completed assessment with its measurements, by
/// assessment, in one snapshot (as [`assessments`]).
pub fn indicators(store: &Store) -> Subscription<Indicator, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_completed_indicator(snapshot, |i| emit.send(i)))
    })
}

/// Every capacity assessment round, in id order, in one snapshot (as
/// [`assessments`]).
pub fn capacity_rounds(store: &Store) -> Subscription<CapacityAssessment, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_capacity_round(snapshot, |c| emit.send(c)))
    })
}
