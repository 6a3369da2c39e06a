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

use innolab_kit::domain::parse_names;
pub use innolab_kit::domain::{Meta, parse_etag, request_id, today};

/// A calendar date.
pub type Date = time::Date;
