//! The initiatives domain: types, validation and rules. No protobuf, no SQL.

mod call;
mod challenge;
pub mod check;
mod initiative;
mod lifecycle;
mod vocab;

pub use call::{CallFields, InnovationCall, Screening, Submission};
pub use challenge::{Challenge, ChallengeFields, ChallengeQuery};
pub use initiative::{
    Initiative, InitiativeEvent, InitiativeFields, InitiativeQuery, LocalizedText, Milestone,
    Partner, PortfolioSummary,
};
pub use lifecycle::{Move, STAGE_MOVES, STATUS_CHANGES};
pub use vocab::{
    Facet, GovernmentFunction, GovernmentLevel, PartnerRole, Principle, ScreeningDecision, Stage,
    Status, SubmissionState,
};

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

/// Lower-cases text for substring search; Romanian cedilla letters (ş ţ) are
/// folded to the correct comma-below letters (ș ț) so either spelling
/// matches. Other accents are kept: Nordic å ä ö ø æ carry meaning.
pub fn search_key(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'ş' => 'ș',
            'ţ' => 'ț',
            other => other,
        })
        .collect()
}

/// Today's date in UTC.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Values of an enum-valued filter field, parsed by name.
pub fn parse_names<T>(
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

/// Serde for optional dates as ISO 8601 text (`2026-01-31`).
mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Date;

    pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => s.serialize_str(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            Date::parse(&t, &time::format_description::well_known::Iso8601::DATE)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}
