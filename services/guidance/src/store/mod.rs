//! Persistence of the guidance domain. The only module that knows SQL.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any`
//! driver; only search differs, and branches on [`Database::backend`]. The
//! schema has one migration folder per backend.
//!
//! Every committed write appends to the change log (`innolab_kit::changes`)
//! in its own transaction, as in the initiatives service: one change per
//! resource written, with its revision after the change (1 on create). The
//! append comes before the transaction's first write where the revision is
//! known by then, so that on PostgreSQL the change-log lock is the first lock
//! a writer takes ([`Database::begin`] takes the same write lock first anyway).
//! A write that then fails rolls its append back; an idempotent retry returns
//! before appending.

mod attachments;
mod documents;
mod editions;
pub mod export;
mod import;
mod search;

pub use attachments::{Upload, UploadStart};
pub use search::SearchHit;

use innolab_kit::Error;
use innolab_kit::changes::{ChangeType, record};
use innolab_kit::db::{Database, Migrations};
use innolab_kit::sql::{Sql, Value};
pub(crate) use innolab_kit::sql::{and_in, and_page, paginate_by as paginate};
pub use innolab_kit::store::ChangeLog;
pub(crate) use innolab_kit::store::{
    bump_revision, check_etag, conflict, date, date_text, existing_row, from_json, json, meta,
    new_id, opt, retry_on_conflict, text, vocab,
};

/// The schema, one list per backend.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        innolab_kit::migration!("../../migrations/sqlite/0001_guidance.sql"),
        innolab_kit::changes::migration(2),
        innolab_kit::migration!("../../migrations/sqlite/0003_document_initiatives.sql"),
        innolab_kit::migration!("../../migrations/sqlite/0004_search_postings.sql"),
        innolab_kit::migration!("../../migrations/sqlite/0005_upload_staging.sql"),
    ],
    postgres: &[
        innolab_kit::migration!("../../migrations/postgres/0001_guidance.sql"),
        innolab_kit::changes::migration(2),
        innolab_kit::migration!("../../migrations/postgres/0003_document_initiatives.sql"),
        innolab_kit::migration!("../../migrations/postgres/0004_search_postings.sql"),
        innolab_kit::migration!("../../migrations/postgres/0005_upload_staging.sql"),
    ],
};

pub use innolab_kit::page::Page;

/// The guidance store.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store on a (migrated) database.
    pub fn new(db: Database) -> Self {
        Store { db }
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

/// Appends `AND EXISTS (row in table with column IN values)` for a document.
fn and_has(sql: &mut Sql, table: &str, column: &str, document: &str, values: &[String]) {
    if !values.is_empty() {
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM {table} x WHERE x.document_id = {document} AND x.{column} IN "
        ));
        sql.bind_list(values.iter().map(|v| Value::from(v.as_str())));
        sql.push(")");
    }
}
