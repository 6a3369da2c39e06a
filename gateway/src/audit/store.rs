//! The audit log's table (the only module of the gateway that sees sqlx).

use innolab_kit::db::{Database, Migrations};
use innolab_kit::error::Error;
use sqlx::Row;

use super::Entry;
use super::checkpoint::Checkpoint;
use super::user::{self, UserKey};

/// The schema, one list per backend.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        innolab_kit::migration!("../../migrations/sqlite/0001_audit.sql"),
        innolab_kit::migration!("../../migrations/sqlite/0002_checkpoints.sql"),
        innolab_kit::migration!("../../migrations/sqlite/0003_user_index.sql"),
        innolab_kit::migration!("../../migrations/sqlite/0004_resource_index.sql"),
    ],
    postgres: &[
        innolab_kit::migration!("../../migrations/postgres/0001_audit.sql"),
        innolab_kit::migration!("../../migrations/postgres/0002_no_truncate.sql"),
        innolab_kit::migration!("../../migrations/postgres/0003_checkpoints.sql"),
        innolab_kit::migration!("../../migrations/postgres/0004_user_index.sql"),
        innolab_kit::migration!("../../migrations/postgres/0005_resource_index.sql"),
    ],
};

const COLUMNS: &str = "sequence, time, client_id, user_id, issue, method, resource, request_id, \
     outcome, request_sha256, response_sha256, previous_hash, hash";

/// Which entries [`Store::list`] returns; every entry by default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Only<'a> {
    /// This client's entries.
    pub client: Option<&'a str>,
    /// This end user's entries: the id in clear (hashed here with the
    /// log's key, as [`Store::append`] keeps it) or a stored keyed hash.
    pub user: Option<&'a str>,
}

/// The audit table.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    /// The key every end-user id is hashed with before it is chained;
    /// `None` keeps ids in clear (development).
    user_key: Option<UserKey>,
}

impl Store {
    /// Over `db` (migrated), end users in clear.
    pub fn new(db: Database) -> Store {
        Store { db, user_key: None }
    }

    /// The same store, hashing end-user ids with `key`.
    pub fn with_user_key(mut self, key: Option<UserKey>) -> Store {
        self.user_key = key;
        self
    }

    /// Whether the audit database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        self.db.ping().await
    }

    /// Appends `entry` after the last one, chaining its hash; one writer at a
    /// time (the database's write lock), so the chain has no fork. Its end
    /// user is kept as the keyed hash (in clear without a key).
    pub async fn append(&self, mut entry: Entry) -> Result<Entry, Error> {
        entry.user_id = user::stored(self.user_key.as_ref(), &entry.user_id);
        let mut tx = self.db.begin().await?;
        let last =
            sqlx::query("SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (sequence, previous) = match last {
            Some(row) => (
                row.try_get::<i64, _>("sequence")? + 1,
                row.try_get::<String, _>("hash")?,
            ),
            None => (1, super::GENESIS.to_string()),
        };
        entry.sequence = sequence;
        entry.previous_hash = previous;
        entry.hash = entry.chain_hash();
        sqlx::query(&format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(entry.sequence)
        .bind(entry.time_micros)
        .bind(&entry.client_id)
        .bind(&entry.user_id)
        .bind(&entry.issue)
        .bind(&entry.method)
        .bind(&entry.resource)
        .bind(&entry.request_id)
        .bind(&entry.outcome)
        .bind(&entry.request_sha256)
        .bind(&entry.response_sha256)
        .bind(&entry.previous_hash)
        .bind(&entry.hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Entries after `after`, oldest first, at most `limit`, of those `only`
    /// names.
    pub async fn list(&self, after: i64, limit: i64, only: Only<'_>) -> Result<Vec<Entry>, Error> {
        let user = only.user.map(|u| user::searched(self.user_key.as_ref(), u));
        let mut conditions = vec!["sequence > $1".to_string()];
        let mut values = Vec::new();
        for (column, value) in [("client_id", only.client), ("user_id", user.as_deref())] {
            if let Some(value) = value {
                values.push(value);
                conditions.push(format!("{column} = ${}", values.len() + 1));
            }
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {} ORDER BY sequence LIMIT ${}",
            conditions.join(" AND "),
            values.len() + 2
        );
        let mut query = sqlx::query(&sql).bind(after);
        for value in values {
            query = query.bind(value);
        }
        let rows = query.bind(limit).fetch_all(self.db.pool()).await?;
        rows.iter().map(entry).collect()
    }
}

impl Store {
    /// Every entry about `resource` (the record the call named), and every
    /// entry of the end user `user` when given (as [`Only::user`] reads it),
    /// oldest first.
    pub async fn about(&self, resource: &str, user: Option<&str>) -> Result<Vec<Entry>, Error> {
        let rows = match user.map(|u| user::searched(self.user_key.as_ref(), u)) {
            Some(user) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM audit_log WHERE resource = $1 OR user_id = $2 \
                     ORDER BY sequence"
                ))
                .bind(resource)
                .bind(user)
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM audit_log WHERE resource = $1 ORDER BY sequence"
                ))
                .bind(resource)
                .fetch_all(self.db.pool())
                .await?
            }
        };
        rows.iter().map(entry).collect()
    }

    /// Keeps a signed checkpoint beside the log.
    pub async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO audit_checkpoint (sequence, hash, time, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(checkpoint.sequence)
        .bind(&checkpoint.hash)
        .bind(checkpoint.time_micros)
        .bind(&checkpoint.key_id)
        .bind(&checkpoint.signature)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Every checkpoint kept in the database, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>, Error> {
        let rows = sqlx::query(
            "SELECT sequence, hash, time, key_id, signature FROM audit_checkpoint \
             ORDER BY sequence, time",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Checkpoint {
                    sequence: row.try_get("sequence")?,
                    hash: row.try_get("hash")?,
                    time_micros: row.try_get("time")?,
                    key_id: row.try_get("key_id")?,
                    signature: row.try_get("signature")?,
                })
            })
            .collect()
    }
}

fn entry(row: &sqlx::any::AnyRow) -> Result<Entry, Error> {
    Ok(Entry {
        sequence: row.try_get("sequence")?,
        time_micros: row.try_get("time")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        issue: row.try_get("issue")?,
        method: row.try_get("method")?,
        resource: row.try_get("resource")?,
        request_id: row.try_get("request_id")?,
        outcome: row.try_get("outcome")?,
        request_sha256: row.try_get("request_sha256")?,
        response_sha256: row.try_get("response_sha256")?,
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
    })
}
