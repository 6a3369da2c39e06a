//! The subscriptions' tables (with `audit/store.rs`, the only modules of the
//! gateway that see sqlx).

use innolab_kit::db::{Database, Migrations, now_micros};
use innolab_kit::error::Error;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Delivery, Filter, State, Subscription};

/// The schema: one text for both backends.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        innolab_kit::migration!("../../migrations/subscriptions/0001_subscriptions.sql"),
        innolab_kit::migration!("../../migrations/subscriptions/0002_initiative_filter.sql"),
    ],
    postgres: &[
        innolab_kit::migration!("../../migrations/subscriptions/0001_subscriptions.sql"),
        innolab_kit::migration!("../../migrations/subscriptions/0002_initiative_filter.sql"),
    ],
};

const COLUMNS: &str = "id, owner, endpoint, services, resource_kinds, initiative_countries, \
     initiative_organizations, description, state, \
     disabled_reason, secret, previous_secret, previous_expires, cursor, cursor_epoch, \
     failing_since, attempts, next_attempt, skip_before, request_id, created, updated, revision";

/// What a call's [`Store::save`] does to the delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Leaves it as the dispatcher keeps it.
    Keep,
    /// The next attempt at once (a new endpoint).
    RetryNow,
    /// Forgets the failure of the current change (enabled again).
    ClearFailure,
    /// Starts again from the subscription's `cursor` (a replay): a new
    /// epoch, so the dispatcher restarts and its progress under the old
    /// one is refused.
    Restart,
}

/// The subscriptions and their deliveries.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn row(r: &AnyRow) -> Result<Subscription, Error> {
    Ok(Subscription {
        id: r.try_get("id")?,
        owner: r.try_get("owner")?,
        endpoint: r.try_get("endpoint")?,
        filter: Filter {
            services: list(&r.try_get::<String, _>("services")?),
            resource_kinds: list(&r.try_get::<String, _>("resource_kinds")?),
            initiative_countries: list(&r.try_get::<String, _>("initiative_countries")?),
            initiative_organizations: list(&r.try_get::<String, _>("initiative_organizations")?),
        },
        description: r.try_get("description")?,
        state: if r.try_get::<String, _>("state")? == "DISABLED" {
            State::Disabled
        } else {
            State::Active
        },
        disabled_reason: r.try_get("disabled_reason")?,
        secret: r.try_get("secret")?,
        previous_secret: r.try_get("previous_secret")?,
        previous_expires: r.try_get("previous_expires")?,
        cursor: r.try_get("cursor")?,
        cursor_epoch: r.try_get("cursor_epoch")?,
        failing_since: r.try_get("failing_since")?,
        attempts: r.try_get("attempts")?,
        next_attempt: r.try_get("next_attempt")?,
        skip_before: r.try_get("skip_before")?,
        created: r.try_get("created")?,
        updated: r.try_get("updated")?,
        revision: r.try_get("revision")?,
    })
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Active => "ACTIVE",
        State::Disabled => "DISABLED",
    }
}

impl Store {
    /// Over `db` (migrated).
    pub fn new(db: Database) -> Store {
        Store { db }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        self.db.ping().await
    }

    /// Stores a new subscription; with a request id already used, the
    /// subscription it created (and `false`).
    pub async fn create(
        &self,
        s: &Subscription,
        request_id: Option<&str>,
    ) -> Result<(Subscription, bool), Error> {
        let mut tx = self.db.begin().await?;
        if let Some(key) = request_id {
            let found = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM subscriptions WHERE request_id = $1"
            ))
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(found) = found {
                return Ok((row(&found)?, false));
            }
        }
        sqlx::query(&format!(
            "INSERT INTO subscriptions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $14, $15, $6, $7, \
             $8, $9, NULL, NULL, $10, 0, NULL, 0, NULL, $11, $12, $13, $13, 1)"
        ))
        .bind(&s.id)
        .bind(&s.owner)
        .bind(&s.endpoint)
        .bind(json(&s.filter.services))
        .bind(json(&s.filter.resource_kinds))
        .bind(&s.description)
        .bind(state_name(s.state))
        .bind(&s.disabled_reason)
        .bind(&s.secret)
        .bind(&s.cursor)
        .bind(s.skip_before)
        .bind(request_id)
        .bind(s.created)
        .bind(json(&s.filter.initiative_countries))
        .bind(json(&s.filter.initiative_organizations))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((self.get(&s.id).await?, true))
    }

    /// One subscription.
    pub async fn get(&self, id: &str) -> Result<Subscription, Error> {
        let found = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        match found {
            Some(r) => row(&r),
            None => Err(Error::NotFound {
                resource: format!("subscriptions/{id}"),
            }),
        }
    }

    /// A page of subscriptions after `after` (an id), oldest first; only
    /// `owner`'s when given.
    pub async fn list(
        &self,
        owner: Option<&str>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Subscription>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE id > $1 AND ($2 = '' OR owner = $2) \
             ORDER BY id LIMIT $3"
        ))
        .bind(after)
        .bind(owner.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// The ids of the active subscriptions.
    pub async fn active(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT id FROM subscriptions WHERE state = 'ACTIVE' ORDER BY id")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(Error::from))
            .collect()
    }

    /// Writes what a call changed (endpoint, filter, description, state,
    /// secrets), if the stored revision is still `revision`, and what it
    /// does to the delivery state (`progress`): the dispatcher's own
    /// progress (cursor, failure) is never written back from the call's
    /// copy, so a call made while a change is delivered does not undo it.
    pub async fn save(
        &self,
        s: &Subscription,
        revision: i64,
        progress: Progress,
    ) -> Result<Subscription, Error> {
        let then = match progress {
            Progress::Keep => "",
            Progress::RetryNow => ", next_attempt = NULL",
            Progress::ClearFailure => ", failing_since = NULL, attempts = 0, next_attempt = NULL",
            Progress::Restart => {
                ", cursor = $15, cursor_epoch = cursor_epoch + 1, skip_before = 0, \
                 failing_since = NULL, attempts = 0, next_attempt = NULL"
            }
        };
        let sql = format!(
            "UPDATE subscriptions SET endpoint = $1, services = $2, resource_kinds = $3, \
             description = $4, state = $5, disabled_reason = $6, secret = $7, \
             previous_secret = $8, previous_expires = $9, updated = $10, \
             initiative_countries = $11, initiative_organizations = $12, \
             revision = revision + 1{then} WHERE id = $13 AND revision = $14"
        );
        let mut tx = self.db.begin().await?;
        let mut query = sqlx::query(&sql)
            .bind(&s.endpoint)
            .bind(json(&s.filter.services))
            .bind(json(&s.filter.resource_kinds))
            .bind(&s.description)
            .bind(state_name(s.state))
            .bind(&s.disabled_reason)
            .bind(&s.secret)
            .bind(s.previous_secret.as_deref())
            .bind(s.previous_expires)
            .bind(now_micros())
            .bind(json(&s.filter.initiative_countries))
            .bind(json(&s.filter.initiative_organizations))
            .bind(&s.id)
            .bind(revision);
        if matches!(progress, Progress::Restart) {
            query = query.bind(&s.cursor);
        }
        let done = query.execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(Error::Aborted {
                resource: format!("subscriptions/{}", s.id),
                etag: format!("r{revision}"),
            });
        }
        tx.commit().await?;
        self.get(&s.id).await
    }

    /// Deletes a subscription and its deliveries; whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, Error> {
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM deliveries WHERE subscription_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The dispatcher's progress: the cursor reached and the failure state,
    /// unless a replay moved the cursor (another epoch) or the
    /// subscription is gone. Whether it was written.
    pub async fn progress(&self, s: &Subscription) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE subscriptions SET cursor = $1, failing_since = $2, attempts = $3, \
             next_attempt = $4, state = $5, disabled_reason = $6 \
             WHERE id = $7 AND cursor_epoch = $8 AND state = 'ACTIVE'",
        )
        .bind(&s.cursor)
        .bind(s.failing_since)
        .bind(s.attempts)
        .bind(s.next_attempt)
        .bind(state_name(s.state))
        .bind(&s.disabled_reason)
        .bind(&s.id)
        .bind(s.cursor_epoch)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Appends one delivery attempt to the subscription's log.
    pub async fn record(&self, subscription: &str, d: &Delivery) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let last = sqlx::query(
            "SELECT COALESCE(MAX(sequence), 0) AS last FROM deliveries WHERE subscription_id = $1",
        )
        .bind(subscription)
        .fetch_one(&mut *tx)
        .await?;
        let next = last.try_get::<i64, _>("last")? + 1;
        sqlx::query(
            "INSERT INTO deliveries (subscription_id, sequence, webhook_id, resource, attempt, \
             time, http_status, delivered, error, cursor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(subscription)
        .bind(next)
        .bind(&d.webhook_id)
        .bind(&d.resource)
        .bind(d.attempt)
        .bind(d.time)
        .bind(d.http_status)
        .bind(i64::from(d.delivered))
        .bind(&d.error)
        .bind(&d.cursor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes delivery attempts older than `before` (microseconds); how many.
    pub async fn prune(&self, before: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM deliveries WHERE time < $1")
            .bind(before)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// A page of a subscription's deliveries after `after`, oldest first.
    pub async fn deliveries(
        &self,
        subscription: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, Error> {
        let rows = sqlx::query(
            "SELECT sequence, webhook_id, resource, attempt, time, http_status, delivered, \
             error, cursor FROM deliveries WHERE subscription_id = $1 AND sequence > $2 \
             ORDER BY sequence LIMIT $3",
        )
        .bind(subscription)
        .bind(after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    sequence: r.try_get("sequence")?,
                    webhook_id: r.try_get("webhook_id")?,
                    resource: r.try_get("resource")?,
                    attempt: r.try_get("attempt")?,
                    time: r.try_get("time")?,
                    http_status: r.try_get("http_status")?,
                    delivered: r.try_get::<i64, _>("delivered")? != 0,
                    error: r.try_get("error")?,
                    cursor: r.try_get("cursor")?,
                })
            })
            .collect()
    }

    /// Takes or renews the lease `name` for `holder` until `until`
    /// (microseconds); whether `holder` holds it now.
    pub async fn lease(&self, name: &str, holder: &str, until: i64) -> Result<bool, Error> {
        let now = now_micros();
        let mut tx = self.db.begin().await?;
        let current = sqlx::query("SELECT holder, expires FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let ours = match current {
            None => {
                sqlx::query("INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3)")
                    .bind(name)
                    .bind(holder)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                true
            }
            Some(r) => {
                let by: String = r.try_get("holder")?;
                let expires: i64 = r.try_get("expires")?;
                if by == holder || expires < now {
                    sqlx::query("UPDATE leases SET holder = $1, expires = $2 WHERE name = $3")
                        .bind(holder)
                        .bind(until)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                    true
                } else {
                    false
                }
            }
        };
        tx.commit().await?;
        Ok(ours)
    }
}
