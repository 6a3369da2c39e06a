//! Editions and their lifecycle.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{
    Action, Edition, EditionFields, EditionQuery, EditionRef, EditionState, Transition,
    Translation, next_state, today,
};

const COLUMNS: &str = "document_id, number, state, translations, change_note, state_reason, \
     publish_time, revision, create_time, update_time";

impl Store {
    /// Starts a new DRAFT edition, or returns the one a retried request stored.
    pub async fn create_edition(
        &self,
        document_id: &str,
        fields: &EditionFields,
        request_id: Option<&str>,
    ) -> Result<Edition, Error> {
        retry_on_conflict(request_id, || {
            self.insert_edition(document_id, fields, request_id)
        })
        .await
    }

    async fn insert_edition(
        &self,
        document_id: &str,
        fields: &EditionFields,
        request_id: Option<&str>,
    ) -> Result<Edition, Error> {
        let mut tx = self.begin().await?;
        if let Some(row) = existing_row(&mut tx, "editions", COLUMNS, request_id).await? {
            return edition(&row);
        }
        super::documents::get(&mut tx, document_id).await?;
        let open = sqlx::query(
            "SELECT number FROM editions WHERE document_id = $1 AND state IN ('DRAFT', 'SUBMITTED')",
        )
        .bind(document_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = open {
            let number: i64 = row.try_get("number")?;
            return Err(unpublished_exists(document_id, number));
        }
        let row = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) AS last FROM editions WHERE document_id = $1",
        )
        .bind(document_id)
        .fetch_one(&mut *tx)
        .await?;
        let number: i64 = row.try_get::<i64, _>("last")? + 1;
        let now = now_micros();
        record(
            &self.db,
            &mut tx,
            &format!("documents/{document_id}/editions/{number}"),
            ChangeType::Created,
            1,
            now,
        )
        .await?;
        sqlx::query(&format!(
            "INSERT INTO editions ({COLUMNS}, request_id) VALUES \
             ($1, $2, 'DRAFT', $3, $4, '', NULL, 1, $5, $5, $6)"
        ))
        .bind(document_id)
        .bind(number)
        .bind(json(&fields.translations)?)
        .bind(&fields.change_note)
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            // Lost a race: against a retry of the same request, or against
            // another writer opening an edition of the same document.
            let on_conflict = if request_id.is_some() {
                Error::AlreadyExists {
                    resource: String::new(),
                    message: "request_id was used concurrently".into(),
                }
            } else {
                unpublished_exists(document_id, number)
            };
            conflict(e, on_conflict)
        })?;
        let stored = get(&mut tx, document_id, number).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Reads one edition, or the current published one.
    pub async fn get_edition(
        &self,
        document_id: &str,
        which: &EditionRef,
    ) -> Result<Edition, Error> {
        let row =
            match which {
                EditionRef::Number(n) => {
                    sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM editions WHERE document_id = $1 AND number = $2"
                    ))
                    .bind(document_id)
                    .bind(*n)
                    .fetch_optional(self.db.pool())
                    .await?
                }
                EditionRef::Current => sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM editions WHERE document_id = $1 AND state = 'PUBLISHED'"
                ))
                .bind(document_id)
                .fetch_optional(self.db.pool())
                .await?,
            };
        match row {
            Some(row) => edition(&row),
            None => {
                // Tell an unknown document from a document without that edition.
                self.get_document(document_id).await?;
                Err(Error::not_found(match which {
                    EditionRef::Number(n) => format!("documents/{document_id}/editions/{n}"),
                    EditionRef::Current => {
                        format!("documents/{document_id}/editions/current")
                    }
                }))
            }
        }
    }

    /// Lists a document's editions, oldest first.
    pub async fn list_editions(
        &self,
        document_id: &str,
        query: &EditionQuery,
        page: &PageRequest,
    ) -> Result<Page<Edition>, Error> {
        self.get_document(document_id).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM editions WHERE document_id = "
        ));
        sql.bind(document_id);
        and_in(&mut sql, "state", &query.states, |s| s.as_str().into());
        if let Some(after) = &page.after {
            let after: i64 = after
                .parse()
                .map_err(|_| Error::invalid("page_token", "is not a valid page token"))?;
            sql.push(" AND number > ").bind(after);
        }
        sql.push(" ORDER BY number LIMIT ")
            .bind(Value::Int(i64::try_from(page.size + 1).unwrap_or(i64::MAX)));
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(edition).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |e| e.number.to_string()))
    }

    /// Replaces a DRAFT edition's text.
    pub async fn update_edition(
        &self,
        document_id: &str,
        number: i64,
        expected_revision: Option<i64>,
        read_revision: i64,
        fields: &EditionFields,
    ) -> Result<Edition, Error> {
        let mut tx = self.begin().await?;
        let current = get(&mut tx, document_id, number).await?;
        let name = current.name();
        check_etag(&name, current.meta.revision, expected_revision)?;
        check_etag(&name, current.meta.revision, Some(read_revision))?;
        if current.state != EditionState::Draft {
            return Err(Error::failed_precondition(
                "EDITION_NOT_DRAFT",
                format!(
                    "{name} is {}; only a DRAFT edition can change (start a new edition instead)",
                    current.state
                ),
            ));
        }
        let now = now_micros();
        record(
            &self.db,
            &mut tx,
            &name,
            ChangeType::Updated,
            current.meta.revision + 1,
            now,
        )
        .await?;
        let updated = sqlx::query(
            "UPDATE editions SET translations = $1, change_note = $2, revision = revision + 1, \
             update_time = $3 WHERE document_id = $4 AND number = $5 AND revision = $6",
        )
        .bind(json(&fields.translations)?)
        .bind(&fields.change_note)
        .bind(now)
        .bind(document_id)
        .bind(number)
        .bind(current.meta.revision)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(Error::Aborted {
                resource: name,
                etag: current.meta.etag(),
            });
        }
        let stored = get(&mut tx, document_id, number).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Moves an edition through its lifecycle; publishing supersedes the
    /// previous published edition and re-indexes the document for search.
    pub async fn transition_edition(
        &self,
        document_id: &str,
        number: i64,
        t: &Transition,
    ) -> Result<Edition, Error> {
        let mut tx = self.begin().await?;
        let current = get(&mut tx, document_id, number).await?;
        check_etag(&current.name(), current.meta.revision, t.expected_revision)?;
        let to = next_state(current.state, t.action)?;
        let now = now_micros();
        // All appends first, in the order of the writes below: the superseded
        // edition, this one, then the document whose current edition moves
        // (its revision bumped with its append).
        let mut superseded = None;
        if t.action == Action::Publish {
            let previous = sqlx::query(
                "SELECT number FROM editions WHERE document_id = $1 AND state = 'PUBLISHED'",
            )
            .bind(document_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = previous {
                let previous: i64 = row.try_get("number")?;
                let old = get(&mut tx, document_id, previous).await?;
                let state = next_state(old.state, Action::Supersede)?;
                record(
                    &self.db,
                    &mut tx,
                    &old.name(),
                    ChangeType::Updated,
                    old.meta.revision + 1,
                    now,
                )
                .await?;
                superseded = Some((old, state));
            }
        }
        record(
            &self.db,
            &mut tx,
            &current.name(),
            ChangeType::Updated,
            current.meta.revision + 1,
            now,
        )
        .await?;
        if matches!(t.action, Action::Publish | Action::Withdraw) {
            let document = super::documents::get(&mut tx, document_id).await?;
            bump_revision(
                &self.db,
                &mut tx,
                "documents",
                document_id,
                &document.name(),
                document.meta.revision,
                now,
            )
            .await?;
        }
        if let Some((old, state)) = &superseded {
            set_state(&mut tx, old, *state, "", now).await?;
        }
        set_state(&mut tx, &current, to, &t.reason, now).await?;
        match t.action {
            Action::Publish => {
                let today = today().to_string();
                sqlx::query(
                    "UPDATE documents SET current_edition = $1, \
                     issue_date = COALESCE(issue_date, $2), modify_date = $2 WHERE id = $3",
                )
                .bind(number)
                .bind(&today)
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
                self.index(&mut tx, document_id, number, &current.fields.translations)
                    .await?;
            }
            Action::Withdraw => {
                sqlx::query("UPDATE documents SET current_edition = NULL WHERE id = $1")
                    .bind(document_id)
                    .execute(&mut *tx)
                    .await?;
                self.unindex(&mut tx, document_id).await?;
            }
            Action::Submit | Action::Reject | Action::Supersede => {}
        }
        let stored = get(&mut tx, document_id, number).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces the document's search entries by the translations of its
    /// newly published edition.
    async fn index(
        &self,
        tx: &mut innolab_kit::db::Tx,
        document_id: &str,
        number: i64,
        translations: &[Translation],
    ) -> Result<(), Error> {
        self.unindex(tx, document_id).await?;
        for t in translations {
            self.index_translation(tx, document_id, number, t).await?;
        }
        Ok(())
    }
}

fn unpublished_exists(document_id: &str, number: i64) -> Error {
    Error::failed_precondition(
        "UNPUBLISHED_EDITION_EXISTS",
        format!(
            "documents/{document_id} already has an unpublished edition \
             (documents/{document_id}/editions/{number}); publish or reject it first"
        ),
    )
}

async fn set_state(
    tx: &mut innolab_kit::db::Tx,
    edition: &Edition,
    to: EditionState,
    reason: &str,
    now: i64,
) -> Result<(), Error> {
    let updated = sqlx::query(
        "UPDATE editions SET state = $1, state_reason = $2, \
         publish_time = CASE WHEN $3 = 'PUBLISHED' THEN $4 ELSE publish_time END, \
         revision = revision + 1, update_time = $4 \
         WHERE document_id = $5 AND number = $6 AND revision = $7",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(to.as_str())
    .bind(now)
    .bind(&edition.document_id)
    .bind(edition.number)
    .bind(edition.meta.revision)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(Error::Aborted {
            resource: edition.name(),
            etag: edition.meta.etag(),
        });
    }
    Ok(())
}

/// Reads an edition inside a transaction.
async fn get(
    tx: &mut innolab_kit::db::Tx,
    document_id: &str,
    number: i64,
) -> Result<Edition, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM editions WHERE document_id = $1 AND number = $2"
    ))
    .bind(document_id)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found(format!("documents/{document_id}/editions/{number}")))?;
    edition(&row)
}

fn edition(row: &AnyRow) -> Result<Edition, Error> {
    Ok(Edition {
        document_id: row.try_get("document_id")?,
        number: row.try_get("number")?,
        fields: EditionFields {
            translations: from_json(&text(row, "translations")?)?,
            change_note: text(row, "change_note")?,
        },
        state: vocab(&text(row, "state")?, EditionState::parse)?,
        state_reason: text(row, "state_reason")?,
        publish_time: row.try_get("publish_time")?,
        language_fallback: false,
        meta: meta(row)?,
    })
}
