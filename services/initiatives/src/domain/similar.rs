//! Who has solved this already: what two records share, and how close that
//! makes them (FindSimilar, and the likely duplicates of a new challenge or
//! submission). Pure: the store finds the candidates, this scores them.
//!
//! Texts are compared as analysed terms, `config:stem` (the kit's analysis,
//! the one guidance search uses): each text in its own language's
//! configuration, or in every configuration when its language is unknown
//! (a challenge's). A Romanian query meets a Finnish case through the
//! case's Romanian translation, whose terms carry the same `romanian:`
//! prefix.

use std::collections::BTreeSet;

use innolab_kit::text::configs_for;
use innolab_kit::{Error, Violations};
use serde::{Deserialize, Serialize};

use super::{Challenge, GovernmentFunction, InitiativeFields, Stage, check, text_in};

/// A likely duplicate shares at least this share of terms (shared terms
/// over the smaller side's).
pub const DUPLICATE_SHARE: f64 = 0.6;
/// ... and at least this many terms.
pub const DUPLICATE_MIN_TERMS: usize = 3;
/// Most likely duplicates in an answer.
pub const MAX_DUPLICATES: usize = 5;
/// Candidates the store reads before scoring (those sharing the most terms).
pub const CANDIDATES: i64 = 200;
/// Most challenges compared (the newest); challenges are few beside
/// initiatives, and carry no index of terms.
pub const CHALLENGES_COMPARED: i64 = 10_000;
/// Most initiatives one query term contributes as candidates (a term
/// shared by more says little, and reading all of it would cost a scan).
pub const TERM_POSTINGS: i64 = 1_000;
/// Most terms of a query looked up (its longest stems).
pub const MAX_QUERY_TERMS: usize = 300;
/// Most terms an initiative is indexed under (its first, in term order).
pub const MAX_INDEXED_TERMS: usize = 400;
/// Most shared terms named in a reason.
const MAX_NAMED_TERMS: usize = 20;
/// Longest free-text query.
const MAX_QUERY_TEXT: usize = 5_000;
/// Default and largest number of matches.
const DEFAULT_MATCHES: usize = 10;
const MAX_MATCHES: usize = 50;

/// The analysed terms (`config:stem`) of `texts`, each `(language, text)`;
/// a text of unknown language is analysed in every configuration.
pub fn analysed<'a>(
    texts: impl IntoIterator<Item = (Option<&'a str>, &'a str)>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (language, text) in texts {
        for config in configs_for(language) {
            for term in config.terms(text) {
                out.insert(format!("{}:{term}", config.name()));
            }
        }
    }
    out
}

/// What a record is compared on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Analysed terms of its texts.
    pub words: BTreeSet<String>,
    /// COFOG function.
    pub sector: Option<GovernmentFunction>,
    /// Lifecycle stage.
    pub stage: Option<Stage>,
    /// SDG numbers.
    pub sdgs: Vec<i32>,
    /// Tags (lower case).
    pub tags: Vec<String>,
    /// Analysed terms of a challenge's process.
    pub process: BTreeSet<String>,
}

impl InitiativeFields {
    /// The analysed terms of what the initiative is about: titles,
    /// summaries and problem statements, each in its language.
    pub fn words(&self) -> BTreeSet<String> {
        analysed(
            self.titles
                .iter()
                .chain(&self.summaries)
                .chain(&self.problem)
                .map(|t| (Some(t.language_code.as_str()), t.text.as_str())),
        )
    }

    /// What FindSimilar compares it on besides its sector and stage (the
    /// columns beside its body): stored with it, so that scoring it as a
    /// candidate neither reads its texts nor analyses them again.
    pub fn indexed(&self) -> Indexed {
        Indexed {
            words: self.words(),
            tags: self.tags.clone(),
            sdgs: self.sdgs.clone(),
        }
    }

    /// The profile FindSimilar compares.
    pub fn profile(&self, stage: Option<Stage>) -> Profile {
        self.indexed().profile(self.sector, stage)
    }

    /// The title in `language` (a canonical tag) if it has one, else the
    /// first.
    pub fn title_in(&self, language: Option<&str>) -> String {
        language
            .and_then(|l| text_in(&self.titles, l))
            .or_else(|| self.titles.first().map(|t| t.text.as_str()))
            .unwrap_or_default()
            .to_string()
    }

    /// The text a query by this initiative stands for: its title and
    /// problem in the original language.
    pub fn query_text(&self) -> String {
        let original = self.original_language().unwrap_or_default();
        let title = self.title_in(Some(&original));
        match text_in(&self.problem, &original) {
            Some(problem) => format!("{title}\n{problem}"),
            None => title,
        }
    }
}

impl Challenge {
    /// The profile FindSimilar compares: its texts in every language.
    pub fn profile(&self) -> Profile {
        let f = &self.fields;
        Profile {
            words: analysed([
                (None, f.title.as_str()),
                (None, f.description.as_str()),
                (None, f.process.as_str()),
            ]),
            process: analysed([(None, f.process.as_str())]),
            ..Profile::default()
        }
    }

    /// The text a query by this challenge stands for.
    pub fn query_text(&self) -> String {
        let f = &self.fields;
        [&f.title, &f.description, &f.process]
            .into_iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An initiative's analysed words, tags and SDGs, as stored beside it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Indexed {
    /// Analysed terms of its titles, summaries and problem statements.
    pub words: BTreeSet<String>,
    /// Tags (lower case).
    pub tags: Vec<String>,
    /// SDG numbers.
    pub sdgs: Vec<i32>,
}

impl Indexed {
    /// The profile of an initiative with these terms, `sector` and `stage`.
    pub fn profile(self, sector: Option<GovernmentFunction>, stage: Option<Stage>) -> Profile {
        Profile {
            words: self.words,
            sector,
            stage,
            sdgs: self.sdgs,
            tags: self.tags,
            process: BTreeSet::new(),
        }
    }
}

/// An initiative as FindSimilar scores it: what the store reads of a
/// candidate (its columns and stored `Indexed` terms, not its body).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Its id.
    pub id: String,
    /// What it is compared on.
    pub profile: Profile,
    /// Lead organisation.
    pub organization: String,
    /// Country.
    pub country_code: String,
}

/// What a FindSimilar asks about.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// `initiatives/{id}`: the id.
    Initiative(String),
    /// `challenges/{id}`: the id.
    Challenge(String),
    /// Free text, with its language (canonical) when given.
    Text {
        /// The text.
        text: String,
        /// Its language.
        language: Option<String>,
        /// Structured facts to match.
        profile: Profile,
    },
}

/// A validated FindSimilar request.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarQuery {
    /// What is asked about.
    pub subject: Subject,
    /// Most matches.
    pub limit: usize,
}

/// The facts free text may come with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextFacts {
    /// COFOG function.
    pub sector: Option<GovernmentFunction>,
    /// SDGs.
    pub sdgs: Vec<i32>,
    /// Tags.
    pub tags: Vec<String>,
}

impl SimilarQuery {
    /// Validates a request: exactly one of the three subjects.
    pub fn new(
        initiative: &str,
        challenge: &str,
        text: &str,
        language: &str,
        facts: TextFacts,
        page_size: i32,
    ) -> Result<Self, Error> {
        let mut v = Violations::new();
        let given = [
            !initiative.is_empty(),
            !challenge.is_empty(),
            !text.trim().is_empty(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            for field in ["initiative", "challenge", "text"] {
                v.add(field, "give exactly one of initiative, challenge and text");
            }
        }
        let limit = match usize::try_from(page_size) {
            Ok(0) => DEFAULT_MATCHES,
            Ok(n) => n.min(MAX_MATCHES),
            Err(_) => {
                v.add("page_size", "must not be negative");
                0
            }
        };
        let mut subject = None;
        if given[0] {
            match check::resource_id(initiative, "initiatives") {
                Ok(id) => subject = Some(Subject::Initiative(id)),
                Err(e) => v.add("initiative", e),
            }
        } else if given[1] {
            match check::resource_id(challenge, "challenges") {
                Ok(id) => subject = Some(Subject::Challenge(id)),
                Err(e) => v.add("challenge", e),
            }
        } else if given[2] {
            let language = if language.trim().is_empty() {
                None
            } else {
                match check::language_tag(language) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        v.add("language_code", e);
                        None
                    }
                }
            };
            match check::required_text(text, MAX_QUERY_TEXT) {
                Ok(text) => {
                    let mut tags: Vec<String> = facts
                        .tags
                        .iter()
                        .map(|t| super::search_key(t.trim()))
                        .collect();
                    tags.sort();
                    tags.dedup();
                    for (i, sdg) in facts.sdgs.iter().enumerate() {
                        if !(1..=17).contains(sdg) {
                            v.add(format!("sdgs[{i}]"), "must be 1 to 17");
                        }
                    }
                    let mut sdgs = facts.sdgs;
                    sdgs.sort_unstable();
                    sdgs.dedup();
                    let profile = Profile {
                        words: analysed([(language.as_deref(), text.as_str())]),
                        sector: facts.sector,
                        sdgs,
                        tags,
                        ..Profile::default()
                    };
                    subject = Some(Subject::Text {
                        text,
                        language,
                        profile,
                    });
                }
                Err(e) => v.add("text", e),
            }
        }
        v.finish()?;
        let subject = subject.ok_or_else(|| Error::Internal("validated subject missing".into()))?;
        Ok(SimilarQuery { subject, limit })
    }
}

/// What is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind {
    /// The same COFOG function.
    Sector,
    /// SDGs.
    Sdg,
    /// The same lifecycle stage.
    Stage,
    /// Tags.
    Tag,
    /// Words of two challenges' processes.
    Process,
    /// Words of the texts.
    Words,
}

/// One kind of thing shared, and what it adds to the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// What.
    pub kind: ReasonKind,
    /// The shared values.
    pub values: Vec<String>,
    /// Its part of the score.
    pub weight: f64,
}

/// A record found similar.
#[derive(Debug, Clone, PartialEq)]
pub struct Similar {
    /// `initiatives/{id}` or `challenges/{id}`.
    pub name: String,
    /// Its title.
    pub title: String,
    /// Lead organisation or raiser.
    pub organization: String,
    /// Country, or empty.
    pub country_code: String,
    /// The closeness.
    pub score: f64,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Share of terms in common (the duplicate test).
    pub word_share: f64,
    /// Terms in common.
    pub shared_terms: usize,
}

impl Similar {
    /// Whether it is a likely duplicate (see `DUPLICATE_SHARE`).
    pub fn is_duplicate(&self) -> bool {
        self.word_share >= DUPLICATE_SHARE && self.shared_terms >= DUPLICATE_MIN_TERMS
    }

    /// A candidate initiative compared with `query`, `None` when nothing
    /// is shared; its title is left to fill in (`InitiativeFields::title_in`)
    /// once ranked, for the few that are kept.
    pub fn initiative(query: &Profile, c: &Candidate) -> Option<Self> {
        let mut found = Similar::compare(query, &c.profile)?;
        found.name = format!("initiatives/{}", c.id);
        found.organization = c.organization.clone();
        found.country_code = c.country_code.clone();
        Some(found)
    }

    /// A challenge compared with `query`, `None` when nothing is shared.
    pub fn challenge(query: &Profile, c: &Challenge) -> Option<Self> {
        let mut found = Similar::compare(query, &c.profile())?;
        found.name = c.name();
        found.title = c.fields.title.clone();
        found.organization = c.fields.raised_by.clone();
        found.country_code = c.fields.country_code.clone();
        Some(found)
    }

    /// The score of `candidate` against `query` with its reasons (the
    /// rules are similar.proto's), `None` when they share no term, tag or
    /// SDG.
    fn compare(query: &Profile, candidate: &Profile) -> Option<Similar> {
        let (word_share, shared) = share(&query.words, &candidate.words);
        let shared_terms = shared.len();
        let sdgs: Vec<String> = query
            .sdgs
            .iter()
            .filter(|s| candidate.sdgs.contains(s))
            .map(i32::to_string)
            .collect();
        let tags: Vec<String> = query
            .tags
            .iter()
            .filter(|t| candidate.tags.contains(t))
            .cloned()
            .collect();
        if shared.is_empty() && sdgs.is_empty() && tags.is_empty() {
            return None;
        }
        let (process_share, process) = share(&query.process, &candidate.process);
        let (sdg_weight, tag_weight) = (
            0.1 * sdgs.len().min(3) as f64,
            0.2 * tags.len().min(3) as f64,
        );
        let mut reasons = Vec::new();
        let mut add = |kind, values: Vec<String>, weight: f64| {
            if !values.is_empty() {
                reasons.push(Reason {
                    kind,
                    values,
                    weight,
                });
            }
        };
        add(ReasonKind::Words, named(shared), word_share);
        add(
            ReasonKind::Sector,
            same(
                query.sector.map(|s| s.as_str()),
                candidate.sector.map(|s| s.as_str()),
            ),
            0.25,
        );
        add(ReasonKind::Sdg, sdgs, sdg_weight);
        add(ReasonKind::Tag, tags, tag_weight);
        add(
            ReasonKind::Stage,
            same(
                query.stage.map(|s| s.as_str()),
                candidate.stage.map(|s| s.as_str()),
            ),
            0.05,
        );
        add(ReasonKind::Process, named(process), 0.25 * process_share);
        Some(Similar {
            name: String::new(),
            title: String::new(),
            organization: String::new(),
            country_code: String::new(),
            score: reasons.iter().map(|r| r.weight).sum(),
            reasons,
            word_share,
            shared_terms,
        })
    }
}

/// `[a]` when both sides have the same value, else nothing.
fn same(a: Option<&str>, b: Option<&str>) -> Vec<String> {
    match (a, b) {
        (Some(a), Some(b)) if a == b => vec![a.to_string()],
        _ => Vec::new(),
    }
}

/// The share of terms in common (over the smaller side's) and those terms.
fn share<'a>(a: &'a BTreeSet<String>, b: &'a BTreeSet<String>) -> (f64, Vec<&'a String>) {
    let shared: Vec<&String> = a.intersection(b).collect();
    let smaller = a.len().min(b.len());
    if smaller == 0 {
        return (0.0, shared);
    }
    (shared.len() as f64 / smaller as f64, shared)
}

/// Shared terms as a reason names them: stems without their configuration,
/// each once, at most `MAX_NAMED_TERMS`.
fn named(terms: Vec<&String>) -> Vec<String> {
    let mut stems: Vec<String> = terms
        .into_iter()
        .map(|t| t.split_once(':').map_or(t.as_str(), |(_, s)| s).to_string())
        .collect();
    stems.sort();
    stems.dedup();
    stems.truncate(MAX_NAMED_TERMS);
    stems
}

/// Best first (ties by name), at most `limit`.
pub fn ranked(mut found: Vec<Similar>, limit: usize) -> Vec<Similar> {
    found.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.name.cmp(&b.name))
    });
    found.truncate(limit);
    found
}

/// The likely duplicates among `found`, best first, at most `MAX_DUPLICATES`.
pub fn duplicates(found: Vec<Similar>) -> Vec<Similar> {
    ranked(
        found.into_iter().filter(Similar::is_duplicate).collect(),
        MAX_DUPLICATES,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn romanian_cedilla_and_comma_below_share_terms() {
        let a = analysed([(Some("ro"), "Cozi la ghişeele primăriei pentru certificate")]);
        let b = analysed([(None, "Cozile la ghișeele primăriei")]);
        let (s, shared) = share(&a, &b);
        assert!(shared.iter().any(|t| t.starts_with("romanian:ghișe")));
        assert!(s > 0.0);
    }

    #[test]
    fn nothing_shared_is_no_match() {
        let a = Profile {
            words: analysed([(Some("en"), "queues at the town hall")]),
            ..Profile::default()
        };
        let b = Profile {
            words: analysed([(Some("fi"), "metsänhoito")]),
            sector: Some(GovernmentFunction::Health),
            ..Profile::default()
        };
        assert!(Similar::compare(&a, &b).is_none());
    }
}
