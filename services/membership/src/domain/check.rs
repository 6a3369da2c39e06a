//! Field validators. Each returns the normalised value or a reason that the
//! caller turns into a field violation.

pub use innolab_kit::check::{
    MAX_TEXT, country, language_tag, nuts, optional_text, required_text, resource_id, web_uri,
};

/// ISO 3166-2 subdivision code of `country`, e.g. `RO-CJ`.
pub fn subdivision(code: &str, country: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    match rust_iso3166::iso3166_2::from_code(&upper) {
        None => Err(format!("{code:?} is not an ISO 3166-2 subdivision code")),
        Some(s) if s.country_code != country => Err(format!(
            "{upper} is a subdivision of {}, not of {country}",
            s.country_code
        )),
        Some(_) => Ok(upper),
    }
}

/// A plausible e-mail address (one `@`, a dotted domain, no spaces).
pub fn email(value: &str) -> Result<String, String> {
    let v = value.trim();
    let ok = v.len() <= 254
        && !v.chars().any(char::is_whitespace)
        && matches!(v.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.contains('@') && domain.contains('.')
               && !domain.starts_with('.') && !domain.ends_with('.'));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("{v:?} is not an e-mail address"))
    }
}

/// A phone number in international format: `+`, then 6 to 15 digits
/// (spaces allowed between them).
pub fn phone(value: &str) -> Result<String, String> {
    let v = value.trim();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let ok = v.starts_with('+')
        && v[1..].chars().all(|c| c.is_ascii_digit() || c == ' ')
        && (6..=15).contains(&digits);
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "{v:?} is not an international phone number such as +40 21 123 4567"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    // The kit's validators are tested in the kit; these are membership's own.
    use super::*;

    #[test]
    fn subdivisions_emails_and_phones() {
        assert_eq!(subdivision("ro-cj", "RO").unwrap(), "RO-CJ");
        assert!(subdivision("SE-O", "RO").is_err());
        assert!(email("a@b.ro").is_ok());
        assert!(email("a@b").is_err());
        assert!(phone("+40 21 123 4567").is_ok());
        assert!(phone("0211234567").is_err());
    }
}
