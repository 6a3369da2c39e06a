//! The search index and ranked, language-aware search.
//!
//! PostgreSQL: a weighted `tsvector` per translation built by the
//! configuration of its language (title A, summary B, body D), `ts_rank` and
//! `ts_headline`. SQLite: the same analysis done in Rust (fold, stop words,
//! Snowball stems), stored as config-prefixed terms with the same weights
//! (A = 10, B = 4, D = 1), ranked by their sum. Both fold Romanian cedilla
//! letters before analysis, on the text and on the query.

use std::collections::BTreeMap;

use innolab_kit::Error;
use innolab_kit::db::Backend;
use innolab_kit::sql::{Sql, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::*;
use crate::domain::text::Config;
use crate::domain::{DocumentType, SearchQuery, Translation};

/// One matching translation.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The document's id.
    pub document_id: String,
    /// The edition's number.
    pub edition: i64,
    /// Language of the translation.
    pub language_code: String,
    /// Its title.
    pub title: String,
    /// Excerpt with `<b>` marks.
    pub snippet: String,
    /// Relevance.
    pub score: f64,
    /// The document's type.
    pub doc_type: DocumentType,
}

/// Weights of title, summary and body terms on SQLite, in the ratio of
/// PostgreSQL's default A, B and D weights (1.0, 0.4, 0.1).
const WEIGHTS: [i64; 3] = [10, 4, 1];

impl Store {
    pub(super) async fn unindex(
        &self,
        tx: &mut Transaction<'static, Any>,
        document_id: &str,
    ) -> Result<(), Error> {
        if self.db.backend() == Backend::Sqlite {
            sqlx::query(
                "DELETE FROM search_terms WHERE entry_id IN \
                 (SELECT id FROM search_entries WHERE document_id = $1)",
            )
            .bind(document_id)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query("DELETE FROM search_entries WHERE document_id = $1")
            .bind(document_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(super) async fn index_translation(
        &self,
        tx: &mut Transaction<'static, Any>,
        document_id: &str,
        number: i64,
        t: &Translation,
    ) -> Result<(), Error> {
        let config = Config::for_language(&t.language_code);
        let id = new_id();
        let body = crate::domain::text::fold(&t.body);
        match self.db.backend() {
            Backend::Postgres => {
                sqlx::query(
                    "INSERT INTO search_entries (id, document_id, edition_number, language_code, \
                     config, title, body, tsv) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                     setweight(to_tsvector($5::regconfig, $8), 'A') || \
                     setweight(to_tsvector($5::regconfig, $9), 'B') || \
                     setweight(to_tsvector($5::regconfig, $10), 'D'))",
                )
                .bind(&id)
                .bind(document_id)
                .bind(number)
                .bind(&t.language_code)
                .bind(config.name())
                .bind(&t.title)
                .bind(&body)
                .bind(config.prepare(&t.title))
                .bind(config.prepare(&t.summary))
                .bind(config.prepare(&t.body))
                .execute(&mut **tx)
                .await?;
            }
            Backend::Sqlite => {
                sqlx::query(
                    "INSERT INTO search_entries (id, document_id, edition_number, language_code, \
                     config, title, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(document_id)
                .bind(number)
                .bind(&t.language_code)
                .bind(config.name())
                .bind(&t.title)
                .bind(&body)
                .execute(&mut **tx)
                .await?;
                let mut weights: BTreeMap<String, i64> = BTreeMap::new();
                for (text, weight) in [&t.title, &t.summary, &t.body].into_iter().zip(WEIGHTS) {
                    for term in config.terms(text) {
                        *weights.entry(term).or_default() += weight;
                    }
                }
                for (term, weight) in weights {
                    sqlx::query(
                        "INSERT INTO search_terms (term, entry_id, weight) VALUES ($1, $2, $3)",
                    )
                    .bind(format!("{}:{term}", config.name()))
                    .bind(&id)
                    .bind(weight)
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Ranked matches of `query`, `offset` results in, at most `limit` + 1.
    pub async fn search(
        &self,
        query: &SearchQuery,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<SearchHit>, Error> {
        match self.db.backend() {
            Backend::Postgres => self.search_postgres(query, offset, limit).await,
            Backend::Sqlite => self.search_sqlite(query, offset, limit).await,
        }
    }

    async fn search_postgres(
        &self,
        query: &SearchQuery,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<SearchHit>, Error> {
        let mut sql = Sql::new("WITH q (config, query) AS (VALUES ");
        for (i, config) in query.configs().into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(config.name())
                .push(", plainto_tsquery(")
                .bind(config.name())
                .push("::regconfig, ")
                .bind(config.prepare(&query.text))
                .push("))");
        }
        sql.push(
            "), hits AS (SELECT s.id, s.document_id, s.edition_number, s.language_code, s.title, \
             s.config, s.body, d.doc_type, q.query, ts_rank(s.tsv, q.query)::float8 AS score \
             FROM search_entries s JOIN q ON q.config = s.config \
             JOIN documents d ON d.id = s.document_id WHERE (",
        );
        // The match is spelled out per configuration with constant queries,
        // so PostgreSQL can use the GIN index (a BitmapOr of index scans).
        for (i, config) in query.configs().into_iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(s.config = ")
                .bind(config.name())
                .push(" AND s.tsv @@ plainto_tsquery(")
                .bind(config.name())
                .push("::regconfig, ")
                .bind(config.prepare(&query.text))
                .push("))");
        }
        sql.push(")");
        filters(&mut sql, query);
        sql.push(" ORDER BY score DESC, s.id LIMIT ")
            .bind(Value::Int(limit + 1))
            .push(" OFFSET ")
            .bind(Value::Int(offset));
        sql.push(
            ") SELECT id, document_id, edition_number, language_code, title, doc_type, score, \
             ts_headline(config::regconfig, body, query, 'MaxWords=30, MinWords=10') AS snippet \
             FROM hits ORDER BY score DESC, id",
        );
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        rows.iter().map(hit).collect()
    }

    async fn search_sqlite(
        &self,
        query: &SearchQuery,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<SearchHit>, Error> {
        // Each configuration analyses the query its own way; a translation
        // matches when every term of its configuration's analysis occurs.
        let analysed: Vec<(Config, Vec<String>)> = query
            .configs()
            .into_iter()
            .map(|c| {
                let mut terms = c.terms(&query.text);
                terms.sort();
                terms.dedup();
                (c, terms)
            })
            .filter(|(_, terms)| !terms.is_empty())
            .collect();
        if analysed.is_empty() {
            return Ok(Vec::new());
        }
        // One pass over the postings of the query's terms: an entry matches
        // a configuration when it holds all of that configuration's terms
        // (one row per term and entry), and its score is their weight sum.
        let mut sql = Sql::new("WITH m (entry_id, score) AS (");
        for (i, (config, terms)) in analysed.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT entry_id, SUM(weight) FROM search_terms WHERE term IN ");
            sql.bind_list(
                terms
                    .iter()
                    .map(|t| Value::from(format!("{}:{t}", config.name()))),
            );
            sql.push(" GROUP BY entry_id HAVING COUNT(*) = ")
                .bind(Value::Int(i64::try_from(terms.len()).unwrap_or(i64::MAX)));
        }
        sql.push(
            ") SELECT s.id, s.document_id, s.edition_number, s.language_code, s.title, \
             s.config, s.body, d.doc_type, m.score * 1.0 AS score FROM m \
             JOIN search_entries s ON s.id = m.entry_id \
             JOIN documents d ON d.id = s.document_id WHERE 1 = 1",
        );
        filters(&mut sql, query);
        sql.push(" ORDER BY score DESC, s.id LIMIT ")
            .bind(Value::Int(limit + 1))
            .push(" OFFSET ")
            .bind(Value::Int(offset));
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let mut hits = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut h = hit(row)?;
            let config_name = text(row, "config")?;
            let (config, terms) = analysed
                .iter()
                .find(|(c, _)| c.name() == config_name)
                .ok_or_else(|| Error::Internal(format!("unknown configuration {config_name}")))?;
            h.snippet = config.snippet(&text(row, "body")?, terms);
            hits.push(h);
        }
        Ok(hits)
    }
}

fn filters(sql: &mut Sql, query: &SearchQuery) {
    and_in(sql, "d.doc_type", &query.types, |t| t.as_str().into());
    and_in(sql, "d.license", &query.licenses, |l| l.as_str().into());
    and_in(sql, "s.language_code", &query.languages, |l| {
        l.as_str().into()
    });
    and_has(sql, "document_topics", "topic", "d.id", &query.topics);
    let stages: Vec<String> = query
        .stages
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    and_has(sql, "document_stages", "stage", "d.id", &stages);
}

fn hit(row: &AnyRow) -> Result<SearchHit, Error> {
    Ok(SearchHit {
        document_id: row.try_get("document_id")?,
        edition: row.try_get("edition_number")?,
        language_code: row.try_get("language_code")?,
        title: row.try_get("title")?,
        snippet: row
            .try_get::<Option<String>, _>("snippet")
            .ok()
            .flatten()
            .unwrap_or_default(),
        score: row.try_get::<Option<f64>, _>("score")?.unwrap_or(0.0),
        doc_type: vocab(&text(row, "doc_type")?, DocumentType::parse)?,
    })
}
