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

use innolab_kit::domain::parse_names;
pub use innolab_kit::domain::{Meta, parse_etag, request_id, search_key};
use innolab_kit::{Error, Violations};

/// A calendar date.
pub type Date = time::Date;

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
