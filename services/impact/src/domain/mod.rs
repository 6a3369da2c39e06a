//! The impact domain: types, validation, workflow rules and computations
//! (progress, SROI). No protobuf, no SQL.

mod assessment;
mod capacity;
pub mod check;
mod indicator;
pub mod rollup;
mod sroi;
mod vocab;

pub use assessment::{
    Action, Assessment, AssessmentEvent, AssessmentFields, AssessmentQuery, CriterionRating,
    DacCriteria, LogicModel, TRANSITIONS, Transition,
};
pub use capacity::{
    CapacityAssessment, CapacityFields, CapacityQuery, Comparison, DeclarationScores, LevelScores,
    Score, ScoreChange, compare,
};
pub use indicator::{
    Indicator, IndicatorFields, IndicatorQuery, Measurement, Point, Progress, day as indicator_day,
};
pub use rollup::{ProgressCounts, Rollup};
pub use sroi::{Sroi, SroiOutcome, SroiOutcomeValue, SroiResult};
pub use vocab::{
    AssessmentState, Direction, ProgressStatus, PublicValueOutcome, ResultType, ReviewDecision,
};

use innolab_kit::{Error, Violations};

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
/// folded to the correct comma-below letters (ș ț) so either spelling matches.
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

/// Who decided a workflow step, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    /// Who decided (a person's resource name or a name).
    pub decided_by: String,
    /// Why, or the reviewer's comments.
    pub reason: String,
}

impl Decision {
    /// Validates who and why; `who_field` names the request field of who.
    pub fn new(
        who_field: &str,
        decided_by: &str,
        reason_field: &str,
        reason: &str,
        reason_required: bool,
    ) -> Result<Self, Error> {
        let mut v = Violations::new();
        let decided_by = check::required_text(decided_by, 200).unwrap_or_else(|e| {
            v.add(who_field, e);
            String::new()
        });
        let reason = if reason_required {
            check::required_text(reason, 2000)
        } else {
            check::optional_text(reason, 2000)
        }
        .unwrap_or_else(|e| {
            v.add(reason_field, e);
            String::new()
        });
        v.finish()?;
        Ok(Decision { decided_by, reason })
    }
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

/// Ids of a resource-name-valued filter field.
fn parse_ids(field: &str, values: Vec<String>, collection: &str) -> Result<Vec<String>, Error> {
    values
        .into_iter()
        .map(|v| {
            check::resource_id(&v, collection)
                .map_err(|e| Error::invalid("filter", format!("`{field}`: {e}")))
        })
        .collect()
}
