//! An initiative's narrative (problem, objectives, solution, results,
//! lessons learned): lists of texts per language, and the deprecated single
//! texts of the contract kept in sync with the original language.

use innolab_kit::Violations;

use super::check;
use super::initiative::{InitiativeFields, LocalizedText};

/// The narrative fields as the contract names them: each list, and the
/// single text it replaced (deprecated, kept in sync with the list's text
/// in the original language).
pub const NARRATIVES: [(&str, &str); 5] = [
    ("localized_problem", "problem"),
    ("localized_objectives", "objectives"),
    ("localized_solution", "solution"),
    ("localized_results", "results"),
    ("localized_lessons_learned", "lessons_learned"),
];

/// The text of `list` in `language` (a canonical tag), if it has one.
pub fn text_in<'a>(list: &'a [LocalizedText], language: &str) -> Option<&'a str> {
    list.iter()
        .find(|t| check::language_tag(&t.language_code).is_ok_and(|l| l == language))
        .map(|t| t.text.as_str())
}

impl InitiativeFields {
    /// The record's original language: its first title's (canonical), if
    /// that is a valid tag.
    pub fn original_language(&self) -> Option<String> {
        self.titles
            .first()
            .and_then(|t| check::language_tag(&t.language_code).ok())
    }

    /// The narrative lists, in the order of `NARRATIVES`.
    pub fn narratives(&self) -> [&Vec<LocalizedText>; 5] {
        [
            &self.problem,
            &self.objectives,
            &self.solution,
            &self.results,
            &self.lessons_learned,
        ]
    }

    /// The narrative lists, mutable, in the order of `NARRATIVES`.
    pub fn narratives_mut(&mut self) -> [&mut Vec<LocalizedText>; 5] {
        [
            &mut self.problem,
            &mut self.objectives,
            &mut self.solution,
            &mut self.results,
            &mut self.lessons_learned,
        ]
    }

    /// Folds the deprecated single texts (in the order of `NARRATIVES`) into
    /// the lists as the original language's text: an empty one changes
    /// nothing; one the list lacks is added first; one that differs from
    /// the list's text in that language is a violation, since the caller
    /// said two things.
    pub fn apply_single_texts(&mut self, single: [String; 5], v: &mut Violations) {
        let Some(original) = self.original_language() else {
            return; // no valid first title: validation reports it
        };
        for (((list_field, field), list), text) in
            NARRATIVES.iter().zip(self.narratives_mut()).zip(single)
        {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match text_in(list, &original) {
                None => list.insert(
                    0,
                    LocalizedText {
                        language_code: original.clone(),
                        text: text.to_string(),
                    },
                ),
                Some(listed) if listed.trim() == text => {}
                Some(_) => v.add(
                    *field,
                    format!(
                        "differs from the `{original}` text of {list_field}; \
                         send one of them ({field} is deprecated)"
                    ),
                ),
            }
        }
    }
}
