//! Field validators. Each returns the normalised value or a reason that the
//! caller turns into a field violation.

pub use innolab_kit::check::{MAX_TEXT, language_tag, optional_text, required_text, resource_id};

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
