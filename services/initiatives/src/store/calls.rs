//! Calls for Innovations, submissions and their screening.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::initiatives::{Start, insert_initiative};
use super::*;
use crate::domain::{
    CallFields, Date, InnovationCall, Screening, Stage, Status, Submission, SubmissionState,
};

pub(super) const CALL_COLUMNS: &str =
    "id, title, description, open_date, close_date, revision, create_time, update_time";
pub(super) const SUBMISSION_COLUMNS: &str = "id, call_id, body, stage, status, submitted_by, state, \
    screening, initiative_id, revision, create_time, update_time";

/// A submission as the caller sends it.
#[derive(Debug, Clone, Copy)]
pub struct NewSubmission<'a> {
    /// The initiative.
    pub fields: &'a crate::domain::InitiativeFields,
    /// Its stage.
    pub stage: Stage,
    /// Its status.
    pub status: Status,
    /// Who submits it.
    pub submitted_by: &'a str,
}

impl Store {
    /// Stores a new call, or returns the one a retried request stored.
    pub async fn create_call(
        &self,
        fields: &CallFields,
        request_id: Option<&str>,
    ) -> Result<InnovationCall, Error> {
        let id = retry_on_conflict(request_id, || async {
            let mut tx = self.begin().await?;
            if let Some(id) = existing_request(&mut tx, "innovation_calls", request_id).await? {
                return Ok(id);
            }
            let id = new_id();
            let now = now_micros();
            created(&self.db, &mut tx, &format!("calls/{id}"), now).await?;
            sqlx::query(
                "INSERT INTO innovation_calls (id, title, description, open_date, close_date, \
                 search_text, request_id, revision, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
            )
            .bind(&id)
            .bind(&fields.title)
            .bind(&fields.description)
            .bind(date_text(fields.open_date))
            .bind(date_text(fields.close_date))
            .bind(fields.search_text())
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
        .await?;
        self.get_call(&id).await
    }

    /// Reads one call.
    pub async fn get_call(&self, id: &str) -> Result<InnovationCall, Error> {
        let row = self
            .row("innovation_calls", CALL_COLUMNS, id, format!("calls/{id}"))
            .await?;
        call(&row)
    }

    /// Lists calls whose title or description has every term, in id order.
    pub async fn list_calls(
        &self,
        text: &[String],
        page: &PageRequest,
    ) -> Result<Page<InnovationCall>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {CALL_COLUMNS} FROM innovation_calls WHERE 1 = 1"
        ));
        and_text(&mut sql, "search_text", text);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(call).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |c| c.id.as_str()))
    }

    /// Replaces a call's fields if its revision is still `expected_revision`
    /// (when given). Submissions already made are not touched.
    pub async fn update_call(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        fields: &CallFields,
    ) -> Result<InnovationCall, Error> {
        let mut tx = self
            .begin_update(
                "innovation_calls",
                id,
                &format!("calls/{id}"),
                expected_revision,
            )
            .await?;
        sqlx::query(
            "UPDATE innovation_calls SET title = $1, description = $2, open_date = $3, \
             close_date = $4, search_text = $5 WHERE id = $6",
        )
        .bind(&fields.title)
        .bind(&fields.description)
        .bind(date_text(fields.open_date))
        .bind(date_text(fields.close_date))
        .bind(fields.search_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_call(id).await
    }

    /// Stores a submission if the call is open on `today`.
    pub async fn create_submission(
        &self,
        call_id: &str,
        new: NewSubmission<'_>,
        request_id: Option<&str>,
        today: Date,
    ) -> Result<Submission, Error> {
        let id = retry_on_conflict(request_id, || async {
            let mut tx = self.begin().await?;
            if let Some(id) = existing_request(&mut tx, "submissions", request_id).await? {
                return Ok(id);
            }
            let row = sqlx::query(&format!(
                "SELECT {CALL_COLUMNS} FROM innovation_calls WHERE id = $1"
            ))
            .bind(call_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("calls/{call_id}")))?;
            call(&row)?.check_open(today)?;
            let id = new_id();
            let now = now_micros();
            created(
                &self.db,
                &mut tx,
                &format!("calls/{call_id}/submissions/{id}"),
                now,
            )
            .await?;
            sqlx::query(
                "INSERT INTO submissions (id, call_id, body, stage, status, submitted_by, state, \
                 screening, initiative_id, request_id, revision, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, 1, $9, $9)",
            )
            .bind(&id)
            .bind(call_id)
            .bind(json(new.fields)?)
            .bind(new.stage.as_str())
            .bind(new.status.as_str())
            .bind(new.submitted_by)
            .bind(SubmissionState::Submitted.as_str())
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
        .await?;
        self.get_submission(call_id, &id).await
    }

    /// Reads one submission.
    pub async fn get_submission(&self, call_id: &str, id: &str) -> Result<Submission, Error> {
        let row = sqlx::query(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE id = $1 AND call_id = $2"
        ))
        .bind(id)
        .bind(call_id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| Error::not_found(format!("calls/{call_id}/submissions/{id}")))?;
        submission(&row)
    }

    /// Lists a call's submissions in any of `states` (all when empty), in id order.
    pub async fn list_submissions(
        &self,
        call_id: &str,
        states: &[String],
        page: &PageRequest,
    ) -> Result<Page<Submission>, Error> {
        self.get_call(call_id).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE call_id = "
        ));
        sql.bind(call_id);
        and_in(&mut sql, "state", states);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(submission).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |s| s.id.as_str()))
    }

    /// Records a screening; an acceptance creates the initiative in the same transaction.
    pub async fn screen_submission(
        &self,
        call_id: &str,
        id: &str,
        expected_revision: Option<i64>,
        screening: &Screening,
    ) -> Result<Submission, Error> {
        let name = format!("calls/{call_id}/submissions/{id}");
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE id = $1 AND call_id = $2"
        ))
        .bind(id)
        .bind(call_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(&name))?;
        let current = submission(&row)?;
        check_etag(&name, current.meta.revision, expected_revision)?;
        let state = current.screen(screening)?;
        let now = now_micros();
        bump_revision(
            &self.db,
            &mut tx,
            "submissions",
            id,
            &name,
            current.meta.revision,
            now,
        )
        .await?;
        let initiative_id = if state == SubmissionState::Accepted {
            let note = format!("accepted from {name}");
            let start = Start {
                stage: current.stage,
                status: current.status,
                actor: &screening.decided_by,
                note: &note,
            };
            Some(insert_initiative(&self.db, &mut tx, &current.fields, start, None).await?)
        } else {
            None
        };
        let mut screening = screening.clone();
        screening.time = now;
        sqlx::query(
            "UPDATE submissions SET state = $1, screening = $2, initiative_id = $3 WHERE id = $4",
        )
        .bind(state.as_str())
        .bind(json(&screening)?)
        .bind(initiative_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_submission(call_id, id).await
    }
}

pub(super) fn call(row: &AnyRow) -> Result<InnovationCall, Error> {
    Ok(InnovationCall {
        id: row.try_get("id")?,
        fields: CallFields {
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            open_date: date(row.try_get("open_date")?)?,
            close_date: date(row.try_get("close_date")?)?,
        },
        meta: meta(row)?,
    })
}

pub(super) fn submission(row: &AnyRow) -> Result<Submission, Error> {
    Ok(Submission {
        id: row.try_get("id")?,
        call_id: row.try_get("call_id")?,
        fields: from_json(&row.try_get::<String, _>("body")?)?,
        stage: vocab(&text(row, "stage")?, Stage::parse)?,
        status: vocab(&text(row, "status")?, Status::parse)?,
        submitted_by: row.try_get("submitted_by")?,
        state: vocab(&text(row, "state")?, SubmissionState::parse)?,
        screening: opt(&text(row, "screening")?).map(from_json).transpose()?,
        initiative_id: opt(&text(row, "initiative_id")?).map(str::to_string),
        meta: meta(row)?,
    })
}
