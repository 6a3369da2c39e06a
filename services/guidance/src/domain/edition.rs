//! Editions, the way GOV.UK's publishing system does it, and their
//! translations.

use innolab_kit::{Error, Violations, query};

use super::{EditionState, Meta, check, parse_names};

/// The text of an edition in one language.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Translation {
    /// BCP 47 tag.
    pub language_code: String,
    /// Title; required.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// Body; required.
    pub body: String,
    /// Whether this is the original language.
    pub original: bool,
}

/// What an author writes in an edition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditionFields {
    /// One per language, exactly one original.
    pub translations: Vec<Translation>,
    /// What changed, for readers.
    pub change_note: String,
}

/// Most translations an edition carries.
const MAX_TRANSLATIONS: usize = 40;
/// Longest body, in characters.
const MAX_BODY: usize = 1_000_000;

impl EditionFields {
    /// Checks and normalises every field.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[("translations", self.translations.len(), MAX_TRANSLATIONS)])?;
        let mut v = Violations::new();
        if self.translations.is_empty() {
            v.add("translations", "at least one translation is required");
        }
        let mut languages: Vec<String> = Vec::new();
        for (i, t) in self.translations.iter_mut().enumerate() {
            let at = |f: &str| format!("translations[{i}].{f}");
            match check::language_tag(&t.language_code) {
                Ok(l) if languages.iter().any(|x| x.eq_ignore_ascii_case(&l)) => {
                    v.add(at("language_code"), format!("{l} appears twice"));
                }
                Ok(l) => {
                    t.language_code = l.clone();
                    languages.push(l);
                }
                Err(e) => v.add(at("language_code"), e),
            }
            match check::required_text(&t.title, check::MAX_TEXT) {
                Ok(x) => t.title = x,
                Err(e) => v.add(at("title"), e),
            }
            match check::optional_text(&t.summary, 5_000) {
                Ok(x) => t.summary = x,
                Err(e) => v.add(at("summary"), e),
            }
            match check::required_text(&t.body, MAX_BODY) {
                Ok(x) => t.body = x,
                Err(e) => v.add(at("body"), e),
            }
        }
        let originals = self.translations.iter().filter(|t| t.original).count();
        if !self.translations.is_empty() && originals != 1 {
            v.add(
                "translations",
                format!("exactly one translation must be marked original (found {originals})"),
            );
        }
        match check::optional_text(&self.change_note, 2_000) {
            Ok(x) => self.change_note = x,
            Err(e) => v.add("change_note", e),
        }
        v.finish()?;
        Ok(self)
    }
}

/// A stored edition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edition {
    /// The document's id.
    pub document_id: String,
    /// 1, 2, 3... within the document.
    pub number: i64,
    /// Its text.
    pub fields: EditionFields,
    /// Lifecycle state.
    pub state: EditionState,
    /// Why rejected or withdrawn.
    pub state_reason: String,
    /// Microseconds since the epoch, once published.
    pub publish_time: Option<i64>,
    /// Set when a requested language was missing and the original is shown.
    pub language_fallback: bool,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Edition {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("documents/{}/editions/{}", self.document_id, self.number)
    }

    /// Keeps only the translation in `language` (matched on the full tag,
    /// then on the primary language subtag), or the original with
    /// `language_fallback` set.
    pub fn in_language(mut self, language: &str) -> Self {
        let primary = |tag: &str| tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
        let found = self
            .fields
            .translations
            .iter()
            .position(|t| t.language_code.eq_ignore_ascii_case(language))
            .or_else(|| {
                self.fields
                    .translations
                    .iter()
                    .position(|t| primary(&t.language_code) == primary(language))
            });
        let index = match found {
            Some(i) => i,
            None => {
                self.language_fallback = true;
                self.fields
                    .translations
                    .iter()
                    .position(|t| t.original)
                    .unwrap_or(0)
            }
        };
        self.fields.translations = self
            .fields
            .translations
            .drain(..)
            .skip(index)
            .take(1)
            .collect();
        self
    }
}

/// Which edition a caller names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditionRef {
    /// By number.
    Number(i64),
    /// The current published one.
    Current,
}

impl EditionRef {
    /// Parses `documents/{document}/editions/{number|current}`.
    pub fn parse(name: &str) -> Result<(String, EditionRef), String> {
        let (document, edition) = check::child_ids(name, "editions")?;
        if edition == "current" {
            return Ok((document, EditionRef::Current));
        }
        match edition.parse::<i64>() {
            Ok(n) if n >= 1 && edition == n.to_string() => Ok((document, EditionRef::Number(n))),
            _ => Err(format!(
                "{name:?}: an edition is a number from 1, or `current`"
            )),
        }
    }
}

/// The transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// DRAFT -> SUBMITTED.
    Submit,
    /// SUBMITTED -> PUBLISHED.
    Publish,
    /// SUBMITTED -> REJECTED.
    Reject,
    /// PUBLISHED -> WITHDRAWN.
    Withdraw,
    /// PUBLISHED -> SUPERSEDED; done by the service when a newer edition is
    /// published, never asked for by a caller.
    Supersede,
}

impl Action {
    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Publish => "publish",
            Action::Reject => "reject",
            Action::Withdraw => "withdraw",
            Action::Supersede => "supersede",
        }
    }
}

/// Every legal move; anything else is FAILED_PRECONDITION.
pub const TRANSITIONS: &[(EditionState, Action, EditionState)] = &[
    (EditionState::Draft, Action::Submit, EditionState::Submitted),
    (
        EditionState::Submitted,
        Action::Publish,
        EditionState::Published,
    ),
    (
        EditionState::Submitted,
        Action::Reject,
        EditionState::Rejected,
    ),
    (
        EditionState::Published,
        Action::Withdraw,
        EditionState::Withdrawn,
    ),
    (
        EditionState::Published,
        Action::Supersede,
        EditionState::Superseded,
    ),
];

/// A requested transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// What to do.
    pub action: Action,
    /// Why (required to reject and to withdraw).
    pub reason: String,
    /// Revision named by the caller's etag.
    pub expected_revision: Option<i64>,
}

impl Transition {
    /// Validates the reason: required to reject or withdraw, refused otherwise.
    pub fn new(
        action: Action,
        reason: &str,
        expected_revision: Option<i64>,
    ) -> Result<Self, Error> {
        let reason = match action {
            Action::Reject | Action::Withdraw => {
                check::required_text(reason, 2_000).map_err(|e| Error::invalid("reason", e))?
            }
            _ => String::new(),
        };
        Ok(Transition {
            action,
            reason,
            expected_revision,
        })
    }
}

/// The state `action` leads to from `from`, or FAILED_PRECONDITION.
pub fn next_state(from: EditionState, action: Action) -> Result<EditionState, Error> {
    TRANSITIONS
        .iter()
        .find(|(f, a, _)| *f == from && *a == action)
        .map(|(_, _, to)| *to)
        .ok_or_else(|| {
            Error::failed_precondition(
                "ILLEGAL_TRANSITION",
                format!("cannot {} an edition in state {from}", action.verb()),
            )
        })
}

/// A parsed ListEditions filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditionQuery {
    /// Any of these states.
    pub states: Vec<EditionState>,
}

impl EditionQuery {
    /// Parses the `filter` of ListEditions.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["state"])?;
        if !r.text.is_empty() {
            return Err(Error::invalid(
                "filter",
                "editions have no free text; filter by state",
            ));
        }
        Ok(EditionQuery {
            states: parse_names("state", r.take("state"), EditionState::parse)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_moves_are_legal() {
        let actions = [
            Action::Submit,
            Action::Publish,
            Action::Reject,
            Action::Withdraw,
            Action::Supersede,
        ];
        for state in EditionState::ALL {
            for action in actions {
                let legal = TRANSITIONS
                    .iter()
                    .any(|(f, a, _)| f == state && *a == action);
                assert_eq!(next_state(*state, action).is_ok(), legal);
            }
        }
    }

    #[test]
    fn edition_names() {
        assert_eq!(
            EditionRef::parse("documents/a/editions/2").unwrap(),
            ("a".into(), EditionRef::Number(2))
        );
        assert_eq!(
            EditionRef::parse("documents/a/editions/current").unwrap(),
            ("a".into(), EditionRef::Current)
        );
        assert!(EditionRef::parse("documents/a/editions/0").is_err());
        assert!(EditionRef::parse("documents/a/editions/01").is_err());
    }
}
