//! Groups of the network: the network itself, task force, working groups...

use innolab_kit::{Error, Violations, query};

use super::check;
use super::{GroupKind, Meta, parse_ids, parse_names, search_key};

/// What a caller writes about a group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupFields {
    /// Name; required.
    pub display_name: String,
    /// Purpose.
    pub description: String,
    /// Kind; required.
    pub kind: Option<GroupKind>,
    /// `groups/{id}` this group belongs to, or empty.
    pub parent: String,
}

/// A stored group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Id within `groups/`.
    pub id: String,
    /// Its fields.
    pub fields: GroupFields,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Group {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("groups/{}", self.id)
    }
}

impl GroupFields {
    /// Checks and normalises every field.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        match check::required_text(&self.display_name, check::MAX_TEXT) {
            Ok(n) => self.display_name = n,
            Err(e) => v.add("display_name", e),
        }
        match check::optional_text(&self.description, 10_000) {
            Ok(d) => self.description = d,
            Err(e) => v.add("description", e),
        }
        if self.kind.is_none() {
            v.add("kind", "is required");
        }
        if !self.parent.is_empty()
            && let Err(e) = check::resource_id(&self.parent, "groups")
        {
            v.add("parent", e);
        }
        v.finish()?;
        Ok(self)
    }

    /// What free-text search matches.
    pub fn search_text(&self) -> String {
        search_key(&self.display_name)
    }
}

/// A parsed ListGroups filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupQuery {
    /// Any of these kinds.
    pub kinds: Vec<GroupKind>,
    /// Any of these parents (ids).
    pub parent_ids: Vec<String>,
    /// Every term must occur in the name.
    pub text: Vec<String>,
}

impl GroupQuery {
    /// Parses the `filter` of ListGroups.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["kind", "parent"])?;
        Ok(GroupQuery {
            kinds: parse_names("kind", r.take("kind"), GroupKind::parse)?,
            parent_ids: parse_ids("parent", r.take("parent"), "groups")?,
            text: r.text.iter().map(|t| search_key(t)).collect(),
        })
    }
}
