//! The domain bookkeeping every service shares: record metadata and etags,
//! idempotency keys, today's date, search keys, enum-valued filter values.
//! Pure: no protobuf, no SQL.

use crate::Error;

/// Bookkeeping every stored record carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub update_time: i64,
    /// Increases on every change; the etag is derived from it.
    pub revision: i64,
}

impl Meta {
    /// The etag clients send back on update.
    pub fn etag(&self) -> String {
        format!("r{}", self.revision)
    }
}

/// The revision a caller's etag names, `None` for an empty etag.
pub fn parse_etag(etag: &str) -> Result<Option<i64>, Error> {
    if etag.is_empty() {
        return Ok(None);
    }
    etag.strip_prefix('r')
        .and_then(|r| r.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            Error::invalid(
                "etag",
                format!("{etag:?} is not an etag issued by this service"),
            )
        })
}

/// Today's date in UTC.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// Validates an optional idempotency key.
pub fn request_id(value: &str) -> Result<Option<String>, Error> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 128 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "request_id",
            "must be 1 to 128 visible characters (a UUID is recommended)",
        ));
    }
    Ok(Some(value.to_string()))
}

/// Lower-cases text for substring search; Romanian cedilla letters (ş ţ) are
/// folded to the correct comma-below letters (ș ț) so either spelling matches.
pub fn search_key(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'ş' => 'ș',
            'ţ' => 'ț',
            other => other,
        })
        .collect()
}

/// Values of an enum-valued filter field, parsed by name.
pub fn parse_names<T>(
    field: &str,
    values: Vec<String>,
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, Error> {
    values
        .into_iter()
        .map(|v| {
            parse(&v)
                .ok_or_else(|| Error::invalid("filter", format!("`{field}` has no value {v:?}")))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_and_strangers_are_refused() {
        let meta = Meta {
            create_time: 1,
            update_time: 2,
            revision: 7,
        };
        assert_eq!(parse_etag(&meta.etag()).unwrap(), Some(7));
        assert_eq!(parse_etag("").unwrap(), None);
        assert!(parse_etag("W/\"7\"").is_err());
    }

    #[test]
    fn keys_ids_and_names() {
        assert_eq!(search_key("Ţară Şcoală"), "țară școală");
        assert_eq!(request_id("").unwrap(), None);
        assert!(request_id("has space").is_err());
        assert!(request_id(&"x".repeat(129)).is_err());
        let parsed = parse_names("state", vec!["A".into()], |s| (s == "A").then_some(1));
        assert_eq!(parsed.unwrap(), vec![1]);
        assert!(parse_names("state", vec!["B".into()], |s| (s == "A").then_some(1)).is_err());
    }
}
