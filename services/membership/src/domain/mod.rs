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
use innolab_kit::domain::parse_names;
pub use innolab_kit::domain::{Meta, parse_etag, request_id, search_key, today};

/// A calendar date.
pub type Date = time::Date;

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
