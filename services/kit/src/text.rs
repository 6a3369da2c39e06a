//! Language-aware text analysis: folding, tokenising, stop words and
//! Snowball stemming, so that SQLite finds what PostgreSQL's text-search
//! configurations find. Guidance search and initiatives' FindSimilar analyse
//! with it, so a word means the same to both.
//!
//! Folding is the same on both backends: Romanian cedilla letters (ş ţ,
//! also written with combining marks) become the comma-below letters (ș ț);
//! nothing else is folded, so Nordic å ä ö ø æ keep their meaning.

use std::collections::HashSet;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// A text-search configuration: PostgreSQL's name and the matching stemmer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Config {
    /// `romanian` (PostgreSQL has no Romanian stop words; ours are applied
    /// before the text reaches it).
    Romanian,
    /// `swedish`.
    Swedish,
    /// `finnish`.
    Finnish,
    /// `danish`.
    Danish,
    /// `norwegian` (Bokmål and Nynorsk).
    Norwegian,
    /// `english`.
    English,
    /// `simple`: lower case, no stemming, no stop words.
    Simple,
}

/// Every configuration.
pub const CONFIGS: [Config; 7] = [
    Config::Romanian,
    Config::Swedish,
    Config::Finnish,
    Config::Danish,
    Config::Norwegian,
    Config::English,
    Config::Simple,
];

impl Config {
    /// The configuration for a BCP 47 tag, by its primary language subtag.
    pub fn for_language(tag: &str) -> Config {
        let primary = tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
        match primary.as_str() {
            "ro" | "mo" => Config::Romanian,
            "sv" => Config::Swedish,
            "fi" => Config::Finnish,
            "da" => Config::Danish,
            "nb" | "nn" | "no" => Config::Norwegian,
            "en" => Config::English,
            _ => Config::Simple,
        }
    }

    /// PostgreSQL's `regconfig` name (also what is stored).
    pub fn name(self) -> &'static str {
        match self {
            Config::Romanian => "romanian",
            Config::Swedish => "swedish",
            Config::Finnish => "finnish",
            Config::Danish => "danish",
            Config::Norwegian => "norwegian",
            Config::English => "english",
            Config::Simple => "simple",
        }
    }

    fn algorithm(self) -> Option<Algorithm> {
        match self {
            Config::Romanian => Some(Algorithm::Romanian),
            Config::Swedish => Some(Algorithm::Swedish),
            Config::Finnish => Some(Algorithm::Finnish),
            Config::Danish => Some(Algorithm::Danish),
            Config::Norwegian => Some(Algorithm::Norwegian),
            Config::English => Some(Algorithm::English),
            Config::Simple => None,
        }
    }

    /// The stop-word list: PostgreSQL's own Snowball lists for the Nordic
    /// languages and English, ours for Romanian.
    fn stop_words(self) -> &'static str {
        match self {
            Config::Romanian => include_str!("stopwords/romanian.stop"),
            Config::Swedish => include_str!("stopwords/swedish.stop"),
            Config::Finnish => include_str!("stopwords/finnish.stop"),
            Config::Danish => include_str!("stopwords/danish.stop"),
            Config::Norwegian => include_str!("stopwords/norwegian.stop"),
            Config::English => include_str!("stopwords/english.stop"),
            Config::Simple => "",
        }
    }

    fn is_stop_word(self, word: &str) -> bool {
        static SETS: OnceLock<Vec<HashSet<&'static str>>> = OnceLock::new();
        let sets = SETS.get_or_init(|| {
            CONFIGS
                .iter()
                .map(|c| c.stop_words().lines().map(str::trim).collect())
                .collect()
        });
        sets.get(self as usize)
            .is_some_and(|set| set.contains(word))
    }

    /// The analysed term of one lower-cased word, `None` for a stop word.
    fn term(self, stemmer: Option<&Stemmer>, word: &str) -> Option<String> {
        if self.is_stop_word(word) {
            return None;
        }
        Some(match stemmer {
            Some(s) => s.stem(word).into_owned(),
            None => word.to_string(),
        })
    }

    /// The analysed terms of `text`: folded, lower-cased, stop words
    /// removed, stemmed.
    pub fn terms(self, text: &str) -> Vec<String> {
        let stemmer = self.algorithm().map(Stemmer::create);
        tokens(&fold(text))
            .into_iter()
            .filter_map(|(_, word)| self.term(stemmer.as_ref(), &word))
            .collect()
    }

    /// The text handed to PostgreSQL's `to_tsvector`/`plainto_tsquery` for
    /// this configuration: folded, and for Romanian without stop words
    /// (PostgreSQL's romanian configuration has none).
    pub fn prepare(self, text: &str) -> String {
        let folded = fold(text);
        if self != Config::Romanian {
            return folded;
        }
        tokens(&folded)
            .into_iter()
            .map(|(_, w)| w)
            .filter(|w| !self.is_stop_word(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// An excerpt of `text` around the first word matching one of `terms`
    /// (analysed terms), matches between `<b>` and `</b>`, like
    /// PostgreSQL's `ts_headline`.
    pub fn snippet(self, text: &str, terms: &[String]) -> String {
        const BEFORE: usize = 5;
        const WORDS: usize = 30;
        let folded = fold(text);
        let words = tokens(&folded);
        let stemmer = self.algorithm().map(Stemmer::create);
        let matches: Vec<bool> = words
            .iter()
            .map(|(_, w)| {
                self.term(stemmer.as_ref(), w)
                    .is_some_and(|t| terms.contains(&t))
            })
            .collect();
        let first = matches.iter().position(|m| *m).unwrap_or(0);
        let start = first.saturating_sub(BEFORE);
        let end = (start + WORDS).min(words.len());
        let Some((from, _)) = words.get(start) else {
            return String::new();
        };
        let mut out = String::new();
        let mut at = *from;
        for ((pos, w), matched) in words[start..end].iter().zip(&matches[start..end]) {
            let len = original_len(&folded[*pos..], w);
            out.push_str(&folded[at..*pos]);
            let word = &folded[*pos..*pos + len];
            if *matched {
                out.push_str("<b>");
                out.push_str(word);
                out.push_str("</b>");
            } else {
                out.push_str(word);
            }
            at = pos + len;
        }
        if end == words.len() {
            out.push_str(&folded[at..]);
        }
        out.trim().to_string()
    }
}

/// Byte length in `rest` of the word that lower-cases to `word`.
fn original_len(rest: &str, word: &str) -> usize {
    let count = word.chars().count();
    rest.char_indices()
        .take_while(|(_, c)| c.is_alphanumeric())
        .take(count)
        .last()
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0)
}

/// Folds Romanian cedilla letters to comma-below ones, including the
/// decomposed forms (s/t + combining cedilla or comma below).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            'ş' => 'ș',
            'ţ' => 'ț',
            'Ş' => 'Ș',
            'Ţ' => 'Ț',
            other => other,
        };
        if matches!(c, 's' | 't' | 'S' | 'T')
            && matches!(chars.peek(), Some('\u{0327}' | '\u{0326}'))
        {
            chars.next();
            out.push(match c {
                's' => 'ș',
                't' => 'ț',
                'S' => 'Ș',
                _ => 'Ț',
            });
            continue;
        }
        out.push(c);
    }
    out
}

/// Words (runs of letters and digits) with their byte offsets, lower-cased.
pub fn tokens(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, text[s..i].to_lowercase()));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text[s..].to_lowercase()));
    }
    out
}

/// The configurations to analyse a text in: its language's, or every one
/// when the language is not known (each text is then matched by the
/// analysis of its own language).
pub fn configs_for(language: Option<&str>) -> Vec<Config> {
    match language {
        Some(l) => vec![Config::for_language(l)],
        None => CONFIGS.to_vec(),
    }
}

/// The most specific words of `text` for a search one word at a time:
/// distinct words (folded, lower case) of at least 3 letters that are not
/// numbers nor stop words of `language` (of any language when unknown),
/// longest first (ties in text order), at most `n`.
pub fn keywords(text: &str, language: Option<&str>, n: usize) -> Vec<String> {
    let configs = configs_for(language);
    let mut words: Vec<String> = Vec::new();
    for (_, word) in tokens(&fold(text)) {
        let specific = word.chars().count() >= 3
            && !word.chars().all(|c| c.is_numeric())
            && !configs.iter().any(|c| c.is_stop_word(&word));
        if specific && !words.contains(&word) {
            words.push(word);
        }
    }
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    words.truncate(n);
    words
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn romanian_folds_both_ways() {
        let cedilla = Config::Romanian.terms("instituţiile şcolii");
        let comma = Config::Romanian.terms("instituțiile școlii");
        assert_eq!(cedilla, comma);
        assert_eq!(fold("s\u{0327}t\u{0326}"), "șț");
        assert!(Config::Romanian.terms("și în la").is_empty());
    }

    #[test]
    fn nordic_letters_keep_their_meaning() {
        assert_ne!(Config::Swedish.terms("får"), Config::Swedish.terms("far"));
        assert_eq!(
            Config::Finnish.terms("talossa"),
            Config::Finnish.terms("talo")
        );
    }

    #[test]
    fn snippets_mark_matches() {
        let terms = Config::English.terms("designing");
        let s = Config::English.snippet("We love service design, truly.", &terms);
        assert_eq!(s, "We love service <b>design</b>, truly.");
    }

    #[test]
    fn keywords_are_the_longest_non_stop_words() {
        let k = keywords(
            "Cozi la ghişeele primăriei şi la poştă, 2024",
            Some("ro"),
            3,
        );
        assert_eq!(k, ["primăriei", "ghișeele", "poștă"]);
        assert!(keywords("the and of", None, 5).is_empty());
    }
}
