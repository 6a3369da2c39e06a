//! The initiatives domain: types, validation and rules. No protobuf, no SQL.

mod adoption;
mod call;
mod challenge;
pub mod check;
mod initiative;
mod lifecycle;
mod narrative;
pub mod similar;
mod vocab;

pub use adoption::{
    ADOPTION_MOVES, Adoption, AdoptionFields, AdoptionKind, AdoptionQuery, AdoptionSide,
    AdoptionState, Confirming, Step, person,
};
pub use call::{CallFields, InnovationCall, Screening, Submission, call_search, submission_states};
pub use challenge::{Challenge, ChallengeFields, ChallengeQuery};
pub use initiative::{
    Initiative, InitiativeEvent, InitiativeFields, InitiativeQuery, LocalizedText, Milestone,
    Partner, PortfolioSummary,
};
pub use lifecycle::{Move, STAGE_MOVES, STATUS_CHANGES};
pub use narrative::{NARRATIVES, text_in};
pub use vocab::{
    Facet, GovernmentFunction, GovernmentLevel, PartnerRole, Principle, ScreeningDecision, Stage,
    Status, SubmissionState,
};

pub use innolab_kit::domain::parse_names;
pub use innolab_kit::domain::{Meta, parse_etag, request_id, search_key, today};

/// A calendar date.
pub type Date = time::Date;

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
