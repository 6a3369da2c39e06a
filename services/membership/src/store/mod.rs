//! Persistence of the membership domain. The only module that knows SQL.
//!
//! One implementation serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: the SQL is written in the dialect both accept, and the shared test
//! suite runs against both.

mod groups;
mod memberships;
mod organizations;
mod people;
mod posts;

use innolab_kit::Error;
use innolab_kit::changes::{self, ChangeType};
use innolab_kit::db::{Database, EmbeddedMigration, Migrations, is_unique_violation};
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value, like_escape};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::domain::{Date, Meta};

/// The schema, for both backends.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: SCHEMA,
    postgres: SCHEMA,
};

const SCHEMA: &[EmbeddedMigration] = &[
    EmbeddedMigration {
        version: 1,
        description: "network",
        sql: include_str!("../../migrations/0001_network.sql"),
    },
    EmbeddedMigration {
        version: 2,
        description: "change log",
        sql: include_str!("../../migrations/0002_change_log.sql"),
    },
];

/// A page of results and the cursor after it (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Keyset position after the last item, when more may follow.
    pub next: Option<String>,
}

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

    /// The change log, from `after`, as a stream of batches.
    pub fn changes(&self, after: i64, follow: bool) -> changes::Feed {
        changes::stream(self.db.clone(), after, follow)
    }

    /// Logs the creation of `resource` inside its transaction.
    async fn created(
        &self,
        tx: &mut Transaction<'static, Any>,
        resource: &str,
        now: i64,
    ) -> Result<(), Error> {
        changes::record(&self.db, tx, resource, ChangeType::Created, 1, now).await?;
        Ok(())
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>, Error> {
        self.db.begin().await
    }
}

/// A fresh, time-ordered id.
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The id inside an already validated resource name.
fn id_of(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn opt(value: &str) -> Option<&str> {
    if value.is_empty() { None } else { Some(value) }
}

fn meta(row: &AnyRow) -> Result<Meta, Error> {
    Ok(Meta {
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        revision: row.try_get("revision")?,
    })
}

fn text(row: &AnyRow, column: &str) -> Result<String, Error> {
    Ok(row
        .try_get::<Option<String>, _>(column)?
        .unwrap_or_default())
}

fn date(value: Option<String>) -> Result<Option<Date>, Error> {
    value
        .map(|v| {
            Date::parse(&v, &time::format_description::well_known::Iso8601::DATE)
                .map_err(|e| Error::Internal(format!("stored date {v:?}: {e}")))
        })
        .transpose()
}

fn date_text(value: Option<Date>) -> Option<String> {
    value.map(|d| d.to_string())
}

fn vocab<T>(value: &str, parse: fn(&str) -> Option<T>) -> Result<T, Error> {
    parse(value).ok_or_else(|| Error::Internal(format!("unknown stored value {value:?}")))
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

/// Whether a row exists.
async fn exists(tx: &mut Transaction<'static, Any>, table: &str, id: &str) -> Result<bool, Error> {
    let row = sqlx::query(&format!("SELECT 1 AS one FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// INVALID_ARGUMENT unless the referenced row exists.
async fn require_reference(
    tx: &mut Transaction<'static, Any>,
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

/// Checks the caller's etag against the stored revision and bumps it, logging
/// the change; the `WHERE revision = ...` guard makes a concurrent writer lose
/// cleanly.
async fn bump_revision(
    db: &Database,
    tx: &mut Transaction<'static, Any>,
    table: &str,
    id: &str,
    resource: &str,
    expected: Option<i64>,
    now: i64,
) -> Result<i64, Error> {
    let row = sqlx::query(&format!("SELECT revision FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::not_found(resource))?;
    let current: i64 = row.try_get("revision")?;
    if let Some(expected) = expected
        && expected != current
    {
        return Err(Error::Aborted {
            resource: resource.to_string(),
            etag: format!("r{expected}"),
        });
    }
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
    changes::record(db, tx, resource, ChangeType::Updated, current + 1, now).await?;
    Ok(current + 1)
}

/// Parent chains longer than this are refused (and cycles with them).
const MAX_DEPTH: usize = 32;

/// Refuses a parent that is the record itself or one of its descendants.
async fn check_no_cycle(
    tx: &mut Transaction<'static, Any>,
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
    if is_unique_violation(&error) {
        Error::AlreadyExists {
            resource: resource.to_string(),
            message: message.to_string(),
        }
    } else {
        error.into()
    }
}

/// Appends `AND column IN (...)` when `values` is not empty.
fn and_in<T>(sql: &mut Sql, column: &str, values: &[T], to_value: impl Fn(&T) -> Value) {
    if !values.is_empty() {
        sql.push(" AND ").push(column).push(" IN ");
        sql.bind_list(values.iter().map(to_value));
    }
}

/// Appends one `AND search_text LIKE ...` per free-text term.
fn and_text(sql: &mut Sql, terms: &[String]) {
    for term in terms {
        sql.push(" AND search_text LIKE ")
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
