//! The change log: every write records what it changed in the same
//! transaction, and readers stream the log in order from a cursor.
//!
//! Sequences are gapless and follow commit order because writers of a service
//! are serialised: [`Database::begin`] takes the write lock first (SQLite's
//! `BEGIN IMMEDIATE`; a transaction-scoped advisory lock on PostgreSQL), and
//! [`record`] takes the same advisory lock again (re-entrant) for transactions
//! begun otherwise. So a reader that has seen sequence N never later finds an
//! N-1 that committed late.
//!
//! Each service's migrations create the table:
//! `change_log (sequence BIGINT PRIMARY KEY, resource TEXT, change_type TEXT, revision BIGINT, time BIGINT)`.

use std::time::Duration;

use sqlx::{Any, Row, Transaction};
use tokio::sync::mpsc;

use crate::db::{Backend, Database};
use crate::error::Error;

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// Created.
    Created,
    /// Updated (including lifecycle transitions and erasure).
    Updated,
    /// Deleted.
    Deleted,
}

impl ChangeType {
    fn as_str(self) -> &'static str {
        match self {
            ChangeType::Created => "CREATED",
            ChangeType::Updated => "UPDATED",
            ChangeType::Deleted => "DELETED",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "CREATED" => Some(ChangeType::Created),
            "UPDATED" => Some(ChangeType::Updated),
            "DELETED" => Some(ChangeType::Deleted),
            _ => None,
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the log, from 1, without gaps.
    pub sequence: i64,
    /// Resource name.
    pub resource: String,
    /// What happened.
    pub change_type: ChangeType,
    /// The resource's revision after the change.
    pub revision: i64,
    /// Commit time, microseconds since the epoch.
    pub time: i64,
}

/// Appends a change inside the writing transaction `tx`.
pub async fn record(
    db: &Database,
    tx: &mut Transaction<'static, Any>,
    resource: &str,
    change_type: ChangeType,
    revision: i64,
    time: i64,
) -> Result<i64, Error> {
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(db.lock_key(crate::db::WRITE_LOCK))
            .execute(&mut **tx)
            .await?;
    }
    let row = sqlx::query(
        "INSERT INTO change_log (sequence, resource, change_type, revision, time) \
         SELECT COALESCE(MAX(sequence), 0) + 1, $1, $2, $3, $4 FROM change_log \
         RETURNING sequence",
    )
    .bind(resource)
    .bind(change_type.as_str())
    .bind(revision)
    .bind(time)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("sequence")?)
}

/// Up to `limit` changes after `after`, in order.
pub async fn read(db: &Database, after: i64, limit: i64) -> Result<Vec<Change>, Error> {
    let rows = sqlx::query(
        "SELECT sequence, resource, change_type, revision, time FROM change_log \
         WHERE sequence > $1 ORDER BY sequence LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("change_type")?;
            Ok(Change {
                sequence: row.try_get("sequence")?,
                resource: row.try_get("resource")?,
                change_type: ChangeType::parse(&kind)
                    .ok_or_else(|| Error::Internal(format!("change type {kind:?}")))?,
                revision: row.try_get("revision")?,
                time: row.try_get("time")?,
            })
        })
        .collect()
}

/// How often a following stream looks for new changes.
const POLL: Duration = Duration::from_millis(200);
/// Changes read per query.
const BATCH: i64 = 500;

/// Streams the log after `after`: everything already there, then (with
/// `follow`) new changes as they commit, until the receiver is dropped.
pub fn stream(db: Database, after: i64, follow: bool) -> mpsc::Receiver<Result<Change, Error>> {
    let (tx, rx) = mpsc::channel(BATCH as usize);
    if after < 0 {
        let _ = tx.try_send(Err(Error::invalid(
            "after_sequence",
            "must not be negative",
        )));
        return rx;
    }
    tokio::spawn(async move {
        let mut cursor = after;
        loop {
            match read(&db, cursor, BATCH).await {
                Ok(batch) => {
                    let caught_up = (batch.len() as i64) < BATCH;
                    for change in batch {
                        cursor = change.sequence;
                        if tx.send(Ok(change)).await.is_err() {
                            return;
                        }
                    }
                    if caught_up {
                        if !follow {
                            return;
                        }
                        tokio::select! {
                            () = tokio::time::sleep(POLL) => {}
                            () = tx.closed() => return,
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
    });
    rx
}
