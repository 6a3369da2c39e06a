//! Rollups. Over a set of initiatives (or free text) they scan: one
//! aggregating pass over the matching assessments, one over their
//! indicators. Over everything (or a set of states) they read
//! `rollup_counts`, which every write keeps: the difference between the
//! assessment's share of the rollup before and after the write, computed by
//! the same SQL as the scan, applied in the write's own transaction.

use std::collections::BTreeMap;

use innolab_kit::Error;
use innolab_kit::sql::Sql;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::assessments::and_assessment_query;
use crate::domain::{
    AssessmentQuery, AssessmentState, ProgressCounts, Rollup, rollup::DAC_CRITERIA,
};

/// An indicator's progress in SQL; mirrors `domain::indicator::progress`
/// (same arithmetic on the same doubles, so both agree; a test compares
/// them). Counted in one pass with `COUNT(CASE ...)`, without sorting or
/// grouping; OFF_TRACK is what is left.
const FRACTION: &str = "(i.latest_value - i.baseline_value) / (i.target_value - i.baseline_value)";
const EXPECTED: &str = "CAST(i.latest_day - i.baseline_day AS DOUBLE PRECISION) / \
     CAST(i.target_day - i.baseline_day AS DOUBLE PRECISION)";

fn progress_counts() -> String {
    let holds = "((i.direction = 'HIGHER_IS_BETTER' AND i.latest_value >= i.target_value) \
                 OR (i.direction = 'LOWER_IS_BETTER' AND i.latest_value <= i.target_value))";
    format!(
        "COUNT(*) AS total, \
         COUNT(CASE WHEN i.latest_value IS NULL THEN 1 END) AS no_data, \
         COUNT(CASE WHEN i.target_value = i.baseline_value AND {holds} THEN 1 \
                    WHEN i.target_value <> i.baseline_value AND {FRACTION} >= 1 THEN 1 END) \
             AS achieved, \
         COUNT(CASE WHEN i.target_value <> i.baseline_value AND {FRACTION} < 1 \
                     AND {FRACTION} >= {EXPECTED} THEN 1 END) AS on_track"
    )
}

const PUBLIC_VALUE_COLUMNS: [&str; 3] = [
    "pv_public_service",
    "pv_administration",
    "pv_open_government",
];

/// The COUNT list over assessments `a`.
fn assessment_counts() -> String {
    let mut counts = vec!["COUNT(*) AS n".to_string()];
    for level in 0..=5 {
        counts.push(format!(
            "COUNT(CASE WHEN a.nesta_level = {level} THEN 1 END) AS nesta_{level}"
        ));
        counts.push(format!(
            "COUNT(CASE WHEN a.maryland_level = {level} THEN 1 END) AS maryland_{level}"
        ));
    }
    for criterion in DAC_CRITERIA {
        for rating in 0..=4 {
            counts.push(format!(
                "COUNT(CASE WHEN a.dac_{criterion} = {rating} THEN 1 END) \
                 AS dac_{criterion}_{rating}"
            ));
        }
    }
    for column in PUBLIC_VALUE_COLUMNS {
        counts.push(format!(
            "COUNT(CASE WHEN a.{column} = 1 THEN 1 END) AS {column}"
        ));
    }
    counts.join(", ")
}

/// Reads `assessment_counts` from a row into `rollup`.
fn read_assessment_counts(row: &AnyRow, rollup: &mut Rollup) -> Result<(), Error> {
    rollup.assessment_count = row.try_get("n")?;
    for level in 0..=5 {
        rollup.nesta[level] = row.try_get(format!("nesta_{level}").as_str())?;
        rollup.maryland[level] = row.try_get(format!("maryland_{level}").as_str())?;
    }
    for (c, criterion) in DAC_CRITERIA.iter().enumerate() {
        for rating in 0..=4 {
            rollup.dac[c][rating] = row.try_get(format!("dac_{criterion}_{rating}").as_str())?;
        }
    }
    for (p, column) in PUBLIC_VALUE_COLUMNS.iter().enumerate() {
        rollup.public_value[p] = row.try_get(*column)?;
    }
    Ok(())
}

/// Reads `progress_counts` from a row.
fn read_progress(row: &AnyRow) -> Result<ProgressCounts, Error> {
    let total: i64 = row.try_get("total")?;
    let mut progress = ProgressCounts {
        no_data: row.try_get("no_data")?,
        achieved: row.try_get("achieved")?,
        on_track: row.try_get("on_track")?,
        off_track: 0,
    };
    progress.off_track = total - progress.no_data - progress.achieved - progress.on_track;
    Ok(progress)
}

/// A rollup as (dimension, value, count) cells, zeros left out.
fn cells(rollup: &Rollup) -> Vec<(String, String, i64)> {
    let mut out = vec![(
        "assessments".to_string(),
        String::new(),
        rollup.assessment_count,
    )];
    for level in 0..=5 {
        out.push(("nesta".into(), level.to_string(), rollup.nesta[level]));
        out.push(("maryland".into(), level.to_string(), rollup.maryland[level]));
    }
    for (c, criterion) in DAC_CRITERIA.iter().enumerate() {
        for rating in 0..=4 {
            out.push((
                format!("dac_{criterion}"),
                rating.to_string(),
                rollup.dac[c][rating],
            ));
        }
    }
    for (p, value) in rollup.public_value.iter().enumerate() {
        out.push(("public_value".into(), p.to_string(), *value));
    }
    let progress = &rollup.progress;
    for (status, count) in [
        ("no_data", progress.no_data),
        ("off_track", progress.off_track),
        ("on_track", progress.on_track),
        ("achieved", progress.achieved),
    ] {
        out.push(("progress".into(), status.into(), count));
    }
    out.retain(|(_, _, count)| *count != 0);
    out
}

/// Adds a cell into a rollup.
fn add_cell(rollup: &mut Rollup, dimension: &str, value: &str, count: i64) {
    let index = value.parse::<usize>().ok();
    match (dimension, index) {
        ("assessments", _) => rollup.assessment_count += count,
        ("nesta", Some(l)) if l <= 5 => rollup.nesta[l] += count,
        ("maryland", Some(l)) if l <= 5 => rollup.maryland[l] += count,
        ("public_value", Some(p)) if p < 3 => rollup.public_value[p] += count,
        ("progress", _) => match value {
            "no_data" => rollup.progress.no_data += count,
            "off_track" => rollup.progress.off_track += count,
            "on_track" => rollup.progress.on_track += count,
            "achieved" => rollup.progress.achieved += count,
            _ => {}
        },
        (d, Some(r)) if r <= 4 => {
            if let Some(c) = d
                .strip_prefix("dac_")
                .and_then(|name| DAC_CRITERIA.iter().position(|x| *x == name))
            {
                rollup.dac[c][r] += count;
            }
        }
        _ => {}
    }
}

/// One assessment's share of the rollup and its state; `None` when it does
/// not exist.
pub(super) type Share = Option<(String, Rollup)>;

/// The share of assessment `id`, read inside a writing transaction.
pub(super) async fn share(tx: &mut innolab_kit::db::Tx, id: &str) -> Result<Share, Error> {
    let row = sqlx::query(&format!(
        "SELECT a.state AS state, {} FROM assessments a WHERE a.id = $1 GROUP BY a.state",
        assessment_counts()
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let state: String = row.try_get("state")?;
    let mut rollup = Rollup::default();
    read_assessment_counts(&row, &mut rollup)?;
    let row = sqlx::query(&format!(
        "SELECT {} FROM indicators i WHERE i.assessment_id = $1",
        progress_counts()
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    rollup.progress = read_progress(&row)?;
    Ok(Some((state, rollup)))
}

/// Applies `after - before` to `rollup_counts`, in key order.
pub(super) async fn apply(
    tx: &mut innolab_kit::db::Tx,
    before: Share,
    after: Share,
) -> Result<(), Error> {
    let mut delta: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for (share, sign) in [(before, -1), (after, 1)] {
        if let Some((state, rollup)) = share {
            for (dimension, value, count) in cells(&rollup) {
                *delta.entry((state.clone(), dimension, value)).or_default() += sign * count;
            }
        }
    }
    for ((state, dimension, value), count) in delta {
        if count == 0 {
            continue;
        }
        sqlx::query(
            "INSERT INTO rollup_counts (state, dimension, value, count) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (state, dimension, value) \
             DO UPDATE SET count = rollup_counts.count + excluded.count",
        )
        .bind(&state)
        .bind(&dimension)
        .bind(&value)
        .bind(count)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The distributions over every assessment matching `query`.
    pub async fn rollup(&self, query: &AssessmentQuery) -> Result<Rollup, Error> {
        if query.initiative_ids.is_empty() && query.text.is_empty() {
            return self.counted_rollup(&query.states).await;
        }
        self.scanned_rollup(query).await
    }

    /// The rollup by scanning the rows (any filter).
    pub async fn scanned_rollup(&self, query: &AssessmentQuery) -> Result<Rollup, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM assessments a WHERE 1 = 1",
            assessment_counts()
        ));
        and_assessment_query(&mut sql, "a.", query);
        let row = sql.build().fetch_one(self.db.pool()).await?;
        let mut rollup = Rollup::default();
        read_assessment_counts(&row, &mut rollup)?;

        // One scan of their indicators, counting each derived status.
        // Without a filter every indicator counts, and the join is skipped.
        let from = if *query == AssessmentQuery::default() {
            "indicators i"
        } else {
            "indicators i JOIN assessments a ON a.id = i.assessment_id"
        };
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM {from} WHERE 1 = 1",
            progress_counts()
        ));
        and_assessment_query(&mut sql, "a.", query);
        let row = sql.build().fetch_one(self.db.pool()).await?;
        rollup.progress = read_progress(&row)?;
        Ok(rollup)
    }

    /// The rollup over the assessments in `states` (every state when empty)
    /// from the kept counts.
    async fn counted_rollup(&self, states: &[AssessmentState]) -> Result<Rollup, Error> {
        self.ensure_counts().await?;
        let rows = sqlx::query("SELECT state, dimension, value, count FROM rollup_counts")
            .fetch_all(self.db.pool())
            .await?;
        let mut rollup = Rollup::default();
        for row in rows {
            let state: String = row.try_get("state")?;
            if !states.is_empty() && !states.iter().any(|s| s.as_str() == state) {
                continue;
            }
            let dimension: String = row.try_get("dimension")?;
            let value: String = row.try_get("value")?;
            add_cell(&mut rollup, &dimension, &value, row.try_get("count")?);
        }
        Ok(rollup)
    }

    /// Fills `rollup_counts` from the rows once (a database migrated from
    /// before it existed); afterwards the writes keep it.
    async fn ensure_counts(&self) -> Result<(), Error> {
        let built = sqlx::query("SELECT built FROM rollup_counts_built")
            .fetch_optional(self.db.pool())
            .await?;
        if built.is_some() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let built = sqlx::query("SELECT built FROM rollup_counts_built")
            .fetch_optional(&mut *tx)
            .await?;
        if built.is_none() {
            sqlx::query("DELETE FROM rollup_counts")
                .execute(&mut *tx)
                .await?;
            let ids = sqlx::query("SELECT id FROM assessments")
                .fetch_all(&mut *tx)
                .await?;
            for row in ids {
                let id: String = row.try_get("id")?;
                let after = share(&mut tx, &id).await?;
                apply(&mut tx, None, after).await?;
            }
            sqlx::query("INSERT INTO rollup_counts_built (built) VALUES (1)")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
