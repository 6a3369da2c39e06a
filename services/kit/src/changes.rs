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

use std::sync::Arc;
use std::time::Duration;

/// The migration that creates the change log, the same in every service
/// (and on both backends): put it in a service's list at `version`.
pub const fn migration(version: i64) -> crate::db::EmbeddedMigration {
    crate::db::EmbeddedMigration {
        version,
        description: "change log",
        sql: include_str!("../migrations/change_log.sql"),
    }
}

use sqlx::Row;
use tokio::sync::watch;

use crate::subscriber::Subscription;

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
    tx: &mut crate::db::Tx,
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

/// Appends one `change_type` change at `revision` for every one of
/// `resources`, in order, before the transaction's other writes: the first
/// through [`record`] (which takes the change-log lock for the rest of the
/// transaction), the others after it in multi-row INSERTs with the next
/// sequences, so a batch of a thousand costs a few statements, not a
/// thousand.
pub async fn record_all(
    db: &Database,
    tx: &mut crate::db::Tx,
    resources: &[String],
    change_type: ChangeType,
    revision: i64,
    time: i64,
) -> Result<(), Error> {
    let Some((first, rest)) = resources.split_first() else {
        return Ok(());
    };
    let mut sequence = record(db, tx, first, change_type, revision, time).await?;
    // Five parameters per row: well under both backends' limits.
    for chunk in rest.chunks(1000) {
        let mut sql = crate::sql::Sql::new(
            "INSERT INTO change_log (sequence, resource, change_type, revision, time) VALUES ",
        );
        for (i, resource) in chunk.iter().enumerate() {
            sequence += 1;
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(sequence)
                .push(", ")
                .bind(resource.as_str())
                .push(", ")
                .bind(change_type.as_str())
                .push(", ")
                .bind(revision)
                .push(", ")
                .bind(time)
                .push(")");
        }
        sql.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The newest sequence of the log (0 when it is empty).
pub async fn head(db: &Database) -> Result<i64, Error> {
    let row = sqlx::query("SELECT COALESCE(MAX(sequence), 0) AS head FROM change_log")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get("head")?)
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

/// How often one process looks at the log's head on behalf of all its
/// followers (however many follow, one query per interval).
const POLL: Duration = Duration::from_millis(100);
/// A follower reads the log itself at least this often, even without news,
/// so that a database outage ends its stream with UNAVAILABLE.
const RECHECK: Duration = Duration::from_secs(5);
/// Changes read per query, and the subscriber's buffer.
const BATCH: i64 = 500;

/// A subscriber's stream of changes: what was buffered for it, then the
/// error that ended it (RESOURCE_EXHAUSTED when it stopped reading).
pub type Feed = Subscription<Change, Error>;

fn stalled() -> Error {
    Error::ResourceExhausted {
        reason: "SUBSCRIBER_NOT_READING",
        message: crate::subscriber::STALLED_MESSAGE.into(),
    }
}

/// Streams the log after `after`: everything already there, then (with
/// `follow`) new changes as they commit, until the subscriber goes away. A
/// follower waits on the process's one watcher of the log's head, never
/// polling the database itself; a subscriber that stops reading is dropped
/// once its buffer has stayed full (see [`crate::subscriber`]).
pub fn stream(db: Database, after: i64, follow: bool) -> Feed {
    let (tx, rx) = crate::subscriber::channel(BATCH as usize, stalled);
    if after < 0 {
        tokio::spawn(async move {
            let _ = tx
                .send(Err(Error::invalid(
                    "after_sequence",
                    "must not be negative",
                )))
                .await;
        });
        return rx;
    }
    tokio::spawn(async move {
        let mut head = follow.then(|| watch_head(&db));
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
                        let Some(head) = head.as_mut() else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::time::timeout(RECHECK, head.wait_for(|h| *h > cursor)) => {}
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

/// The newest sequence of `db`'s log, as the process's one poller sees it
/// (started by the first follower, stopped after the last one leaves).
fn watch_head(db: &Database) -> watch::Receiver<i64> {
    let mut slot = match db.log_head().lock() {
        Ok(slot) => slot,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(tx) = slot.as_ref() {
        return tx.subscribe();
    }
    let (tx, rx) = watch::channel(0);
    let tx = Arc::new(tx);
    *slot = Some(tx.clone());
    tokio::spawn(poll_head(db.clone(), tx));
    rx
}

async fn poll_head(db: Database, tx: Arc<watch::Sender<i64>>) {
    loop {
        {
            // Under the slot's lock, so that a new follower either finds
            // this poller running or starts the next one.
            let mut slot = match db.log_head().lock() {
                Ok(slot) => slot,
                Err(poisoned) => poisoned.into_inner(),
            };
            if tx.receiver_count() == 0 {
                if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &tx)) {
                    *slot = None;
                }
                return;
            }
        }
        if let Ok(newest) = head(&db).await {
            tx.send_if_modified(|head| {
                let newer = newest > *head;
                if newer {
                    *head = newest;
                }
                newer
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
