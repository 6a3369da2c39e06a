//! The guidance domain: types, validation and rules. No protobuf, no SQL.

mod attachment;
pub mod check;
mod document;
mod edition;
pub mod text;
mod vocab;

pub use attachment::{Attachment, AttachmentFields, MAX_CHUNK_BYTES, Receiving};
pub use document::{Document, DocumentFields, DocumentQuery};
pub use edition::{
    Action, Edition, EditionFields, EditionQuery, EditionRef, TRANSITIONS, Transition, Translation,
    next_state,
};
pub use text::SearchQuery;
pub use vocab::{DocumentType, EditionState, LifecycleStage};

use innolab_kit::Error;

/// A calendar date.
pub type Date = time::Date;

/// Bookkeeping every stored record carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub update_time: i64,
    /// Increases on every change; the etag is derived from it.
    pub revision: i64,
}

impl Meta {
    /// The etag clients send back on update.
    pub fn etag(&self) -> String {
        format!("r{}", self.revision)
    }
}

/// The revision a caller's etag names, `None` for an empty etag.
pub fn parse_etag(etag: &str) -> Result<Option<i64>, Error> {
    if etag.is_empty() {
        return Ok(None);
    }
    etag.strip_prefix('r')
        .and_then(|r| r.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            Error::invalid(
                "etag",
                format!("{etag:?} is not an etag issued by this service"),
            )
        })
}

/// Today's date in UTC.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Validates an optional idempotency key.
pub fn request_id(value: &str) -> Result<Option<String>, Error> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 128 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "request_id",
            "must be 1 to 128 visible characters (a UUID is recommended)",
        ));
    }
    Ok(Some(value.to_string()))
}

/// Values of an enum-valued filter field, parsed by name.
fn parse_names<T>(
    field: &str,
    values: Vec<String>,
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, Error> {
    values
        .into_iter()
        .map(|v| {
            parse(&v)
                .ok_or_else(|| Error::invalid("filter", format!("`{field}` has no value {v:?}")))
        })
        .collect()
}
