//! Initiatives, their terms (multi-valued facts) and their timeline.

use innolab_kit::Error;
use innolab_kit::db::{Backend, now_micros};
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{
    Facet, Initiative, InitiativeEvent, InitiativeFields, InitiativeQuery, Move, PortfolioSummary,
    Principle, Stage, Status,
};

pub(super) const COLUMNS: &str = "id, body, stage, status, revision, create_time, update_time";

/// What a new initiative starts as, and who records it.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    /// Initial stage.
    pub stage: Stage,
    /// Initial status.
    pub status: Status,
    /// Who records it.
    pub actor: &'a str,
    /// Note in the timeline.
    pub note: &'a str,
}

impl Store {
    /// Stores a new initiative, or returns the one a retried request stored.
    pub async fn create_initiative(
        &self,
        fields: &InitiativeFields,
        start: Start<'_>,
        request_id: Option<&str>,
    ) -> Result<Initiative, Error> {
        let id = retry_on_conflict(request_id, || async {
            let mut tx = self.begin().await?;
            let id = insert_initiative(&self.db, &mut tx, fields, start, request_id).await?;
            tx.commit().await?;
            Ok(id)
        })
        .await?;
        self.get_initiative(&id).await
    }

    /// Reads one initiative with its timeline.
    pub async fn get_initiative(&self, id: &str) -> Result<Initiative, Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM initiatives WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("initiatives/{id}")))?;
        let mut found = self.hydrate(vec![row]).await?;
        found
            .pop()
            .ok_or_else(|| Error::Internal("initiative vanished".into()))
    }

    /// Lists initiatives matching `query`, in id (creation) order.
    pub async fn list_initiatives(
        &self,
        query: &InitiativeQuery,
        page: &PageRequest,
    ) -> Result<Page<Initiative>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM initiatives WHERE 1 = 1"));
        and_query(&mut sql, query, page.after.as_deref());
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = self.hydrate(rows).await?;
        Ok(paginate(items, page, |i| i.id.as_str()))
    }

    /// Replaces an initiative's fields if `expected_revision` (when given) is current.
    pub async fn update_initiative(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &InitiativeFields,
    ) -> Result<Initiative, Error> {
        let name = format!("initiatives/{id}");
        let mut tx = self.begin().await?;
        let (stage, status, current) = read_state(&mut tx, id, &name).await?;
        check_etag(&name, current, expected_revision)?;
        bump_revision(
            &self.db,
            &mut tx,
            "initiatives",
            id,
            &name,
            current,
            now_micros(),
        )
        .await?;
        let old: InitiativeFields = from_json(
            &sqlx::query("SELECT body FROM initiatives WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get::<String, _>("body")?,
        )?;
        let mut deltas = CountDeltas::default();
        deltas.add(old.portfolio_facts(stage, status), -1);
        deltas.add(fields.portfolio_facts(stage, status), 1);
        super::challenges::require_challenges(&mut tx, &fields.challenges, "initiative.").await?;
        write_fields(&self.db, &mut tx, id, fields, Some(&old)).await?;
        deltas.apply(&mut tx).await?;
        tx.commit().await?;
        self.get_initiative(id).await
    }

    /// Moves stage or status by the lifecycle rules and records it in the timeline.
    pub async fn move_initiative(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        step: Move,
        actor: &str,
        note: &str,
    ) -> Result<Initiative, Error> {
        let name = format!("initiatives/{id}");
        let mut tx = self.begin().await?;
        let (stage, status, current) = read_state(&mut tx, id, &name).await?;
        check_etag(&name, current, expected_revision)?;
        let (to_stage, to_status) = step.apply(stage, status)?;
        let now = now_micros();
        let revision =
            bump_revision(&self.db, &mut tx, "initiatives", id, &name, current, now).await?;
        sqlx::query("UPDATE initiatives SET stage = $1, status = $2 WHERE id = $3")
            .bind(to_stage.as_str())
            .bind(to_status.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let event = InitiativeEvent {
            from_stage: Some(stage),
            to_stage,
            from_status: Some(status),
            to_status,
            actor: actor.to_string(),
            note: note.to_string(),
            time: now,
        };
        insert_event(&mut tx, id, revision, &event).await?;
        let mut deltas = CountDeltas::default();
        deltas.add(
            vec![
                ("stage", stage.as_str().to_string()),
                ("status", status.as_str().to_string()),
            ],
            -1,
        );
        deltas.add(
            vec![
                ("stage", to_stage.as_str().to_string()),
                ("status", to_status.as_str().to_string()),
            ],
            1,
        );
        deltas.apply(&mut tx).await?;
        tx.commit().await?;
        self.get_initiative(id).await
    }

    /// Counts by dimension, computed by the database (GROUP BY), with the
    /// reused and original cases (`adoptions.rs`).
    pub async fn portfolio(&self, query: &InitiativeQuery) -> Result<PortfolioSummary, Error> {
        let summary = if query_is_empty(query) {
            self.portfolio_from_counts().await?
        } else {
            self.portfolio_by_query(query).await?
        };
        self.with_reuse(summary, query).await
    }

    async fn portfolio_by_query(&self, query: &InitiativeQuery) -> Result<PortfolioSummary, Error> {
        let column = |expr: &str| {
            let mut sql = Sql::new(&format!(
                "SELECT {expr} AS value, COUNT(*) AS n FROM initiatives WHERE 1 = 1"
            ));
            and_query(&mut sql, query, None);
            sql.push(" GROUP BY ").push(expr);
            sql
        };
        let term = |term: &str| {
            let mut sql = Sql::new(
                "SELECT t.value AS value, COUNT(*) AS n FROM initiative_terms t \
                 WHERE t.term = ",
            );
            sql.bind(term);
            if !query_is_empty(query) {
                sql.push(" AND t.initiative_id IN (SELECT id FROM initiatives WHERE 1 = 1");
                and_query(&mut sql, query, None);
                sql.push(")");
            }
            sql.push(" GROUP BY t.value");
            sql
        };
        let mut total = Sql::new("SELECT COUNT(*) AS n FROM initiatives WHERE 1 = 1");
        and_query(&mut total, query, None);
        let total: i64 = total
            .build()
            .fetch_one(self.db.pool())
            .await?
            .try_get("n")?;
        let pool = self.db.pool();
        let counts = |sql: Sql| async move {
            let rows = sql.build().fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok((r.try_get::<String, _>("value")?, r.try_get::<i64, _>("n")?)))
                .collect::<Result<Vec<(String, i64)>, Error>>()
        };
        Ok(order_summary(PortfolioSummary {
            total,
            by_stage: counts(column("stage")).await?,
            by_facet: counts(column("COALESCE(facet, 'UNSPECIFIED')")).await?,
            by_status: counts(column("status")).await?,
            by_principle: counts(term("principle")).await?,
            by_country: counts(column("country_code")).await?,
            by_sdg: counts(term("sdg")).await?,
            ..PortfolioSummary::default()
        }))
    }

    /// The whole library's summary, from the counters kept by every write.
    async fn portfolio_from_counts(&self) -> Result<PortfolioSummary, Error> {
        let rows =
            sqlx::query("SELECT dimension, value, count FROM portfolio_counts WHERE count <> 0")
                .fetch_all(self.db.pool())
                .await?;
        let mut s = PortfolioSummary::default();
        for row in rows {
            let dimension: String = row.try_get("dimension")?;
            let entry = (
                row.try_get::<String, _>("value")?,
                row.try_get::<i64, _>("count")?,
            );
            match dimension.as_str() {
                "total" => s.total = entry.1,
                "stage" => s.by_stage.push(entry),
                "status" => s.by_status.push(entry),
                "facet" => s.by_facet.push(entry),
                "country" => s.by_country.push(entry),
                "principle" => s.by_principle.push(entry),
                "sdg" => s.by_sdg.push(entry),
                _ => {}
            }
        }
        Ok(order_summary(s))
    }

    /// Turns rows into initiatives, loading their timelines in one query.
    pub(super) async fn hydrate(&self, rows: Vec<AnyRow>) -> Result<Vec<Initiative>, Error> {
        let mut found = rows.iter().map(initiative).collect::<Result<Vec<_>, _>>()?;
        if found.is_empty() {
            return Ok(found);
        }
        let mut sql = Sql::new(
            "SELECT initiative_id, from_stage, to_stage, from_status, to_status, actor, note, \
             event_time FROM initiative_events WHERE initiative_id IN ",
        );
        sql.bind_list(found.iter().map(|i| Value::from(i.id.as_str())));
        sql.push(" ORDER BY initiative_id, seq");
        for row in sql.build().fetch_all(self.db.pool()).await? {
            let initiative_id: String = row.try_get("initiative_id")?;
            let event = event(&row)?;
            if let Some(i) = found.iter_mut().find(|i| i.id == initiative_id) {
                i.timeline.push(event);
            }
        }
        Ok(found)
    }
}

/// Inserts a new initiative (with its terms and creation event) in `tx`,
/// logging its creation first; returns the id a retried request stored
/// instead, if any (and then logs nothing).
pub(super) async fn insert_initiative(
    db: &Database,
    tx: &mut innolab_kit::db::Tx,
    fields: &InitiativeFields,
    start: Start<'_>,
    request_id: Option<&str>,
) -> Result<String, Error> {
    if let Some(id) = existing_request(tx, "initiatives", request_id).await? {
        return Ok(id);
    }
    super::challenges::require_challenges(tx, &fields.challenges, "initiative.").await?;
    let id = new_id();
    let now = now_micros();
    created(db, tx, &format!("initiatives/{id}"), now).await?;
    sqlx::query(
        "INSERT INTO initiatives (id, body, country_code, nuts_code, government_level, sector, \
         facet, stage, status, lead_organization, search_text, request_id, revision, \
         create_time, update_time) \
         VALUES ($1, '{}', '', NULL, NULL, NULL, NULL, $2, $3, '', '', $4, 1, $5, $5)",
    )
    .bind(&id)
    .bind(start.stage.as_str())
    .bind(start.status.as_str())
    .bind(request_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    write_fields(db, tx, &id, fields, None).await?;
    let event = InitiativeEvent {
        from_stage: None,
        to_stage: start.stage,
        from_status: None,
        to_status: start.status,
        actor: start.actor.to_string(),
        note: start.note.to_string(),
        time: now,
    };
    insert_event(tx, &id, 1, &event).await?;
    let mut deltas = CountDeltas::default();
    deltas.add(fields.portfolio_facts(start.stage, start.status), 1);
    deltas.apply(tx).await?;
    Ok(id)
}

/// Writes the descriptive fields and replaces the terms (`old`'s, which are
/// deleted by primary key: there is no index by initiative, see migration 3).
async fn write_fields(
    db: &Database,
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    fields: &InitiativeFields,
    old: Option<&InitiativeFields>,
) -> Result<(), Error> {
    let indexed = fields.indexed();
    sqlx::query(
        "UPDATE initiatives SET body = $1, country_code = $2, nuts_code = $3, \
         government_level = $4, sector = $5, facet = $6, lead_organization = $7, \
         search_text = $8, similar_profile = $9 WHERE id = $10",
    )
    .bind(json(fields)?)
    .bind(&fields.country_code)
    .bind(opt(&fields.nuts_code))
    .bind(fields.government_level.map(|l| l.as_str()))
    .bind(fields.sector.map(|s| s.as_str()))
    .bind(fields.facet.map(|f| f.as_str()))
    .bind(&fields.lead_organization)
    .bind(fields.search_text())
    .bind(json(&indexed)?)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    for (term, value) in old.map(InitiativeFields::terms).unwrap_or_default() {
        sqlx::query(
            "DELETE FROM initiative_terms WHERE term = $1 AND value = $2 AND initiative_id = $3",
        )
        .bind(term)
        .bind(value)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    let terms = fields.terms_with(&indexed.words);
    let terms: Vec<(&str, &str, &str)> = terms
        .iter()
        .map(|(term, value)| (id, *term, value.as_str()))
        .collect();
    insert_terms(db, tx, &terms).await
}

/// Inserts terms as (initiative id, term, value). On PostgreSQL they go as one
/// JSON array parameter (it spends less parsing one array than binding
/// thousands of values: bulk import); elsewhere as multi-row INSERTs.
pub(super) async fn insert_terms(
    db: &Database,
    tx: &mut innolab_kit::db::Tx,
    terms: &[(&str, &str, &str)],
) -> Result<(), Error> {
    if terms.is_empty() {
        return Ok(());
    }
    if db.backend() == Backend::Postgres {
        let rows: Vec<[&str; 3]> = terms
            .iter()
            .map(|(id, term, value)| [*term, *value, *id])
            .collect();
        sqlx::query(
            "INSERT INTO initiative_terms (term, value, initiative_id) \
             SELECT x->>0, x->>1, x->>2 FROM json_array_elements($1::json) AS x",
        )
        .bind(serde_json::to_string(&rows).map_err(|e| Error::Internal(e.to_string()))?)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    }
    // Three parameters per row: well under SQLite's limit.
    for chunk in terms.chunks(1000) {
        let mut sql = Sql::new("INSERT INTO initiative_terms (term, value, initiative_id) VALUES ");
        for (i, (id, term, value)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(*term)
                .push(", ")
                .bind(*value)
                .push(", ")
                .bind(*id)
                .push(")");
        }
        sql.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_event(
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    seq: i64,
    e: &InitiativeEvent,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO initiative_events (initiative_id, seq, from_stage, to_stage, from_status, \
         to_status, actor, note, event_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(seq)
    .bind(e.from_stage.map(|s| s.as_str()))
    .bind(e.to_stage.as_str())
    .bind(e.from_status.map(|s| s.as_str()))
    .bind(e.to_status.as_str())
    .bind(&e.actor)
    .bind(&e.note)
    .bind(e.time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stage, status and revision, or NOT_FOUND.
async fn read_state(
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    name: &str,
) -> Result<(Stage, Status, i64), Error> {
    let row = sqlx::query("SELECT stage, status, revision FROM initiatives WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::not_found(name))?;
    Ok((
        vocab(&text(&row, "stage")?, Stage::parse)?,
        vocab(&text(&row, "status")?, Status::parse)?,
        row.try_get("revision")?,
    ))
}

fn query_is_empty(q: &InitiativeQuery) -> bool {
    q.columns.is_empty() && q.terms.is_empty() && q.text.is_empty()
}

/// Appends the filter's conditions on `initiatives`. A page's cursor
/// (`after`) is repeated inside each term's subquery, so that its index
/// (term, value, initiative_id) is entered at the page, not at its start:
/// page 1000 then costs what page 1 does.
pub(super) fn and_query(sql: &mut Sql, q: &InitiativeQuery, after: Option<&str>) {
    for (column, values) in &q.columns {
        and_in(sql, column, values);
    }
    for (term, values) in &q.terms {
        sql.push(" AND id IN (SELECT initiative_id FROM initiative_terms WHERE term = ")
            .bind(*term)
            .push(" AND value IN ");
        sql.bind_list(values.iter().map(|v| v.as_str().into()));
        if let Some(after) = after {
            sql.push(" AND initiative_id > ").bind(after);
        }
        sql.push(")");
    }
    and_text(sql, "search_text", &q.text);
}

pub(super) fn initiative(row: &AnyRow) -> Result<Initiative, Error> {
    Ok(Initiative {
        id: row.try_get("id")?,
        fields: from_json(&row.try_get::<String, _>("body")?)?,
        stage: vocab(&text(row, "stage")?, Stage::parse)?,
        status: vocab(&text(row, "status")?, Status::parse)?,
        timeline: Vec::new(),
        meta: meta(row)?,
    })
}

pub(super) fn event(row: &AnyRow) -> Result<InitiativeEvent, Error> {
    let optional = |column: &str| -> Result<Option<String>, Error> {
        Ok(opt(&text(row, column)?).map(str::to_string))
    };
    Ok(InitiativeEvent {
        from_stage: optional("from_stage")?
            .map(|s| vocab(&s, Stage::parse))
            .transpose()?,
        to_stage: vocab(&text(row, "to_stage")?, Stage::parse)?,
        from_status: optional("from_status")?
            .map(|s| vocab(&s, Status::parse))
            .transpose()?,
        to_status: vocab(&text(row, "to_status")?, Status::parse)?,
        actor: row.try_get("actor")?,
        note: row.try_get("note")?,
        time: row.try_get("event_time")?,
    })
}

/// Puts each dimension in its documented order: vocabularies in declaration
/// order (facet UNSPECIFIED last), countries alphabetically, SDGs by number.
fn order_summary(mut s: PortfolioSummary) -> PortfolioSummary {
    fn by_order(v: &mut [(String, i64)], order: &[&str]) {
        v.sort_by_key(|(value, _)| order.iter().position(|o| o == value));
    }
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let mut facets: Vec<&str> = Facet::ALL.iter().map(|s| s.as_str()).collect();
    facets.push("UNSPECIFIED");
    let principles: Vec<&str> = Principle::ALL.iter().map(|s| s.as_str()).collect();
    by_order(&mut s.by_stage, &stages);
    by_order(&mut s.by_status, &statuses);
    by_order(&mut s.by_facet, &facets);
    by_order(&mut s.by_principle, &principles);
    s.by_country.sort();
    s.by_sdg
        .sort_by_key(|(v, _)| v.parse::<i32>().unwrap_or(i32::MAX));
    s
}
