//! Persistence of the initiatives domain. The only module that knows SQL.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any`
//! driver, as in the membership service: the SQL is written in the dialect
//! both accept, and the shared test suite runs against both.
//!
//! Every committed write appends to the change log (`innolab_kit::changes`)
//! in its own transaction: `bump_revision` logs the update, each create logs
//! the creation. The append comes *before* the transaction's first write, so
//! that on PostgreSQL the change-log advisory lock (held to commit) is always
//! the first lock a writer takes: a writer never waits for it while holding
//! row locks (counters, unique request ids) another appender needs, and
//! writers cannot deadlock. A write that then fails rolls its append back.
//! The exception is a bulk-import batch (`import.rs`): it inserts rows with
//! new ids first and logs them last, so that two batches insert side by side.

mod adoptions;
mod calls;
mod challenges;
pub mod export;
mod import;
mod initiatives;
mod references;
mod similar;

pub use calls::NewSubmission;
pub use import::{ImportRow, RowOutcome};
pub use initiatives::Start;

use innolab_kit::Error;
use innolab_kit::changes::{self, ChangeType};
use innolab_kit::db::{Database, EmbeddedMigration, Migrations};
use innolab_kit::sql::Sql;
pub(crate) use innolab_kit::sql::{and_page, and_text, paginate};
pub(crate) use innolab_kit::store::{
    ChangeLog, bump_revision, check_etag, date, date_text, existing_request, from_json, json, meta,
    new_id, opt, retry_on_conflict, revision, text, vocab,
};

/// The schema: one list per backend, sharing all but the bulk-import terms
/// (version 3), the clearing of typed names (version 5, in each's JSON) and
/// the narrative texts becoming lists per language (version 6, likewise).
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        SCHEMA[0],
        SCHEMA[1],
        innolab_kit::migration!("../../migrations/sqlite/0003_terms_bulk.sql"),
        ADOPTIONS,
        innolab_kit::migration!("../../migrations/sqlite/0005_actors.sql"),
        innolab_kit::migration!("../../migrations/sqlite/0006_narratives.sql"),
        WORD_BACKFILL,
        SIMILAR_PROFILE,
    ],
    postgres: &[
        SCHEMA[0],
        SCHEMA[1],
        innolab_kit::migration!("../../migrations/postgres/0003_terms_bulk.sql"),
        ADOPTIONS,
        innolab_kit::migration!("../../migrations/postgres/0005_actors.sql"),
        innolab_kit::migration!("../../migrations/postgres/0006_narratives.sql"),
        WORD_BACKFILL,
        SIMILAR_PROFILE,
    ],
};

/// Version 8, the same on both backends.
const SIMILAR_PROFILE: EmbeddedMigration =
    innolab_kit::migration!("../../migrations/0008_similar_profile.sql");

/// Version 7, the same on both backends.
const WORD_BACKFILL: EmbeddedMigration =
    innolab_kit::migration!("../../migrations/0007_word_backfill.sql");

/// Version 4, the same on both backends.
const ADOPTIONS: EmbeddedMigration = innolab_kit::migration!("../../migrations/0004_adoptions.sql");

const SCHEMA: [EmbeddedMigration; 2] = [
    innolab_kit::migration!("../../migrations/0001_initiatives.sql"),
    innolab_kit::changes::migration(2),
];

pub use innolab_kit::page::Page;

/// The initiatives store.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    /// Rung when an import left `word` terms to index (see
    /// [`Store::backfill_words`]), so that this process's indexer starts
    /// at once rather than at its next look.
    words_pending: std::sync::Arc<tokio::sync::Notify>,
    /// Imports of this process under way (their words wait for the last).
    imports: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// An import under way (see [`Store::importing`]); dropped when it ends,
/// however it ends.
#[derive(Debug)]
pub struct Importing(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Importing {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Store {
    /// A store on a (migrated) database.
    pub fn new(db: Database) -> Self {
        Store {
            db,
            words_pending: std::sync::Arc::default(),
            imports: std::sync::Arc::default(),
        }
    }

    /// Counts an import as under way until the value is dropped: this
    /// process's word indexer does not compete with it for the database.
    pub fn importing(&self) -> Importing {
        self.imports
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Importing(self.imports.clone())
    }

    /// Whether the database was closed (the service is stopping).
    pub fn is_closed(&self) -> bool {
        self.db.is_closed()
    }

    /// Whether an import of this process is under way.
    pub fn import_running(&self) -> bool {
        self.imports.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Completes when an import of this process has left `word` terms to
    /// index (or at once if one did since the last call).
    pub async fn words_pending(&self) {
        self.words_pending.notified().await;
    }

    /// Rings this process's word indexer: an import is done, its words are
    /// waiting (its batches marked them as they were stored).
    pub fn words_left(&self) {
        self.words_pending.notify_one();
    }

    async fn begin(&self) -> Result<innolab_kit::db::Tx, Error> {
        self.db.begin().await
    }
}

impl ChangeLog for Store {
    fn database(&self) -> &Database {
        &self.db
    }
}

/// Logs the creation of `resource` (revision 1) inside its transaction, before
/// the transaction's first write (see the module comment).
async fn created(
    db: &Database,
    tx: &mut innolab_kit::db::Tx,
    resource: &str,
    now: i64,
) -> Result<(), Error> {
    changes::record(db, tx, resource, ChangeType::Created, 1, now).await?;
    Ok(())
}

impl Store {
    /// The `columns` of row `id` of `table`, NOT_FOUND naming `resource`.
    async fn row(
        &self,
        table: &str,
        columns: &str,
        id: &str,
        resource: String,
    ) -> Result<sqlx::any::AnyRow, Error> {
        sqlx::query(&format!("SELECT {columns} FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::not_found(resource))
    }

    /// Starts the update of one row of `table`: refuses an unknown id
    /// (NOT_FOUND) or a stale `expected_revision` (ABORTED), then bumps the
    /// revision and logs the change. The caller writes the new values and
    /// commits.
    async fn begin_update(
        &self,
        table: &str,
        id: &str,
        resource: &str,
        expected_revision: Option<i64>,
    ) -> Result<innolab_kit::db::Tx, Error> {
        let mut tx = self.begin().await?;
        let current = revision(&mut tx, table, id, resource).await?;
        check_etag(resource, current, expected_revision)?;
        bump_revision(
            &self.db,
            &mut tx,
            table,
            id,
            resource,
            current,
            innolab_kit::db::now_micros(),
        )
        .await?;
        Ok(tx)
    }
}

/// Appends `AND column IN (...)` when `values` is not empty.
fn and_in(sql: &mut Sql, column: &str, values: &[String]) {
    innolab_kit::sql::and_in(sql, column, values, |v| v.as_str().into());
}

/// Changes to `portfolio_counts`, applied in one sorted pass so that two
/// writers always lock counter rows in the same order (no deadlock).
#[derive(Debug, Default)]
pub(crate) struct CountDeltas(std::collections::BTreeMap<(&'static str, String), i64>);

impl CountDeltas {
    /// Adds `by` to every fact.
    pub(crate) fn add(&mut self, facts: Vec<(&'static str, String)>, by: i64) {
        for fact in facts {
            *self.0.entry(fact).or_insert(0) += by;
        }
    }

    /// Writes the non-zero changes.
    pub(crate) async fn apply(self, tx: &mut innolab_kit::db::Tx) -> Result<(), Error> {
        for ((dimension, value), delta) in self.0 {
            if delta == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO portfolio_counts (dimension, value, count) VALUES ($1, $2, $3) \
                 ON CONFLICT (dimension, value) \
                 DO UPDATE SET count = portfolio_counts.count + excluded.count",
            )
            .bind(dimension)
            .bind(value)
            .bind(delta)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
