//! FindSimilar's candidates: the initiatives that share the most terms with
//! a query (its `word`, `tag` and `sdg` rows of `initiative_terms`, counted
//! per initiative on the terms' primary key, then the best `CANDIDATES`
//! read), and the newest challenges (`CHALLENGES_COMPARED`). Scoring is the
//! domain's (`domain::similar`).

use innolab_kit::Error;
use innolab_kit::sql::{Sql, Value};
use sqlx::Row;

use super::*;
use crate::domain::similar::{CANDIDATES, CHALLENGES_COMPARED, MAX_QUERY_TERMS, Profile};
use crate::domain::{Challenge, Initiative};

impl Store {
    /// The initiatives sharing the most terms, tags and SDGs with `query`
    /// (at most `CANDIDATES`), but `except`.
    pub async fn similar_initiatives(
        &self,
        query: &Profile,
        except: Option<&str>,
    ) -> Result<Vec<Initiative>, Error> {
        let lists: [(&str, Vec<Value>); 3] = [
            (
                "word",
                query
                    .words
                    .iter()
                    .take(MAX_QUERY_TERMS)
                    .map(|w| w.as_str().into())
                    .collect(),
            ),
            (
                "tag",
                query.tags.iter().map(|t| t.as_str().into()).collect(),
            ),
            (
                "sdg",
                query.sdgs.iter().map(|s| s.to_string().into()).collect(),
            ),
        ];
        let mut sql =
            Sql::new("SELECT initiative_id, COUNT(*) AS n FROM initiative_terms WHERE 1 = 0");
        for (term, values) in lists {
            if values.is_empty() {
                continue;
            }
            sql.push(" OR (term = ").bind(term).push(" AND value IN ");
            sql.bind_list(values).push(")");
        }
        sql.push(" GROUP BY initiative_id ORDER BY n DESC, initiative_id LIMIT ")
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
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM initiatives WHERE id IN ",
            super::initiatives::COLUMNS
        ));
        sql.bind_list(ids);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        self.hydrate(rows).await
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
}
