//! The field validators several services share. Each returns the normalised
//! value or a reason, phrased to follow the field name, that the caller turns
//! into a field violation; what only one service checks stays in its
//! `domain/check.rs`.

/// Longest display text we accept.
pub const MAX_TEXT: usize = 500;

/// A required, trimmed, bounded single-line text.
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    optional_text(v, max)
}

/// An optional, trimmed, bounded text.
pub fn optional_text(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    // Line breaks (LF or CRLF) and tabs are text; other control characters are not.
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err("must not contain control characters".into());
    }
    Ok(v.to_string())
}

/// ISO 3166-1 alpha-2 country code, upper case.
pub fn country(code: &str) -> Result<String, String> {
    let c = code.trim();
    if c.is_empty() {
        return Err("is required (ISO 3166-1 alpha-2, e.g. RO)".into());
    }
    let upper = c.to_ascii_uppercase();
    if upper.len() != 2 || rust_iso3166::from_alpha2(&upper).is_none() {
        return Err(format!("{c:?} is not an ISO 3166-1 alpha-2 country code"));
    }
    Ok(upper)
}

/// NUTS code prefix used by Eurostat for a country (Greece is EL, not GR).
fn nuts_prefix(country: &str) -> &str {
    match country {
        "GR" => "EL",
        "GB" => "UK",
        other => other,
    }
}

/// NUTS region code within `country`: its prefix plus 1 to 3 levels.
pub fn nuts(code: &str, country: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    let shape_ok = (3..=5).contains(&upper.len())
        && upper
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !shape_ok {
        return Err(format!(
            "{code:?} is not a NUTS code (country prefix and 1 to 3 levels, e.g. RO113)"
        ));
    }
    let prefix = nuts_prefix(country);
    if !upper.starts_with(prefix) {
        return Err(format!(
            "{upper} is not a NUTS region of {country} (expected prefix {prefix})"
        ));
    }
    Ok(upper)
}

/// A well-formed BCP 47 language tag, in its normalised case (`pt-BR`).
pub fn language_tag(tag: &str) -> Result<String, String> {
    let t = tag.trim();
    if t.is_empty() {
        return Err("is required (a BCP 47 tag such as ro, sv, fi, en)".into());
    }
    oxilangtag::LanguageTag::parse_and_normalize(t)
        .map(|t| t.into_inner())
        .map_err(|e| format!("{t:?} is not a BCP 47 language tag: {e}"))
}

/// An absolute http or https URI.
pub fn web_uri(uri: &str) -> Result<String, String> {
    let u = uri.trim();
    match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            if u.len() > 2048 {
                Err("must be at most 2048 characters".into())
            } else {
                Ok(u.to_string())
            }
        }
        Ok(_) => Err(format!("{u:?} must be an http or https URI")),
        Err(e) => Err(format!("{u:?} is not a URI: {e}")),
    }
}

/// The id inside a resource name `collection/{id}`.
pub fn resource_id(name: &str, collection: &str) -> Result<String, String> {
    let id = name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| {
            format!("{name:?} is not a resource name of the form {collection}/{{id}}")
        })?;
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(id.to_string())
    } else {
        Err(format!("{name:?} has an invalid id"))
    }
}

/// The collections a "who" field (`decided_by`, `actor`, `reviewer`,
/// `submitted_by`, assessors) may name: a person, or a body acting as one
/// (an organisation, a group such as the task force, a post such as the
/// secretary general).
pub const ACTOR_COLLECTIONS: [&str; 4] = ["people", "organizations", "groups", "posts"];

/// Who acted: a resource name in one of [`ACTOR_COLLECTIONS`], never a
/// free-text name. A name typed into a record would be personal data that
/// erasing the person (`ErasePerson`) could not reach; a `people/{id}`
/// reference points at the one record erasure clears. Empty is accepted
/// (and returned) only when the field is optional.
pub fn actor(value: &str, required: bool) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return if required {
            Err("must not be empty: name who acted as people/{id}".into())
        } else {
            Ok(String::new())
        };
    }
    let collection = v.split('/').next().unwrap_or_default();
    if !ACTOR_COLLECTIONS.contains(&collection) {
        return Err(format!(
            "{v:?} is not a resource name: name who acted as people/{{id}}, or a body as \
             organizations/{{id}}, groups/{{id}} or posts/{{id}} (a name typed here would be \
             personal data that erasing the person cannot reach)"
        ));
    }
    resource_id(v, collection)?;
    Ok(v.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_resource_names_never_free_text() {
        assert_eq!(actor(" people/p-1 ", true).unwrap(), "people/p-1");
        for ok in ["organizations/o", "groups/task-force", "posts/sg"] {
            assert_eq!(actor(ok, true).unwrap(), ok);
        }
        assert_eq!(actor("", false).unwrap(), "");
        assert!(actor(" ", true).unwrap_err().contains("people/{id}"));
        let e = actor("Ana Popescu", true).unwrap_err();
        assert!(
            e.contains("not a resource name") && e.contains("erasing"),
            "{e}"
        );
        assert!(actor("people/", true).is_err());
        assert!(actor("people/a b", true).is_err());
        assert!(actor("initiatives/x", false).is_err());
    }

    #[test]
    fn texts_are_trimmed_bounded_and_visible() {
        assert_eq!(required_text("  Agenția  ", 20).unwrap(), "Agenția");
        assert!(required_text("   ", 20).is_err());
        assert!(optional_text("abc", 2).is_err());
        assert!(optional_text("a\u{7}b", 20).is_err());
        assert_eq!(optional_text("line\nnext", 20).unwrap(), "line\nnext");
    }

    #[test]
    fn codes_and_names_are_checked() {
        assert_eq!(country("ro").unwrap(), "RO");
        assert!(country("XX").is_err());
        assert_eq!(nuts("el30", "GR").unwrap(), "EL30");
        assert!(nuts("RO11", "FI").is_err());
        assert_eq!(language_tag("pt-br").unwrap(), "pt-BR");
        assert!(web_uri("ftp://example.org").is_err());
        assert_eq!(
            resource_id("organizations/a-1", "organizations").unwrap(),
            "a-1"
        );
        assert!(resource_id("groups/a", "organizations").is_err());
    }

    #[test]
    fn countries_and_regions() {
        assert!(country("ROU").is_err());
        assert_eq!(nuts("RO113", "RO").unwrap(), "RO113");
        assert_eq!(nuts("EL30", "GR").unwrap(), "EL30");
        assert!(nuts("SE11", "RO").is_err());
        assert!(nuts("R", "RO").is_err());
    }

    #[test]
    fn languages_addresses_and_names() {
        assert!(language_tag("not a tag").is_err());
        assert!(web_uri("https://gov.ro").is_ok());
        assert!(web_uri("ftp://gov.ro").is_err());
        assert_eq!(resource_id("groups/abc-1", "groups").unwrap(), "abc-1");
        assert!(resource_id("groups/", "groups").is_err());
        assert!(resource_id("people/x", "groups").is_err());
        assert!(resource_id("groups/a/b", "groups").is_err());
    }
}
