//! Field validators. Each returns the normalised value or a reason that the
//! caller turns into a field violation.

pub use innolab_kit::check::{
    MAX_TEXT, country, language_tag, nuts, optional_text, required_text, resource_id, web_uri,
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn countries_and_regions() {
        assert_eq!(country("ro").unwrap(), "RO");
        assert!(country("XX").is_err());
        assert!(country("ROU").is_err());
        assert_eq!(nuts("RO113", "RO").unwrap(), "RO113");
        assert_eq!(nuts("EL30", "GR").unwrap(), "EL30");
        assert!(nuts("SE11", "RO").is_err());
        assert!(nuts("R", "RO").is_err());
    }

    #[test]
    fn languages_contacts_and_names() {
        assert_eq!(language_tag("pt-br").unwrap(), "pt-BR");
        assert!(language_tag("not a tag").is_err());
        assert!(web_uri("https://gov.ro").is_ok());
        assert!(web_uri("ftp://gov.ro").is_err());
        assert_eq!(resource_id("groups/abc-1", "groups").unwrap(), "abc-1");
        assert!(resource_id("groups/", "groups").is_err());
        assert!(resource_id("people/x", "groups").is_err());
        assert!(resource_id("groups/a/b", "groups").is_err());
    }
}
