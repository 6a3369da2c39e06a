//! OPSI's Call for Innovations: calls open for a period, submissions against
//! them, and the screening that lets a submission into the case library.

use innolab_kit::domain::{Decision, DecisionFields};
use innolab_kit::{Error, Violations, query};
use serde::{Deserialize, Serialize};

use super::check::{self, MAX_TEXT};
use super::{
    Date, InitiativeFields, Meta, ScreeningDecision, Stage, Status, SubmissionState, parse_names,
    search_key,
};

/// What a caller writes about a call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallFields {
    /// Title; required.
    pub title: String,
    /// What the call looks for.
    pub description: String,
    /// First day submissions are accepted; required.
    pub open_date: Option<Date>,
    /// Last day submissions are accepted; required.
    pub close_date: Option<Date>,
}

impl CallFields {
    /// Checks every field.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        match check::required_text(&self.title, MAX_TEXT) {
            Ok(t) => self.title = t,
            Err(e) => v.add("title", e),
        }
        match check::optional_text(&self.description, 20_000) {
            Ok(t) => self.description = t,
            Err(e) => v.add("description", e),
        }
        if self.open_date.is_none() {
            v.add("open_date", "is required");
        }
        match (self.open_date, self.close_date) {
            (_, None) => v.add("close_date", "is required"),
            (Some(open), Some(close)) if close < open => v.add(
                "close_date",
                format!("{close} is before the open date {open}"),
            ),
            _ => {}
        }
        v.finish()?;
        Ok(self)
    }

    /// What free-text search matches.
    pub fn search_text(&self) -> String {
        search_key(&format!("{}\n{}", self.title, self.description))
    }
}

/// The search terms of a ListInnovationCalls `filter` (free text only).
pub fn call_search(filter: &str) -> Result<Vec<String>, Error> {
    let restrictions = query::restrictions(filter, &[])?;
    Ok(restrictions.text.iter().map(|t| search_key(t)).collect())
}

/// The states (stored names) a ListSubmissions `filter` accepts, all when empty.
pub fn submission_states(filter: &str) -> Result<Vec<String>, Error> {
    let mut restrictions = query::restrictions(filter, &["state"])?;
    if !restrictions.text.is_empty() {
        return Err(Error::invalid(
            "filter",
            "submissions have no free text; filter by state",
        ));
    }
    Ok(
        parse_names("state", restrictions.take("state"), SubmissionState::parse)?
            .into_iter()
            .map(|s| s.as_str().to_string())
            .collect(),
    )
}

/// A stored call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnovationCall {
    /// Id within `calls/`.
    pub id: String,
    /// Its fields (dates always set once stored).
    pub fields: CallFields,
    /// Bookkeeping.
    pub meta: Meta,
}

impl InnovationCall {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("calls/{}", self.id)
    }

    /// FAILED_PRECONDITION unless `today` is within the open period.
    pub fn check_open(&self, today: Date) -> Result<(), Error> {
        let (Some(open), Some(close)) = (self.fields.open_date, self.fields.close_date) else {
            return Err(Error::Internal("stored call without dates".into()));
        };
        if today < open {
            return Err(Error::failed_precondition(
                "CALL_NOT_OPEN",
                format!("{} opens on {open}", self.name()),
            ));
        }
        if today > close {
            return Err(Error::failed_precondition(
                "CALL_NOT_OPEN",
                format!("{} closed on {close}", self.name()),
            ));
        }
        Ok(())
    }
}

/// The screening of a submission against OPSI's four criteria.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    /// The public sector is integrally involved.
    pub public_sector_involved: bool,
    /// Novel to the organisation.
    pub novel_to_organization: bool,
    /// Implemented or piloted.
    pub implemented_or_piloted: bool,
    /// Public impact.
    pub public_impact: bool,
    /// The decision.
    pub decision: ScreeningDecision,
    /// Who decided.
    pub decided_by: String,
    /// Why.
    pub note: String,
    /// Microseconds since the epoch.
    pub time: i64,
}

impl Screening {
    /// Checks who and why, and that an acceptance meets every criterion.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        let who = DecisionFields {
            who: "decided_by",
            who_required: true,
            reason: "note",
            reason_required: false,
        };
        if let Some(d) = v.merge(Decision::new(who, &self.decided_by, &self.note)) {
            self.decided_by = d.decided_by;
            self.note = d.reason;
        }
        if self.decision == ScreeningDecision::Accept {
            let unmet: Vec<&str> = [
                (self.public_sector_involved, "public_sector_involved"),
                (self.novel_to_organization, "novel_to_organization"),
                (self.implemented_or_piloted, "implemented_or_piloted"),
                (self.public_impact, "public_impact"),
            ]
            .iter()
            .filter(|(met, _)| !met)
            .map(|(_, name)| *name)
            .collect();
            if !unmet.is_empty() {
                v.add(
                    "decision",
                    format!(
                        "cannot accept: the case library takes only initiatives that meet \
                         all four criteria; not met: {}",
                        unmet.join(", ")
                    ),
                );
            }
        }
        v.finish()?;
        Ok(self)
    }
}

/// A stored submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Id within `calls/{call}/submissions/`.
    pub id: String,
    /// The call's id.
    pub call_id: String,
    /// The initiative as submitted.
    pub fields: InitiativeFields,
    /// Its stage as submitted.
    pub stage: Stage,
    /// Its status as submitted.
    pub status: Status,
    /// Who submitted it.
    pub submitted_by: String,
    /// Where it stands.
    pub state: SubmissionState,
    /// The screening, once done.
    pub screening: Option<Screening>,
    /// The initiative created on acceptance (id).
    pub initiative_id: Option<String>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Submission {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("calls/{}/submissions/{}", self.call_id, self.id)
    }

    /// The state after `screening`, or FAILED_PRECONDITION when already decided.
    pub fn screen(&self, screening: &Screening) -> Result<SubmissionState, Error> {
        if self.state != SubmissionState::Submitted {
            return Err(Error::failed_precondition(
                "ILLEGAL_TRANSITION",
                format!(
                    "{} was already screened ({}); decisions are final",
                    self.name(),
                    self.state
                ),
            ));
        }
        Ok(match screening.decision {
            ScreeningDecision::Accept => SubmissionState::Accepted,
            ScreeningDecision::Reject => SubmissionState::Rejected,
        })
    }
}
