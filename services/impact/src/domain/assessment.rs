//! Impact assessments of initiatives: what they claim, how strong the
//! evidence is, and the workflow that ends in a reviewer's sign-off.

use innolab_kit::{Error, Violations, query};
use serde::{Deserialize, Serialize};

use super::check::{self, MAX_ENTRIES, MAX_LONG, MAX_TITLE};
use super::{
    AssessmentState, Decision, Meta, PublicValueOutcome, ReviewDecision, Sroi, parse_ids,
    parse_names, search_key,
};

/// Highest level of the Nesta Standards of Evidence and of the Maryland SMS.
pub const MAX_EVIDENCE_LEVEL: i32 = 5;
/// Highest DAC rating (4 = highly satisfactory).
pub const MAX_DAC_RATING: i32 = 4;

/// The logic model (theory of change).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LogicModel {
    /// Resources put in.
    pub inputs: Vec<String>,
    /// What the initiative does.
    pub activities: Vec<String>,
    /// Direct products.
    pub outputs: Vec<String>,
    /// Short-term outcomes.
    pub short_term_outcomes: Vec<String>,
    /// Medium-term outcomes.
    pub medium_term_outcomes: Vec<String>,
    /// Long-term outcomes.
    pub long_term_outcomes: Vec<String>,
    /// The lasting change aimed at.
    pub impact: String,
}

/// One DAC criterion's rating (0 = not rated, 1-4) and rationale.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CriterionRating {
    /// 0-4.
    pub rating: i32,
    /// Why; required when rated.
    pub rationale: String,
}

/// The six OECD DAC criteria.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DacCriteria {
    /// Relevance.
    pub relevance: CriterionRating,
    /// Coherence.
    pub coherence: CriterionRating,
    /// Effectiveness.
    pub effectiveness: CriterionRating,
    /// Efficiency.
    pub efficiency: CriterionRating,
    /// Impact.
    pub impact: CriterionRating,
    /// Sustainability.
    pub sustainability: CriterionRating,
}

impl DacCriteria {
    /// The criteria by name, in their documented order.
    pub fn each(&self) -> [(&'static str, &CriterionRating); 6] {
        [
            ("relevance", &self.relevance),
            ("coherence", &self.coherence),
            ("effectiveness", &self.effectiveness),
            ("efficiency", &self.efficiency),
            ("impact", &self.impact),
            ("sustainability", &self.sustainability),
        ]
    }

    fn each_mut(&mut self) -> [(&'static str, &mut CriterionRating); 6] {
        [
            ("relevance", &mut self.relevance),
            ("coherence", &mut self.coherence),
            ("effectiveness", &mut self.effectiveness),
            ("efficiency", &mut self.efficiency),
            ("impact", &mut self.impact),
            ("sustainability", &mut self.sustainability),
        ]
    }
}

/// What a caller writes about an assessment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AssessmentFields {
    /// `initiatives/{id}`; required.
    pub initiative: String,
    /// Title; required.
    pub title: String,
    /// The logic model.
    pub logic_model: LogicModel,
    /// The evaluation method in words.
    pub evaluation_method: String,
    /// Nesta Standards of Evidence, 0 (not assessed) or 1-5.
    pub nesta_level: i32,
    /// Maryland Scientific Methods Scale, 0 (not assessed) or 1-5.
    pub maryland_level: i32,
    /// OECD DAC criteria.
    pub dac: DacCriteria,
    /// Claimed public-value outcomes, no repeats.
    pub public_value_outcomes: Vec<PublicValueOutcome>,
    /// Findings.
    pub findings: String,
    /// Lessons learnt.
    pub lessons: Vec<String>,
    /// `organizations/{id}` or `people/{id}`.
    pub evaluators: Vec<String>,
    /// Optional SROI inputs.
    pub sroi: Option<Sroi>,
}

impl AssessmentFields {
    /// Checks and normalises every field; paths are relative to the assessment.
    pub fn validate(mut self) -> Result<Self, Error> {
        let lm = &self.logic_model;
        Violations::lists_within(&[
            ("logic_model.inputs", lm.inputs.len(), MAX_ENTRIES),
            ("logic_model.activities", lm.activities.len(), MAX_ENTRIES),
            ("logic_model.outputs", lm.outputs.len(), MAX_ENTRIES),
            (
                "logic_model.short_term_outcomes",
                lm.short_term_outcomes.len(),
                MAX_ENTRIES,
            ),
            (
                "logic_model.medium_term_outcomes",
                lm.medium_term_outcomes.len(),
                MAX_ENTRIES,
            ),
            (
                "logic_model.long_term_outcomes",
                lm.long_term_outcomes.len(),
                MAX_ENTRIES,
            ),
            (
                "public_value_outcomes",
                self.public_value_outcomes.len(),
                MAX_ENTRIES,
            ),
            ("lessons", self.lessons.len(), MAX_ENTRIES),
            ("evaluators", self.evaluators.len(), MAX_ENTRIES),
        ])?;
        let mut v = Violations::new();
        if self.initiative.is_empty() {
            v.add("initiative", "is required (initiatives/{id})");
        } else if let Err(e) = check::resource_id(&self.initiative, "initiatives") {
            v.add("initiative", e);
        }
        match check::required_text(&self.title, MAX_TITLE) {
            Ok(t) => self.title = t,
            Err(e) => v.add("title", e),
        }
        let lm = &mut self.logic_model;
        lm.inputs = check::text_list(&mut v, "logic_model.inputs", &lm.inputs);
        lm.activities = check::text_list(&mut v, "logic_model.activities", &lm.activities);
        lm.outputs = check::text_list(&mut v, "logic_model.outputs", &lm.outputs);
        lm.short_term_outcomes = check::text_list(
            &mut v,
            "logic_model.short_term_outcomes",
            &lm.short_term_outcomes,
        );
        lm.medium_term_outcomes = check::text_list(
            &mut v,
            "logic_model.medium_term_outcomes",
            &lm.medium_term_outcomes,
        );
        lm.long_term_outcomes = check::text_list(
            &mut v,
            "logic_model.long_term_outcomes",
            &lm.long_term_outcomes,
        );
        match check::optional_text(&lm.impact, MAX_LONG) {
            Ok(t) => lm.impact = t,
            Err(e) => v.add("logic_model.impact", e),
        }
        match check::optional_text(&self.evaluation_method, MAX_LONG) {
            Ok(t) => self.evaluation_method = t,
            Err(e) => v.add("evaluation_method", e),
        }
        if !(0..=MAX_EVIDENCE_LEVEL).contains(&self.nesta_level) {
            v.add(
                "nesta_level",
                format!(
                    "{} is outside the Nesta Standards of Evidence: 0 (not assessed) or 1-5",
                    self.nesta_level
                ),
            );
        }
        if !(0..=MAX_EVIDENCE_LEVEL).contains(&self.maryland_level) {
            v.add(
                "maryland_level",
                format!(
                    "{} is outside the Maryland Scientific Methods Scale: 0 (not assessed) or 1-5",
                    self.maryland_level
                ),
            );
        }
        for (name, c) in self.dac.each_mut() {
            if !(0..=MAX_DAC_RATING).contains(&c.rating) {
                v.add(
                    format!("dac.{name}.rating"),
                    format!(
                        "{} is outside the scale: 0 (not rated), 1 unsatisfactory, 2 partly \
                         satisfactory, 3 satisfactory, 4 highly satisfactory",
                        c.rating
                    ),
                );
            }
            match check::optional_text(&c.rationale, MAX_LONG) {
                Ok(t) => c.rationale = t,
                Err(e) => v.add(format!("dac.{name}.rationale"), e),
            }
            if c.rating > 0 && c.rationale.is_empty() {
                v.add(
                    format!("dac.{name}.rationale"),
                    "is required when the criterion is rated",
                );
            } else if c.rating == 0 && !c.rationale.is_empty() {
                v.add(
                    format!("dac.{name}.rating"),
                    "is required (1-4) when a rationale is given",
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, outcome) in self.public_value_outcomes.iter().enumerate() {
            if !seen.insert(outcome) {
                v.add(
                    format!("public_value_outcomes[{i}]"),
                    format!("{outcome} is listed twice"),
                );
            }
        }
        match check::optional_text(&self.findings, MAX_LONG) {
            Ok(t) => self.findings = t,
            Err(e) => v.add("findings", e),
        }
        self.lessons = check::text_list(&mut v, "lessons", &self.lessons);
        for (i, e) in self.evaluators.iter().enumerate() {
            let collection = if e.starts_with("people/") {
                "people"
            } else {
                "organizations"
            };
            if let Err(err) = check::resource_id(e, collection) {
                v.add(
                    format!("evaluators[{i}]"),
                    format!("{err}; evaluators are organizations/{{id}} or people/{{id}}"),
                );
            } else if self.evaluators[..i].contains(e) {
                v.add(format!("evaluators[{i}]"), format!("{e} is listed twice"));
            }
        }
        if let Some(sroi) = self.sroi.take() {
            self.sroi = v.merge(sroi.validate().map_err(|e| e.within("sroi")));
        }
        v.finish()?;
        Ok(self)
    }

    /// What free-text search matches.
    pub fn search_text(&self) -> String {
        search_key(&self.title)
    }

    /// Whether the ratings (evidence levels and DAC criteria) differ.
    fn ratings_differ(&self, other: &AssessmentFields) -> bool {
        self.nesta_level != other.nesta_level
            || self.maryland_level != other.maryland_level
            || self.dac != other.dac
    }
}

/// One recorded workflow step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentEvent {
    /// State before.
    pub from_state: AssessmentState,
    /// State after.
    pub to_state: AssessmentState,
    /// Who and why.
    pub decision: Decision,
    /// The review decision, for reviews.
    pub review: Option<ReviewDecision>,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// A stored assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Id within `assessments/`.
    pub id: String,
    /// Its fields.
    pub fields: AssessmentFields,
    /// Workflow state.
    pub state: AssessmentState,
    /// Every workflow step, oldest first.
    pub history: Vec<AssessmentEvent>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Assessment {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("assessments/{}", self.id)
    }

    /// The sign-off that completed it, while COMPLETED.
    pub fn sign_off(&self) -> Option<&AssessmentEvent> {
        if self.state != AssessmentState::Completed {
            return None;
        }
        self.history
            .iter()
            .rev()
            .find(|e| e.to_state == AssessmentState::Completed)
    }

    /// Refuses changing the ratings of a completed assessment in place.
    pub fn check_update(&self, new: &AssessmentFields) -> Result<(), Error> {
        if self.state == AssessmentState::Completed && self.fields.ratings_differ(new) {
            return Err(Error::failed_precondition(
                "ASSESSMENT_COMPLETED",
                format!(
                    "{} is completed: its ratings (nesta_level, maryland_level, dac) cannot be \
                     changed in place; reopen it first",
                    self.name()
                ),
            ));
        }
        Ok(())
    }

    /// Refuses deleting a completed assessment.
    pub fn check_delete(&self) -> Result<(), Error> {
        if self.state == AssessmentState::Completed {
            return Err(Error::failed_precondition(
                "ASSESSMENT_COMPLETED",
                format!(
                    "{} is completed and is kept as a record of evidence",
                    self.name()
                ),
            ));
        }
        Ok(())
    }

    /// Applies the workflow table: the state after `action`, or
    /// FAILED_PRECONDITION.
    pub fn next_state(&self, action: Action) -> Result<AssessmentState, Error> {
        TRANSITIONS
            .iter()
            .find(|(from, a, _)| *from == self.state && *a == action)
            .map(|(_, _, to)| *to)
            .ok_or_else(|| {
                Error::failed_precondition(
                    "ILLEGAL_TRANSITION",
                    format!(
                        "cannot {} an assessment that is {}",
                        action.verb(),
                        self.state
                    ),
                )
            })
    }
}

/// The workflow methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// PLANNED -> IN_PROGRESS.
    Start,
    /// IN_PROGRESS -> UNDER_REVIEW.
    Submit,
    /// UNDER_REVIEW -> COMPLETED (the sign-off).
    Approve,
    /// UNDER_REVIEW -> IN_PROGRESS.
    RequestChanges,
    /// COMPLETED -> IN_PROGRESS.
    Reopen,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::RequestChanges => "request changes to",
            Action::Reopen => "reopen",
        }
    }

    /// The review decision an action records, for reviews.
    pub fn review(self) -> Option<ReviewDecision> {
        match self {
            Action::Approve => Some(ReviewDecision::Approved),
            Action::RequestChanges => Some(ReviewDecision::ChangesRequested),
            Action::Start | Action::Submit | Action::Reopen => None,
        }
    }
}

/// Every legal move; anything else is FAILED_PRECONDITION.
pub const TRANSITIONS: &[(AssessmentState, Action, AssessmentState)] = &[
    (
        AssessmentState::Planned,
        Action::Start,
        AssessmentState::InProgress,
    ),
    (
        AssessmentState::InProgress,
        Action::Submit,
        AssessmentState::UnderReview,
    ),
    (
        AssessmentState::UnderReview,
        Action::Approve,
        AssessmentState::Completed,
    ),
    (
        AssessmentState::UnderReview,
        Action::RequestChanges,
        AssessmentState::InProgress,
    ),
    (
        AssessmentState::Completed,
        Action::Reopen,
        AssessmentState::InProgress,
    ),
];

/// A requested workflow step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// What to do.
    pub action: Action,
    /// Who and why.
    pub decision: Decision,
    /// Revision named by the caller's etag.
    pub expected_revision: Option<i64>,
}

/// A parsed ListAssessments / SummarizeAssessments filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssessmentQuery {
    /// Any of these initiatives (ids).
    pub initiative_ids: Vec<String>,
    /// Any of these states.
    pub states: Vec<AssessmentState>,
    /// Every term must occur in the title.
    pub text: Vec<String>,
}

impl AssessmentQuery {
    /// Parses a `filter` over assessments.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["initiative", "state"])?;
        Ok(AssessmentQuery {
            initiative_ids: parse_ids("initiative", r.take("initiative"), "initiatives")?,
            states: parse_names("state", r.take("state"), AssessmentState::parse)?,
            text: r.text.iter().map(|t| search_key(t)).collect(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn fields() -> AssessmentFields {
        AssessmentFields {
            initiative: "initiatives/a".into(),
            title: "Digital permits".into(),
            ..AssessmentFields::default()
        }
    }

    fn fields_of(e: Error) -> Vec<String> {
        match e {
            Error::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn scales_are_enforced() {
        let mut f = fields();
        f.nesta_level = 6;
        f.maryland_level = -1;
        f.dac.efficiency = CriterionRating {
            rating: 5,
            rationale: "x".into(),
        };
        f.dac.impact.rating = 3;
        let bad = fields_of(f.validate().unwrap_err());
        assert_eq!(
            bad,
            [
                "nesta_level",
                "maryland_level",
                "dac.efficiency.rating",
                "dac.impact.rationale"
            ]
        );
    }

    #[test]
    fn every_legal_move_and_no_other() {
        let states = AssessmentState::ALL;
        let actions = [
            Action::Start,
            Action::Submit,
            Action::Approve,
            Action::RequestChanges,
            Action::Reopen,
        ];
        for &state in states {
            for action in actions {
                let a = Assessment {
                    id: "x".into(),
                    fields: fields(),
                    state,
                    history: Vec::new(),
                    meta: Meta {
                        create_time: 0,
                        update_time: 0,
                        revision: 1,
                    },
                };
                let legal = TRANSITIONS
                    .iter()
                    .any(|(from, act, _)| *from == state && *act == action);
                assert_eq!(a.next_state(action).is_ok(), legal, "{state} {action:?}");
            }
        }
    }
}
