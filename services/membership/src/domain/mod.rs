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

pub use innolab_kit::domain::{
    Decision, DecisionFields, Meta, parse_etag, request_id, search_key, today,
};
use innolab_kit::domain::{parse_ids, parse_names};

/// A calendar date.
pub type Date = time::Date;
