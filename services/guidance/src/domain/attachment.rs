//! Attachments: files of a document, uploaded and downloaded in chunks.

use innolab_kit::{Error, Violations};

use super::check;

/// Largest chunk accepted on upload and sent on download (1 MiB).
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// What an uploader announces before the content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttachmentFields {
    /// File name shown to readers.
    pub filename: String,
    /// IANA media type.
    pub content_type: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

impl AttachmentFields {
    /// Checks every field.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        match check::required_text(&self.filename, 255) {
            Ok(f) if f.contains('/') || f.contains('\\') || f.contains('\n') => {
                v.add("filename", "must be a bare file name, without folders");
            }
            Ok(f) => self.filename = f,
            Err(e) => v.add("filename", e),
        }
        let ct = self.content_type.trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
        };
        let essence = ct.split(';').next().unwrap_or("").trim().to_string();
        match essence.split_once('/') {
            Some((kind, sub)) if token(kind) && token(sub) && ct.len() <= 255 => {
                self.content_type = ct;
            }
            _ => v.add(
                "content_type",
                format!(
                    "{:?} is not a media type such as application/pdf",
                    self.content_type
                ),
            ),
        }
        let sha = self.sha256.trim().to_ascii_lowercase();
        if sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()) {
            self.sha256 = sha;
        } else {
            v.add(
                "sha256",
                "must be the 64 hex digits of the content's SHA-256",
            );
        }
        v.finish()?;
        Ok(self)
    }
}

/// A stored attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The document's id.
    pub document_id: String,
    /// Id within the document's attachments.
    pub id: String,
    /// What was announced.
    pub fields: AttachmentFields,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Microseconds since the epoch.
    pub create_time: i64,
}

impl Attachment {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("documents/{}/attachments/{}", self.document_id, self.id)
    }
}

/// Checks an upload's content as it arrives: the size limit, then the
/// announced SHA-256 at the end.
#[derive(Debug)]
pub struct Receiving {
    hasher: sha2::Sha256,
    size: u64,
    max: u64,
}

impl Receiving {
    /// Nothing received yet; at most `max` bytes accepted.
    pub fn new(max: u64) -> Self {
        use sha2::Digest as _;
        Receiving {
            hasher: sha2::Sha256::new(),
            size: 0,
            max,
        }
    }

    /// Accepts one chunk, or refuses it (empty, too big, or past the limit).
    pub fn add(&mut self, chunk: &[u8]) -> Result<(), Error> {
        use sha2::Digest as _;
        if chunk.is_empty() || chunk.len() > MAX_CHUNK_BYTES {
            return Err(Error::invalid(
                "chunk",
                format!("a chunk holds 1 to {MAX_CHUNK_BYTES} bytes"),
            ));
        }
        self.size = self.size.saturating_add(chunk.len() as u64);
        if self.size > self.max {
            return Err(Error::invalid(
                "chunk",
                format!("the attachment exceeds the limit of {} bytes", self.max),
            ));
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// The size, if the content has the announced SHA-256 (lower-case hex).
    pub fn finish(self, expected: &str) -> Result<i64, Error> {
        use sha2::Digest as _;
        if self.size == 0 {
            return Err(Error::invalid("chunk", "the attachment has no content"));
        }
        let digest = self.hasher.finalize();
        let actual: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if actual != expected {
            return Err(Error::invalid(
                "metadata.attachment.sha256",
                format!("the content's SHA-256 is {actual}, not {expected}"),
            ));
        }
        i64::try_from(self.size).map_err(|_| Error::invalid("chunk", "too large"))
    }
}
