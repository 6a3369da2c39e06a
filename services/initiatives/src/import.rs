//! The import pipeline of ImportInitiatives: validated rows are stored in
//! batches, each in its own transaction on its own task, so that reading and
//! validating the next batch overlaps the database's work; the changes of the
//! batches are logged in the stream's order. Works on domain rows and the
//! store; the API layer turns messages into rows and the report into its
//! answer.

use std::collections::VecDeque;

use innolab_kit::{Error, FieldViolation};
use tokio::sync::oneshot;

use crate::store::{ImportRow, RowOutcome, Store};

/// Rows stored per transaction.
const IMPORT_BATCH: usize = 1000;

/// A row stored by the import (or by an earlier attempt of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// 1-based position in the stream.
    pub position: i64,
    /// The initiative's id.
    pub id: String,
    /// Whether an earlier attempt stored it.
    pub already_imported: bool,
}

/// What became of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Rows received.
    pub received: i64,
    /// Rows stored now.
    pub imported: i64,
    /// Rows an earlier attempt stored.
    pub already_imported: i64,
    /// Every stored row, by position.
    pub rows: Vec<Imported>,
    /// The refused rows, by position, with what was wrong.
    pub errors: Vec<(i64, Vec<FieldViolation>)>,
}

/// An import under way.
#[derive(Debug)]
pub struct Import {
    store: Store,
    actor: String,
    batch: Vec<ImportRow>,
    /// Batches being stored (each in its own transaction, on its own
    /// connection) while the next one is read and validated.
    storing: VecDeque<Storing>,
    report: Report,
    /// Holds this process's word indexer back while the import runs.
    running: Option<crate::store::Importing>,
}

impl Import {
    /// An import into `store`.
    pub fn new(store: Store) -> Self {
        Import {
            running: Some(store.importing()),
            store,
            actor: String::new(),
            batch: Vec::new(),
            storing: VecDeque::new(),
            report: Report::default(),
        }
    }

    /// Who records the import (in every initiative's timeline).
    pub fn by(&mut self, actor: String) {
        self.actor = actor;
    }

    /// Takes the row at `position`, or what is wrong with it: a refused row
    /// (INVALID_ARGUMENT) is reported, any other error ends the import.
    pub async fn push(
        &mut self,
        position: i64,
        row: Result<ImportRow, Error>,
    ) -> Result<(), Error> {
        self.report.received = position;
        match row {
            Ok(row) => self.batch.push(row),
            Err(Error::InvalidArgument(violations)) => {
                self.report.errors.push((position, violations));
            }
            Err(other) => return Err(other),
        }
        if self.batch.len() >= IMPORT_BATCH {
            if self.storing.len() >= self.store.import_batches_in_flight()
                && let Some(previous) = self.storing.pop_front()
            {
                self.record(previous.finish().await?)?;
            }
            let after = self.storing.back_mut().and_then(|s| s.done.take());
            self.storing.push_back(Storing::start(
                self.store.clone(),
                std::mem::take(&mut self.batch),
                self.actor.clone(),
                after,
            ));
        }
        Ok(())
    }

    /// Stores what is left and reports on every row.
    pub async fn finish(mut self) -> Result<Report, Error> {
        while let Some(previous) = self.storing.pop_front() {
            self.record(previous.finish().await?)?;
        }
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            let outcomes = self.store.import_batch(&batch, &self.actor, None).await?;
            self.record((batch, outcomes))?;
        }
        if self.report.imported > 0 {
            // In the background: the import is answered now. Its words are
            // indexed once it is over, not while it still writes.
            self.running = None;
            self.store.words_left();
            let store = self.store.clone();
            let stored = self.report.imported;
            tokio::spawn(async move {
                if let Err(e) = store.refresh_statistics(stored).await {
                    tracing::warn!(error = %e, "statistics not refreshed after an import");
                }
            });
        }
        let mut report = std::mem::take(&mut self.report);
        report.errors.sort_by_key(|(position, _)| *position);
        report.rows.sort_by_key(|r| r.position);
        Ok(report)
    }

    /// Records what became of each row of a stored batch.
    fn record(&mut self, (rows, outcomes): Stored) -> Result<(), Error> {
        let out = &mut self.report;
        for (row, outcome) in rows.iter().zip(outcomes) {
            let (id, already_imported) = match outcome {
                RowOutcome::Stored(id) => (id, false),
                RowOutcome::AlreadyStored(id) => (id, true),
                RowOutcome::Refused(Error::InvalidArgument(violations)) => {
                    out.errors.push((row.position, violations));
                    continue;
                }
                RowOutcome::Refused(other) => return Err(other),
            };
            if already_imported {
                out.already_imported += 1;
            } else {
                out.imported += 1;
            }
            out.rows.push(Imported {
                position: row.position,
                id,
                already_imported,
            });
        }
        Ok(())
    }
}

/// One batch of an import being stored, on its own task. Dropping it (the
/// caller went away) aborts the task, which rolls its transaction back.
#[derive(Debug)]
struct Storing {
    task: tokio::task::JoinHandle<Result<Stored, Error>>,
    /// Told whether this batch was stored, for the next batch to log its
    /// changes after this one's (or to give up if it failed).
    done: Option<oneshot::Receiver<bool>>,
}

/// A stored batch: its rows and what became of each.
type Stored = (Vec<ImportRow>, Vec<RowOutcome>);

impl Storing {
    fn start(
        store: Store,
        rows: Vec<ImportRow>,
        actor: String,
        after: Option<oneshot::Receiver<bool>>,
    ) -> Storing {
        let (done, done_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let outcomes = store.import_batch(&rows, &actor, after).await;
            let _ = done.send(outcomes.is_ok());
            Ok((rows, outcomes?))
        });
        Storing {
            task,
            done: Some(done_rx),
        }
    }

    async fn finish(mut self) -> Result<Stored, Error> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(Error::Internal(format!("import batch task failed: {e}"))),
        }
    }
}

impl Drop for Storing {
    fn drop(&mut self) {
        self.task.abort();
    }
}
