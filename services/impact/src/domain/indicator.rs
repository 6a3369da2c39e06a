//! Result indicators (IATI shape) and their derived progress.

use innolab_kit::{Error, Violations, query};
use serde::{Deserialize, Serialize};

use super::check::{self, MAX_ENTRY, MAX_TITLE};
use super::{Date, Direction, Meta, ProgressStatus, ResultType, parse_names};

/// Most measurements one indicator keeps.
pub const MAX_MEASUREMENTS: usize = 1000;

/// A value at a date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The value.
    pub value: f64,
    /// The date.
    pub date: Date,
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// When.
    pub date: Date,
    /// The value.
    pub value: f64,
    /// Where it comes from.
    #[serde(default)]
    pub source: String,
    /// Remarks; required before the baseline.
    #[serde(default)]
    pub note: String,
}

/// What a caller writes about an indicator. `None` marks a missing required
/// value, so validation can name it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IndicatorFields {
    /// Title; required.
    pub title: String,
    /// Required.
    pub result_type: Option<ResultType>,
    /// Unit or measure; required.
    pub measure: String,
    /// Required.
    pub direction: Option<Direction>,
    /// Required.
    pub baseline: Option<Point>,
    /// Required.
    pub target: Option<Point>,
    /// By date, oldest first, once validated.
    pub measurements: Vec<Measurement>,
}

impl IndicatorFields {
    /// Checks and normalises every field (measurements sorted by date);
    /// paths are relative to the indicator.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[("measurements", self.measurements.len(), MAX_MEASUREMENTS)])?;
        let mut v = Violations::new();
        match check::required_text(&self.title, MAX_TITLE) {
            Ok(t) => self.title = t,
            Err(e) => v.add("title", e),
        }
        match check::required_text(&self.measure, 200) {
            Ok(t) => self.measure = t,
            Err(e) => v.add("measure", e),
        }
        if self.result_type.is_none() {
            v.add("result_type", "is required (OUTPUT, OUTCOME or IMPACT)");
        }
        if self.direction.is_none() {
            v.add(
                "direction",
                "is required (HIGHER_IS_BETTER or LOWER_IS_BETTER)",
            );
        }
        for (field, point) in [("baseline", &self.baseline), ("target", &self.target)] {
            match point {
                None => v.add(field, "is required (value and date)"),
                Some(p) => {
                    if let Err(e) = check::finite(p.value) {
                        v.add(format!("{field}.value"), e);
                    }
                }
            }
        }
        if let (Some(b), Some(t)) = (self.baseline, self.target) {
            if t.date <= b.date {
                v.add(
                    "target.date",
                    format!("{} must be after the baseline date {}", t.date, b.date),
                );
            }
            match self.direction {
                Some(Direction::HigherIsBetter) if t.value < b.value => v.add(
                    "target.value",
                    format!(
                        "{} is below the baseline {} although higher is better",
                        t.value, b.value
                    ),
                ),
                Some(Direction::LowerIsBetter) if t.value > b.value => v.add(
                    "target.value",
                    format!(
                        "{} is above the baseline {} although lower is better",
                        t.value, b.value
                    ),
                ),
                _ => {}
            }
        }
        for (i, m) in self.measurements.iter_mut().enumerate() {
            if let Err(e) = check::finite(m.value) {
                v.add(format!("measurements[{i}].value"), e);
            }
            match check::optional_text(&m.source, MAX_ENTRY) {
                Ok(t) => m.source = t,
                Err(e) => v.add(format!("measurements[{i}].source"), e),
            }
            match check::optional_text(&m.note, MAX_ENTRY) {
                Ok(t) => m.note = t,
                Err(e) => v.add(format!("measurements[{i}].note"), e),
            }
            if let Some(b) = self.baseline
                && m.date < b.date
                && m.note.is_empty()
            {
                v.add(
                    format!("measurements[{i}].note"),
                    format!(
                        "is required: the measurement of {} is dated before the baseline ({})",
                        m.date, b.date
                    ),
                );
            }
        }
        v.finish()?;
        self.measurements.sort_by_key(|m| m.date);
        Ok(self)
    }

    /// The latest measurement (the last of the latest date).
    pub fn latest(&self) -> Option<&Measurement> {
        self.measurements.iter().max_by_key(|m| m.date)
    }

    /// Progress toward the target.
    pub fn progress(&self) -> Progress {
        match (self.direction, self.baseline, self.target) {
            (Some(direction), Some(baseline), Some(target)) => {
                progress(direction, baseline, target, self.latest())
            }
            _ => Progress::no_data(),
        }
    }
}

/// Progress toward a target. Derived, never stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The status.
    pub status: ProgressStatus,
    /// 0 at the baseline, 1 at the target.
    pub fraction: Option<f64>,
    /// Share of the baseline-to-target time elapsed at the latest measurement.
    pub expected_fraction: Option<f64>,
    /// The latest measurement.
    pub latest: Option<Measurement>,
}

impl Progress {
    fn no_data() -> Progress {
        Progress {
            status: ProgressStatus::NoData,
            fraction: None,
            expected_fraction: None,
            latest: None,
        }
    }
}

/// Julian day number, the form days are compared in (also in SQL).
pub fn day(date: Date) -> i64 {
    i64::from(date.to_julian_day())
}

/// Progress of `latest` from `baseline` toward `target`.
///
/// The fraction is `(latest - baseline) / (target - baseline)`; since the
/// target lies on the better side of the baseline, this is right for both
/// directions. A target equal to the baseline means "hold the level": the
/// fraction is 1 when the latest value holds it (or does better), else 0.
/// ON_TRACK means at or ahead of the straight line from baseline to target
/// at the latest measurement's date. The store's rollup SQL mirrors this.
pub fn progress(
    direction: Direction,
    baseline: Point,
    target: Point,
    latest: Option<&Measurement>,
) -> Progress {
    let Some(latest) = latest else {
        return Progress::no_data();
    };
    // Days are small integers; the casts are exact.
    let elapsed = (day(latest.date) - day(baseline.date)) as f64;
    let span = (day(target.date) - day(baseline.date)) as f64;
    let expected = elapsed / span;
    let (fraction, status) = if target.value == baseline.value {
        let holds = match direction {
            Direction::HigherIsBetter => latest.value >= target.value,
            Direction::LowerIsBetter => latest.value <= target.value,
        };
        if holds {
            (1.0, ProgressStatus::Achieved)
        } else {
            (0.0, ProgressStatus::OffTrack)
        }
    } else {
        let fraction = (latest.value - baseline.value) / (target.value - baseline.value);
        let status = if fraction >= 1.0 {
            ProgressStatus::Achieved
        } else if fraction >= expected {
            ProgressStatus::OnTrack
        } else {
            ProgressStatus::OffTrack
        };
        (fraction, status)
    };
    Progress {
        status,
        fraction: Some(fraction),
        expected_fraction: Some(expected),
        latest: Some(latest.clone()),
    }
}

/// A stored indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// Id of its assessment.
    pub assessment_id: String,
    /// Id within the assessment's `indicators/`.
    pub id: String,
    /// Its fields.
    pub fields: IndicatorFields,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Indicator {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("assessments/{}/indicators/{}", self.assessment_id, self.id)
    }
}

/// A parsed ListIndicators filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorQuery {
    /// Any of these result types.
    pub result_types: Vec<ResultType>,
}

impl IndicatorQuery {
    /// Parses the `filter` of ListIndicators.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["result_type"])?;
        if !r.text.is_empty() {
            return Err(Error::invalid(
                "filter",
                "indicators have no free-text search; use result_type = ...",
            ));
        }
        Ok(IndicatorQuery {
            result_types: parse_names("result_type", r.take("result_type"), ResultType::parse)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use time::macros::date;

    fn point(value: f64, date: Date) -> Point {
        Point { value, date }
    }

    fn m(date: Date, value: f64) -> Measurement {
        Measurement {
            date,
            value,
            source: String::new(),
            note: String::new(),
        }
    }

    const B: Date = date!(2024 - 01 - 01);
    const T: Date = date!(2025 - 01 - 01);

    #[test]
    fn no_measurements_is_no_data() {
        let p = progress(
            Direction::HigherIsBetter,
            point(10.0, B),
            point(20.0, T),
            None,
        );
        assert_eq!(p.status, ProgressStatus::NoData);
        assert_eq!(p.fraction, None);
    }

    #[test]
    fn higher_is_better() {
        let b = point(10.0, B);
        let t = point(20.0, T);
        // Half-way in value, a quarter of the way in time: ahead.
        let p = progress(
            Direction::HigherIsBetter,
            b,
            t,
            Some(&m(date!(2024 - 04 - 01), 15.0)),
        );
        assert_eq!(p.status, ProgressStatus::OnTrack);
        assert_eq!(p.fraction, Some(0.5));
        // Barely moved after three quarters of the time: behind.
        let p = progress(
            Direction::HigherIsBetter,
            b,
            t,
            Some(&m(date!(2024 - 10 - 01), 11.0)),
        );
        assert_eq!(p.status, ProgressStatus::OffTrack);
        let p = progress(
            Direction::HigherIsBetter,
            b,
            t,
            Some(&m(date!(2024 - 06 - 01), 25.0)),
        );
        assert_eq!(p.status, ProgressStatus::Achieved);
        assert_eq!(p.fraction, Some(1.5));
        // Moving the wrong way.
        let p = progress(
            Direction::HigherIsBetter,
            b,
            t,
            Some(&m(date!(2024 - 02 - 01), 5.0)),
        );
        assert_eq!(p.status, ProgressStatus::OffTrack);
        assert_eq!(p.fraction, Some(-0.5));
    }

    #[test]
    fn lower_is_better() {
        let b = point(30.0, B);
        let t = point(10.0, T);
        let p = progress(
            Direction::LowerIsBetter,
            b,
            t,
            Some(&m(date!(2024 - 04 - 01), 20.0)),
        );
        assert_eq!(p.status, ProgressStatus::OnTrack);
        assert_eq!(p.fraction, Some(0.5));
        let p = progress(
            Direction::LowerIsBetter,
            b,
            t,
            Some(&m(date!(2024 - 12 - 01), 9.0)),
        );
        assert_eq!(p.status, ProgressStatus::Achieved);
        let p = progress(
            Direction::LowerIsBetter,
            b,
            t,
            Some(&m(date!(2024 - 12 - 01), 35.0)),
        );
        assert_eq!(p.status, ProgressStatus::OffTrack);
        assert_eq!(p.fraction, Some(-0.25));
    }

    #[test]
    fn target_equal_to_baseline_means_hold_the_level() {
        let b = point(90.0, B);
        let t = point(90.0, T);
        for (direction, value, status) in [
            (Direction::HigherIsBetter, 90.0, ProgressStatus::Achieved),
            (Direction::HigherIsBetter, 91.0, ProgressStatus::Achieved),
            (Direction::HigherIsBetter, 89.0, ProgressStatus::OffTrack),
            (Direction::LowerIsBetter, 89.0, ProgressStatus::Achieved),
            (Direction::LowerIsBetter, 91.0, ProgressStatus::OffTrack),
        ] {
            let p = progress(direction, b, t, Some(&m(date!(2024 - 06 - 01), value)));
            assert_eq!(p.status, status, "{direction} {value}");
            assert!(p.fraction.unwrap().is_finite());
        }
    }

    #[test]
    fn latest_is_by_date_not_by_position() {
        let f = IndicatorFields {
            title: "t".into(),
            result_type: Some(ResultType::Outcome),
            measure: "days".into(),
            direction: Some(Direction::LowerIsBetter),
            baseline: Some(point(30.0, B)),
            target: Some(point(10.0, T)),
            measurements: vec![
                m(date!(2024 - 09 - 01), 12.0),
                m(date!(2024 - 03 - 01), 29.0),
            ],
        }
        .validate()
        .unwrap();
        assert_eq!(f.measurements[0].value, 29.0);
        assert_eq!(f.progress().latest.unwrap().value, 12.0);
    }

    #[test]
    fn validation_names_the_field() {
        let f = IndicatorFields {
            title: "t".into(),
            result_type: Some(ResultType::Outcome),
            measure: "days".into(),
            direction: Some(Direction::LowerIsBetter),
            baseline: Some(point(30.0, B)),
            target: Some(point(40.0, T)),
            measurements: vec![m(date!(2023 - 09 - 01), 12.0)],
        };
        let Err(Error::InvalidArgument(v)) = f.validate() else {
            panic!("expected invalid");
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["target.value", "measurements[0].note"]);
    }
}
