//! Innovation capacity assessments of an organisation or a country: the OECD
//! Innovative Capacity Framework (four dimensions at three levels) and the
//! five principles of the OECD Declaration on Public Sector Innovation.

use innolab_kit::{Error, Violations, query};
use serde::{Deserialize, Serialize};

use super::check::{self, MAX_ENTRIES, MAX_LONG};
use super::{Date, Meta};

/// Highest capacity score (5 = leading).
pub const MAX_SCORE: i32 = 5;

/// One score (0 = not scored, 1-5) with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Score {
    /// 0-5.
    pub score: i32,
    /// Evidence notes; required when scored.
    pub evidence: String,
}

/// One framework dimension at the three levels.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LevelScores {
    /// Individual.
    pub individual: Score,
    /// Organisational.
    pub organizational: Score,
    /// Public-sector system.
    pub system: Score,
}

/// The Declaration's five principles.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeclarationScores {
    /// Embrace and enhance innovation.
    pub embrace_and_enhance: Score,
    /// Encourage and equip public servants.
    pub encourage_and_equip: Score,
    /// Cultivate new partnerships.
    pub cultivate_partnerships: Score,
    /// Support exploration, iteration and testing.
    pub support_exploration: Score,
    /// Diffuse lessons and share practices.
    pub diffuse_lessons: Score,
}

/// What a caller writes about a round.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CapacityFields {
    /// `organizations/{id}` or `countries/{ISO 3166-1 alpha-2}`.
    pub subject: String,
    /// Round label, unique per subject.
    pub round: String,
    /// When assessed; required.
    pub assess_date: Option<Date>,
    /// Purpose.
    pub purpose: LevelScores,
    /// Potential.
    pub potential: LevelScores,
    /// Capacity.
    pub capacity: LevelScores,
    /// Impact.
    pub impact: LevelScores,
    /// Declaration principles.
    pub declaration: DeclarationScores,
    /// Who assessed.
    pub assessors: Vec<String>,
}

impl CapacityFields {
    /// Every scored item with its path, framework first, then principles.
    pub fn items(&self) -> Vec<(String, &Score)> {
        let mut out = Vec::with_capacity(17);
        for (dimension, levels) in [
            ("purpose", &self.purpose),
            ("potential", &self.potential),
            ("capacity", &self.capacity),
            ("impact", &self.impact),
        ] {
            for (level, score) in [
                ("individual", &levels.individual),
                ("organizational", &levels.organizational),
                ("system", &levels.system),
            ] {
                out.push((format!("{dimension}.{level}"), score));
            }
        }
        let d = &self.declaration;
        for (principle, score) in [
            ("embrace_and_enhance", &d.embrace_and_enhance),
            ("encourage_and_equip", &d.encourage_and_equip),
            ("cultivate_partnerships", &d.cultivate_partnerships),
            ("support_exploration", &d.support_exploration),
            ("diffuse_lessons", &d.diffuse_lessons),
        ] {
            out.push((format!("declaration.{principle}"), score));
        }
        out
    }

    /// Checks and normalises every field; paths are relative to the round.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[("assessors", self.assessors.len(), MAX_ENTRIES)])?;
        let mut v = Violations::new();
        if let Err(e) = subject(&self.subject) {
            v.add("subject", e);
        }
        match check::required_text(&self.round, 100) {
            Ok(t) => self.round = t,
            Err(e) => v.add("round", e),
        }
        if self.assess_date.is_none() {
            v.add("assess_date", "is required");
        }
        for (path, s) in self.items() {
            if !(0..=MAX_SCORE).contains(&s.score) {
                v.add(
                    format!("{path}.score"),
                    format!(
                        "{} is outside the scale: 0 (not scored), 1 nascent, 2 emerging, \
                         3 developing, 4 established, 5 leading",
                        s.score
                    ),
                );
            }
            if let Err(e) = check::optional_text(&s.evidence, MAX_LONG) {
                v.add(format!("{path}.evidence"), e);
            } else if s.score > 0 && s.evidence.trim().is_empty() {
                v.add(
                    format!("{path}.evidence"),
                    "is required when the item is scored",
                );
            } else if s.score == 0 && !s.evidence.trim().is_empty() {
                v.add(
                    format!("{path}.score"),
                    "is required (1-5) when evidence is given",
                );
            }
        }
        self.assessors = check::actor_list(&mut v, "assessors", &self.assessors);
        v.finish()?;
        // Normalise the country code's case once it is known to be valid.
        if let Some(code) = self.subject.strip_prefix("countries/") {
            self.subject = format!("countries/{}", code.to_ascii_uppercase());
        }
        Ok(self)
    }
}

/// `organizations/{id}` or `countries/{ISO 3166-1 alpha-2}`.
pub fn subject(name: &str) -> Result<(), String> {
    if let Some(code) = name.strip_prefix("countries/") {
        let upper = code.to_ascii_uppercase();
        if upper.len() == 2 && rust_iso3166::from_alpha2(&upper).is_some() {
            return Ok(());
        }
        return Err(format!(
            "{code:?} is not an ISO 3166-1 alpha-2 country code (e.g. countries/RO)"
        ));
    }
    check::resource_id(name, "organizations")
        .map(|_| ())
        .map_err(|_| {
            format!("{name:?} is neither organizations/{{id}} nor countries/{{code}} (ISO 3166-1)")
        })
}

/// A stored round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityAssessment {
    /// Id within `capacityAssessments/`.
    pub id: String,
    /// Its fields.
    pub fields: CapacityFields,
    /// Bookkeeping.
    pub meta: Meta,
}

impl CapacityAssessment {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("capacityAssessments/{}", self.id)
    }
}

/// One item in two rounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreChange {
    /// `purpose.individual`, `declaration.diffuse_lessons`...
    pub item: String,
    /// Base score.
    pub base: i32,
    /// Other score.
    pub other: i32,
    /// other - base, when both are scored.
    pub change: Option<i32>,
}

/// Two rounds compared item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Every item.
    pub changes: Vec<ScoreChange>,
    /// Went up.
    pub improved: i32,
    /// Went down.
    pub declined: i32,
    /// Stayed.
    pub unchanged: i32,
}

/// Compares `other` against `base`, item by item.
pub fn compare(base: &CapacityFields, other: &CapacityFields) -> Comparison {
    let mut c = Comparison {
        changes: Vec::new(),
        improved: 0,
        declined: 0,
        unchanged: 0,
    };
    for ((item, b), (_, o)) in base.items().into_iter().zip(other.items()) {
        let change = (b.score > 0 && o.score > 0).then(|| o.score - b.score);
        match change {
            Some(d) if d > 0 => c.improved += 1,
            Some(d) if d < 0 => c.declined += 1,
            Some(_) => c.unchanged += 1,
            None => {}
        }
        c.changes.push(ScoreChange {
            item,
            base: b.score,
            other: o.score,
            change,
        });
    }
    c
}

/// A parsed ListCapacityAssessments filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapacityQuery {
    /// Any of these subjects.
    pub subjects: Vec<String>,
}

impl CapacityQuery {
    /// Parses the `filter` of ListCapacityAssessments.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["subject"])?;
        if !r.text.is_empty() {
            return Err(Error::invalid(
                "filter",
                "capacity assessments have no free-text search; use subject = ...",
            ));
        }
        let subjects = r
            .take("subject")
            .into_iter()
            .map(|s| {
                subject(&s)
                    .map_err(|e| Error::invalid("filter", format!("`subject`: {e}")))
                    .map(|()| match s.strip_prefix("countries/") {
                        Some(code) => format!("countries/{}", code.to_ascii_uppercase()),
                        None => s,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(CapacityQuery { subjects })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn scored(score: i32) -> Score {
        Score {
            score,
            evidence: "interviews".into(),
        }
    }

    #[test]
    fn subjects() {
        assert!(subject("countries/RO").is_ok());
        assert!(subject("countries/dk").is_ok());
        assert!(subject("countries/XX").is_err());
        assert!(subject("organizations/sgg").is_ok());
        assert!(subject("people/x").is_err());
    }

    #[test]
    fn scores_need_the_scale_and_evidence() {
        let mut f = CapacityFields {
            subject: "countries/ro".into(),
            round: "2023".into(),
            assess_date: Some(time::macros::date!(2023 - 06 - 01)),
            ..CapacityFields::default()
        };
        f.purpose.system = scored(6);
        f.capacity.individual.score = 2;
        f.declaration.diffuse_lessons.evidence = "x".into();
        let Err(Error::InvalidArgument(v)) = f.clone().validate() else {
            panic!("expected invalid");
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "purpose.system.score",
                "capacity.individual.evidence",
                "declaration.diffuse_lessons.score"
            ]
        );
        f.purpose.system = scored(3);
        f.capacity.individual = scored(2);
        f.declaration.diffuse_lessons = scored(1);
        assert_eq!(f.validate().unwrap().subject, "countries/RO");
    }

    #[test]
    fn comparison_counts_only_items_scored_twice() {
        let mut a = CapacityFields::default();
        let mut b = CapacityFields::default();
        a.purpose.individual = scored(2);
        b.purpose.individual = scored(4);
        a.impact.system = scored(3);
        b.impact.system = scored(1);
        a.potential.system = scored(3);
        b.potential.system = scored(3);
        b.declaration.embrace_and_enhance = scored(5);
        let c = compare(&a, &b);
        assert_eq!(c.changes.len(), 17);
        assert_eq!((c.improved, c.declined, c.unchanged), (1, 1, 1));
        assert_eq!(c.changes[0].change, Some(2));
        let principle = c
            .changes
            .iter()
            .find(|x| x.item == "declaration.embrace_and_enhance")
            .unwrap();
        assert_eq!(
            (principle.base, principle.other, principle.change),
            (0, 5, None)
        );
    }
}
