//! Attachments, stored in chunks. An upload stages its chunks as they
//! arrive, without the service's write lock (so a slow or stalled upload
//! never holds up other writers), and takes the lock only to commit: the
//! attachment row, its chunks moved from the staging table and the change
//! log, in one transaction, once the whole content has arrived and checked
//! out. A broken, refused or abandoned upload leaves nothing behind (its
//! staged chunks are deleted, and swept after a day if the process died).

use innolab_kit::Error;
use innolab_kit::db::now_micros;
use innolab_kit::page::PageRequest;
use innolab_kit::sql::Sql;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;
use crate::domain::{Attachment, AttachmentFields};

const COLUMNS: &str = "id, document_id, filename, content_type, sha256, size_bytes, create_time";

/// Staged chunks older than this belong to a process that died mid-upload.
const STALE_STAGING_MICROS: i64 = 24 * 3600 * 1_000_000;

/// An upload in progress: chunks staged under its id. Call [`Upload::abort`]
/// when it fails, [`Upload::commit`] when it is whole.
#[derive(Debug)]
pub struct Upload {
    db: Database,
    document_id: String,
    fields: AttachmentFields,
    request_id: Option<String>,
    id: String,
    seq: i64,
    /// Set once committed or aborted; otherwise a dropped upload (the call
    /// cancelled midway) deletes its staged chunks in the background.
    settled: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let db = self.db.clone();
            let id = std::mem::take(&mut self.id);
            runtime.spawn(async move {
                let _ = delete_staged(db.pool(), &id).await;
            });
        }
    }
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
    /// Starts an upload to a document, or finds the one a retried request
    /// stored. Reads only: nothing is locked until the commit.
    pub async fn start_upload(
        &self,
        document_id: &str,
        fields: &AttachmentFields,
        request_id: Option<&str>,
    ) -> Result<UploadStart, Error> {
        let mut conn = self.db.pool().acquire().await?;
        if let Some(request_id) = request_id {
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM attachments WHERE request_id = $1"
            ))
            .bind(request_id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                return Ok(UploadStart::Done(attachment(&row)?));
            }
        }
        self.get_document(document_id).await?;
        sqlx::query("DELETE FROM upload_chunks WHERE created < $1")
            .bind(now_micros() - STALE_STAGING_MICROS)
            .execute(&mut *conn)
            .await?;
        Ok(UploadStart::Started(Upload {
            db: self.db.clone(),
            document_id: document_id.to_string(),
            fields: fields.clone(),
            request_id: request_id.map(str::to_string),
            id: new_id(),
            seq: 0,
            settled: false,
        }))
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
    /// Stages the next chunk (its own small write, no write lock).
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO upload_chunks (upload_id, seq, data, created) VALUES ($1, $2, $3, $4)",
        )
        .bind(&self.id)
        .bind(self.seq)
        .bind(chunk)
        .bind(now_micros())
        .execute(self.db.pool())
        .await?;
        self.seq += 1;
        Ok(())
    }

    /// Deletes what was staged: the upload failed.
    pub async fn abort(mut self) {
        let deleted = delete_staged(self.db.pool(), &self.id).await;
        self.settled = true;
        if let Err(e) = deleted {
            tracing::warn!(error = %e, upload = %self.id, "staged chunks of a failed upload are left for the sweep");
        }
    }

    /// Under the write lock: the attachment, its chunks and the change log,
    /// in one transaction; a retry that raced this one gets the first result.
    pub async fn commit(mut self, size_bytes: i64) -> Result<Attachment, Error> {
        let committed = self.store(size_bytes).await;
        // The chunks were moved (or, for a raced retry, dropped) in the
        // committing transaction; after a failure they are not wanted.
        if committed.is_err() {
            let _ = delete_staged(self.db.pool(), &self.id).await;
        }
        self.settled = true;
        committed
    }

    async fn store(&self, size_bytes: i64) -> Result<Attachment, Error> {
        let mut tx = self.db.begin().await?;
        if let Some(row) =
            existing_row(&mut tx, "attachments", COLUMNS, self.request_id.as_deref()).await?
        {
            // A concurrent retry stored it first: its result, and nothing staged kept.
            let stored = attachment(&row)?;
            delete_staged(&mut *tx, &self.id).await?;
            tx.commit().await?;
            return Ok(stored);
        }
        super::documents::get(&mut tx, &self.document_id).await?;
        let now = now_micros();
        innolab_kit::changes::record(
            &self.db,
            &mut tx,
            &format!("documents/{}/attachments/{}", self.document_id, self.id),
            ChangeType::Created,
            1,
            now,
        )
        .await?;
        sqlx::query(&format!(
            "INSERT INTO attachments ({COLUMNS}, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&self.id)
        .bind(&self.document_id)
        .bind(&self.fields.filename)
        .bind(&self.fields.content_type)
        .bind(&self.fields.sha256)
        .bind(size_bytes)
        .bind(now)
        .bind(self.request_id.as_deref())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO attachment_chunks (attachment_id, seq, data) \
             SELECT $1, seq, data FROM upload_chunks WHERE upload_id = $2",
        )
        .bind(&self.id)
        .bind(&self.id)
        .execute(&mut *tx)
        .await?;
        delete_staged(&mut *tx, &self.id).await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM attachments WHERE id = $1"))
            .bind(&self.id)
            .fetch_one(&mut *tx)
            .await?;
        let stored = attachment(&row)?;
        tx.commit().await?;
        Ok(stored)
    }
}

/// Deletes an upload's staged chunks.
async fn delete_staged<'e, E>(executor: E, upload_id: &str) -> Result<(), Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
        .bind(upload_id)
        .execute(executor)
        .await?;
    Ok(())
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
