//! The attachment upload: from the announced metadata and a stream of chunks
//! to a stored attachment. Works on domain types and the store; the API
//! layer turns the protobuf messages into what this takes.

use innolab_kit::Error;
use tokio_stream::{Stream, StreamExt as _};

use crate::domain::{Attachment, AttachmentFields, Receiving};
use crate::store::{Store, UploadStart};

/// What an upload announces before its content.
#[derive(Debug, Clone)]
pub struct Announced {
    /// The document's id.
    pub document_id: String,
    /// The validated metadata.
    pub fields: AttachmentFields,
    /// The idempotency key, if any.
    pub request_id: Option<String>,
}

/// Stores the attachment whose content `chunks` carries, at most `max_bytes`
/// of it, or the one a retried request stored already. A chunk that is
/// refused, a broken stream or a wrong checksum leaves nothing behind.
pub async fn upload(
    store: &Store,
    max_bytes: u64,
    announced: Announced,
    chunks: impl Stream<Item = Result<Vec<u8>, Error>>,
) -> Result<Attachment, Error> {
    let Announced {
        document_id,
        fields,
        request_id,
    } = announced;
    let mut upload = match store
        .start_upload(&document_id, &fields, request_id.as_deref())
        .await?
    {
        UploadStart::Done(existing) => return Ok(existing),
        UploadStart::Started(upload) => upload,
    };
    let mut chunks = std::pin::pin!(chunks);
    let mut receiving = Receiving::new(max_bytes);
    let received = async {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            receiving.add(&chunk)?;
            upload.write(&chunk).await?;
        }
        receiving.finish(&fields.sha256)
    }
    .await;
    match received {
        Ok(size) => upload.commit(size).await,
        Err(e) => {
            upload.abort().await;
            Err(e)
        }
    }
}
