//! Challenges: bottlenecks in administrative processes, raised by member
//! organisations, that initiatives answer.

use innolab_kit::{Error, Violations, query};

use super::check::{self, MAX_TEXT};
use super::{Meta, search_key};

/// What a caller writes about a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChallengeFields {
    /// Short title; required.
    pub title: String,
    /// The problem.
    pub description: String,
    /// The administrative process concerned.
    pub process: String,
    /// `organizations/{id}`; required.
    pub raised_by: String,
    /// ISO 3166-1 alpha-2, or empty.
    pub country_code: String,
}

/// A stored challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Id within `challenges/`.
    pub id: String,
    /// Its fields.
    pub fields: ChallengeFields,
    /// `initiatives/{id}` answering it, oldest first.
    pub answered_by: Vec<String>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Challenge {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("challenges/{}", self.id)
    }
}

impl ChallengeFields {
    /// Checks and normalises every field.
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
        match check::optional_text(&self.process, MAX_TEXT) {
            Ok(t) => self.process = t,
            Err(e) => v.add("process", e),
        }
        if self.raised_by.is_empty() {
            v.add("raised_by", "is required: organizations/{id}");
        } else if let Err(e) = check::resource_id(&self.raised_by, "organizations") {
            v.add("raised_by", e);
        }
        if self.country_code.trim().is_empty() {
            self.country_code.clear();
        } else {
            match check::country(&self.country_code) {
                Ok(c) => self.country_code = c,
                Err(e) => v.add("country_code", e),
            }
        }
        v.finish()?;
        Ok(self)
    }

    /// What free-text search matches.
    pub fn search_text(&self) -> String {
        search_key(&format!(
            "{}\n{}\n{}",
            self.title, self.description, self.process
        ))
    }
}

/// A parsed ListChallenges filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChallengeQuery {
    /// Raised by any of these organisations.
    pub raised_by: Vec<String>,
    /// In any of these countries.
    pub countries: Vec<String>,
    /// Every term must occur in the title, description or process.
    pub text: Vec<String>,
}

impl ChallengeQuery {
    /// Parses the `filter` of ListChallenges.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["raised_by", "country_code"])?;
        let bad = |e: String| Error::invalid("filter", e);
        Ok(ChallengeQuery {
            raised_by: r
                .take("raised_by")
                .into_iter()
                .map(|o| {
                    check::resource_id(&o, "organizations")
                        .map(|_| o)
                        .map_err(bad)
                })
                .collect::<Result<_, _>>()?,
            countries: r
                .take("country_code")
                .iter()
                .map(|c| check::country(c).map_err(bad))
                .collect::<Result<_, _>>()?,
            text: r.text.iter().map(|t| search_key(t)).collect(),
        })
    }
}
