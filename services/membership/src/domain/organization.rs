//! Organisations of the network.

use innolab_kit::{Error, Violations, query};

use super::check::{self, MAX_TEXT};
use super::{
    GovernmentFunction, GovernmentLevel, MembershipState, Meta, OrganizationKind, Role, parse_ids,
    parse_names, search_key,
};

/// A text in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedText {
    /// BCP 47 tag.
    pub language_code: String,
    /// The text.
    pub text: String,
}

/// An identifier in a public register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    /// The register.
    pub scheme: String,
    /// The identifier in it.
    pub value: String,
}

/// What a caller writes about an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganizationFields {
    /// Names per language.
    pub display_names: Vec<LocalizedText>,
    /// Register identifiers.
    pub identifiers: Vec<Identifier>,
    /// IATI kind; required.
    pub kind: Option<OrganizationKind>,
    /// Level of government.
    pub government_level: Option<GovernmentLevel>,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// ISO 3166-2, or empty.
    pub subdivision_code: String,
    /// NUTS code, or empty.
    pub nuts_code: String,
    /// COFOG level I.
    pub sector: Option<GovernmentFunction>,
    /// Homepage URI, or empty.
    pub homepage_uri: String,
    /// Parent resource name `organizations/{id}`, or empty.
    pub parent: String,
}

/// A stored organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Id within `organizations/`.
    pub id: String,
    /// Its fields.
    pub fields: OrganizationFields,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Organization {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("organizations/{}", self.id)
    }
}

/// Most names an organisation has (one per language).
pub const MAX_NAMES: usize = 50;
/// Most register identifiers an organisation has.
pub const MAX_IDENTIFIERS: usize = 50;

impl OrganizationFields {
    /// Checks and normalises every field, reporting all violations at once.
    pub fn validate(mut self) -> Result<Self, Error> {
        Violations::lists_within(&[
            ("display_names", self.display_names.len(), MAX_NAMES),
            ("identifiers", self.identifiers.len(), MAX_IDENTIFIERS),
        ])?;
        let mut v = Violations::new();
        if self.display_names.is_empty() {
            v.add("display_names", "at least one name is required");
        }
        let mut languages = std::collections::HashSet::new();
        for (i, name) in self.display_names.iter_mut().enumerate() {
            match check::language_tag(&name.language_code) {
                Ok(tag) if languages.contains(&tag) => v.add(
                    format!("display_names[{i}].language_code"),
                    format!("{tag} appears twice; give one name per language"),
                ),
                Ok(tag) => {
                    languages.insert(tag.clone());
                    name.language_code = tag;
                }
                Err(e) => v.add(format!("display_names[{i}].language_code"), e),
            }
            match check::required_text(&name.text, MAX_TEXT) {
                Ok(t) => name.text = t,
                Err(e) => v.add(format!("display_names[{i}].text"), e),
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, id) in self.identifiers.iter_mut().enumerate() {
            let scheme = id.scheme.trim().to_ascii_uppercase();
            let scheme_ok = !scheme.is_empty()
                && scheme.len() <= 50
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if scheme_ok {
                id.scheme = scheme;
            } else {
                v.add(
                    format!("identifiers[{i}].scheme"),
                    "must be 1 to 50 letters, digits, '-', '_' or '.' (e.g. RO-CUI)",
                );
            }
            match check::required_text(&id.value, 200) {
                Ok(value) => id.value = value,
                Err(e) => v.add(format!("identifiers[{i}].value"), e),
            }
            if !seen.insert((id.scheme.clone(), id.value.clone())) {
                v.add(format!("identifiers[{i}]"), "appears twice");
            }
        }
        if self.kind.is_none() {
            v.add("kind", "is required");
        }
        match check::country(&self.country_code) {
            Ok(c) => self.country_code = c,
            Err(e) => v.add("country_code", e),
        }
        let country = self.country_code.clone();
        if !self.subdivision_code.trim().is_empty() {
            match check::subdivision(&self.subdivision_code, &country) {
                Ok(s) => self.subdivision_code = s,
                Err(e) => v.add("subdivision_code", e),
            }
        } else {
            self.subdivision_code.clear();
        }
        if !self.nuts_code.trim().is_empty() {
            match check::nuts(&self.nuts_code, &country) {
                Ok(n) => self.nuts_code = n,
                Err(e) => v.add("nuts_code", e),
            }
        } else {
            self.nuts_code.clear();
        }
        if !self.homepage_uri.trim().is_empty() {
            match check::web_uri(&self.homepage_uri) {
                Ok(u) => self.homepage_uri = u,
                Err(e) => v.add("homepage_uri", e),
            }
        } else {
            self.homepage_uri.clear();
        }
        if !self.parent.is_empty()
            && let Err(e) = check::resource_id(&self.parent, "organizations")
        {
            v.add("parent", e);
        }
        v.finish()?;
        Ok(self)
    }

    /// What free-text search matches: every name and identifier.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<&str> = self.display_names.iter().map(|n| n.text.as_str()).collect();
        parts.extend(self.identifiers.iter().map(|i| i.value.as_str()));
        search_key(&parts.join("\n"))
    }
}

/// A parsed ListOrganizations filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationQuery {
    /// Any of these kinds.
    pub kinds: Vec<OrganizationKind>,
    /// Any of these countries.
    pub countries: Vec<String>,
    /// Any of these levels.
    pub levels: Vec<GovernmentLevel>,
    /// Any of these sectors.
    pub sectors: Vec<GovernmentFunction>,
    /// Any of these parents (ids).
    pub parent_ids: Vec<String>,
    /// Has a membership in any of these groups (ids)...
    pub group_ids: Vec<String>,
    /// ...with any of these roles...
    pub roles: Vec<Role>,
    /// ...in any of these states.
    pub states: Vec<MembershipState>,
    /// Every term must occur in a name or identifier.
    pub text: Vec<String>,
}

impl OrganizationQuery {
    /// Parses the `filter` of ListOrganizations.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(
            filter,
            &[
                "kind",
                "country_code",
                "government_level",
                "sector",
                "parent",
                "group",
                "role",
                "state",
            ],
        )?;
        Ok(OrganizationQuery {
            kinds: parse_names("kind", r.take("kind"), OrganizationKind::parse)?,
            countries: r
                .take("country_code")
                .iter()
                .map(|c| check::country(c).map_err(|e| Error::invalid("filter", e)))
                .collect::<Result<_, _>>()?,
            levels: parse_names(
                "government_level",
                r.take("government_level"),
                GovernmentLevel::parse,
            )?,
            sectors: parse_names("sector", r.take("sector"), GovernmentFunction::parse)?,
            parent_ids: parse_ids("parent", r.take("parent"), "organizations")?,
            group_ids: parse_ids("group", r.take("group"), "groups")?,
            roles: parse_names("role", r.take("role"), Role::parse)?,
            states: parse_names("state", r.take("state"), MembershipState::parse)?,
            text: r.text.iter().map(|t| search_key(t)).collect(),
        })
    }
}
