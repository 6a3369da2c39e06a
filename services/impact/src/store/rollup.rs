//! Rollups: one aggregating scan over assessments, one over their indicators.

use innolab_kit::Error;
use innolab_kit::sql::Sql;
use sqlx::Row;

use super::Store;
use super::assessments::and_assessment_query;
use crate::domain::{AssessmentQuery, ProgressCounts, Rollup, rollup::DAC_CRITERIA};

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

impl Store {
    /// The distributions over every assessment matching `query`.
    pub async fn rollup(&self, query: &AssessmentQuery) -> Result<Rollup, Error> {
        // One scan of the assessments: a COUNT per (column, level).
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
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM assessments a WHERE 1 = 1",
            counts.join(", ")
        ));
        and_assessment_query(&mut sql, "a.", query);
        let row = sql.build().fetch_one(self.db.pool()).await?;
        let mut rollup = Rollup {
            assessment_count: row.try_get("n")?,
            ..Rollup::default()
        };
        for level in 0..=5 {
            rollup.nesta[level] = row.try_get(format!("nesta_{level}").as_str())?;
            rollup.maryland[level] = row.try_get(format!("maryland_{level}").as_str())?;
        }
        for (c, criterion) in DAC_CRITERIA.iter().enumerate() {
            for rating in 0..=4 {
                rollup.dac[c][rating] =
                    row.try_get(format!("dac_{criterion}_{rating}").as_str())?;
            }
        }
        for (p, column) in PUBLIC_VALUE_COLUMNS.iter().enumerate() {
            rollup.public_value[p] = row.try_get(*column)?;
        }

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
        let total: i64 = row.try_get("total")?;
        let mut progress = ProgressCounts {
            no_data: row.try_get("no_data")?,
            achieved: row.try_get("achieved")?,
            on_track: row.try_get("on_track")?,
            off_track: 0,
        };
        progress.off_track = total - progress.no_data - progress.achieved - progress.on_track;
        rollup.progress = progress;
        Ok(rollup)
    }
}
