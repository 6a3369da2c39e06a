//! What a rollup over many assessments reports.

/// Indicator progress counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgressCounts {
    /// No measurement yet.
    pub no_data: i64,
    /// Behind.
    pub off_track: i64,
    /// On track.
    pub on_track: i64,
    /// Target reached.
    pub achieved: i64,
}

impl ProgressCounts {
    /// Every indicator.
    pub fn total(&self) -> i64 {
        self.no_data + self.off_track + self.on_track + self.achieved
    }
}

/// Distributions over the assessments matching a filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rollup {
    /// Matching assessments.
    pub assessment_count: i64,
    /// Count per Nesta level 0-5.
    pub nesta: [i64; 6],
    /// Count per Maryland level 0-5.
    pub maryland: [i64; 6],
    /// Per DAC criterion (documented order), count per rating 0-4.
    pub dac: [[i64; 5]; 6],
    /// Count per public-value outcome, in vocabulary order.
    pub public_value: [i64; 3],
    /// Indicator progress.
    pub progress: ProgressCounts,
}

/// DAC criterion names, in documented order (also the store's column suffixes).
pub const DAC_CRITERIA: [&str; 6] = [
    "relevance",
    "coherence",
    "effectiveness",
    "efficiency",
    "impact",
    "sustainability",
];
