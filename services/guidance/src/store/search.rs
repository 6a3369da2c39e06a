//! The search index and ranked, language-aware search.
//!
//! Both backends keep the same postings: one row per analysed term
//! (configuration-prefixed, e.g. `swedish:tjänst`) and search entry (one
//! translation of a current published edition), weighted by where the term
//! occurs (title 10, summary 4, body 1 per occurrence: PostgreSQL's A:B:D
//! ratio). PostgreSQL analyses with the text-search configuration of the
//! language (`to_tsvector`, `ts_headline`); SQLite does the same analysis in
//! Rust (fold, stop words, Snowball stems). Both fold Romanian cedilla letters
//! before analysis, on the text and on the query.
//!
//! A translation matches when it holds every term of its configuration's
//! analysis of the query, and scores the sum of their weights. Postings are
//! indexed by term in weight order, so a one-term query reads only the top of
//! its list (however common the word) and a longer query starts from its
//! rarest term and probes the others by (entry, term).

use std::collections::BTreeMap;

use innolab_kit::Error;
use innolab_kit::db::Backend;
use innolab_kit::sql::{Sql, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

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

/// Weights of title, summary and body terms, in the ratio of PostgreSQL's
/// default A, B and D weights (1.0, 0.4, 0.1).
const WEIGHTS: [i64; 3] = [10, 4, 1];

/// How many postings of a term are counted to find a query's rarest term;
/// beyond this a term counts as common (counting further costs time and
/// changes no choice that matters).
const COUNT_CAP: i64 = 5_000;

/// Rows per multi-row INSERT of postings (three values each, far under
/// SQLite's 32,766 bound values).
const POSTINGS_PER_INSERT: usize = 500;

/// One configuration's share of a query: its analysed terms, rarest first.
struct Branch {
    config: Config,
    /// Configuration-prefixed terms and their (capped) posting counts.
    terms: Vec<(String, i64)>,
}

impl Store {
    pub(super) async fn unindex(
        &self,
        tx: &mut innolab_kit::db::Tx,
        document_id: &str,
    ) -> Result<(), Error> {
        match self.db.backend() {
            Backend::Postgres => {
                sqlx::query(
                    "DELETE FROM search_terms WHERE entry_id IN \
                     (SELECT id FROM search_entries WHERE document_id = $1)",
                )
                .bind(document_id)
                .execute(&mut **tx)
                .await?;
            }
            Backend::Sqlite => {
                // SQLite's postings have no index by entry (see migration
                // 4): each entry lists its terms, deleted by (term, entry).
                let entries =
                    sqlx::query("SELECT id, terms FROM search_entries WHERE document_id = $1")
                        .bind(document_id)
                        .fetch_all(&mut **tx)
                        .await?;
                for entry in &entries {
                    let id = text(entry, "id")?;
                    let terms: Vec<String> = serde_json::from_str(&text(entry, "terms")?)
                        .map_err(|e| Error::Internal(format!("search entry {id}: terms: {e}")))?;
                    for chunk in terms.chunks(POSTINGS_PER_INSERT) {
                        let mut sql = Sql::new("DELETE FROM search_terms WHERE entry_id = ");
                        sql.bind(id.as_str()).push(" AND term IN ");
                        sql.bind_list(chunk.iter().map(|t| Value::from(t.as_str())));
                        sql.build().execute(&mut **tx).await?;
                    }
                }
            }
        }
        sqlx::query("DELETE FROM search_entries WHERE document_id = $1")
            .bind(document_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(super) async fn index_translation(
        &self,
        tx: &mut innolab_kit::db::Tx,
        document_id: &str,
        number: i64,
        t: &Translation,
    ) -> Result<(), Error> {
        let config = Config::for_language(&t.language_code);
        let id = new_id();
        let body = crate::domain::text::fold(&t.body);
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
        match self.db.backend() {
            Backend::Postgres => {
                // The configuration's own analysis; a lexeme's weight is the
                // sum over its positions of A = 10, B = 4, D = 1.
                sqlx::query(
                    "INSERT INTO search_terms (entry_id, term, weight) \
                     SELECT $1, $2 || ':' || t.lexeme, \
                     (SELECT sum(CASE w WHEN 'A' THEN 10 WHEN 'B' THEN 4 ELSE 1 END) \
                      FROM unnest(t.weights) w) \
                     FROM unnest(setweight(to_tsvector($2::regconfig, $3), 'A') || \
                     setweight(to_tsvector($2::regconfig, $4), 'B') || \
                     setweight(to_tsvector($2::regconfig, $5), 'D')) t",
                )
                .bind(&id)
                .bind(config.name())
                .bind(config.prepare(&t.title))
                .bind(config.prepare(&t.summary))
                .bind(config.prepare(&t.body))
                .execute(&mut **tx)
                .await?;
            }
            Backend::Sqlite => {
                let mut weights: BTreeMap<String, i64> = BTreeMap::new();
                for (text, weight) in [&t.title, &t.summary, &t.body].into_iter().zip(WEIGHTS) {
                    for term in config.terms(text) {
                        *weights.entry(term).or_default() += weight;
                    }
                }
                let postings: Vec<(String, i64)> = weights
                    .into_iter()
                    .map(|(term, weight)| (format!("{}:{term}", config.name()), weight))
                    .collect();
                let terms: Vec<&str> = postings.iter().map(|(t, _)| t.as_str()).collect();
                sqlx::query("UPDATE search_entries SET terms = $1 WHERE id = $2")
                    .bind(
                        serde_json::to_string(&terms)
                            .map_err(|e| Error::Internal(format!("terms: {e}")))?,
                    )
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
                for chunk in postings.chunks(POSTINGS_PER_INSERT) {
                    let mut sql =
                        Sql::new("INSERT INTO search_terms (entry_id, term, weight) VALUES ");
                    for (i, (term, weight)) in chunk.iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.push("(")
                            .bind(id.as_str())
                            .push(", ")
                            .bind(term.as_str())
                            .push(", ")
                            .bind(*weight)
                            .push(")");
                    }
                    sql.build().execute(&mut **tx).await?;
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
        let branches = self.branches(query).await?;
        if branches.is_empty() {
            return Ok(Vec::new());
        }
        let postgres = self.db.backend() == Backend::Postgres;
        let page = self.ranked(&branches, query, offset + limit + 1).await?;
        let page: Vec<(String, i64)> = page
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .collect();
        if page.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT s.id, s.document_id, s.edition_number, s.language_code, s.title, s.config, \
             s.body, d.doc_type",
        );
        if postgres {
            // The highlight uses the configuration's own query (Romanian
            // without our stop words), as the postings do.
            sql.push(
                ", ts_headline(s.config::regconfig, s.body, \
                 plainto_tsquery(s.config::regconfig, CASE s.config",
            );
            for branch in &branches {
                sql.push(" WHEN ")
                    .bind(branch.config.name())
                    .push(" THEN ")
                    .bind(branch.config.prepare(&query.text));
            }
            sql.push(" END), 'MaxWords=30, MinWords=10') AS snippet");
        }
        sql.push(" FROM search_entries s JOIN documents d ON d.id = s.document_id WHERE s.id IN ");
        sql.bind_list(page.iter().map(|(id, _)| Value::from(id.as_str())));
        let rows = sql
            .build()
            .persistent(false)
            .fetch_all(self.db.pool())
            .await?;
        let mut hits = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = text(row, "id")?;
            let rank = page
                .iter()
                .position(|(p, _)| *p == id)
                .unwrap_or(usize::MAX);
            let mut h = hit(row, page.get(rank).map_or(0.0, |(_, score)| *score as f64))?;
            if !postgres {
                let config_name = text(row, "config")?;
                let branch = branches
                    .iter()
                    .find(|b| b.config.name() == config_name)
                    .ok_or_else(|| {
                        Error::Internal(format!("unknown configuration {config_name}"))
                    })?;
                let prefix = format!("{config_name}:");
                let terms: Vec<String> = branch
                    .terms
                    .iter()
                    .filter_map(|(t, _)| t.strip_prefix(&prefix).map(str::to_string))
                    .collect();
                h.snippet = branch.config.snippet(&text(row, "body")?, &terms);
            }
            hits.push((rank, h));
        }
        hits.sort_by_key(|(rank, _)| *rank);
        Ok(hits.into_iter().map(|(_, h)| h).collect())
    }

    /// The best `wanted` matches that pass the query's filters, as (entry,
    /// score), best first (ties by entry id). Each branch gives its best
    /// `n` matches from the postings alone; with filters, each candidate is
    /// checked by primary key, and `n` grows until every branch either ran
    /// out of matches or has `wanted` that pass (so nothing it left out can
    /// rank higher). Filters never join the postings: a join's plan depends
    /// on estimates, and a bad one scanned every entry (146 ms).
    async fn ranked(
        &self,
        branches: &[Branch],
        query: &SearchQuery,
        wanted: i64,
    ) -> Result<Vec<(String, i64)>, Error> {
        let filtered = query.is_filtered();
        let mut n = if filtered { wanted.max(25) * 4 } else { wanted };
        loop {
            let mut sql = Sql::new("WITH c (b, id, score) AS (");
            for (i, branch) in branches.iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push(&format!(
                    "SELECT * FROM (SELECT CAST({i} AS BIGINT) AS b, x.* FROM ("
                ));
                branch_sql(&mut sql, branch);
                sql.push(" LIMIT ")
                    .bind(Value::Int(n))
                    .push(&format!(") AS x) AS b{i}"));
            }
            sql.push(") SELECT b, id, score, ");
            if filtered {
                sql.push(
                    "CASE WHEN EXISTS (SELECT 1 FROM search_entries s JOIN documents d \
                     ON d.id = s.document_id WHERE s.id = c.id",
                );
                filters(&mut sql, query);
                sql.push(") THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS pass FROM c");
            } else {
                sql.push("CAST(1 AS BIGINT) AS pass FROM c");
            }
            // Planned with the actual terms each time: how common a term
            // is decides the plan.
            let rows = sql
                .build()
                .persistent(false)
                .fetch_all(self.db.pool())
                .await?;
            let mut fetched = vec![0_i64; branches.len()];
            let mut passed = vec![0_i64; branches.len()];
            let mut found = Vec::with_capacity(rows.len());
            for row in &rows {
                let b = usize::try_from(row.try_get::<i64, _>("b")?).unwrap_or(0);
                fetched[b] += 1;
                if row.try_get::<i64, _>("pass")? == 1 {
                    passed[b] += 1;
                    found.push((text(row, "id")?, row.try_get::<i64, _>("score")?));
                }
            }
            let complete = fetched
                .iter()
                .zip(&passed)
                .all(|(f, p)| *f < n || *p >= wanted);
            if complete {
                found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                found.truncate(usize::try_from(wanted).unwrap_or(usize::MAX));
                return Ok(found);
            }
            n = n.saturating_mul(8);
        }
    }

    /// The query analysed by each configuration it searches, with each
    /// term's posting count; configurations where some term has no posting
    /// cannot match and are left out.
    async fn branches(&self, query: &SearchQuery) -> Result<Vec<Branch>, Error> {
        let mut analysed: Vec<(Config, Vec<String>)> = Vec::new();
        match self.db.backend() {
            Backend::Postgres => {
                let mut sql = Sql::new("");
                for (i, config) in query.configs().into_iter().enumerate() {
                    if i > 0 {
                        sql.push(" UNION ALL ");
                    }
                    sql.push("SELECT ")
                        .bind(config.name())
                        .push(" AS config, lexeme FROM unnest(to_tsvector(")
                        .bind(config.name())
                        .push("::regconfig, ")
                        .bind(config.prepare(&query.text))
                        .push("))");
                }
                let rows = sql.build().fetch_all(self.db.pool()).await?;
                for config in query.configs() {
                    let terms = rows
                        .iter()
                        .filter(|r| text(r, "config").is_ok_and(|c| c == config.name()))
                        .map(|r| text(r, "lexeme"))
                        .collect::<Result<Vec<_>, _>>()?;
                    analysed.push((config, terms));
                }
            }
            Backend::Sqlite => {
                for config in query.configs() {
                    analysed.push((config, config.terms(&query.text)));
                }
            }
        }
        let mut branches: Vec<Branch> = analysed
            .into_iter()
            .map(|(config, mut terms)| {
                terms.sort();
                terms.dedup();
                Branch {
                    config,
                    terms: terms
                        .into_iter()
                        .map(|t| (format!("{}:{t}", config.name()), 0))
                        .collect(),
                }
            })
            .filter(|b| !b.terms.is_empty())
            .collect();
        if branches.is_empty() {
            return Ok(branches);
        }
        let mut sql = Sql::new("");
        let all: Vec<&str> = branches
            .iter()
            .flat_map(|b| b.terms.iter().map(|(t, _)| t.as_str()))
            .collect();
        for (i, term) in all.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push("SELECT ")
                .bind(*term)
                .push(" AS term, (SELECT count(*) FROM (SELECT 1 FROM search_terms WHERE term = ")
                .bind(*term)
                .push(" LIMIT ")
                .bind(Value::Int(COUNT_CAP))
                .push(") AS c) AS n");
        }
        let rows = sql
            .build()
            .persistent(false)
            .fetch_all(self.db.pool())
            .await?;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for row in &rows {
            counts.insert(text(row, "term")?, row.try_get("n")?);
        }
        for branch in &mut branches {
            for (term, n) in &mut branch.terms {
                *n = counts.get(term.as_str()).copied().unwrap_or(0);
            }
            branch
                .terms
                .sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        }
        branches.retain(|b| b.terms.iter().all(|(_, n)| *n > 0));
        Ok(branches)
    }
}

/// One branch's matches, best first, from the postings alone (the caller
/// appends the LIMIT). A one-term branch reads its postings in weight order
/// and stops at the limit. A longer one joins the postings of its terms on
/// the entry: SQLite reads the rarest term's postings and probes each other
/// term by (entry, term), an order `CROSS JOIN` keeps; PostgreSQL chooses
/// from its statistics (it hashes the other lists when probing would cost
/// more).
fn branch_sql(sql: &mut Sql, branch: &Branch) {
    let others = &branch.terms[1..];
    sql.push("SELECT p.entry_id AS id, p.weight");
    for i in 0..others.len() {
        sql.push(&format!(" + q{i}.weight"));
    }
    sql.push(" AS score FROM search_terms p");
    for i in 0..others.len() {
        sql.push(&format!(" CROSS JOIN search_terms q{i}"));
    }
    sql.push(" WHERE p.term = ")
        .bind(branch.terms[0].0.as_str());
    for (i, (term, _)) in others.iter().enumerate() {
        sql.push(&format!(" AND q{i}.entry_id = p.entry_id AND q{i}.term = "))
            .bind(term.as_str());
    }
    if others.is_empty() {
        sql.push(" ORDER BY p.weight DESC, p.entry_id");
    } else {
        sql.push(" ORDER BY score DESC, p.entry_id");
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

/// A hit from a row of search_entries joined with documents.
fn hit(row: &AnyRow, score: f64) -> Result<SearchHit, Error> {
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
        score,
        doc_type: vocab(&text(row, "doc_type")?, DocumentType::parse)?,
    })
}
