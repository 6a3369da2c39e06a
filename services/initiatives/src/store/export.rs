//! Reads for the open-data export: each collection read whole inside one
//! snapshot (`innolab_kit::store::Snapshot`), its rows streamed to a sink one
//! record at a time, in id order.

use std::future::Future;

use innolab_kit::Error;
use innolab_kit::sql::Sql;
use innolab_kit::store::Snapshot;
use sqlx::Row;
use tokio_stream::StreamExt as _;

use super::calls::{CALL_COLUMNS, SUBMISSION_COLUMNS, call, submission};
use super::challenges::{COLUMNS as CHALLENGE_COLUMNS, challenge};
use super::initiatives::{and_query, event, initiative};
use crate::domain::{Challenge, Initiative, InitiativeQuery, InnovationCall, Submission};

/// Every initiative matching `query` in `snapshot`, with its timeline,
/// handed to `sink` in id order: one query joining the events, read as it
/// arrives, an initiative handed over once its last event has passed.
pub async fn each_initiative<E, F, Fut>(
    snapshot: &mut Snapshot,
    query: &InitiativeQuery,
    mut sink: F,
) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Initiative) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut sql = Sql::new(
        "SELECT i.id, i.body, i.stage, i.status, i.revision, i.create_time, i.update_time, \
         e.from_stage, e.to_stage, e.from_status, e.to_status, e.actor, e.note, e.event_time \
         FROM initiatives i LEFT JOIN initiative_events e ON e.initiative_id = i.id WHERE 1 = 1",
    );
    and_query(&mut sql, query, None);
    sql.push(" ORDER BY i.id, e.seq");
    let mut rows = snapshot.rows(&sql);
    let mut current: Option<Initiative> = None;
    let mut count = 0;
    while let Some(row) = rows.next().await {
        let row = row?;
        let id: String = row.try_get("id").map_err(Error::from)?;
        if current.as_ref().is_none_or(|i| i.id != id)
            && let Some(done) = current.replace(initiative(&row)?)
        {
            sink(done).await?;
            count += 1;
        }
        let has_event = row
            .try_get::<Option<String>, _>("to_stage")
            .map_err(Error::from)?
            .is_some();
        if has_event && let Some(i) = current.as_mut() {
            i.timeline.push(event(&row)?);
        }
    }
    if let Some(done) = current {
        sink(done).await?;
        count += 1;
    }
    Ok(count)
}

/// Every challenge in `snapshot`, in id order (without `answered_by`: the
/// initiatives name the challenges they answer).
pub async fn each_challenge<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Challenge) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let sql = Sql::new(&format!(
        "SELECT {CHALLENGE_COLUMNS} FROM challenges ORDER BY id"
    ));
    snapshot.each(&sql, challenge, sink).await
}

/// Every call for innovations in `snapshot`, in id order.
pub async fn each_call<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(InnovationCall) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let sql = Sql::new(&format!(
        "SELECT {CALL_COLUMNS} FROM innovation_calls ORDER BY id"
    ));
    snapshot.each(&sql, call, sink).await
}

/// Every accepted submission in `snapshot` (those that became cases of the
/// library), in id order.
pub async fn each_accepted_submission<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Submission) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let sql = Sql::new(&format!(
        "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE state = 'ACCEPTED' ORDER BY id"
    ));
    snapshot.each(&sql, submission, sink).await
}
