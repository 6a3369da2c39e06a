//! Field validators. Each returns the normalised value or a reason that the
//! caller turns into a field violation.

pub use innolab_kit::check::{actor, optional_text, required_text, resource_id};

use innolab_kit::Violations;

/// Longest title we accept.
pub const MAX_TITLE: usize = 500;
/// Longest entry of a list (an input, a lesson...).
pub const MAX_ENTRY: usize = 2000;
/// Longest long text (findings, method).
pub const MAX_LONG: usize = 20_000;
/// Most entries of a list.
pub const MAX_ENTRIES: usize = 100;

/// A list of required texts, each non-empty (its length is checked first,
/// by the caller's `Violations::lists_within`).
pub fn text_list(v: &mut Violations, field: &str, values: &[String]) -> Vec<String> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match required_text(t, MAX_ENTRY) {
            Ok(t) => Some(t),
            Err(e) => {
                v.add(format!("{field}[{i}]"), e);
                None
            }
        })
        .collect()
}

/// A list of who acted (`people/{id}` or a body, see
/// [`innolab_kit::check::actor`]), none twice.
pub fn actor_list(v: &mut Violations, field: &str, values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        match actor(value, true) {
            Ok(a) if out.contains(&a) => {
                v.add(format!("{field}[{i}]"), format!("{a} is listed twice"))
            }
            Ok(a) => out.push(a),
            Err(e) => v.add(format!("{field}[{i}]"), e),
        }
    }
    out
}

/// The two ids inside `assessments/{a}/indicators/{i}`.
pub fn indicator_ids(name: &str) -> Result<(String, String), String> {
    let bad = || {
        format!("{name:?} is not a resource name of the form assessments/{{id}}/indicators/{{id}}")
    };
    let (parent, rest) = name.split_once("/indicators/").ok_or_else(bad)?;
    let assessment = resource_id(parent, "assessments").map_err(|_| bad())?;
    let indicator = resource_id(&format!("indicators/{rest}"), "indicators").map_err(|_| bad())?;
    Ok((assessment, indicator))
}

/// A finite number.
pub fn finite(value: f64) -> Result<f64, String> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err("must be a finite number".into())
    }
}

/// A fraction between 0 and 1 inclusive.
pub fn fraction(value: f64) -> Result<f64, String> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a fraction between 0 and 1"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            resource_id("initiatives/abc-1", "initiatives").unwrap(),
            "abc-1"
        );
        assert!(resource_id("initiatives/", "initiatives").is_err());
        assert!(resource_id("initiatives/a/b", "initiatives").is_err());
        assert_eq!(
            indicator_ids("assessments/a/indicators/b").unwrap(),
            ("a".to_string(), "b".to_string())
        );
        assert!(indicator_ids("assessments/a/indicators/").is_err());
        assert!(indicator_ids("assessments/a/b/indicators/c").is_err());
        assert!(indicator_ids("assessments/a").is_err());
    }

    #[test]
    fn numbers() {
        assert!(finite(f64::NAN).is_err());
        assert!(fraction(1.5).is_err());
        assert!(fraction(-0.1).is_err());
        assert_eq!(fraction(0.25).unwrap(), 0.25);
    }
}
