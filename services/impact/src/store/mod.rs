//! Persistence of the impact domain. The only module that knows SQL.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: the SQL is written in the dialect both accept, and the shared test
//! suite runs against both.

mod assessments;
mod capacity;
mod indicators;
mod load;
mod rollup;

use innolab_kit::Error;
use innolab_kit::changes::{self, ChangeType};
use innolab_kit::db::{Database, EmbeddedMigration, Migrations};
pub(crate) use innolab_kit::sql::{and_in, and_page, and_text, paginate};
pub(crate) use innolab_kit::store::{
    check_etag, existing_request, from_json, json, meta, new_id, retry_on_conflict,
};
use sqlx::{Any, Transaction};

pub use load::LoadItem;

/// The schema, for both backends.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: SCHEMA,
    postgres: SCHEMA,
};

const SCHEMA: &[EmbeddedMigration] = &[
    EmbeddedMigration {
        version: 1,
        description: "impact",
        sql: include_str!("../../migrations/0001_impact.sql"),
    },
    EmbeddedMigration {
        version: 2,
        description: "capacity",
        sql: include_str!("../../migrations/0002_capacity.sql"),
    },
    innolab_kit::changes::migration(3),
    EmbeddedMigration {
        version: 4,
        description: "rollup counts",
        sql: include_str!("../../migrations/0004_rollup_counts.sql"),
    },
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

    /// The change log, from `after`, as a stream of batches.
    pub fn changes(&self, after: i64, follow: bool) -> changes::Feed {
        changes::stream(self.db.clone(), after, follow)
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>, Error> {
        self.db.begin().await
    }
}

/// ABORTED unless exactly one row was written: a concurrent writer bumped the
/// revision between our read and our write.
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

/// Logs a change of `resource` inside the writing transaction.
async fn log(
    db: &Database,
    tx: &mut Transaction<'static, Any>,
    resource: &str,
    change_type: ChangeType,
    revision: i64,
    now: i64,
) -> Result<(), Error> {
    changes::record(db, tx, resource, change_type, revision, now).await?;
    Ok(())
}
