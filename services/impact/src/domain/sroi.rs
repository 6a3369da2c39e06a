//! Social return on investment (SROI), computed with its steps shown
//! (following the UK Cabinet Office "Guide to SROI", 2012).

use innolab_kit::{Error, Violations};
use serde::{Deserialize, Serialize};

use super::check::{self, MAX_ENTRIES, MAX_ENTRY};

/// Longest an outcome may be counted.
pub const MAX_YEARS: i32 = 50;

/// One valued outcome.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SroiOutcome {
    /// What changed, for whom.
    pub description: String,
    /// Units of outcome.
    pub quantity: f64,
    /// Value of one unit.
    pub financial_proxy: f64,
    /// Where the proxy comes from.
    pub proxy_source: String,
    /// 0..1.
    pub deadweight: f64,
    /// 0..1.
    pub attribution: f64,
    /// 0..1 per year after the first.
    pub drop_off: f64,
    /// 0..1.
    pub displacement: f64,
    /// Years, 1-50 (0 is read as 1).
    pub duration_years: i32,
}

/// SROI inputs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Sroi {
    /// > 0.
    pub investment: f64,
    /// ISO 4217.
    pub currency: String,
    /// 0..1 per year.
    pub discount_rate: f64,
    /// At least one.
    pub outcomes: Vec<SroiOutcome>,
}

/// One outcome's computed value.
#[derive(Debug, Clone, PartialEq)]
pub struct SroiOutcomeValue {
    /// quantity x proxy.
    pub gross_value: f64,
    /// After deadweight, displacement and attribution.
    pub impact_value: f64,
    /// Per year, after drop-off.
    pub yearly_values: Vec<f64>,
    /// Discounted sum.
    pub present_value: f64,
}

/// The computed SROI.
#[derive(Debug, Clone, PartialEq)]
pub struct SroiResult {
    /// Per outcome.
    pub outcomes: Vec<SroiOutcomeValue>,
    /// Sum of present values.
    pub total_present_value: f64,
    /// Total minus investment.
    pub net_present_value: f64,
    /// Total / investment.
    pub ratio: f64,
    /// The calculation, a line per step.
    pub steps: Vec<String>,
}

impl Sroi {
    /// Checks every field; paths are relative to the SROI section.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[("outcomes", self.outcomes.len(), MAX_ENTRIES)])?;
        let mut v = Violations::new();
        if !(self.investment.is_finite() && self.investment > 0.0) {
            v.add("investment", "must be a positive amount");
        }
        let currency = self.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            v.add("currency", "must be an ISO 4217 code such as EUR or RON");
        }
        self.currency = currency;
        if let Err(e) = check::fraction(self.discount_rate) {
            v.add("discount_rate", e);
        }
        if self.outcomes.is_empty() {
            v.add("outcomes", "at least one outcome is required");
        }
        for (i, o) in self.outcomes.iter_mut().enumerate() {
            let at = |f: &str| format!("outcomes[{i}].{f}");
            match check::required_text(&o.description, MAX_ENTRY) {
                Ok(t) => o.description = t,
                Err(e) => v.add(at("description"), e),
            }
            match check::optional_text(&o.proxy_source, MAX_ENTRY) {
                Ok(t) => o.proxy_source = t,
                Err(e) => v.add(at("proxy_source"), e),
            }
            for (name, value) in [
                ("quantity", o.quantity),
                ("financial_proxy", o.financial_proxy),
            ] {
                if !(value.is_finite() && value >= 0.0) {
                    v.add(at(name), "must be a number >= 0");
                }
            }
            for (name, value) in [
                ("deadweight", o.deadweight),
                ("attribution", o.attribution),
                ("drop_off", o.drop_off),
                ("displacement", o.displacement),
            ] {
                if let Err(e) = check::fraction(value) {
                    v.add(at(name), e);
                }
            }
            if !(0..=MAX_YEARS).contains(&o.duration_years) {
                v.add(
                    at("duration_years"),
                    format!("must be 1-{MAX_YEARS} (0 means 1)"),
                );
            }
        }
        v.finish()?;
        Ok(self)
    }

    /// The ratio, step by step.
    pub fn compute(&self) -> SroiResult {
        let mut steps = Vec::new();
        let r = self.discount_rate;
        let cur = &self.currency;
        let mut outcomes = Vec::with_capacity(self.outcomes.len());
        for (i, o) in self.outcomes.iter().enumerate() {
            let gross = o.quantity * o.financial_proxy;
            let impact =
                gross * (1.0 - o.deadweight) * (1.0 - o.displacement) * (1.0 - o.attribution);
            steps.push(format!(
                "Outcome {} ({}): gross value = {} x {} = {:.2} {cur}",
                i + 1,
                o.description,
                o.quantity,
                o.financial_proxy,
                gross
            ));
            steps.push(format!(
                "Outcome {}: impact = {:.2} x (1 - deadweight {}) x (1 - displacement {}) x \
                 (1 - attribution {}) = {:.2} {cur}",
                i + 1,
                gross,
                o.deadweight,
                o.displacement,
                o.attribution,
                impact
            ));
            let years = o.duration_years.max(1);
            let mut yearly = Vec::new();
            let mut present = 0.0;
            let mut value = impact;
            for year in 1..=years {
                if year > 1 {
                    value *= 1.0 - o.drop_off;
                }
                yearly.push(value);
                present += value / (1.0 + r).powi(year);
            }
            steps.push(format!(
                "Outcome {}: {years} year(s) with drop-off {} -> {}; discounted at {} -> \
                 present value {:.2} {cur}",
                i + 1,
                o.drop_off,
                yearly
                    .iter()
                    .map(|y| format!("{y:.2}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                r,
                present
            ));
            outcomes.push(SroiOutcomeValue {
                gross_value: gross,
                impact_value: impact,
                yearly_values: yearly,
                present_value: present,
            });
        }
        let total: f64 = outcomes.iter().map(|o| o.present_value).sum();
        let ratio = total / self.investment;
        steps.push(format!("Total present value = {total:.2} {cur}"));
        steps.push(format!(
            "Net present value = {total:.2} - investment {:.2} = {:.2} {cur}",
            self.investment,
            total - self.investment
        ));
        steps.push(format!(
            "SROI ratio = {total:.2} / {:.2} = {ratio:.2} : 1",
            self.investment
        ));
        SroiResult {
            outcomes,
            total_present_value: total,
            net_present_value: total - self.investment,
            ratio,
            steps,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ratio_with_adjustments_drop_off_and_discount() {
        let s = Sroi {
            investment: 1000.0,
            currency: "eur".into(),
            discount_rate: 0.0,
            outcomes: vec![SroiOutcome {
                description: "fewer missed appointments".into(),
                quantity: 100.0,
                financial_proxy: 20.0,
                deadweight: 0.5,
                attribution: 0.5,
                drop_off: 0.5,
                displacement: 0.0,
                duration_years: 2,
                ..SroiOutcome::default()
            }],
        }
        .validate()
        .unwrap();
        let r = s.compute();
        assert_eq!(r.outcomes[0].gross_value, 2000.0);
        assert_eq!(r.outcomes[0].impact_value, 500.0);
        assert_eq!(r.outcomes[0].yearly_values, [500.0, 250.0]);
        assert_eq!(r.total_present_value, 750.0);
        assert_eq!(r.ratio, 0.75);
        assert!(r.steps.last().unwrap().contains("0.75"));
        let discounted = Sroi {
            discount_rate: 0.25,
            ..s
        }
        .compute();
        assert_eq!(
            discounted.total_present_value,
            500.0 / 1.25 + 250.0 / 1.5625
        );
    }

    #[test]
    fn fractions_must_be_fractions() {
        let s = Sroi {
            investment: 0.0,
            currency: "EUR".into(),
            discount_rate: 0.0,
            outcomes: vec![SroiOutcome {
                description: "x".into(),
                deadweight: 1.5,
                ..SroiOutcome::default()
            }],
        };
        let Err(Error::InvalidArgument(v)) = s.validate() else {
            unreachable!()
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["investment", "outcomes[0].deadweight"]);
    }
}
