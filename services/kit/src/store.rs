//! What every service's store shares: ids, row helpers (metadata, texts,
//! dates, vocabularies, JSON columns), idempotent creates and the etag check.
//! The SQL of the resources themselves stays in each service's `store/`.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Error;
use crate::changes::{self, ChangeType, Feed};
use crate::db::Database;
use crate::domain::Meta;

/// What every service's store is: a database whose writes append to its
/// change log (`crate::changes::record`, the one append), read back here.
pub trait ChangeLog {
    /// The store's database.
    fn database(&self) -> &Database;

    /// The change log, from `after`, followed when `follow` is set.
    fn changes(&self, after: i64, follow: bool) -> Feed {
        changes::stream(self.database().clone(), after, follow)
    }

    /// A read-only snapshot of the database, for an export (see [`Snapshot`]).
    fn snapshot(&self) -> impl std::future::Future<Output = Result<Snapshot, Error>> + Send + '_ {
        Snapshot::begin(self.database())
    }
}

/// Bumps a row's revision from `current`, appending the update to the change
/// log first; the `WHERE revision = ...` guard makes a concurrent writer lose
/// cleanly with ABORTED (its appended change rolls back with it). Called
/// before the transaction's other writes, so that on PostgreSQL the
/// change-log lock is the first lock a writer takes.
pub async fn bump_revision(
    db: &Database,
    tx: &mut crate::db::Tx,
    table: &str,
    id: &str,
    resource: &str,
    current: i64,
    now: i64,
) -> Result<i64, Error> {
    changes::record(db, tx, resource, ChangeType::Updated, current + 1, now).await?;
    let updated = sqlx::query(&format!(
        "UPDATE {table} SET revision = $1, update_time = $2 WHERE id = $3 AND revision = $4"
    ))
    .bind(current + 1)
    .bind(now)
    .bind(id)
    .bind(current)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(Error::Aborted {
            resource: resource.to_string(),
            etag: format!("r{current}"),
        });
    }
    Ok(current + 1)
}

/// The stored revision of row `id` of `table`, NOT_FOUND naming `resource`.
pub async fn revision(
    tx: &mut crate::db::Tx,
    table: &str,
    id: &str,
    resource: &str,
) -> Result<i64, Error> {
    let row = sqlx::query(&format!("SELECT revision FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::not_found(resource))?;
    Ok(row.try_get("revision")?)
}

/// A fresh, time-ordered id (UUID v7).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// `None` for an empty text (stored as NULL).
pub fn opt(value: &str) -> Option<&str> {
    if value.is_empty() { None } else { Some(value) }
}

/// The bookkeeping columns of a row (`create_time`, `update_time`, `revision`).
pub fn meta(row: &AnyRow) -> Result<Meta, Error> {
    Ok(Meta {
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        revision: row.try_get("revision")?,
    })
}

/// A text column, empty when NULL.
pub fn text(row: &AnyRow, column: &str) -> Result<String, Error> {
    Ok(row
        .try_get::<Option<String>, _>(column)?
        .unwrap_or_default())
}

/// A date stored as ISO 8601 text (`2024-02-29`).
pub fn date(value: Option<String>) -> Result<Option<time::Date>, Error> {
    value
        .map(|v| {
            time::Date::parse(&v, &time::format_description::well_known::Iso8601::DATE)
                .map_err(|e| Error::Internal(format!("stored date {v:?}: {e}")))
        })
        .transpose()
}

/// A date as it is stored.
pub fn date_text(value: Option<time::Date>) -> Option<String> {
    value.map(|d| d.to_string())
}

/// A vocabulary value stored by name.
pub fn vocab<T>(value: &str, parse: fn(&str) -> Option<T>) -> Result<T, Error> {
    parse(value).ok_or_else(|| Error::Internal(format!("unknown stored value {value:?}")))
}

/// A value as a JSON column.
pub fn json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// A JSON column's value.
pub fn from_json<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, Error> {
    serde_json::from_str(value).map_err(|e| Error::Internal(format!("stored JSON: {e}")))
}

/// The id of what a retried create stored the first time, by its request id.
pub async fn existing_request(
    tx: &mut crate::db::Tx,
    table: &str,
    request_id: Option<&str>,
) -> Result<Option<String>, Error> {
    existing_row(tx, table, "id", request_id)
        .await?
        .map(|row| row.try_get("id"))
        .transpose()
        .map_err(Error::from)
}

/// The `columns` of what a retried create stored the first time.
pub async fn existing_row(
    tx: &mut crate::db::Tx,
    table: &str,
    columns: &str,
    request_id: Option<&str>,
) -> Result<Option<AnyRow>, Error> {
    let Some(request_id) = request_id else {
        return Ok(None);
    };
    Ok(sqlx::query(&format!(
        "SELECT {columns} FROM {table} WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Runs an idempotent insert; when it loses a race against a concurrent retry
/// of the same request (a unique violation), runs it again, which then finds
/// the winner's row by its request id.
pub async fn retry_on_conflict<T, F, Fut>(request_id: Option<&str>, insert: F) -> Result<T, Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    match insert().await {
        Err(Error::AlreadyExists { .. }) if request_id.is_some() => insert().await,
        other => other,
    }
}

/// ABORTED when the caller's etag names another revision than the stored
/// one, so a stale caller learns that before any rule about the current state.
pub fn check_etag(resource: &str, revision: i64, expected: Option<i64>) -> Result<(), Error> {
    match expected {
        Some(expected) if expected != revision => Err(Error::Aborted {
            resource: resource.to_string(),
            etag: format!("r{expected}"),
        }),
        _ => Ok(()),
    }
}

/// `on_conflict` when `error` is a unique violation (a second row with the
/// same key), the error itself otherwise.
pub fn conflict(error: sqlx::Error, on_conflict: Error) -> Error {
    if crate::db::is_unique_violation(&error) {
        on_conflict
    } else {
        error.into()
    }
}

/// A read-only view of a service's database as of one moment, for an
/// export: every read made in it sees the same committed state, whatever
/// commits meanwhile, and [`Snapshot::sequence`] is the change-log head of
/// that state (read inside it, so the export reflects exactly the changes up
/// to it). On PostgreSQL a `REPEATABLE READ, READ ONLY` transaction; on
/// SQLite a deferred read transaction, whose snapshot is taken by its first
/// read (the head's). It holds one pooled connection until dropped or
/// [`Snapshot::end`]ed; writers are not held up (PostgreSQL's MVCC, SQLite's
/// WAL), though PostgreSQL cannot vacuum, nor SQLite checkpoint, past it
/// meanwhile.
pub struct Snapshot {
    /// The read transaction every read of the snapshot goes through.
    tx: crate::db::Tx,
    /// The change-log sequence the snapshot reflects.
    sequence: i64,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Opens a snapshot of `db` and reads the change log's head in it.
    pub async fn begin(db: &Database) -> Result<Snapshot, Error> {
        let mut tx = match db.backend() {
            crate::db::Backend::Sqlite => db.pool().begin_with("BEGIN DEFERRED").await?,
            crate::db::Backend::Postgres => {
                db.pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        };
        let sequence = sqlx::query("SELECT COALESCE(MAX(sequence), 0) AS head FROM change_log")
            .fetch_one(&mut *tx)
            .await?
            .try_get("head")?;
        Ok(Snapshot { tx, sequence })
    }

    /// The change-log sequence the snapshot reflects: every change up to it,
    /// none after.
    pub fn sequence(&self) -> i64 {
        self.sequence
    }

    /// The snapshot's connection, for a store's queries (pages and their
    /// hydration read the same state).
    pub fn connection(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// The rows of `sql`, as the database sends them: one at a time, never
    /// the whole result in memory (PostgreSQL's rows wait in the socket,
    /// SQLite's statement steps as they are taken).
    pub fn rows<'s>(
        &'s mut self,
        sql: &'s crate::sql::Sql,
    ) -> impl tokio_stream::Stream<Item = Result<AnyRow, Error>> + Send + Unpin + 's {
        use tokio_stream::StreamExt as _;
        sql.build()
            .fetch(&mut *self.tx)
            .map(|row| row.map_err(Error::from))
    }

    /// Reads each row of `sql` with `read` and hands it to `sink`, in order,
    /// one at a time; stops at the first error (a read's or the sink's).
    /// Returns how many were handed over.
    pub async fn each<T, E, F, Fut>(
        &mut self,
        sql: &crate::sql::Sql,
        read: fn(&AnyRow) -> Result<T, Error>,
        mut sink: F,
    ) -> Result<u64, E>
    where
        E: From<Error>,
        F: FnMut(T) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        use tokio_stream::StreamExt as _;
        let mut rows = self.rows(sql);
        let mut count = 0;
        while let Some(row) = rows.next().await {
            sink(read(&row?)?).await?;
            count += 1;
        }
        Ok(count)
    }

    /// Hands every item of a list to `sink`, in order, reading it page by
    /// page ([`crate::page::MAX_PAGE_SIZE`] at a time) with `list` on the
    /// snapshot's connection (for collections whose store reads pages and
    /// hydrates them). Returns how many were handed over.
    pub async fn pages<T, Q, E, F, Fut>(
        &mut self,
        query: &Q,
        list: ListPage<Q, T>,
        mut sink: F,
    ) -> Result<u64, E>
    where
        E: From<Error>,
        F: FnMut(T) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        let mut page = crate::page::PageRequest {
            size: crate::page::MAX_PAGE_SIZE,
            after: None,
        };
        let mut count = 0;
        loop {
            let found = list(&mut self.tx, query, &page).await?;
            for item in found.items {
                sink(item).await?;
                count += 1;
            }
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(count),
            }
        }
    }

    /// Ends the snapshot (a read-only transaction has nothing to commit).
    pub async fn end(self) -> Result<(), Error> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// A store's page of a list, read on a given connection (see
/// [`Snapshot::pages`]).
pub type ListPage<Q, T> =
    for<'c> fn(
        &'c mut sqlx::AnyConnection,
        &'c Q,
        &'c crate::page::PageRequest,
    ) -> futures_core::future::BoxFuture<'c, Result<crate::page::Page<T>, Error>>;

/// Records buffered for a slow reader of an export stream.
pub const EXPORT_BUFFER: usize = 500;

/// Why the reader of an export's snapshot stopped before its end.
#[derive(Debug)]
pub enum Halt {
    /// The store failed; the stream ends with the error.
    Failed(Error),
    /// The subscriber went away, or stopped reading and was dropped.
    Gone,
}

impl From<Error> for Halt {
    fn from(e: Error) -> Self {
        Halt::Failed(e)
    }
}

/// Where an export's reader hands each record: the subscriber's bounded
/// buffer ([`crate::subscriber`]).
#[derive(Debug)]
pub struct Emit<T>(crate::subscriber::Sender<T, Error>);

impl<T> Emit<T> {
    /// Hands over one record, waiting while the buffer is full (at most
    /// [`crate::subscriber::STALL`]); `Err` means stop reading.
    pub async fn send(&self, record: T) -> Result<(), Halt> {
        self.0.send(Ok(record)).await.map_err(|_| Halt::Gone)
    }
}

/// A reader of an export: what it read in the snapshot goes to `Emit`.
pub type ExportRead<'a> = futures_core::future::BoxFuture<'a, Result<u64, Halt>>;

/// The records `read` hands over from one [`Snapshot`] of `database`, as a
/// stream: read on a task of their own, ending with the error that stopped
/// them, if any; the task stops (ending the snapshot) when the subscriber
/// goes away. A snapshot holds a pooled connection, so a subscriber that
/// stops reading is dropped once its buffer has stayed full for
/// [`crate::subscriber::STALL`] (it then gets what was buffered and
/// RESOURCE_EXHAUSTED): a few stalled exports cannot take the pool from
/// everyone else.
pub fn export<T, R>(database: Database, read: R) -> crate::subscriber::Subscription<T, Error>
where
    T: Send + 'static,
    R: for<'a> FnOnce(&'a mut Snapshot, &'a Emit<T>) -> ExportRead<'a> + Send + 'static,
{
    let (tx, rx) = crate::subscriber::channel(EXPORT_BUFFER, stalled_export);
    let emit = Emit(tx);
    tokio::spawn(async move {
        let mut snapshot = match Snapshot::begin(&database).await {
            Ok(snapshot) => snapshot,
            Err(e) => {
                let _ = emit.0.send(Err(e)).await;
                return;
            }
        };
        let sent = read(&mut snapshot, &emit).await;
        let _ = snapshot.end().await;
        if let Err(Halt::Failed(e)) = sent {
            let _ = emit.0.send(Err(e)).await;
        }
    });
    rx
}

fn stalled_export() -> Error {
    Error::ResourceExhausted {
        reason: "SUBSCRIBER_NOT_READING",
        message: "the reader did not read for 5 s while its buffer was full, so the export \
                  stopped; export again (or page with the List call)"
            .into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etags_of_other_revisions_are_aborted() {
        assert!(check_etag("organizations/a", 3, None).is_ok());
        assert!(check_etag("organizations/a", 3, Some(3)).is_ok());
        assert!(matches!(
            check_etag("organizations/a", 3, Some(2)),
            Err(Error::Aborted { .. })
        ));
    }

    #[test]
    fn dates_and_json_round_trip() {
        let d = date(Some("2024-02-29".into())).unwrap();
        assert_eq!(date_text(d).as_deref(), Some("2024-02-29"));
        assert!(date(Some("2023-02-29".into())).is_err());
        let v: Vec<String> = from_json(&json(&vec!["a".to_string()]).unwrap()).unwrap();
        assert_eq!(v, ["a"]);
        assert_eq!(opt(""), None);
    }
}
