//! SearchDocuments requests. The analysis itself (folding, stop words,
//! stemming) is the kit's (`innolab_kit::text`), shared with initiatives.

pub use innolab_kit::text::{CONFIGS, Config, fold, tokens};
use innolab_kit::{Error, query};

use super::{DocumentType, LifecycleStage, check, parse_names};

/// A validated SearchDocuments request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words, as the caller wrote them.
    pub text: String,
    /// Any of these types.
    pub types: Vec<DocumentType>,
    /// Any of these languages (normalised BCP 47 tags).
    pub languages: Vec<String>,
    /// Any of these topics.
    pub topics: Vec<String>,
    /// Any of these stages.
    pub stages: Vec<LifecycleStage>,
    /// Any of these licences.
    pub licenses: Vec<String>,
}

impl SearchQuery {
    /// Validates the query text and parses the filter.
    pub fn new(text: &str, filter: &str) -> Result<Self, Error> {
        let text = check::required_text(text, 500).map_err(|e| Error::invalid("query", e))?;
        if tokens(&text).is_empty() {
            return Err(Error::invalid("query", "must contain at least one word"));
        }
        let mut r = query::restrictions(
            filter,
            &["type", "language", "topic", "lifecycle_stage", "license"],
        )?;
        if !r.text.is_empty() {
            return Err(Error::invalid(
                "filter",
                "free text belongs in `query`; the filter takes type, language, topic, lifecycle_stage, license",
            ));
        }
        let languages = r
            .take("language")
            .iter()
            .map(|l| {
                check::language_tag(l)
                    .map_err(|e| Error::invalid("filter", format!("`language`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchQuery {
            text,
            types: parse_names("type", r.take("type"), DocumentType::parse)?,
            languages,
            topics: r.take("topic").iter().map(|t| t.to_lowercase()).collect(),
            stages: parse_names(
                "lifecycle_stage",
                r.take("lifecycle_stage"),
                LifecycleStage::parse,
            )?,
            licenses: r.take("license"),
        })
    }

    /// Whether the filter restricts anything besides the words.
    pub fn is_filtered(&self) -> bool {
        !(self.types.is_empty()
            && self.languages.is_empty()
            && self.topics.is_empty()
            && self.stages.is_empty()
            && self.licenses.is_empty())
    }

    /// The configurations to search: those of the requested languages, or all.
    pub fn configs(&self) -> Vec<Config> {
        if self.languages.is_empty() {
            return CONFIGS.to_vec();
        }
        let mut out: Vec<Config> = self
            .languages
            .iter()
            .map(|l| Config::for_language(l))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
