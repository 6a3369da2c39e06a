//! Persistence of the impact domain. The only module that knows SQL.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: the SQL is written in the dialect both accept, and the shared test
//! suite runs against both.

mod assessments;
mod capacity;
pub mod export;
mod indicators;
mod load;
mod references;
mod rollup;

use innolab_kit::Error;
pub(crate) use innolab_kit::changes::{ChangeType, record};
use innolab_kit::db::{Database, EmbeddedMigration, Migrations};
pub(crate) use innolab_kit::sql::{and_in, and_page, and_text, paginate};
pub use innolab_kit::store::ChangeLog;
pub(crate) use innolab_kit::store::{
    bump_revision, check_etag, date_text, existing_request, from_json, json, meta, new_id,
    retry_on_conflict, vocab,
};

pub use load::LoadItem;

/// The schema: one list per backend, sharing all but the JSON rewrites.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        SCHEMA[0],
        SCHEMA[1],
        SCHEMA[2],
        SCHEMA[3],
        innolab_kit::migration!("../../migrations/sqlite/0005_actors.sql"),
    ],
    postgres: &[
        SCHEMA[0],
        SCHEMA[1],
        SCHEMA[2],
        SCHEMA[3],
        innolab_kit::migration!("../../migrations/postgres/0005_actors.sql"),
    ],
};

/// The migrations both backends share (one SQL for both).
const SCHEMA: [EmbeddedMigration; 4] = [
    innolab_kit::migration!("../../migrations/0001_impact.sql"),
    innolab_kit::migration!("../../migrations/0002_capacity.sql"),
    innolab_kit::changes::migration(3),
    innolab_kit::migration!("../../migrations/0004_rollup_counts.sql"),
];

pub use innolab_kit::page::Page;

/// The impact store.
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

/// ABORTED unless exactly one row was deleted: a concurrent writer bumped the
/// revision between our read and our delete.
fn one_row(result: &sqlx::any::AnyQueryResult, resource: &str, revision: i64) -> Result<(), Error> {
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::Aborted {
            resource: resource.to_string(),
            etag: format!("r{revision}"),
        })
    }
}
