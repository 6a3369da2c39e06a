//! Innovation capacity assessments (rounds).

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::*;
use crate::domain::{CapacityAssessment, CapacityFields, CapacityQuery};

pub(super) const COLUMNS: &str = "id, body, revision, create_time, update_time";

/// The round's date as the NOT NULL column stores it.
fn assess_date(fields: &CapacityFields) -> String {
    date_text(fields.assess_date).unwrap_or_default()
}

/// ALREADY_EXISTS naming the round, for a clash on (subject, round).
fn clash(error: sqlx::Error, fields: &CapacityFields) -> Error {
    innolab_kit::store::conflict(
        error,
        Error::AlreadyExists {
            resource: fields.subject.clone(),
            message: format!("{} already has a round {:?}", fields.subject, fields.round),
        },
    )
}

impl Store {
    /// Stores a new round, or returns the one a retried request stored.
    pub async fn create_capacity(
        &self,
        fields: &CapacityFields,
        request_id: Option<&str>,
    ) -> Result<CapacityAssessment, Error> {
        let id = retry_on_conflict(request_id, || self.insert_capacity(fields, request_id)).await?;
        self.get_capacity(&id).await
    }

    async fn insert_capacity(
        &self,
        fields: &CapacityFields,
        request_id: Option<&str>,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        if let Some(id) = existing_request(&mut tx, "capacity_assessments", request_id).await? {
            return Ok(id);
        }
        let id = new_id();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO capacity_assessments (id, subject, round, assess_date, body, \
             request_id, revision, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(&id)
        .bind(&fields.subject)
        .bind(&fields.round)
        .bind(assess_date(fields))
        .bind(json(fields)?)
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| clash(e, fields))?;
        let resource = format!("capacityAssessments/{id}");
        record(&self.db, &mut tx, &resource, ChangeType::Created, 1, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads one round.
    pub async fn get_capacity(&self, id: &str) -> Result<CapacityAssessment, Error> {
        read(self.db.pool(), id).await
    }

    /// Lists rounds matching `query`, in id (recording) order.
    pub async fn list_capacity(
        &self,
        query: &CapacityQuery,
        page: &PageRequest,
    ) -> Result<Page<CapacityAssessment>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM capacity_assessments WHERE 1 = 1"
        ));
        and_in(&mut sql, "subject", &query.subjects, |s| s.as_str().into());
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(capacity).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |c| c.id.as_str()))
    }

    /// Replaces a round's fields.
    pub async fn update_capacity(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &CapacityFields,
    ) -> Result<CapacityAssessment, Error> {
        let name = format!("capacityAssessments/{id}");
        let mut tx = self.begin().await?;
        let current = read(&mut *tx, id).await?;
        check_etag(&name, current.meta.revision, expected_revision)?;
        let now = now_micros();
        let revision = current.meta.revision;
        bump_revision(
            &self.db,
            &mut tx,
            "capacity_assessments",
            id,
            &name,
            revision,
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE capacity_assessments SET subject = $1, round = $2, assess_date = $3, \
             body = $4 WHERE id = $5",
        )
        .bind(&fields.subject)
        .bind(&fields.round)
        .bind(assess_date(fields))
        .bind(json(fields)?)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| clash(e, fields))?;
        tx.commit().await?;
        self.get_capacity(id).await
    }
}

/// Reads a round, from the pool or inside a writing transaction.
async fn read<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<CapacityAssessment, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM capacity_assessments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("capacityAssessments/{id}")))?;
    capacity(&row)
}

pub(super) fn capacity(row: &AnyRow) -> Result<CapacityAssessment, Error> {
    Ok(CapacityAssessment {
        id: row.try_get("id")?,
        fields: from_json(&row.try_get::<String, _>("body")?)?,
        meta: meta(row)?,
    })
}
