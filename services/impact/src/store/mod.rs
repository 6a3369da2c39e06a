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
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value, like_escape};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

pub use load::LoadItem;

use crate::domain::Meta;

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
    EmbeddedMigration {
        version: 3,
        description: "change log",
        sql: include_str!("../../migrations/0003_change_log.sql"),
    },
    EmbeddedMigration {
        version: 4,
        description: "rollup counts",
        sql: include_str!("../../migrations/0004_rollup_counts.sql"),
    },
];

/// A page of results and the cursor after it (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Keyset position after the last item, when more may follow.
    pub next: Option<String>,
}

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

/// A fresh, time-ordered id.
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn meta(row: &AnyRow) -> Result<Meta, Error> {
    Ok(Meta {
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        revision: row.try_get("revision")?,
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, Error> {
    serde_json::from_str(value).map_err(|e| Error::Internal(format!("stored JSON: {e}")))
}

/// Looks up what a retried create stored the first time.
async fn existing_request(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    request_id: Option<&str>,
) -> Result<Option<String>, Error> {
    let Some(request_id) = request_id else {
        return Ok(None);
    };
    let row = sqlx::query(&format!("SELECT id FROM {table} WHERE request_id = $1"))
        .bind(request_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Runs an idempotent insert; when it loses a race against a concurrent retry
/// of the same request (a unique violation), runs it again, which then finds
/// the winner's row by its request id.
async fn retry_on_conflict<F, Fut>(request_id: Option<&str>, insert: F) -> Result<String, Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<String, Error>>,
{
    match insert().await {
        Err(Error::AlreadyExists { .. }) if request_id.is_some() => insert().await,
        other => other,
    }
}

/// ABORTED when the caller's etag names another revision than `meta`'s, so a
/// stale caller learns that before any rule about the current state.
fn check_etag(resource: &str, meta: &Meta, expected: Option<i64>) -> Result<(), Error> {
    match expected {
        Some(expected) if expected != meta.revision => Err(Error::Aborted {
            resource: resource.to_string(),
            etag: format!("r{expected}"),
        }),
        _ => Ok(()),
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

/// Appends `AND column IN (...)` when `values` is not empty.
fn and_in<T>(sql: &mut Sql, column: &str, values: &[T], to_value: impl Fn(&T) -> Value) {
    if !values.is_empty() {
        sql.push(" AND ").push(column).push(" IN ");
        sql.bind_list(values.iter().map(to_value));
    }
}

/// Appends one `AND <column> LIKE ...` per free-text term.
fn and_text(sql: &mut Sql, column: &str, terms: &[String]) {
    for term in terms {
        sql.push(" AND ")
            .push(column)
            .push(" LIKE ")
            .bind(format!("%{}%", like_escape(term)))
            .push(" ESCAPE '\\'");
    }
}

/// Appends the keyset condition, order and limit (one extra row tells whether
/// another page follows).
fn and_page(sql: &mut Sql, column: &str, page: &PageRequest) {
    if let Some(after) = &page.after {
        sql.push(" AND ")
            .push(column)
            .push(" > ")
            .bind(after.clone());
    }
    sql.push(" ORDER BY ").push(column).push(" LIMIT ");
    sql.bind(i64::try_from(page.size + 1).unwrap_or(i64::MAX));
}

/// Cuts the extra row off and derives the cursor.
fn paginate<T>(mut items: Vec<T>, page: &PageRequest, id: impl Fn(&T) -> &str) -> Page<T> {
    let next = if items.len() > page.size {
        items.truncate(page.size);
        items.last().map(|last| id(last).to_string())
    } else {
        None
    };
    Page { items, next }
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
