//! Field validators. Each returns the normalised value or a reason that the
//! caller turns into a field violation.

pub use innolab_kit::check::{
    MAX_TEXT, actor, country, language_tag, nuts, optional_text, required_text, resource_id,
    web_uri,
};
