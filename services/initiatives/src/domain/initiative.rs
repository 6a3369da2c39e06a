//! Initiatives of the case library.

use std::collections::HashSet;

use innolab_kit::{Error, Violations, query};
use serde::{Deserialize, Serialize};

use super::check::{self, MAX_TEXT};
use super::narrative::NARRATIVES;
use super::{
    Date, Facet, GovernmentFunction, GovernmentLevel, Meta, PartnerRole, Principle, Stage, Status,
    iso_date, parse_names, search_key,
};

/// Longest long-form text (problem, solution, results...).
const MAX_LONG_TEXT: usize = 20_000;
/// Most entries in one list field.
const MAX_ENTRIES: usize = 100;

/// A text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalizedText {
    /// BCP 47 tag.
    pub language_code: String,
    /// The text.
    pub text: String,
}

/// An organisation taking part, and its IATI role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    /// `organizations/{id}` of the membership service.
    pub organization: String,
    /// Its role; required.
    pub role: Option<PartnerRole>,
}

/// A milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// What is to be reached.
    pub title: String,
    /// When it is due.
    #[serde(with = "iso_date", default)]
    pub due_date: Option<Date>,
    /// When it was reached.
    #[serde(with = "iso_date", default)]
    pub done_date: Option<Date>,
}

/// What a caller writes about an initiative (stage and status move apart).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InitiativeFields {
    /// Titles per language; at least one.
    pub titles: Vec<LocalizedText>,
    /// Summaries per language.
    pub summaries: Vec<LocalizedText>,
    /// The problem addressed, per language.
    pub problem: Vec<LocalizedText>,
    /// Objectives, per language.
    pub objectives: Vec<LocalizedText>,
    /// The solution, per language.
    pub solution: Vec<LocalizedText>,
    /// `organizations/{id}`; required.
    pub lead_organization: String,
    /// Partners with their role.
    pub partners: Vec<Partner>,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// NUTS code, or empty.
    pub nuts_code: String,
    /// Level of government.
    pub government_level: Option<GovernmentLevel>,
    /// COFOG level I.
    pub sector: Option<GovernmentFunction>,
    /// First day.
    #[serde(with = "iso_date", default)]
    pub start_date: Option<Date>,
    /// Last day.
    #[serde(with = "iso_date", default)]
    pub end_date: Option<Date>,
    /// Keywords, lower case.
    pub tags: Vec<String>,
    /// SDG numbers 1-17, ascending.
    pub sdgs: Vec<i32>,
    /// Declaration principles, in order.
    pub principles: Vec<Principle>,
    /// OPSI facet.
    pub facet: Option<Facet>,
    /// Results, per language.
    pub results: Vec<LocalizedText>,
    /// Lessons learned, per language.
    pub lessons_learned: Vec<LocalizedText>,
    /// http(s) URIs.
    pub links: Vec<String>,
    /// Awards and distinctions.
    pub recognition: Vec<String>,
    /// Milestones.
    pub milestones: Vec<Milestone>,
    /// `challenges/{id}` it answers.
    #[serde(default)]
    pub challenges: Vec<String>,
}

/// One recorded move (or the creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiativeEvent {
    /// Stage before (`None` for the creation).
    pub from_stage: Option<Stage>,
    /// Stage after.
    pub to_stage: Stage,
    /// Status before (`None` for the creation).
    pub from_status: Option<Status>,
    /// Status after.
    pub to_status: Status,
    /// Who.
    pub actor: String,
    /// Why.
    pub note: String,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// A stored initiative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initiative {
    /// Id within `initiatives/`.
    pub id: String,
    /// Its fields.
    pub fields: InitiativeFields,
    /// Lifecycle stage.
    pub stage: Stage,
    /// Status.
    pub status: Status,
    /// Every move, oldest first.
    pub timeline: Vec<InitiativeEvent>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Initiative {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("initiatives/{}", self.id)
    }
}

fn texts(v: &mut Violations, field: &str, list: &mut [LocalizedText], max: usize) {
    let mut languages: HashSet<String> = HashSet::new();
    for (i, t) in list.iter_mut().enumerate() {
        match check::language_tag(&t.language_code) {
            Ok(tag) if languages.contains(&tag) => v.add(
                format!("{field}[{i}].language_code"),
                format!("{tag} appears twice; give one text per language"),
            ),
            Ok(tag) => {
                languages.insert(tag.clone());
                t.language_code = tag;
            }
            Err(e) => v.add(format!("{field}[{i}].language_code"), e),
        }
        match check::required_text(&t.text, max) {
            Ok(text) => t.text = text,
            Err(e) => v.add(format!("{field}[{i}].text"), e),
        }
    }
}

impl InitiativeFields {
    /// Checks and normalises every field, reporting all violations at once.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[
            ("titles", self.titles.len(), MAX_ENTRIES),
            ("summaries", self.summaries.len(), MAX_ENTRIES),
            ("localized_problem", self.problem.len(), MAX_ENTRIES),
            ("localized_objectives", self.objectives.len(), MAX_ENTRIES),
            ("localized_solution", self.solution.len(), MAX_ENTRIES),
            ("localized_results", self.results.len(), MAX_ENTRIES),
            (
                "localized_lessons_learned",
                self.lessons_learned.len(),
                MAX_ENTRIES,
            ),
            ("partners", self.partners.len(), MAX_ENTRIES),
            ("tags", self.tags.len(), MAX_ENTRIES),
            ("sdgs", self.sdgs.len(), MAX_ENTRIES),
            ("principles", self.principles.len(), MAX_ENTRIES),
            ("links", self.links.len(), MAX_ENTRIES),
            ("recognition", self.recognition.len(), MAX_ENTRIES),
            ("milestones", self.milestones.len(), MAX_ENTRIES),
            ("challenges", self.challenges.len(), MAX_ENTRIES),
        ])?;
        let mut v = Violations::new();
        if self.titles.is_empty() {
            v.add("titles", "at least one title is required");
        }
        texts(&mut v, "titles", &mut self.titles, MAX_TEXT);
        texts(&mut v, "summaries", &mut self.summaries, MAX_LONG_TEXT);
        for ((field, _), list) in NARRATIVES.iter().zip(self.narratives_mut()) {
            texts(&mut v, field, list, MAX_LONG_TEXT);
        }
        if self.lead_organization.is_empty() {
            v.add("lead_organization", "is required: organizations/{id}");
        } else if let Err(e) = check::resource_id(&self.lead_organization, "organizations") {
            v.add("lead_organization", e);
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, p) in self.partners.iter().enumerate() {
            if let Err(e) = check::resource_id(&p.organization, "organizations") {
                v.add(format!("partners[{i}].organization"), e);
            } else if !seen.insert(&p.organization) {
                v.add(
                    format!("partners[{i}].organization"),
                    "appears twice; give each partner once",
                );
            }
            if p.role.is_none() {
                v.add(format!("partners[{i}].role"), "is required");
            }
        }
        match check::country(&self.country_code) {
            Ok(c) => self.country_code = c,
            Err(e) => v.add("country_code", e),
        }
        if self.nuts_code.trim().is_empty() {
            self.nuts_code.clear();
        } else {
            match check::nuts(&self.nuts_code, &self.country_code) {
                Ok(n) => self.nuts_code = n,
                Err(e) => v.add("nuts_code", e),
            }
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && end < start
        {
            v.add(
                "end_date",
                format!("{end} is before the start date {start}"),
            );
        }
        for (i, tag) in self.tags.iter_mut().enumerate() {
            match check::required_text(tag, 50) {
                Ok(t) => *tag = search_key(&t),
                Err(e) => v.add(format!("tags[{i}]"), e),
            }
        }
        self.tags.sort();
        self.tags.dedup();
        for (i, sdg) in self.sdgs.iter().enumerate() {
            if !(1..=17).contains(sdg) {
                v.add(
                    format!("sdgs[{i}]"),
                    format!("{sdg} is not a Sustainable Development Goal (1 to 17)"),
                );
            }
        }
        self.sdgs.sort_unstable();
        self.sdgs.dedup();
        self.principles
            .sort_by_key(|p| Principle::ALL.iter().position(|q| q == p));
        self.principles.dedup();
        for (i, link) in self.links.iter_mut().enumerate() {
            match check::web_uri(link) {
                Ok(u) => *link = u,
                Err(e) => v.add(format!("links[{i}]"), e),
            }
        }
        for (i, r) in self.recognition.iter_mut().enumerate() {
            match check::required_text(r, MAX_TEXT) {
                Ok(t) => *r = t,
                Err(e) => v.add(format!("recognition[{i}]"), e),
            }
        }
        for (i, m) in self.milestones.iter_mut().enumerate() {
            match check::required_text(&m.title, MAX_TEXT) {
                Ok(t) => m.title = t,
                Err(e) => v.add(format!("milestones[{i}].title"), e),
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, c) in self.challenges.iter().enumerate() {
            if let Err(e) = check::resource_id(c, "challenges") {
                v.add(format!("challenges[{i}]"), e);
            } else if !seen.insert(c) {
                v.add(format!("challenges[{i}]"), "appears twice");
            }
        }
        v.finish()?;
        Ok(self)
    }

    /// What free-text search matches: every title and summary.
    pub fn search_text(&self) -> String {
        let parts: Vec<&str> = self
            .titles
            .iter()
            .chain(&self.summaries)
            .map(|t| t.text.as_str())
            .collect();
        search_key(&parts.join("\n"))
    }

    /// Multi-valued facts, `(term, value)`, that filters and counts use,
    /// and the `word` terms FindSimilar looks candidates up by.
    pub fn terms(&self) -> Vec<(&'static str, String)> {
        self.terms_with(&self.words())
    }

    /// `terms()`, given its analysed `words()` (analysed once by a writer
    /// that stores them beside it too).
    pub fn terms_with(
        &self,
        words: &std::collections::BTreeSet<String>,
    ) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        out.extend(self.tags.iter().map(|t| ("tag", t.clone())));
        out.extend(self.sdgs.iter().map(|s| ("sdg", s.to_string())));
        out.extend(
            self.principles
                .iter()
                .map(|p| ("principle", p.as_str().to_string())),
        );
        out.extend(
            self.partners
                .iter()
                .map(|p| ("partner", p.organization.clone())),
        );
        let mut languages: Vec<String> = self
            .titles
            .iter()
            .chain(&self.summaries)
            .map(|t| t.language_code.clone())
            .collect();
        languages.sort();
        languages.dedup();
        out.extend(languages.into_iter().map(|l| ("language", l)));
        out.extend(self.challenges.iter().map(|c| ("challenge", c.clone())));
        // FindSimilar's index: the analysed terms of what it is about.
        out.extend(
            words
                .iter()
                .take(super::similar::MAX_INDEXED_TERMS)
                .map(|w| ("word", w.clone())),
        );
        out
    }

    /// What the portfolio summary counts this initiative under, as
    /// `(dimension, value)`; `total` counts every initiative once.
    pub fn portfolio_facts(&self, stage: Stage, status: Status) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("total", String::new()),
            ("stage", stage.as_str().to_string()),
            ("status", status.as_str().to_string()),
            (
                "facet",
                self.facet.map_or("UNSPECIFIED", |f| f.as_str()).to_string(),
            ),
            ("country", self.country_code.clone()),
        ];
        out.extend(
            self.principles
                .iter()
                .map(|p| ("principle", p.as_str().to_string())),
        );
        out.extend(self.sdgs.iter().map(|s| ("sdg", s.to_string())));
        out
    }

    /// Every organisation referenced, with the field that names it.
    pub fn organizations(&self) -> Vec<(String, String)> {
        let mut out = vec![(
            "lead_organization".to_string(),
            self.lead_organization.clone(),
        )];
        out.extend(self.partners.iter().enumerate().map(|(i, p)| {
            (
                format!("partners[{i}].organization"),
                p.organization.clone(),
            )
        }));
        out
    }
}

/// A parsed ListInitiatives / GetPortfolioSummary filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitiativeQuery {
    /// Single-valued columns: `(column, accepted values)`.
    pub columns: Vec<(&'static str, Vec<String>)>,
    /// Multi-valued facts: `(term, accepted values)`.
    pub terms: Vec<(&'static str, Vec<String>)>,
    /// Every term must occur in a title or summary.
    pub text: Vec<String>,
}

/// Filter fields that are columns of the initiative.
const COLUMN_FIELDS: &[&str] = &[
    "country_code",
    "nuts_code",
    "stage",
    "status",
    "facet",
    "government_level",
    "sector",
    "lead_organization",
];
/// Filter fields that are multi-valued facts.
const TERM_FIELDS: &[&str] = &[
    "partner",
    "tag",
    "sdg",
    "principle",
    "language",
    "challenge",
];

impl InitiativeQuery {
    /// Parses a `filter`.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let allowed: Vec<&str> = COLUMN_FIELDS.iter().chain(TERM_FIELDS).copied().collect();
        let mut r = query::restrictions(filter, &allowed)?;
        let mut q = InitiativeQuery {
            text: r.text.iter().map(|t| search_key(t)).collect(),
            ..InitiativeQuery::default()
        };
        for field in COLUMN_FIELDS {
            let values = r.take(field);
            if values.is_empty() {
                continue;
            }
            let values = normalise(field, values)?;
            q.columns.push((field, values));
        }
        for field in TERM_FIELDS {
            let values = r.take(field);
            if values.is_empty() {
                continue;
            }
            let values = normalise(field, values)?;
            q.terms.push((field, values));
        }
        Ok(q)
    }
}

/// Filter values in their stored form, refusing ones that can never match.
fn normalise(field: &str, values: Vec<String>) -> Result<Vec<String>, Error> {
    fn names<T: Copy>(
        field: &str,
        values: Vec<String>,
        parse: fn(&str) -> Option<T>,
        name: fn(T) -> &'static str,
    ) -> Result<Vec<String>, Error> {
        Ok(parse_names(field, values, parse)?
            .into_iter()
            .map(|v| name(v).to_string())
            .collect())
    }
    let bad = |e: String| Error::invalid("filter", format!("`{field}`: {e}"));
    match field {
        "country_code" => values
            .iter()
            .map(|c| check::country(c).map_err(bad))
            .collect(),
        "nuts_code" => Ok(values
            .iter()
            .map(|n| n.trim().to_ascii_uppercase())
            .collect()),
        "language" => values
            .iter()
            .map(|l| check::language_tag(l).map_err(bad))
            .collect(),
        "stage" => names(field, values, Stage::parse, Stage::as_str),
        "status" => names(field, values, Status::parse, Status::as_str),
        "facet" => names(field, values, Facet::parse, Facet::as_str),
        "government_level" => names(
            field,
            values,
            GovernmentLevel::parse,
            GovernmentLevel::as_str,
        ),
        "sector" => names(
            field,
            values,
            GovernmentFunction::parse,
            GovernmentFunction::as_str,
        ),
        "principle" => names(field, values, Principle::parse, Principle::as_str),
        "lead_organization" | "partner" => values
            .iter()
            .map(|o| {
                check::resource_id(o, "organizations")
                    .map(|_| o.clone())
                    .map_err(bad)
            })
            .collect(),
        "challenge" => values
            .iter()
            .map(|c| {
                check::resource_id(c, "challenges")
                    .map(|_| c.clone())
                    .map_err(bad)
            })
            .collect(),
        "tag" => Ok(values.iter().map(|t| search_key(t.trim())).collect()),
        "sdg" => values
            .iter()
            .map(|s| match s.parse::<i32>() {
                Ok(n) if (1..=17).contains(&n) => Ok(n.to_string()),
                _ => Err(bad(format!("{s:?} is not an SDG number (1 to 17)"))),
            })
            .collect(),
        _ => Ok(values),
    }
}

/// Counts of initiatives by dimension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortfolioSummary {
    /// Initiatives matched.
    pub total: i64,
    /// By stage, in lifecycle order.
    pub by_stage: Vec<(String, i64)>,
    /// By facet (`UNSPECIFIED` for none).
    pub by_facet: Vec<(String, i64)>,
    /// By status.
    pub by_status: Vec<(String, i64)>,
    /// By principle.
    pub by_principle: Vec<(String, i64)>,
    /// By country.
    pub by_country: Vec<(String, i64)>,
    /// By SDG number.
    pub by_sdg: Vec<(String, i64)>,
    /// Reused cases: adopters of a confirmed adoption that carries a
    /// solution on (adopts, adapts, scales).
    pub reused: i64,
    /// Reused cases by country.
    pub reused_by_country: Vec<(String, i64)>,
    /// Original (not reused) cases by country.
    pub original_by_country: Vec<(String, i64)>,
    /// Reused cases by facet (`UNSPECIFIED` for none).
    pub reused_by_facet: Vec<(String, i64)>,
    /// Original cases by facet.
    pub original_by_facet: Vec<(String, i64)>,
}

impl PortfolioSummary {
    /// Sets the reused counts, and the original ones as what remains of
    /// each country's and facet's count.
    pub fn set_reuse(&mut self, by_country: Vec<(String, i64)>, by_facet: Vec<(String, i64)>) {
        fn rest(all: &[(String, i64)], reused: &[(String, i64)]) -> Vec<(String, i64)> {
            all.iter()
                .map(|(value, n)| {
                    let used = reused
                        .iter()
                        .find(|(v, _)| v == value)
                        .map_or(0, |(_, r)| *r);
                    (value.clone(), n - used)
                })
                .filter(|(_, n)| *n > 0)
                .collect()
        }
        self.reused = by_country.iter().map(|(_, n)| n).sum();
        self.original_by_country = rest(&self.by_country, &by_country);
        self.original_by_facet = rest(&self.by_facet, &by_facet);
        self.reused_by_country = by_country;
        self.reused_by_facet = by_facet;
    }
}
