//! Documents and their metadata.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::{Sql, Value, like_escape};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{Document, DocumentFields, DocumentQuery, DocumentType, LifecycleStage};

pub(super) const COLUMNS: &str = "id, doc_type, title, description, topics, creators, publisher, \
     license, related_initiatives, lifecycle_stages, issue_date, modify_date, current_edition, \
     revision, create_time, update_time";

impl Store {
    /// Stores a new document, or returns the one a retried request stored.
    pub async fn create_document(
        &self,
        fields: &DocumentFields,
        request_id: Option<&str>,
    ) -> Result<Document, Error> {
        retry_on_conflict(request_id, || self.insert_document(fields, request_id)).await
    }

    async fn insert_document(
        &self,
        fields: &DocumentFields,
        request_id: Option<&str>,
    ) -> Result<Document, Error> {
        let mut tx = self.begin().await?;
        if let Some(row) = existing_row(&mut tx, "documents", COLUMNS, request_id).await? {
            return document(&row);
        }
        let id = new_id();
        let now = now_micros();
        record(
            &self.db,
            &mut tx,
            &format!("documents/{id}"),
            ChangeType::Created,
            1,
            now,
        )
        .await?;
        let raced = Error::AlreadyExists {
            resource: String::new(),
            message: "request_id was used concurrently".into(),
        };
        insert(&mut tx, &id, fields, request_id, None, now, raced).await?;
        write_facets(&mut tx, &id, fields).await?;
        let stored = get(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Reads one document.
    pub async fn get_document(&self, id: &str) -> Result<Document, Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM documents WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("documents/{id}")))?;
        document(&row)
    }

    /// Lists documents matching `query`, in id order.
    pub async fn list_documents(
        &self,
        query: &DocumentQuery,
        page: &PageRequest,
    ) -> Result<Page<Document>, Error> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM documents d WHERE 1 = 1"));
        and_in(&mut sql, "doc_type", &query.types, |t| t.as_str().into());
        and_in(&mut sql, "license", &query.licenses, |l| l.as_str().into());
        and_in(&mut sql, "publisher", &query.publishers, |p| {
            p.as_str().into()
        });
        and_has(&mut sql, "document_topics", "topic", "d.id", &query.topics);
        let stages: Vec<String> = query
            .stages
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        and_has(&mut sql, "document_stages", "stage", "d.id", &stages);
        and_has(
            &mut sql,
            "document_initiatives",
            "initiative",
            "d.id",
            &query.initiatives,
        );
        for term in &query.text {
            sql.push(" AND search_text LIKE ")
                .bind(Value::from(format!("%{}%", like_escape(term))))
                .push(" ESCAPE '\\'");
        }
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(document).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |d| d.id.clone()))
    }

    /// Replaces a document's metadata, if `expected_revision` (when given)
    /// is still the stored one.
    pub async fn update_document(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        read_revision: i64,
        fields: &DocumentFields,
    ) -> Result<Document, Error> {
        let name = format!("documents/{id}");
        let mut tx = self.begin().await?;
        let current = get(&mut tx, id).await?;
        check_etag(&name, current.meta.revision, expected_revision)?;
        // The merge was made on `read_revision`; a change since then would be
        // overwritten by stale values, so it is refused as well.
        check_etag(&name, current.meta.revision, Some(read_revision))?;
        bump_revision(
            &self.db,
            &mut tx,
            "documents",
            id,
            &name,
            current.meta.revision,
            now_micros(),
        )
        .await?;
        sqlx::query(
            "UPDATE documents SET doc_type = $1, title = $2, description = $3, topics = $4, \
             creators = $5, publisher = $6, license = $7, related_initiatives = $8, \
             lifecycle_stages = $9, issue_date = $10, modify_date = $11, search_text = $12 \
             WHERE id = $13",
        )
        .bind(fields.doc_type.map(DocumentType::as_str))
        .bind(&fields.title)
        .bind(&fields.description)
        .bind(json(&fields.topics)?)
        .bind(json(&fields.creators)?)
        .bind(opt(&fields.publisher))
        .bind(&fields.license)
        .bind(json(&fields.related_initiatives)?)
        .bind(json(&stage_names(&fields.lifecycle_stages))?)
        .bind(date_text(fields.issue_date))
        .bind(date_text(fields.modify_date))
        .bind(search_text(fields))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM document_topics WHERE document_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM document_stages WHERE document_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM document_initiatives WHERE document_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        write_facets(&mut tx, id, fields).await?;
        let stored = get(&mut tx, id).await?;
        tx.commit().await?;
        Ok(stored)
    }
}

/// Inserts document `id` at revision 1. With `published` (today's date) its
/// first edition is current and it is dated as publishing that edition
/// dates it; without, it has no current edition. A second row with the
/// same key (id or request id) is `on_conflict`.
pub(super) async fn insert(
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    fields: &DocumentFields,
    request_id: Option<&str>,
    published: Option<&str>,
    now: i64,
    on_conflict: Error,
) -> Result<(), Error> {
    let issue_date = date_text(fields.issue_date).or(published.map(str::to_string));
    let modify_date = published
        .map(str::to_string)
        .or(date_text(fields.modify_date));
    sqlx::query(&format!(
        "INSERT INTO documents ({COLUMNS}, search_text, request_id) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14, $15, $16)"
    ))
    .bind(id)
    .bind(fields.doc_type.map(DocumentType::as_str))
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(json(&fields.topics)?)
    .bind(json(&fields.creators)?)
    .bind(opt(&fields.publisher))
    .bind(&fields.license)
    .bind(json(&fields.related_initiatives)?)
    .bind(json(&stage_names(&fields.lifecycle_stages))?)
    .bind(issue_date)
    .bind(modify_date)
    .bind(published.map(|_| 1i64))
    .bind(now)
    .bind(search_text(fields))
    .bind(request_id)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, on_conflict))?;
    Ok(())
}

/// Reads a document inside a transaction.
pub(super) async fn get(tx: &mut innolab_kit::db::Tx, id: &str) -> Result<Document, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM documents WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("documents/{id}")))?;
    document(&row)
}

pub(super) async fn write_facets(
    tx: &mut innolab_kit::db::Tx,
    id: &str,
    fields: &DocumentFields,
) -> Result<(), Error> {
    for topic in &fields.topics {
        sqlx::query("INSERT INTO document_topics (document_id, topic) VALUES ($1, $2)")
            .bind(id)
            .bind(topic)
            .execute(&mut **tx)
            .await?;
    }
    for stage in &fields.lifecycle_stages {
        sqlx::query("INSERT INTO document_stages (document_id, stage) VALUES ($1, $2)")
            .bind(id)
            .bind(stage.as_str())
            .execute(&mut **tx)
            .await?;
    }
    for initiative in &fields.related_initiatives {
        sqlx::query(
            "INSERT INTO document_initiatives (document_id, initiative) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(initiative)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn stage_names(stages: &[LifecycleStage]) -> Vec<&'static str> {
    stages.iter().map(|s| s.as_str()).collect()
}

fn search_text(fields: &DocumentFields) -> String {
    crate::domain::text::fold(&fields.title).to_lowercase()
}

pub(super) fn document(row: &AnyRow) -> Result<Document, Error> {
    let stages: Vec<String> = from_json(&text(row, "lifecycle_stages")?)?;
    Ok(Document {
        id: row.try_get("id")?,
        fields: DocumentFields {
            doc_type: Some(vocab(&text(row, "doc_type")?, DocumentType::parse)?),
            title: row.try_get("title")?,
            description: text(row, "description")?,
            topics: from_json(&text(row, "topics")?)?,
            creators: from_json(&text(row, "creators")?)?,
            publisher: text(row, "publisher")?,
            license: row.try_get("license")?,
            related_initiatives: from_json(&text(row, "related_initiatives")?)?,
            lifecycle_stages: stages
                .iter()
                .map(|s| vocab(s, LifecycleStage::parse))
                .collect::<Result<_, _>>()?,
            issue_date: date(row.try_get("issue_date")?)?,
            modify_date: date(row.try_get("modify_date")?)?,
        },
        current_edition: row.try_get("current_edition")?,
        meta: meta(row)?,
    })
}
