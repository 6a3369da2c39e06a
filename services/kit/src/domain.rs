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

/// Ids of a resource-name-valued filter field (`collection/{id}` each).
pub fn parse_ids(field: &str, values: Vec<String>, collection: &str) -> Result<Vec<String>, Error> {
    values
        .into_iter()
        .map(|v| {
            crate::check::resource_id(&v, collection)
                .map_err(|e| Error::invalid("filter", format!("`{field}`: {e}")))
        })
        .collect()
}

/// Who decided a step of a workflow (a transition, a review, a screening),
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    /// Who decided: `people/{id}`, or a body (see [`crate::check::actor`]).
    pub decided_by: String,
    /// Why, or the reviewer's comments, at most 2,000 characters.
    pub reason: String,
}

/// How a request carries a [`Decision`]: the names of its two fields and
/// which of them must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionFields {
    /// The request field of who decided.
    pub who: &'static str,
    /// Whether who decided must be given.
    pub who_required: bool,
    /// The request field of why.
    pub reason: &'static str,
    /// Whether why must be given.
    pub reason_required: bool,
}

impl DecisionFields {
    /// `decided_by` (required) and `reason` (optional), as most transitions ask.
    pub const DECIDED_BY: DecisionFields = DecisionFields {
        who: "decided_by",
        who_required: true,
        reason: "reason",
        reason_required: false,
    };
}

impl Decision {
    /// Validates who and why as `fields` says, INVALID_ARGUMENT naming each
    /// field that is wrong.
    pub fn new(fields: DecisionFields, decided_by: &str, reason: &str) -> Result<Self, Error> {
        let mut v = crate::Violations::new();
        let text = |value, max, required| {
            if required {
                crate::check::required_text(value, max)
            } else {
                crate::check::optional_text(value, max)
            }
        };
        let decided_by = crate::check::actor(decided_by, fields.who_required).unwrap_or_else(|e| {
            v.add(fields.who, e);
            String::new()
        });
        let reason = text(reason, 2000, fields.reason_required).unwrap_or_else(|e| {
            v.add(fields.reason, e);
            String::new()
        });
        v.finish()?;
        Ok(Decision { decided_by, reason })
    }
}

/// One place a service names a person (`people/{id}` in a "who" field), for
/// a data-subject access export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonReference {
    /// The record, e.g. `memberships/{id}`.
    pub resource: String,
    /// The field naming the person, e.g. `history.decided_by`.
    pub field: &'static str,
    /// When the record was made, microseconds since the epoch, if it keeps a time.
    pub time: Option<i64>,
    /// What was recorded with it: the step and its reason, as stored.
    pub detail: String,
}

impl PersonReference {
    /// The detail of a workflow step: `FROM -> TO`, and `: why` when a
    /// reason was given.
    pub fn step(from: Option<&str>, to: &str, why: &str) -> String {
        let mut detail = match from {
            Some(from) => format!("{from} -> {to}"),
            None => to.to_string(),
        };
        if !why.is_empty() {
            detail.push_str(": ");
            detail.push_str(why);
        }
        detail
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decisions_name_their_fields() {
        let d = Decision::new(DecisionFields::DECIDED_BY, " people/a ", "").unwrap();
        assert_eq!(d.decided_by, "people/a");
        let e = Decision::new(DecisionFields::DECIDED_BY, "", "").unwrap_err();
        assert!(e.to_string().contains("decided_by"), "{e}");
        let review = DecisionFields {
            who: "reviewer",
            who_required: true,
            reason: "comments",
            reason_required: true,
        };
        let e = Decision::new(review, "people/a", "").unwrap_err();
        assert!(e.to_string().contains("comments"), "{e}");
        assert_eq!(
            parse_ids("lead", vec!["organizations/x".into()], "organizations").unwrap(),
            ["x"]
        );
        assert!(parse_ids("lead", vec!["people/x".into()], "organizations").is_err());
    }

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
