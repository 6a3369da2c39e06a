//! Protobuf <-> domain conversions, one module per resource, and the
//! mappings of the enums between the two.

mod assessment;
mod capacity;
mod indicator;

pub(crate) use assessment::{assessment_fields, assessment_pb, merge_assessment, rollup_pb};
pub(crate) use capacity::{capacity_fields, capacity_pb, comparison_pb, merge_capacity};
pub(crate) use indicator::{indicator_fields, indicator_pb, merge_indicator};

use innolab_kit::Error;
use innolab_proto::innolab::impact::v1 as pb;

use crate::domain::{
    AssessmentState, Direction, ProgressStatus, PublicValueOutcome, ResultType, ReviewDecision,
};

// ---- enums: the protobuf value `<PREFIX>_<NAME>` carries the domain name ----

innolab_kit::enum_mapping!(
    pub(crate) review_in,
    review_out,
    pb::ReviewDecision,
    "REVIEW_DECISION_",
    ReviewDecision
);
innolab_kit::enum_mapping!(
    public_value_opt_in,
    public_value_out,
    pb::PublicValueOutcome,
    "PUBLIC_VALUE_OUTCOME_",
    PublicValueOutcome
);
innolab_kit::enum_mapping!(
    state_in,
    state_out,
    pb::AssessmentState,
    "ASSESSMENT_STATE_",
    AssessmentState
);
innolab_kit::enum_mapping!(
    result_type_in,
    result_type_out,
    pb::ResultType,
    "RESULT_TYPE_",
    ResultType
);
innolab_kit::enum_mapping!(
    direction_in,
    direction_out,
    pb::Direction,
    "DIRECTION_",
    Direction
);
innolab_kit::enum_mapping!(
    progress_status_in,
    progress_status_out,
    pb::ProgressStatus,
    "PROGRESS_STATUS_",
    ProgressStatus
);

/// A public-value outcome, which a list never holds UNSPECIFIED.
fn public_value_in(field: &str, n: i32) -> Result<PublicValueOutcome, Error> {
    public_value_opt_in(field, n)?.ok_or_else(|| Error::invalid(field, "must not be UNSPECIFIED"))
}
