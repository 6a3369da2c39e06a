//! Assessments and their workflow.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::*;
use crate::domain::{
    Assessment, AssessmentEvent, AssessmentFields, AssessmentQuery, AssessmentState,
    PublicValueOutcome, Transition,
};
use innolab_kit::db::Database;

/// The columns of an assessment, from `assessments a JOIN assessment_documents d`.
pub(super) const COLUMNS: &str =
    "a.id, a.state, d.body, d.history, a.revision, a.create_time, a.update_time";
/// The tables the columns come from.
pub(super) const FROM: &str = "assessments a JOIN assessment_documents d ON d.id = a.id";

/// The rollup columns of `fields`, in the order of [`ROLLUP_COLUMNS`].
fn rollup_values(f: &AssessmentFields) -> [i64; 11] {
    let claims = |o: PublicValueOutcome| i64::from(f.public_value_outcomes.contains(&o));
    let d = &f.dac;
    [
        i64::from(f.nesta_level),
        i64::from(f.maryland_level),
        i64::from(d.relevance.rating),
        i64::from(d.coherence.rating),
        i64::from(d.effectiveness.rating),
        i64::from(d.efficiency.rating),
        i64::from(d.impact.rating),
        i64::from(d.sustainability.rating),
        claims(PublicValueOutcome::ImprovedPublicService),
        claims(PublicValueOutcome::ImprovedAdministration),
        claims(PublicValueOutcome::OpenGovernmentCapabilities),
    ]
}

const ROLLUP_COLUMNS: [&str; 11] = [
    "nesta_level",
    "maryland_level",
    "dac_relevance",
    "dac_coherence",
    "dac_effectiveness",
    "dac_efficiency",
    "dac_impact",
    "dac_sustainability",
    "pv_public_service",
    "pv_administration",
    "pv_open_government",
];

impl Store {
    /// Stores a new assessment (PLANNED), or returns the one a retried
    /// request stored.
    pub async fn create_assessment(
        &self,
        fields: &AssessmentFields,
        request_id: Option<&str>,
    ) -> Result<Assessment, Error> {
        let id =
            retry_on_conflict(request_id, || self.insert_assessment(fields, request_id)).await?;
        self.get_assessment(&id).await
    }

    async fn insert_assessment(
        &self,
        fields: &AssessmentFields,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        if let Some(id) = existing_request(&mut tx, "assessments", request_id).await? {
            return Ok(id);
        }
        let id = new_id();
        write_assessment(
            &self.db,
            &mut tx,
            &id,
            fields,
            AssessmentState::Planned,
            request_id,
            now_micros(),
        )
        .await?;
        let after = super::rollup::share(&mut tx, &id).await?;
        super::rollup::apply(&mut tx, None, after).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one assessment.
    pub async fn get_assessment(&self, id: &str) -> Result<Assessment, Error> {
        read(self.db.pool(), id).await
    }

    /// Lists assessments matching `query`, in id order.
    pub async fn list_assessments(
        &self,
        query: &AssessmentQuery,
        page: &PageRequest,
    ) -> Result<Page<Assessment>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {FROM} WHERE 1 = 1"));
        and_assessment_query(&mut sql, "a.", query);
        and_page(&mut sql, "a.id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(assessment).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |a| a.id.as_str()))
    }

    /// Replaces an assessment's fields, refusing to change the ratings of a
    /// completed one.
    pub async fn update_assessment(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &AssessmentFields,
    ) -> Result<Assessment, Error> {
        let mut tx = self.begin().await?;
        let before = super::rollup::share(&mut tx, id).await?;
        let current = read(&mut *tx, id).await?;
        let name = current.name();
        check_etag(&name, current.meta.revision, expected_revision)?;
        current.check_update(fields)?;
        let now = now_micros();
        let revision = current.meta.revision;
        bump_revision(&self.db, &mut tx, "assessments", id, &name, revision, now).await?;
        let mut sql = Sql::new("UPDATE assessments SET initiative_id = ");
        sql.bind(initiative_id(fields))
            .push(", search_text = ")
            .bind(fields.search_text());
        for (column, value) in ROLLUP_COLUMNS.iter().zip(rollup_values(fields)) {
            sql.push(", ").push(column).push(" = ").bind(value);
        }
        sql.push(" WHERE id = ").bind(id);
        sql.build().execute(&mut *tx).await?;
        sqlx::query("UPDATE assessment_documents SET body = $1 WHERE id = $2")
            .bind(json(fields)?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = super::rollup::share(&mut tx, id).await?;
        super::rollup::apply(&mut tx, before, after).await?;
        tx.commit().await?;
        self.get_assessment(id).await
    }

    /// Deletes an assessment and its indicators.
    pub async fn delete_assessment(
        &self,
        id: &str,
        expected_revision: Option<i64>,
    ) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        let before = super::rollup::share(&mut tx, id).await?;
        let current = read(&mut *tx, id).await?;
        check_etag(&current.name(), current.meta.revision, expected_revision)?;
        current.check_delete()?;
        // The indicators go with the assessment; each deletion is logged.
        let now = now_micros();
        let indicators =
            sqlx::query("SELECT id, revision FROM indicators WHERE assessment_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        for row in &indicators {
            let indicator: String = row.try_get("id")?;
            let revision: i64 = row.try_get("revision")?;
            let resource = format!("{}/indicators/{indicator}", current.name());
            record(
                &self.db,
                &mut tx,
                &resource,
                ChangeType::Deleted,
                revision + 1,
                now,
            )
            .await?;
        }
        for statement in [
            "DELETE FROM indicator_documents WHERE id IN \
             (SELECT id FROM indicators WHERE assessment_id = $1)",
            "DELETE FROM indicators WHERE assessment_id = $1",
            "DELETE FROM assessment_documents WHERE id = $1",
        ] {
            sqlx::query(statement).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM assessments WHERE id = $1 AND revision = $2")
            .bind(id)
            .bind(current.meta.revision)
            .execute(&mut *tx)
            .await?;
        one_row(&done, &current.name(), current.meta.revision)?;
        let revision = current.meta.revision + 1;
        record(
            &self.db,
            &mut tx,
            &current.name(),
            ChangeType::Deleted,
            revision,
            now,
        )
        .await?;
        let after = super::rollup::share(&mut tx, id).await?;
        super::rollup::apply(&mut tx, before, after).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a workflow step and records it.
    pub async fn transition_assessment(
        &self,
        id: &str,
        t: &Transition,
    ) -> Result<Assessment, Error> {
        let mut tx = self.begin().await?;
        let before = super::rollup::share(&mut tx, id).await?;
        let current = read(&mut *tx, id).await?;
        let name = current.name();
        check_etag(&name, current.meta.revision, t.expected_revision)?;
        let to = current.next_state(t.action)?;
        let now = now_micros();
        let mut history = current.history.clone();
        history.push(AssessmentEvent {
            from_state: current.state,
            to_state: to,
            decision: t.decision.clone(),
            review: t.action.review(),
            time: now,
        });
        let revision = current.meta.revision;
        bump_revision(&self.db, &mut tx, "assessments", id, &name, revision, now).await?;
        sqlx::query("UPDATE assessments SET state = $1 WHERE id = $2")
            .bind(to.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE assessment_documents SET history = $1 WHERE id = $2")
            .bind(json(&history)?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = super::rollup::share(&mut tx, id).await?;
        super::rollup::apply(&mut tx, before, after).await?;
        tx.commit().await?;
        self.get_assessment(id).await
    }
}

/// Writes a new assessment's rows (the narrow row and its document).
pub(super) async fn write_assessment(
    db: &Database,
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    fields: &AssessmentFields,
    state: AssessmentState,
    request_id: Option<&str>,
    now: i64,
) -> Result<(), Error> {
    let mut sql = Sql::new(&format!(
        "INSERT INTO assessments (id, initiative_id, state, search_text, \
             request_id, revision, create_time, update_time, {}) VALUES (",
        ROLLUP_COLUMNS.join(", ")
    ));
    sql.bind(id)
        .push(", ")
        .bind(initiative_id(fields))
        .push(", ")
        .bind(state.as_str())
        .push(", ")
        .bind(fields.search_text())
        .push(", ");
    match request_id {
        Some(r) => sql.bind(r),
        None => sql.push("NULL"),
    };
    sql.push(", 1, ").bind(now).push(", ").bind(now);
    for value in rollup_values(fields) {
        sql.push(", ").bind(value);
    }
    sql.push(")");
    sql.build().execute(&mut **tx).await?;
    sqlx::query("INSERT INTO assessment_documents (id, body, history) VALUES ($1, $2, '[]')")
        .bind(id)
        .bind(json(fields)?)
        .execute(&mut **tx)
        .await?;
    record(
        db,
        tx,
        &format!("assessments/{id}"),
        ChangeType::Created,
        1,
        now,
    )
    .await?;
    Ok(())
}

/// Reads an assessment, from the pool or inside a writing transaction.
async fn read<'e>(db: impl Executor<'e, Database = Any>, id: &str) -> Result<Assessment, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found(format!("assessments/{id}")))?;
    assessment(&row)
}

/// Appends the conditions of an assessment filter; `alias` prefixes columns
/// (e.g. `a.`).
pub(super) fn and_assessment_query(sql: &mut Sql, alias: &str, query: &AssessmentQuery) {
    and_in(
        sql,
        &format!("{alias}initiative_id"),
        &query.initiative_ids,
        |i| i.as_str().into(),
    );
    and_in(sql, &format!("{alias}state"), &query.states, |s| {
        s.as_str().into()
    });
    and_text(sql, &format!("{alias}search_text"), &query.text);
}

fn initiative_id(fields: &AssessmentFields) -> String {
    fields
        .initiative
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

pub(super) fn assessment(row: &AnyRow) -> Result<Assessment, Error> {
    Ok(Assessment {
        id: row.try_get("id")?,
        fields: from_json(&row.try_get::<String, _>("body")?)?,
        state: vocab(&row.try_get::<String, _>("state")?, AssessmentState::parse)?,
        history: from_json(&row.try_get::<String, _>("history")?)?,
        meta: meta(row)?,
    })
}
