//! Adoptions: one initiative (the adopter) drew on another (the source).
//! Their lifecycle is a table ([`ADOPTION_MOVES`]); confirmation needs both
//! sides (the source's and the adopter's lead organisations), or a lab
//! administrator for both, which the gateway decides (it knows who calls).

use innolab_kit::{Error, Violations, query, vocabulary};

use super::check;
use super::{Date, Meta, parse_names};

vocabulary! {
    /// How the adopter drew on the source.
    pub enum AdoptionKind {
        /// Took the solution over as it was.
        Adopts => "ADOPTS",
        /// Took it over and changed it.
        Adapts => "ADAPTS",
        /// Extends it to more people, places or services.
        Scales => "SCALES",
        /// Drew ideas from it.
        InspiredBy => "INSPIRED_BY",
        /// Is part of it (a programme).
        PartOf => "PART_OF",
    }
}

impl AdoptionKind {
    /// Whether the adopter carries the source's solution on (adopts, adapts
    /// or scales it): these make a case reused, and may not form a cycle.
    pub fn carries_solution(self) -> bool {
        matches!(
            self,
            AdoptionKind::Adopts | AdoptionKind::Adapts | AdoptionKind::Scales
        )
    }

    /// The stored names of the kinds that carry a solution on.
    pub fn solution_kinds() -> Vec<&'static str> {
        AdoptionKind::ALL
            .iter()
            .filter(|k| k.carries_solution())
            .map(|k| k.as_str())
            .collect()
    }
}

vocabulary! {
    /// Where an adoption stands.
    pub enum AdoptionState {
        /// Waiting for one or both sides.
        Proposed => "PROPOSED",
        /// Both sides confirmed.
        Confirmed => "CONFIRMED",
        /// Withdrawn (final).
        Withdrawn => "WITHDRAWN",
    }
}

vocabulary! {
    /// The side a confirmation speaks for.
    pub enum AdoptionSide {
        /// The source's lead organisation.
        Source => "SOURCE",
        /// The adopter's lead organisation.
        Adopter => "ADOPTER",
        /// Both at once.
        Both => "BOTH",
    }
}

/// Every legal move of an adoption's state: `(from, to)`. Confirming one
/// side of two keeps it PROPOSED; withdrawing is final.
pub const ADOPTION_MOVES: &[(AdoptionState, AdoptionState)] = &[
    (AdoptionState::Proposed, AdoptionState::Proposed),
    (AdoptionState::Proposed, AdoptionState::Confirmed),
    (AdoptionState::Proposed, AdoptionState::Withdrawn),
    (AdoptionState::Confirmed, AdoptionState::Withdrawn),
];

/// What a caller writes about an adoption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionFields {
    /// The adopter's id within `initiatives/`.
    pub initiative: String,
    /// The source's id within `initiatives/`.
    pub source: String,
    /// How.
    pub kind: AdoptionKind,
    /// `organizations/{id}`, or empty for the adopter's lead organisation.
    pub adopting_organization: String,
    /// When the adopter took it up.
    pub adoption_date: Option<Date>,
    /// What was changed.
    pub adaptations: String,
    /// Why.
    pub rationale: String,
    /// What came of it.
    pub outcome: String,
}

/// Longest narrative text of an adoption.
const MAX_NARRATIVE: usize = 20_000;

impl AdoptionFields {
    /// Checks and normalises every field (ids and kind were parsed by the
    /// caller): texts bounded, an organisation named as one, and no
    /// initiative adopting itself.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        for (field, value) in [
            ("adaptations", &mut self.adaptations),
            ("rationale", &mut self.rationale),
            ("outcome", &mut self.outcome),
        ] {
            match check::optional_text(value, MAX_NARRATIVE) {
                Ok(t) => *value = t,
                Err(e) => v.add(field, e),
            }
        }
        self.adopting_organization = self.adopting_organization.trim().to_string();
        if !self.adopting_organization.is_empty()
            && let Err(e) = check::resource_id(&self.adopting_organization, "organizations")
        {
            v.add("adopting_organization", e);
        }
        if !self.initiative.is_empty() && self.initiative == self.source {
            v.add(
                "source",
                "is the adopting initiative itself: an initiative cannot adopt itself",
            );
        }
        v.finish()?;
        Ok(self)
    }
}

/// A side's confirmation, or a withdrawal: who (`people/{id}`), when, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `people/{id}`.
    pub by: String,
    /// Why (withdrawals only).
    pub reason: String,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// A stored adoption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// Id within `adoptions/`.
    pub id: String,
    /// Its fields (the adopting organisation filled in).
    pub fields: AdoptionFields,
    /// Where it stands.
    pub state: AdoptionState,
    /// The source side's confirmation.
    pub source_confirmation: Option<Step>,
    /// The adopter side's confirmation.
    pub adopter_confirmation: Option<Step>,
    /// The withdrawal.
    pub withdrawal: Option<Step>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Adoption {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("adoptions/{}", self.id)
    }

    /// What confirming `side` changes: which sides become confirmed and the
    /// state that follows. FAILED_PRECONDITION (ILLEGAL_TRANSITION) for a
    /// withdrawn adoption or a side that has already confirmed.
    pub fn confirm(&self, side: AdoptionSide) -> Result<Confirming, Error> {
        let illegal = |why: String| Error::failed_precondition("ILLEGAL_TRANSITION", why);
        if self.state == AdoptionState::Withdrawn {
            return Err(illegal(format!(
                "{} is withdrawn; record a new adoption to claim it again",
                self.name()
            )));
        }
        let (source_done, adopter_done) = (
            self.source_confirmation.is_some(),
            self.adopter_confirmation.is_some(),
        );
        let (source, adopter) = match side {
            AdoptionSide::Source => (true, false),
            AdoptionSide::Adopter => (false, true),
            AdoptionSide::Both => (!source_done, !adopter_done),
        };
        let repeated = match side {
            AdoptionSide::Source => source_done,
            AdoptionSide::Adopter => adopter_done,
            AdoptionSide::Both => source_done && adopter_done,
        };
        if repeated {
            return Err(illegal(format!(
                "side: {} of {} has already confirmed it",
                side.as_str(),
                self.name()
            )));
        }
        let to = if (source || source_done) && (adopter || adopter_done) {
            AdoptionState::Confirmed
        } else {
            AdoptionState::Proposed
        };
        legal(self.state, to)?;
        Ok(Confirming {
            source,
            adopter,
            to,
        })
    }

    /// FAILED_PRECONDITION (ILLEGAL_TRANSITION) unless it may be withdrawn.
    pub fn check_withdraw(&self) -> Result<(), Error> {
        legal(self.state, AdoptionState::Withdrawn)
    }

    /// FAILED_PRECONDITION (ILLEGAL_TRANSITION) unless its texts may change:
    /// a withdrawn adoption stays as it ended.
    pub fn check_update(&self) -> Result<(), Error> {
        if self.state == AdoptionState::Withdrawn {
            return Err(Error::failed_precondition(
                "ILLEGAL_TRANSITION",
                format!("{} is withdrawn and stays as it ended", self.name()),
            ));
        }
        Ok(())
    }
}

/// What a confirmation records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirming {
    /// The source side confirms now.
    pub source: bool,
    /// The adopter side confirms now.
    pub adopter: bool,
    /// The state after.
    pub to: AdoptionState,
}

fn legal(from: AdoptionState, to: AdoptionState) -> Result<(), Error> {
    if ADOPTION_MOVES.contains(&(from, to)) {
        Ok(())
    } else {
        Err(Error::failed_precondition(
            "ILLEGAL_TRANSITION",
            format!("an adoption cannot move from {from} to {to}"),
        ))
    }
}

/// Who took a step, `people/{id}`, INVALID_ARGUMENT naming `field`.
pub fn person(field: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "is required: people/{id}"));
    }
    check::resource_id(value, "people")
        .map(|_| value.to_string())
        .map_err(|e| Error::invalid(field, e))
}

/// A parsed ListAdoptions filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptionQuery {
    /// Adopter ids.
    pub initiatives: Vec<String>,
    /// Source ids.
    pub sources: Vec<String>,
    /// Stored state names.
    pub states: Vec<String>,
    /// Stored kind names.
    pub kinds: Vec<String>,
}

impl AdoptionQuery {
    /// Parses the `filter` of ListAdoptions.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["initiative", "source", "state", "kind"])?;
        if !r.text.is_empty() {
            return Err(Error::invalid(
                "filter",
                "adoptions have no free text; filter by initiative, source, state or kind",
            ));
        }
        let ids =
            |field: &str, values| innolab_kit::domain::parse_ids(field, values, "initiatives");
        Ok(AdoptionQuery {
            initiatives: ids("initiative", r.take("initiative"))?,
            sources: ids("source", r.take("source"))?,
            states: parse_names("state", r.take("state"), AdoptionState::parse)?
                .into_iter()
                .map(|s| s.as_str().to_string())
                .collect(),
            kinds: parse_names("kind", r.take("kind"), AdoptionKind::parse)?
                .into_iter()
                .map(|k| k.as_str().to_string())
                .collect(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn adoption(state: AdoptionState, source: bool, adopter: bool) -> Adoption {
        let step = || Step {
            by: "people/a".into(),
            reason: String::new(),
            time: 1,
        };
        Adoption {
            id: "x".into(),
            fields: AdoptionFields {
                initiative: "b".into(),
                source: "a".into(),
                kind: AdoptionKind::Adapts,
                adopting_organization: String::new(),
                adoption_date: None,
                adaptations: String::new(),
                rationale: String::new(),
                outcome: String::new(),
            },
            state,
            source_confirmation: source.then(step),
            adopter_confirmation: adopter.then(step),
            withdrawal: None,
            meta: Meta {
                create_time: 0,
                update_time: 0,
                revision: 1,
            },
        }
    }

    #[test]
    fn both_sides_confirm_before_it_is_confirmed() {
        use AdoptionSide::*;
        use AdoptionState::*;
        let fresh = adoption(Proposed, false, false);
        assert_eq!(fresh.confirm(Source).unwrap().to, Proposed);
        assert_eq!(fresh.confirm(Both).unwrap().to, Confirmed);
        let half = adoption(Proposed, true, false);
        let step = half.confirm(Adopter).unwrap();
        assert_eq!(
            (step.source, step.adopter, step.to),
            (false, true, Confirmed)
        );
        let step = half.confirm(Both).unwrap();
        assert_eq!(
            (step.source, step.adopter, step.to),
            (false, true, Confirmed)
        );
        assert!(half.confirm(Source).is_err(), "a side confirms once");
        assert!(adoption(Confirmed, true, true).confirm(Both).is_err());
        assert!(adoption(Withdrawn, false, false).confirm(Both).is_err());
        assert!(adoption(Confirmed, true, true).check_withdraw().is_ok());
        assert!(adoption(Withdrawn, true, true).check_withdraw().is_err());
        assert!(adoption(Withdrawn, true, true).check_update().is_err());
    }

    #[test]
    fn fields_and_filters_name_what_is_wrong() {
        let mut fields = adoption(AdoptionState::Proposed, false, false).fields;
        fields.source = fields.initiative.clone();
        fields.adopting_organization = "people/x".into();
        let e = fields.validate().unwrap_err().to_string();
        assert!(
            e.contains("source") && e.contains("adopting_organization"),
            "{e}"
        );
        assert!(person("confirmed_by", "Ana Popescu").is_err());
        assert_eq!(person("confirmed_by", " people/a1 ").unwrap(), "people/a1");
        let q = AdoptionQuery::from_filter(
            "source = \"initiatives/a\" AND state = CONFIRMED AND kind = ADAPTS",
        )
        .unwrap();
        assert_eq!(
            (q.sources, q.states, q.kinds),
            (
                vec!["a".to_string()],
                vec!["CONFIRMED".to_string()],
                vec!["ADAPTS".to_string()]
            )
        );
        assert!(AdoptionQuery::from_filter("state = MAYBE").is_err());
        assert!(AdoptionQuery::from_filter("words").is_err());
        assert!(
            AdoptionKind::Scales.carries_solution() && !AdoptionKind::PartOf.carries_solution()
        );
    }
}
