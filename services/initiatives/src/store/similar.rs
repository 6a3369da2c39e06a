//! FindSimilar's candidates: the initiatives that share the most terms with
//! a query (its `word`, `tag` and `sdg` rows of `initiative_terms`, at most
//! `TERM_POSTINGS` per term, read on the terms' primary key and counted per
//! initiative), of which the best `CANDIDATES` are read as scoring needs
//! them (their columns and stored profile, migration 8, not their bodies);
//! and the newest challenges (`CHALLENGES_COMPARED`). Scoring is the
//! domain's (`domain::similar`). Also the background indexing of the
//! initiatives stored before the index existed (migrations 7 and 8).

use innolab_kit::Error;
use innolab_kit::db::Backend;
use innolab_kit::sql::{Sql, Value};
use sqlx::Row;

use super::*;
use crate::domain::similar::{
    CANDIDATES, CHALLENGES_COMPARED, Candidate, Indexed, MAX_QUERY_TERMS, Profile, TERM_POSTINGS,
};
use crate::domain::{Challenge, GovernmentFunction, InitiativeFields, Stage};

/// Initiatives indexed per transaction by the backfill.
const BACKFILL_BATCH: i64 = 200;
/// Rows per INSERT of the backfill (3 parameters each).
const BACKFILL_ROWS: usize = 300;

impl Store {
    /// The initiatives sharing the most terms, tags and SDGs with `query`
    /// (at most `CANDIDATES`), but `except`.
    pub async fn similar_initiatives(
        &self,
        query: &Profile,
        except: Option<&str>,
    ) -> Result<Vec<Candidate>, Error> {
        // The most specific words first (longest stems), whatever their
        // configuration, when a query has more than MAX_QUERY_TERMS; with
        // at most 50 tags and 17 SDGs the union stays within SQLite's 500
        // compound SELECTs.
        let mut words: Vec<&String> = query.words.iter().collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.split_once(':').map_or(0, |(_, s)| s.len())));
        words.truncate(MAX_QUERY_TERMS);
        let terms = words
            .into_iter()
            .map(|w| ("word", w.clone()))
            .chain(query.tags.iter().take(50).map(|t| ("tag", t.clone())))
            .chain(query.sdgs.iter().take(17).map(|s| ("sdg", s.to_string())));
        // Each term contributes at most TERM_POSTINGS initiatives (in id
        // order): a word that common says little, and reading all of its
        // postings would cost what scanning the library costs.
        let mut sql = Sql::new("SELECT initiative_id, COUNT(*) AS n FROM (");
        let mut first = true;
        for (term, value) in terms {
            if !first {
                sql.push(" UNION ALL ");
            }
            first = false;
            sql.push("SELECT initiative_id FROM (SELECT initiative_id FROM initiative_terms WHERE term = ")
                .bind(term)
                .push(" AND value = ")
                .bind(value)
                .push(" LIMIT ")
                .bind(TERM_POSTINGS)
                .push(") AS p");
        }
        if first {
            return Ok(Vec::new());
        }
        sql.push(") AS hits GROUP BY initiative_id ORDER BY n DESC, initiative_id LIMIT ")
            .bind(CANDIDATES + 1);
        let ids: Vec<Value> = sql
            .build()
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>("initiative_id"))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|id| Some(id.as_str()) != except)
            .map(Value::from)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Only what scoring needs: the stored profile, not the body.
        let mut sql = Sql::new(
            "SELECT id, stage, sector, country_code, lead_organization, similar_profile \
             FROM initiatives WHERE id IN ",
        );
        sql.bind_list(ids);
        let mut found = Vec::new();
        let mut unindexed = Vec::new();
        for row in sql.build().fetch_all(self.db.pool()).await? {
            let id: String = row.try_get("id")?;
            let stage = vocab(&text(&row, "stage")?, Stage::parse)?;
            let sector = opt(&text(&row, "sector")?)
                .map(|s| vocab(s, GovernmentFunction::parse))
                .transpose()?;
            let profile = match opt(&text(&row, "similar_profile")?) {
                Some(stored) => from_json::<Indexed>(stored)?.profile(sector, Some(stage)),
                None => {
                    // Stored before migration 8 and not indexed again yet.
                    unindexed.push(Value::from(id.as_str()));
                    Profile::default()
                }
            };
            found.push(Candidate {
                id,
                profile,
                organization: row.try_get("lead_organization")?,
                country_code: row.try_get("country_code")?,
            });
        }
        if !unindexed.is_empty() {
            let mut sql = Sql::new("SELECT id, stage, body FROM initiatives WHERE id IN ");
            sql.bind_list(unindexed);
            for row in sql.build().fetch_all(self.db.pool()).await? {
                let id: String = row.try_get("id")?;
                let stage = vocab(&text(&row, "stage")?, Stage::parse)?;
                let fields: InitiativeFields = from_json(&row.try_get::<String, _>("body")?)?;
                if let Some(c) = found.iter_mut().find(|c| c.id == id) {
                    c.profile = fields.profile(Some(stage));
                }
            }
        }
        Ok(found)
    }

    /// The descriptive fields of the initiatives `ids` (for their titles),
    /// by id.
    pub async fn initiative_fields(
        &self,
        ids: &[&str],
    ) -> Result<Vec<(String, InitiativeFields)>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT id, body FROM initiatives WHERE id IN ");
        sql.bind_list(ids.iter().map(|id| Value::from(*id)));
        sql.build()
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("id")?,
                    from_json(&row.try_get::<String, _>("body")?)?,
                ))
            })
            .collect()
    }

    /// The newest challenges (at most `CHALLENGES_COMPARED`), but `except`,
    /// without the initiatives answering them.
    pub async fn recent_challenges(&self, except: Option<&str>) -> Result<Vec<Challenge>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM challenges ORDER BY create_time DESC, id LIMIT $1",
            super::challenges::COLUMNS
        ))
        .bind(CHALLENGES_COMPARED)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(super::challenges::challenge)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|c| Some(c.id.as_str()) != except)
            .collect())
    }

    /// Indexes the `word` terms (and the stored profile, where missing) of
    /// the next batch of initiatives stored without them: those stored
    /// before they existed (migrations 7 and 8 left a `word_backfill` row)
    /// and those of an import, which leaves its `word`s to this (moving the
    /// cursor back to its first row); `true` while more remain. The cursor
    /// moves only if no import moved it meanwhile. The batch's bodies are read in the
    /// writing transaction (locked on PostgreSQL), so a concurrent update
    /// is indexed by its own write, never undone; inserting a term already
    /// there changes nothing, so a batch done twice is harmless.
    pub async fn backfill_words(&self) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query("SELECT after FROM word_backfill")
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        let after: String = row.try_get("after")?;
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE",
            _ => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT id, body, \
             CAST(CASE WHEN similar_profile IS NULL THEN 1 ELSE 0 END AS BIGINT) AS unprofiled \
             FROM initiatives WHERE id > $1 ORDER BY id LIMIT $2{lock}"
        ))
        .bind(&after)
        .bind(BACKFILL_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else {
            sqlx::query("DELETE FROM word_backfill WHERE after = $1")
                .bind(&after)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(false);
        };
        let last: String = last.try_get("id")?;
        let mut terms: Vec<(String, String)> = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let fields: InitiativeFields = from_json(&row.try_get::<String, _>("body")?)?;
            let indexed = fields.indexed();
            terms.extend(
                fields
                    .terms_with(&indexed.words)
                    .into_iter()
                    .filter(|(term, _)| *term == "word")
                    .map(|(_, value)| (id.clone(), value)),
            );
            if row.try_get::<i64, _>("unprofiled")? == 1 {
                sqlx::query("UPDATE initiatives SET similar_profile = $1 WHERE id = $2")
                    .bind(json(&indexed)?)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for chunk in terms.chunks(BACKFILL_ROWS) {
            let mut sql =
                Sql::new("INSERT INTO initiative_terms (term, value, initiative_id) VALUES ");
            for (i, (id, value)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind("word").push(", ").bind(value.as_str()).push(", ");
                sql.bind(id.as_str()).push(")");
            }
            sql.push(" ON CONFLICT DO NOTHING");
            sql.build().execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE word_backfill SET after = $1 WHERE after = $2")
            .bind(&last)
            .bind(&after)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
