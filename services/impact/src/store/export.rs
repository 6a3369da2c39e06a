//! Reads for the open-data export, each collection inside one snapshot
//! (`innolab_kit::store::Snapshot`), streamed one record at a time in id
//! order: completed assessments, their indicators, and capacity rounds.

use std::future::Future;

use innolab_kit::Error;
use innolab_kit::sql::Sql;
use innolab_kit::store::Snapshot;

use super::assessments::{COLUMNS as ASSESSMENT_COLUMNS, FROM as ASSESSMENT_FROM, assessment};
use super::capacity::{COLUMNS as CAPACITY_COLUMNS, capacity};
use super::indicators::{COLUMNS as INDICATOR_COLUMNS, FROM as INDICATOR_FROM, indicator};
use crate::domain::{Assessment, CapacityAssessment, Indicator};

/// Every COMPLETED assessment in `snapshot`, in id order.
pub async fn each_completed_assessment<E, F, Fut>(
    snapshot: &mut Snapshot,
    sink: F,
) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Assessment) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let sql = Sql::new(&format!(
        "SELECT {ASSESSMENT_COLUMNS} FROM {ASSESSMENT_FROM} WHERE a.state = 'COMPLETED' \
         ORDER BY a.id"
    ));
    snapshot.each(&sql, assessment, sink).await
}

/// Every indicator of a COMPLETED assessment in `snapshot`, by assessment
/// and id.
pub async fn each_completed_indicator<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Indicator) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let sql = Sql::new(&format!(
        "SELECT {INDICATOR_COLUMNS} FROM {INDICATOR_FROM} WHERE i.assessment_id IN \
         (SELECT id FROM assessments WHERE state = 'COMPLETED') \
         ORDER BY i.assessment_id, i.id"
    ));
    snapshot.each(&sql, indicator, sink).await
}

/// Every capacity round in `snapshot`, in id order.
pub async fn each_capacity_round<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(CapacityAssessment) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let sql = Sql::new(&format!(
        "SELECT {CAPACITY_COLUMNS} FROM capacity_assessments ORDER BY id"
    ));
    snapshot.each(&sql, capacity, sink).await
}
