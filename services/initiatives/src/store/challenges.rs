//! Challenges and the initiatives that answer them.

use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value};
use innolab_kit::{Error, Violations};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{Challenge, ChallengeFields, ChallengeQuery};

pub(super) const COLUMNS: &str =
    "id, title, description, process, raised_by, country_code, revision, create_time, update_time";

impl Store {
    /// Stores a new challenge, or returns the one a retried request stored.
    pub async fn create_challenge(
        &self,
        fields: &ChallengeFields,
        request_id: Option<&str>,
    ) -> Result<Challenge, Error> {
        let id = retry_on_conflict(request_id, || async {
            let mut tx = self.begin().await?;
            if let Some(id) = existing_request(&mut tx, "challenges", request_id).await? {
                return Ok(id);
            }
            let id = new_id();
            let now = now_micros();
            created(&self.db, &mut tx, &format!("challenges/{id}"), now).await?;
            sqlx::query(
                "INSERT INTO challenges (id, title, description, process, raised_by, \
                 country_code, search_text, request_id, revision, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
            )
            .bind(&id)
            .bind(&fields.title)
            .bind(&fields.description)
            .bind(&fields.process)
            .bind(&fields.raised_by)
            .bind(opt(&fields.country_code))
            .bind(fields.search_text())
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
        .await?;
        self.get_challenge(&id).await
    }

    /// Reads one challenge with the initiatives that answer it.
    pub async fn get_challenge(&self, id: &str) -> Result<Challenge, Error> {
        let row = self
            .row("challenges", COLUMNS, id, format!("challenges/{id}"))
            .await?;
        let mut found = self.hydrate_challenges(vec![row]).await?;
        found
            .pop()
            .ok_or_else(|| Error::Internal("challenge vanished".into()))
    }

    /// Lists challenges matching `query`, in id (creation) order.
    pub async fn list_challenges(
        &self,
        query: &ChallengeQuery,
        page: &PageRequest,
    ) -> Result<Page<Challenge>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM challenges WHERE 1 = 1"));
        and_in(&mut sql, "raised_by", &query.raised_by);
        and_in(&mut sql, "country_code", &query.countries);
        and_text(&mut sql, "search_text", &query.text);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = self.hydrate_challenges(rows).await?;
        Ok(paginate(items, page, |c| c.id.as_str()))
    }

    /// Replaces a challenge's fields if `expected_revision` (when given) is current.
    pub async fn update_challenge(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &ChallengeFields,
    ) -> Result<Challenge, Error> {
        let mut tx = self
            .begin_update(
                "challenges",
                id,
                &format!("challenges/{id}"),
                expected_revision,
            )
            .await?;
        sqlx::query(
            "UPDATE challenges SET title = $1, description = $2, process = $3, raised_by = $4, \
             country_code = $5, search_text = $6 WHERE id = $7",
        )
        .bind(&fields.title)
        .bind(&fields.description)
        .bind(&fields.process)
        .bind(&fields.raised_by)
        .bind(opt(&fields.country_code))
        .bind(fields.search_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_challenge(id).await
    }

    async fn hydrate_challenges(&self, rows: Vec<AnyRow>) -> Result<Vec<Challenge>, Error> {
        let mut found = rows.iter().map(challenge).collect::<Result<Vec<_>, _>>()?;
        if found.is_empty() {
            return Ok(found);
        }
        let mut sql = Sql::new(
            "SELECT value, initiative_id FROM initiative_terms WHERE term = 'challenge' \
             AND value IN ",
        );
        sql.bind_list(found.iter().map(|c| Value::from(c.name())));
        sql.push(" ORDER BY value, initiative_id");
        for row in sql.build().fetch_all(self.db.pool()).await? {
            let challenge: String = row.try_get("value")?;
            let initiative: String = row.try_get("initiative_id")?;
            if let Some(c) = found.iter_mut().find(|c| c.name() == challenge) {
                c.answered_by.push(format!("initiatives/{initiative}"));
            }
        }
        Ok(found)
    }
}

/// INVALID_ARGUMENT naming `{prefix}challenges[i]` for each challenge that does not exist.
pub(super) async fn require_challenges(
    tx: &mut innolab_kit::db::Tx,
    challenges: &[String],
    prefix: &str,
) -> Result<(), Error> {
    let mut v = Violations::new();
    for (i, name) in challenges.iter().enumerate() {
        let id = name.rsplit('/').next().unwrap_or(name);
        let row = sqlx::query("SELECT 1 AS one FROM challenges WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if row.is_none() {
            v.add(
                format!("{prefix}challenges[{i}]"),
                format!("{name} does not exist"),
            );
        }
    }
    v.finish()
}

pub(super) fn challenge(row: &AnyRow) -> Result<Challenge, Error> {
    Ok(Challenge {
        id: row.try_get("id")?,
        fields: ChallengeFields {
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            process: row.try_get("process")?,
            raised_by: row.try_get("raised_by")?,
            country_code: text(row, "country_code")?,
        },
        answered_by: Vec::new(),
        meta: meta(row)?,
    })
}
