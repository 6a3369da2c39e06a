//! Bulk import: many initiatives per transaction, with multi-row INSERTs, and
//! per-row idempotency keys so that a retried import stores nothing twice.

use std::collections::{HashMap, HashSet};

use innolab_kit::db::{Backend, now_micros};
use innolab_kit::sql::{Sql, Value};
use innolab_kit::{Error, Violations};
use sqlx::Row;
use tokio::sync::oneshot;

use super::initiatives::insert_terms;
use super::*;
use crate::domain::similar::Indexed;
use crate::domain::{InitiativeFields, Stage, Status};

/// One validated row of an import.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// 1-based position in the stream.
    pub position: i64,
    /// The initiative.
    pub fields: InitiativeFields,
    /// Where it stands.
    pub stage: Stage,
    /// Its status.
    pub status: Status,
    /// Idempotency key of this row (import key + position), if any.
    pub key: Option<String>,
}

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Stored now, with this id.
    Stored(String),
    /// Stored by an earlier attempt, with this id.
    AlreadyStored(String),
    /// Refused (INVALID_ARGUMENT).
    Refused(Error),
}

/// How long a batch waits for the previous batch of its import to be stored
/// before giving up (see `import_batch_once`).
const TURN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Rows per multi-row INSERT: keeps bound parameters (16 per row) well under
/// both backends' limits.
const ROWS_PER_STATEMENT: usize = 200;

impl Store {
    /// Stores a batch of rows in one transaction; rows naming a challenge that
    /// does not exist are refused and the others stored. Any other failure
    /// stores none of the batch.
    pub async fn import_batch(
        &self,
        rows: &[ImportRow],
        actor: &str,
        after: Option<oneshot::Receiver<bool>>,
    ) -> Result<Vec<RowOutcome>, Error> {
        let mut after = after;
        // The rows' idempotency keys are checked before the write lock is
        // taken: a concurrent retry of the same import may store some of them
        // first. Run again, which then finds them stored.
        match self.import_batch_once(rows, actor, &mut after).await {
            Err(Error::AlreadyExists { .. }) if rows.iter().any(|r| r.key.is_some()) => {
                self.import_batch_once(rows, actor, &mut after).await
            }
            other => other,
        }
    }

    async fn import_batch_once(
        &self,
        rows: &[ImportRow],
        actor: &str,
        after: &mut Option<oneshot::Receiver<bool>>,
    ) -> Result<Vec<RowOutcome>, Error> {
        // Inserts of new rows first, the change log (and its lock) last.
        let mut tx = self.db.begin_deferred().await?;
        let keys: Vec<&str> = rows.iter().filter_map(|r| r.key.as_deref()).collect();
        let mut existing: HashMap<String, String> = HashMap::new();
        for chunk in keys.chunks(500) {
            let mut sql = Sql::new("SELECT request_id, id FROM initiatives WHERE request_id IN ");
            sql.bind_list(chunk.iter().map(|k| Value::from(*k)));
            for row in sql.build().fetch_all(&mut *tx).await? {
                existing.insert(row.try_get("request_id")?, row.try_get("id")?);
            }
        }
        let named: HashSet<String> = rows
            .iter()
            .flat_map(|r| r.fields.challenges.iter())
            .map(|c| c.rsplit('/').next().unwrap_or(c).to_string())
            .collect();
        let mut challenges: HashSet<String> = HashSet::new();
        let named: Vec<String> = named.into_iter().collect();
        for chunk in named.chunks(500) {
            let mut sql = Sql::new("SELECT id FROM challenges WHERE id IN ");
            sql.bind_list(chunk.iter().map(|c| Value::from(c.as_str())));
            for row in sql.build().fetch_all(&mut *tx).await? {
                challenges.insert(row.try_get("id")?);
            }
        }

        let mut outcomes = Vec::with_capacity(rows.len());
        let mut new_rows: Vec<(String, &ImportRow)> = Vec::new();
        for row in rows {
            if let Some(id) = row.key.as_ref().and_then(|k| existing.get(k)) {
                outcomes.push(RowOutcome::AlreadyStored(id.clone()));
                continue;
            }
            let mut v = Violations::new();
            for (i, c) in row.fields.challenges.iter().enumerate() {
                if !challenges.contains(c.rsplit('/').next().unwrap_or(c)) {
                    v.add(
                        format!("initiative.challenges[{i}]"),
                        format!("{c} does not exist"),
                    );
                }
            }
            match v.finish() {
                Err(e) => outcomes.push(RowOutcome::Refused(e)),
                Ok(()) => {
                    let id = new_id();
                    outcomes.push(RowOutcome::Stored(id.clone()));
                    new_rows.push((id, row));
                }
            }
        }

        let now = now_micros();
        for chunk in new_rows.chunks(ROWS_PER_STATEMENT) {
            // Each row's texts analysed once, for its terms and its profile.
            let indexed: Vec<Indexed> = chunk.iter().map(|(_, r)| r.fields.indexed()).collect();
            let mut sql = Sql::new(
                "INSERT INTO initiatives (id, body, country_code, nuts_code, government_level, \
                 sector, facet, stage, status, lead_organization, search_text, similar_profile, \
                 request_id, revision, create_time, update_time) VALUES ",
            );
            for (i, ((id, row), indexed)) in chunk.iter().zip(&indexed).enumerate() {
                let f = &row.fields;
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(").bind(id.as_str()).push(", ");
                sql.bind(json(f)?).push(", ");
                sql.bind(f.country_code.as_str()).push(", ");
                bind_opt(&mut sql, opt(&f.nuts_code));
                bind_opt(&mut sql, f.government_level.map(|l| l.as_str()));
                bind_opt(&mut sql, f.sector.map(|s| s.as_str()));
                bind_opt(&mut sql, f.facet.map(|x| x.as_str()));
                sql.bind(row.stage.as_str()).push(", ");
                sql.bind(row.status.as_str()).push(", ");
                sql.bind(f.lead_organization.as_str()).push(", ");
                sql.bind(f.search_text()).push(", ");
                sql.bind(json(indexed)?).push(", ");
                bind_opt(&mut sql, row.key.as_deref());
                sql.push("1, ").bind(now).push(", ").bind(now).push(")");
            }
            sql.build().execute(&mut *tx).await?;

            // The `word` terms (about two thirds of the rows) are indexed
            // after the import, by the background indexer (marked below).
            let terms: Vec<(&str, &'static str, String)> = chunk
                .iter()
                .zip(&indexed)
                .flat_map(|((id, row), indexed)| {
                    row.fields
                        .terms_with(&indexed.words)
                        .into_iter()
                        .filter(|(t, _)| *t != "word")
                        .map(move |(t, v)| (id.as_str(), t, v))
                })
                .collect();
            let terms: Vec<(&str, &str, &str)> = terms
                .iter()
                .map(|(id, term, value)| (*id, *term, value.as_str()))
                .collect();
            insert_terms(&self.db, &mut tx, &terms).await?;

            let mut sql = Sql::new(
                "INSERT INTO initiative_events (initiative_id, seq, from_stage, to_stage, \
                 from_status, to_status, actor, note, event_time) VALUES ",
            );
            for (i, (id, row)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind(id.as_str())
                    .push(", 1, NULL, ")
                    .bind(row.stage.as_str())
                    .push(", NULL, ")
                    .bind(row.status.as_str())
                    .push(", ")
                    .bind(actor)
                    .push(", ")
                    .bind(format!("imported (row {})", row.position))
                    .push(", ")
                    .bind(now)
                    .push(")");
            }
            sql.build().execute(&mut *tx).await?;
        }
        // Last, the writes every writer serialises on: one change per stored
        // row (the change-log lock, taken here once for the whole batch and
        // held to the commit) and the kept counts. Rows above touch nothing
        // another writer does, so another batch can insert its rows while
        // this one waits for the lock or commits. The previous batch of the
        // same import logs first, so the log follows the stream's order.
        if let Some(previous) = after.take() {
            // PostgreSQL cannot see this wait, so it is bounded: a create
            // holding the write lock while it waits for one of this batch's
            // request ids (a client reusing an import's `key#position`)
            // would otherwise hold both batches for ever. If the previous
            // batch failed (or its task ended without a word), this one rolls
            // back too: an import never stores a batch after one it lost.
            match tokio::time::timeout(TURN_TIMEOUT, previous).await {
                Ok(Ok(true)) => {}
                Ok(_) => {
                    return Err(Error::Unavailable(
                        "import: an earlier batch failed; retry the import".into(),
                    ));
                }
                Err(_) => {
                    return Err(Error::Unavailable(
                        "import: the previous batch did not finish in time; retry the import"
                            .into(),
                    ));
                }
            }
        }
        let resources: Vec<String> = new_rows
            .iter()
            .map(|(id, _)| format!("initiatives/{id}"))
            .collect();
        changes::record_all(&self.db, &mut tx, &resources, ChangeType::Created, 1, now).await?;
        let mut deltas = CountDeltas::default();
        for (_, row) in &new_rows {
            deltas.add(row.fields.portfolio_facts(row.stage, row.status), 1);
        }
        deltas.apply(&mut tx).await?;
        if let Some(first) = new_rows.iter().map(|(id, _)| id.as_str()).min() {
            words_pending_from(&mut tx, first).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

impl Store {
    /// How many batches of one import to store at once: on PostgreSQL two
    /// transactions insert their rows side by side and take turns only for
    /// the change log and the counts; SQLite has one writer at a time.
    pub fn import_batches_in_flight(&self) -> usize {
        match self.db.backend() {
            Backend::Postgres => 2,
            Backend::Sqlite => 1,
        }
    }

    /// After an import that stored `stored` initiatives, vacuums and
    /// refreshes PostgreSQL's planner statistics when they grew the library
    /// by a tenth or more (autovacuum's default threshold, acted on at
    /// once). Until autovacuum gets there, up to minutes after a large load,
    /// the planner keeps the old row counts and may sort every match for one
    /// page (seen: 0.8 s instead of 0.5 ms for a filtered page over 1,000,000
    /// initiatives), and the new rows are not marked all-visible, so reading
    /// FindSimilar's postings cannot be an index-only scan (seen at 20,000
    /// initiatives: 65-109 ms for a query by initiative's postings in bitmap
    /// and sequential scans, 11-21 ms index-only after VACUUM). A vacuum
    /// skips the pages already all-visible, so one after each import costs
    /// about what the import added. SQLite keeps no statistics unless asked
    /// and plans these queries from the indexes alone.
    pub async fn refresh_statistics(&self, stored: i64) -> Result<(), Error> {
        if self.db.backend() != Backend::Postgres {
            return Ok(());
        }
        let total: Option<i64> = sqlx::query(
            "SELECT count FROM portfolio_counts WHERE dimension = 'total' AND value = ''",
        )
        .fetch_optional(self.db.pool())
        .await?
        .map(|row| row.try_get("count"))
        .transpose()?;
        if stored.saturating_mul(10) >= total.unwrap_or(0) {
            sqlx::query("VACUUM (ANALYZE) initiatives, initiative_terms, initiative_events")
                .execute(self.db.pool())
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// After the word indexer has indexed imported or earlier initiatives:
    /// PostgreSQL's terms vacuumed and analysed (see
    /// [`Store::refresh_statistics`]: the new postings become all-visible,
    /// read index-only); nothing on SQLite.
    pub async fn vacuum_terms(&self) -> Result<(), Error> {
        if self.db.backend() == Backend::Postgres {
            sqlx::query("VACUUM (ANALYZE) initiative_terms")
                .execute(self.db.pool())
                .await?;
        }
        Ok(())
    }
}

/// Marks the initiatives from `first` on as waiting for their `word` terms:
/// the indexer's cursor (`word_backfill`) is moved back to just before
/// `first` if it is past it, or made if there is none. Runs under the
/// change-log lock, so batches take turns.
async fn words_pending_from(tx: &mut innolab_kit::db::Tx, first: &str) -> Result<(), Error> {
    let before = "(SELECT COALESCE(MAX(id), '') FROM initiatives WHERE id < $1)";
    sqlx::query(&format!(
        "UPDATE word_backfill SET after = {before} WHERE after >= $1"
    ))
    .bind(first)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO word_backfill (after) SELECT {before} \
         WHERE NOT EXISTS (SELECT 1 FROM word_backfill)"
    ))
    .bind(first)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Binds an optional text followed by `, ` (NULL when absent).
fn bind_opt(sql: &mut Sql, value: Option<&str>) {
    match value {
        Some(v) => sql.bind(v).push(", "),
        None => sql.push("NULL, "),
    };
}
