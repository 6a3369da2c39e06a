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

pub use innolab_kit::domain::{Decision, DecisionFields, Meta, parse_etag, request_id, search_key};
use innolab_kit::domain::{parse_ids, parse_names};

/// A calendar date.
pub type Date = time::Date;
