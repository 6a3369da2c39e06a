//! Field validators. Each returns the normalised value or a reason that the
//! caller turns into a field violation.

/// Longest single-line text we accept.
pub const MAX_TEXT: usize = 500;

/// A required, trimmed, bounded text.
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
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err("must not contain control characters".into());
    }
    Ok(v.to_string())
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

/// A current (not deprecated) SPDX licence identifier, e.g. `CC-BY-4.0`.
pub fn license(id: &str) -> Result<String, String> {
    let t = id.trim();
    if t.is_empty() {
        return Err("is required (an SPDX licence id such as CC-BY-4.0)".into());
    }
    match spdx::license_id(t) {
        Some(l) if !l.is_deprecated() => Ok(l.name.to_string()),
        Some(l) => Err(format!("{} is a deprecated SPDX licence id", l.name)),
        None => match spdx::imprecise_license_id(t) {
            Some((l, _)) => Err(format!(
                "{t:?} is not an SPDX licence id; did you mean {}?",
                l.name
            )),
            None => Err(format!("{t:?} is not an SPDX licence id")),
        },
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

/// The two ids in `documents/{document}/{collection}/{id}`.
pub fn child_ids(name: &str, collection: &str) -> Result<(String, String), String> {
    let bad = || {
        format!(
            "{name:?} is not a resource name of the form documents/{{document}}/{collection}/{{id}}"
        )
    };
    let rest = name.strip_prefix("documents/").ok_or_else(bad)?;
    let (document, rest) = rest.split_once('/').ok_or_else(bad)?;
    let child = rest
        .strip_prefix(collection)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(bad)?;
    let document = resource_id(&format!("documents/{document}"), "documents")?;
    let child = resource_id(&format!("x/{child}"), "x").map_err(|_| bad())?;
    Ok((document, child))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn licences_and_names() {
        assert_eq!(license("CC-BY-4.0").unwrap(), "CC-BY-4.0");
        assert_eq!(license("NLOD-2.0").unwrap(), "NLOD-2.0");
        assert!(license("CC-BY-5.0").is_err());
        assert!(license("").is_err());
        assert_eq!(
            child_ids("documents/a/editions/3", "editions").unwrap(),
            ("a".to_string(), "3".to_string())
        );
        assert!(child_ids("documents/a/editions/", "editions").is_err());
        assert!(child_ids("documents/a/attachments/x", "editions").is_err());
        assert!(child_ids("documents/a/editions/1/x", "editions").is_err());
    }
}
