//! The benchmark's corpus: words per language, a deterministic generator
//! and the documents made of them. The gateway's FindSimilar benchmark
//! loads the same corpus.

use innolab_guidance::domain::{DocumentFields, DocumentType, LifecycleStage, Translation};

/// Each language's domain words, most common first.
pub const LANGUAGES: [(&str, &[&str]); 6] = [
    (
        "ro",
        &[
            "inovare",
            "instituțiile",
            "cetățenii",
            "servicii",
            "publice",
            "politici",
            "date",
            "digitalizare",
            "administrația",
            "proiect",
            "evaluare",
            "școlile",
            "sănătate",
            "transport",
            "primăria",
            "comunitate",
            "participare",
            "buget",
            "experiment",
            "strategie",
        ],
    ),
    (
        "sv",
        &[
            "innovation",
            "kommunen",
            "medborgare",
            "tjänster",
            "offentliga",
            "utveckling",
            "får",
            "far",
            "skolor",
            "vården",
            "data",
            "digitalisering",
            "projekt",
            "utvärdering",
            "förvaltning",
            "deltagande",
            "budget",
            "experiment",
            "strategi",
            "trafik",
        ],
    ),
    (
        "fi",
        &[
            "kokeilu",
            "kunta",
            "kaupungissa",
            "palvelut",
            "talossa",
            "kansalaiset",
            "tieto",
            "digitalisaatio",
            "hanke",
            "arviointi",
            "koulut",
            "terveys",
            "liikenne",
            "osallistuminen",
            "budjetti",
            "strategia",
            "hallinto",
            "kehittäminen",
            "yhteisö",
            "innovaatio",
        ],
    ),
    (
        "da",
        &[
            "innovation",
            "borgerne",
            "kommunen",
            "tjenester",
            "offentlige",
            "udvikling",
            "skoler",
            "sundhed",
            "data",
            "digitalisering",
            "projekt",
            "evaluering",
            "forvaltning",
            "deltagelse",
            "budget",
            "eksperiment",
            "strategi",
            "trafik",
            "fællesskab",
            "ældre",
        ],
    ),
    (
        "nb",
        &[
            "innovasjon",
            "innbyggerne",
            "kommunene",
            "tjenestene",
            "offentlige",
            "utvikling",
            "skoler",
            "helse",
            "data",
            "digitalisering",
            "prosjekt",
            "evaluering",
            "forvaltning",
            "medvirkning",
            "budsjett",
            "eksperiment",
            "strategi",
            "samferdsel",
            "fellesskap",
            "eldre",
        ],
    ),
    (
        "en",
        &[
            "innovation",
            "citizens",
            "services",
            "public",
            "designing",
            "policy",
            "data",
            "digital",
            "projects",
            "evaluation",
            "schools",
            "health",
            "transport",
            "municipality",
            "community",
            "participation",
            "budget",
            "experiments",
            "strategy",
            "prototypes",
        ],
    ),
];

/// A small deterministic generator (xorshift), so every run loads the same corpus.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Letters per language for the generated long tail of the vocabulary.
const SYLLABLES: [(&str, &str); 6] = [
    ("bcdfglmnprsștțvz", "aeiouăâî"),
    ("bdfghjklmnprstv", "aeiouyåäö"),
    ("hjklmnprstv", "aeiouyäö"),
    ("bdfghklmnprstv", "aeiouyæøå"),
    ("bdfghjklmnprstv", "aeiouyæøå"),
    ("bcdfghklmnprstvw", "aeiou"),
];

/// A language's vocabulary: its domain words first, then `extra` generated
/// words, and cumulative Zipf weights (s = 1) over the ranks, so a few words
/// are very common and most are rare, as in real text.
pub struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    /// The vocabulary of the language at `language` in [`LANGUAGES`].
    pub fn new(language: usize, extra: usize) -> Vocabulary {
        let (consonants, vowels) = SYLLABLES[language];
        let c: Vec<char> = consonants.chars().collect();
        let v: Vec<char> = vowels.chars().collect();
        let mut rng = Rng(0xDEAD_BEEF + language as u64);
        let mut words: Vec<String> = LANGUAGES[language]
            .1
            .iter()
            .map(|w| w.to_string())
            .collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < LANGUAGES[language].1.len() + extra {
            let syllables = 2 + rng.next() % 3;
            let mut w = String::new();
            for _ in 0..syllables {
                w.push(c[(rng.next() % c.len() as u64) as usize]);
                w.push(v[(rng.next() % v.len() as u64) as usize]);
            }
            w.push(c[(rng.next() % c.len() as u64) as usize]);
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    /// A word drawn by its Zipf weight (for text).
    pub fn zipf(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = (rng.next() % 1_000_000) as f64 / 1_000_000.0 * total;
        let i = self.cumulative.partition_point(|c| *c < x);
        &self.words[i.min(self.words.len() - 1)]
    }

    /// A word drawn uniformly (for queries: people search for specific words).
    pub fn uniform(&self, rng: &mut Rng) -> &str {
        &self.words[(rng.next() % self.words.len() as u64) as usize]
    }
}

/// Document `i` of the corpus, in language `i % 6`: a title of 6 and a body
/// of 150 words drawn by Zipf's law from that language's vocabulary, with
/// its one (original) translation.
pub fn document(
    i: u64,
    vocabularies: &[Vocabulary],
    rng: &mut Rng,
) -> (DocumentFields, Vec<Translation>) {
    let language = (i % LANGUAGES.len() as u64) as usize;
    let words = &vocabularies[language];
    let title: Vec<&str> = (0..6).map(|_| words.zipf(rng)).collect();
    let body: Vec<&str> = (0..150).map(|_| words.zipf(rng)).collect();
    let fields = DocumentFields {
        doc_type: Some(DocumentType::ALL[(i % DocumentType::ALL.len() as u64) as usize]),
        title: title.join(" "),
        license: "CC-BY-4.0".into(),
        topics: vec![format!("topic-{}", i % 20)],
        lifecycle_stages: vec![
            LifecycleStage::ALL[(i % LifecycleStage::ALL.len() as u64) as usize],
        ],
        ..DocumentFields::default()
    };
    let translation = Translation {
        language_code: LANGUAGES[language].0.into(),
        title: title.join(" "),
        summary: String::new(),
        body: body.join(" "),
        original: true,
    };
    (fields, vec![translation])
}
