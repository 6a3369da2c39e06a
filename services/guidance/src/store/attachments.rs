//! Attachments, stored in chunks. An upload writes inside one transaction
//! that commits only once the whole content has arrived and checked out, so
//! a broken or refused upload leaves nothing behind.

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::*;
use crate::domain::{Attachment, AttachmentFields};

const COLUMNS: &str = "id, document_id, filename, content_type, sha256, size_bytes, create_time";

/// An upload in progress: its transaction is rolled back if it is dropped
/// before [`Upload::commit`].
#[derive(Debug)]
pub struct Upload {
    tx: Transaction<'static, Any>,
    id: String,
    seq: i64,
}

/// What starting an upload found.
#[derive(Debug)]
pub enum UploadStart {
    /// A retry of an upload that completed: its result.
    Done(Attachment),
    /// A new upload, ready for chunks.
    Started(Upload),
}

impl Store {
    /// Starts an upload to a document, or finds the one a retried request stored.
    pub async fn start_upload(
        &self,
        document_id: &str,
        fields: &AttachmentFields,
        request_id: Option<&str>,
    ) -> Result<UploadStart, Error> {
        let mut tx = self.begin().await?;
        if let Some(row) = existing_request(&mut tx, "attachments", COLUMNS, request_id).await? {
            return Ok(UploadStart::Done(attachment(&row)?));
        }
        super::documents::get(&mut tx, document_id).await?;
        let id = new_id();
        let now = now_micros();
        self.record(
            &mut tx,
            &format!("documents/{document_id}/attachments/{id}"),
            ChangeType::Created,
            1,
            now,
        )
        .await?;
        // The size is filled in at commit.
        sqlx::query(&format!(
            "INSERT INTO attachments ({COLUMNS}, request_id) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)"
        ))
        .bind(&id)
        .bind(document_id)
        .bind(&fields.filename)
        .bind(&fields.content_type)
        .bind(&fields.sha256)
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        Ok(UploadStart::Started(Upload { tx, id, seq: 0 }))
    }

    /// Lists a document's attachments, in id order.
    pub async fn list_attachments(
        &self,
        document_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Attachment>, Error> {
        self.get_document(document_id).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM attachments WHERE document_id = "
        ));
        sql.bind(document_id);
        and_page(&mut sql, "id", page);
        let rows = sql.build().fetch_all(self.db.pool()).await?;
        let items = rows.iter().map(attachment).collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, page, |a| a.id.clone()))
    }

    /// Reads an attachment's metadata.
    pub async fn get_attachment(&self, document_id: &str, id: &str) -> Result<Attachment, Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM attachments WHERE document_id = $1 AND id = $2"
        ))
        .bind(document_id)
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| Error::not_found(format!("documents/{document_id}/attachments/{id}")))?;
        attachment(&row)
    }

    /// The chunk at position `seq` (from 0), `None` past the end.
    pub async fn attachment_chunk(&self, id: &str, seq: i64) -> Result<Option<Vec<u8>>, Error> {
        let row =
            sqlx::query("SELECT data FROM attachment_chunks WHERE attachment_id = $1 AND seq = $2")
                .bind(id)
                .bind(seq)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(|r| r.try_get::<Vec<u8>, _>("data")).transpose()?)
    }
}

impl Upload {
    /// Stores the next chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        sqlx::query("INSERT INTO attachment_chunks (attachment_id, seq, data) VALUES ($1, $2, $3)")
            .bind(&self.id)
            .bind(self.seq)
            .bind(chunk)
            .execute(&mut *self.tx)
            .await?;
        self.seq += 1;
        Ok(())
    }

    /// Records the size and makes the attachment visible.
    pub async fn commit(mut self, size_bytes: i64) -> Result<Attachment, Error> {
        sqlx::query("UPDATE attachments SET size_bytes = $1 WHERE id = $2")
            .bind(size_bytes)
            .bind(&self.id)
            .execute(&mut *self.tx)
            .await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM attachments WHERE id = $1"))
            .bind(&self.id)
            .fetch_one(&mut *self.tx)
            .await?;
        let stored = attachment(&row)?;
        self.tx.commit().await?;
        Ok(stored)
    }
}

fn attachment(row: &AnyRow) -> Result<Attachment, Error> {
    Ok(Attachment {
        document_id: row.try_get("document_id")?,
        id: row.try_get("id")?,
        fields: AttachmentFields {
            filename: row.try_get("filename")?,
            content_type: row.try_get("content_type")?,
            sha256: row.try_get("sha256")?,
        },
        size_bytes: row.try_get("size_bytes")?,
        create_time: row.try_get("create_time")?,
    })
}
