//! Bulk loading, for benchmarks and imports: the same rows the create
//! methods write, many per transaction.

use innolab_kit::Error;
use innolab_kit::db::now_micros;

use super::assessments::write_assessment;
use super::indicators::write_indicator;
use super::{Store, new_id};
use crate::domain::{AssessmentFields, AssessmentState, IndicatorFields};

/// One assessment to load, in a given state, with its indicators.
#[derive(Debug, Clone)]
pub struct LoadItem {
    /// Validated fields.
    pub fields: AssessmentFields,
    /// Its workflow state.
    pub state: AssessmentState,
    /// Validated indicators.
    pub indicators: Vec<IndicatorFields>,
}

impl Store {
    /// Writes `items` in one transaction; returns the assessments' ids.
    pub async fn load(&self, items: &[LoadItem]) -> Result<Vec<String>, Error> {
        let mut tx = self.begin().await?;
        let now = now_micros();
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            let id = new_id();
            write_assessment(&self.db, &mut tx, &id, &item.fields, item.state, None, now).await?;
            for indicator in &item.indicators {
                write_indicator(&self.db, &mut tx, &id, &new_id(), indicator, None, now).await?;
            }
            let after = super::rollup::share(&mut tx, &id).await?;
            super::rollup::apply(&mut tx, None, after).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }
}
