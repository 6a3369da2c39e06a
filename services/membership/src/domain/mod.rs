//! The membership domain: types, validation and rules. No protobuf, no SQL.

pub mod check;
mod group;
mod membership;
mod organization;
mod person;
mod post;
mod vocab;

pub use group::{Group, GroupFields, GroupQuery};
pub use membership::{
    Action, Membership, MembershipEvent, MembershipFields, MembershipQuery, Transition,
};
pub use organization::{
    Identifier, LocalizedText, Organization, OrganizationFields, OrganizationQuery,
};
pub use person::{Person, PersonFields, PersonQuery};
pub use post::{Assignment, Post, PostFields, PostHolding, PostQuery};
pub use vocab::{
    GovernmentFunction, GovernmentLevel, GroupKind, MembershipState, OrganizationKind, Role,
};

use innolab_kit::Error;

/// A calendar date.
pub type Date = time::Date;

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
pub fn today() -> Date {
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

/// Who decided a transition, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Who decided (a person's resource name or an official's name).
    pub decided_by: String,
    /// Why.
    pub reason: String,
}

impl Decision {
    /// Validates who and why.
    pub fn new(decided_by: &str, reason: &str) -> Result<Self, Error> {
        let mut v = innolab_kit::Violations::new();
        let decided_by = match check::required_text(decided_by, 200) {
            Ok(d) => d,
            Err(e) => {
                v.add("decided_by", e);
                String::new()
            }
        };
        let reason = match check::optional_text(reason, 2000) {
            Ok(r) => r,
            Err(e) => {
                v.add("reason", e);
                String::new()
            }
        };
        v.finish()?;
        Ok(Decision { decided_by, reason })
    }
}

/// Values of an enum-valued filter field, parsed by name.
fn parse_names<T>(
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

/// Ids of a resource-name-valued filter field.
fn parse_ids(field: &str, values: Vec<String>, collection: &str) -> Result<Vec<String>, Error> {
    values
        .into_iter()
        .map(|v| {
            check::resource_id(&v, collection)
                .map_err(|e| Error::invalid("filter", format!("`{field}`: {e}")))
        })
        .collect()
}
