//! Persistence of the membership domain. The only module that knows SQL.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: the SQL is written in the dialect both accept, and the shared test
//! suite runs against both.

pub mod export;
mod groups;
mod memberships;
mod organizations;
mod people;
mod posts;
mod references;

use innolab_kit::Error;
use innolab_kit::changes::{self, ChangeType};
use innolab_kit::db::{Database, EmbeddedMigration, Migrations};
pub(crate) use innolab_kit::sql::{and_in, and_page, and_text, paginate};
use innolab_kit::store::{ChangeLog, bump_revision, revision};
pub(crate) use innolab_kit::store::{
    check_etag, date, date_text, existing_request, from_json, json, meta, new_id, opt,
    retry_on_conflict, text, vocab,
};
use sqlx::Row;

/// The schema, for both backends.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: SCHEMA,
    postgres: SCHEMA,
};

const SCHEMA: &[EmbeddedMigration] = &[
    innolab_kit::migration!("../../migrations/0001_network.sql"),
    innolab_kit::changes::migration(2),
    innolab_kit::migration!("../../migrations/0003_actors.sql"),
];

pub use innolab_kit::page::Page;

/// The membership store.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store on a (migrated) database.
    pub fn new(db: Database) -> Self {
        Store { db }
    }

    /// Logs the creation of `resource` inside its transaction.
    async fn created(
        &self,
        tx: &mut innolab_kit::db::Tx,
        resource: &str,
        now: i64,
    ) -> Result<(), Error> {
        changes::record(&self.db, tx, resource, ChangeType::Created, 1, now).await?;
        Ok(())
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

/// The id inside an already validated resource name.
fn id_of(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Whether a row exists.
async fn exists(tx: &mut innolab_kit::db::Tx, table: &str, id: &str) -> Result<bool, Error> {
    let row = sqlx::query(&format!("SELECT 1 AS one FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// INVALID_ARGUMENT unless the referenced row exists.
async fn require_reference(
    tx: &mut innolab_kit::db::Tx,
    table: &str,
    field: &str,
    name: &str,
) -> Result<(), Error> {
    if exists(tx, table, id_of(name)).await? {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("{name} does not exist")))
    }
}

/// Refuses an unknown row (NOT_FOUND) or a stale `expected` revision
/// (ABORTED), then bumps the revision and logs the update (the kit's
/// `bump_revision`), before the transaction's other writes.
async fn bump_checked(
    db: &Database,
    tx: &mut innolab_kit::db::Tx,
    table: &str,
    id: &str,
    resource: &str,
    expected: Option<i64>,
    now: i64,
) -> Result<i64, Error> {
    let current = revision(tx, table, id, resource).await?;
    check_etag(resource, current, expected)?;
    bump_revision(db, tx, table, id, resource, current, now).await
}

/// Parent chains longer than this are refused (and cycles with them).
const MAX_DEPTH: usize = 32;

/// Refuses a parent that is the record itself or one of its descendants.
async fn check_no_cycle(
    tx: &mut innolab_kit::db::Tx,
    table: &str,
    field: &str,
    id: &str,
    parent_id: &str,
) -> Result<(), Error> {
    let mut current = Some(parent_id.to_string());
    for _ in 0..MAX_DEPTH {
        let Some(ancestor) = current else {
            return Ok(());
        };
        if ancestor == id {
            return Err(Error::invalid(
                field,
                "would make the record its own ancestor",
            ));
        }
        current = sqlx::query(&format!("SELECT parent_id FROM {table} WHERE id = $1"))
            .bind(&ancestor)
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get::<Option<String>, _>("parent_id"))
            .transpose()?
            .flatten();
    }
    Err(Error::invalid(
        field,
        format!("parent chains are limited to {MAX_DEPTH} levels"),
    ))
}

/// Maps a unique violation on insert to ALREADY_EXISTS with a clear message.
fn conflict(error: sqlx::Error, resource: &str, message: &str) -> Error {
    innolab_kit::store::conflict(
        error,
        Error::AlreadyExists {
            resource: resource.to_string(),
            message: message.to_string(),
        },
    )
}
