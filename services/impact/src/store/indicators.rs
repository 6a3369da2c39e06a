//! Indicators of an assessment.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::*;
use crate::domain::{Indicator, IndicatorFields, IndicatorQuery, indicator_day};
use innolab_kit::db::Database;

/// The columns of an indicator, from `indicators i JOIN indicator_documents d`.
pub(super) const COLUMNS: &str =
    "i.id, i.assessment_id, d.body, i.revision, i.create_time, i.update_time";
/// The tables the columns come from.
pub(super) const FROM: &str = "indicators i JOIN indicator_documents d ON d.id = i.id";

/// The copies of an indicator's values that rollups aggregate.
struct Derived {
    result_type: &'static str,
    direction: &'static str,
    baseline_value: f64,
    baseline_day: i64,
    target_value: f64,
    target_day: i64,
    latest: Option<(f64, i64)>,
}

fn derived(f: &IndicatorFields) -> Result<Derived, Error> {
    let missing = || Error::Internal("indicator stored before validation".into());
    let baseline = f.baseline.ok_or_else(missing)?;
    let target = f.target.ok_or_else(missing)?;
    Ok(Derived {
        result_type: f.result_type.ok_or_else(missing)?.as_str(),
        direction: f.direction.ok_or_else(missing)?.as_str(),
        baseline_value: baseline.value,
        baseline_day: indicator_day(baseline.date),
        target_value: target.value,
        target_day: indicator_day(target.date),
        latest: f.latest().map(|m| (m.value, indicator_day(m.date))),
    })
}

/// The SQL of the latest measurement's value and day: placeholders from
/// `first`, or `NULL, NULL` literals. A bound NULL would fix the parameter's
/// type in PostgreSQL's cached statement and break later non-NULL binds.
fn latest_placeholders(d: &Derived, first: usize) -> (String, String) {
    match d.latest {
        Some(_) => (format!("${first}"), format!("${}", first + 1)),
        None => ("NULL".to_string(), "NULL".to_string()),
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

fn bind_latest<'q>(query: AnyQuery<'q>, d: &Derived) -> AnyQuery<'q> {
    match d.latest {
        Some((value, day)) => query.bind(value).bind(day),
        None => query,
    }
}

impl Store {
    /// Stores a new indicator of an assessment, or returns the one a retried
    /// request stored.
    pub async fn create_indicator(
        &self,
        assessment_id: &str,
        fields: &IndicatorFields,
        request_id: Option<&str>,
    ) -> Result<Indicator, Error> {
        let id = retry_on_conflict(request_id, || {
            self.insert_indicator(assessment_id, fields, request_id)
        })
        .await?;
        self.get_indicator(assessment_id, &id).await
    }

    async fn insert_indicator(
        &self,
        assessment_id: &str,
        fields: &IndicatorFields,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        let before = super::rollup::share(&mut tx, assessment_id).await?;
        if let Some(id) = existing_request(&mut tx, "indicators", request_id).await? {
            return Ok(id);
        }
        require_assessment(&mut tx, assessment_id).await?;
        let id = new_id();
        write_indicator(
            &self.db,
            &mut tx,
            assessment_id,
            &id,
            fields,
            request_id,
            now_micros(),
        )
        .await?;
        let after = super::rollup::share(&mut tx, assessment_id).await?;
        super::rollup::apply(&mut tx, before, after).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one indicator.
    pub async fn get_indicator(&self, assessment_id: &str, id: &str) -> Result<Indicator, Error> {
        read(self.db.pool(), assessment_id, id).await
    }

    /// Lists an assessment's indicators, in id order.
    pub async fn list_indicators(
        &self,
        assessment_id: &str,
        query: &IndicatorQuery,
        page: &PageRequest,
    ) -> Result<Page<Indicator>, Error> {
        let exists = sqlx::query("SELECT 1 AS one FROM assessments WHERE id = $1")
            .bind(assessment_id)
            .fetch_optional(self.db.pool())
            .await?;
        if exists.is_none() {
            return Err(Error::not_found(format!("assessments/{assessment_id}")));
        }
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE i.assessment_id = "
        ));
        sql.bind(assessment_id);
        and_in(&mut sql, "i.result_type", &query.result_types, |r| {
            r.as_str().into()
        });
        and_page(&mut sql, "i.id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(indicator).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |i| i.id.as_str()))
    }

    /// Replaces an indicator's fields.
    pub async fn update_indicator(
        &self,
        assessment_id: &str,
        id: &str,
        expected_revision: Option<i64>,
        fields: &IndicatorFields,
    ) -> Result<Indicator, Error> {
        let d = derived(fields)?;
        let mut tx = self.begin().await?;
        let before = super::rollup::share(&mut tx, assessment_id).await?;
        let current = read(&mut *tx, assessment_id, id).await?;
        let name = current.name();
        check_etag(&name, current.meta.revision, expected_revision)?;
        let now = now_micros();
        let revision = current.meta.revision;
        bump_revision(&self.db, &mut tx, "indicators", id, &name, revision, now).await?;
        let (value, day) = latest_placeholders(&d, 8);
        let sql = format!(
            "UPDATE indicators SET result_type = $1, direction = $2, \
             baseline_value = $3, baseline_day = $4, target_value = $5, target_day = $6, \
             latest_value = {value}, latest_day = {day} WHERE id = $7"
        );
        let query = sqlx::query(&sql)
            .bind(d.result_type)
            .bind(d.direction)
            .bind(d.baseline_value)
            .bind(d.baseline_day)
            .bind(d.target_value)
            .bind(d.target_day)
            .bind(id);
        bind_latest(query, &d).execute(&mut *tx).await?;
        sqlx::query("UPDATE indicator_documents SET body = $1 WHERE id = $2")
            .bind(json(fields)?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let after = super::rollup::share(&mut tx, assessment_id).await?;
        super::rollup::apply(&mut tx, before, after).await?;
        tx.commit().await?;
        self.get_indicator(assessment_id, id).await
    }

    /// Deletes an indicator.
    pub async fn delete_indicator(
        &self,
        assessment_id: &str,
        id: &str,
        expected_revision: Option<i64>,
    ) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        let before = super::rollup::share(&mut tx, assessment_id).await?;
        let current = read(&mut *tx, assessment_id, id).await?;
        check_etag(&current.name(), current.meta.revision, expected_revision)?;
        sqlx::query("DELETE FROM indicator_documents WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM indicators WHERE id = $1 AND revision = $2")
            .bind(id)
            .bind(current.meta.revision)
            .execute(&mut *tx)
            .await?;
        one_row(&done, &current.name(), current.meta.revision)?;
        let revision = current.meta.revision + 1;
        let now = now_micros();
        record(
            &self.db,
            &mut tx,
            &current.name(),
            ChangeType::Deleted,
            revision,
            now,
        )
        .await?;
        let after = super::rollup::share(&mut tx, assessment_id).await?;
        super::rollup::apply(&mut tx, before, after).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Writes a new indicator's rows (the narrow row and its document).
pub(super) async fn write_indicator(
    db: &Database,
    tx: &mut innolab_kit::db::Tx,
    assessment_id: &str,
    id: &str,
    fields: &IndicatorFields,
    request_id: Option<&str>,
    now: i64,
) -> Result<(), Error> {
    let d = derived(fields)?;
    let (value, day) = latest_placeholders(&d, 11);
    let sql = format!(
        "INSERT INTO indicators (id, assessment_id, result_type, direction, \
             baseline_value, baseline_day, target_value, target_day, request_id, revision, \
             create_time, update_time, latest_value, latest_day) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, {value}, {day})"
    );
    let query = sqlx::query(&sql)
        .bind(id)
        .bind(assessment_id)
        .bind(d.result_type)
        .bind(d.direction)
        .bind(d.baseline_value)
        .bind(d.baseline_day)
        .bind(d.target_value)
        .bind(d.target_day)
        .bind(request_id)
        .bind(now);
    bind_latest(query, &d).execute(&mut **tx).await?;
    sqlx::query("INSERT INTO indicator_documents (id, body) VALUES ($1, $2)")
        .bind(id)
        .bind(json(fields)?)
        .execute(&mut **tx)
        .await?;
    let resource = format!("assessments/{assessment_id}/indicators/{id}");
    record(db, tx, &resource, ChangeType::Created, 1, now).await?;
    Ok(())
}

/// NOT_FOUND unless the assessment exists.
async fn require_assessment(
    tx: &mut innolab_kit::db::Tx,
    assessment_id: &str,
) -> Result<(), Error> {
    let row = sqlx::query("SELECT 1 AS one FROM assessments WHERE id = $1")
        .bind(assessment_id)
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(Error::not_found(format!("assessments/{assessment_id}"))),
    }
}

/// Reads an indicator, from the pool or inside a writing transaction.
async fn read<'e>(
    db: impl Executor<'e, Database = Any>,
    assessment_id: &str,
    id: &str,
) -> Result<Indicator, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE i.id = $1 AND i.assessment_id = $2"
    ))
    .bind(id)
    .bind(assessment_id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("assessments/{assessment_id}/indicators/{id}")))?;
    indicator(&row)
}

pub(super) fn indicator(row: &AnyRow) -> Result<Indicator, Error> {
    Ok(Indicator {
        assessment_id: row.try_get("assessment_id")?,
        id: row.try_get("id")?,
        fields: from_json(&row.try_get::<String, _>("body")?)?,
        meta: meta(row)?,
    })
}
