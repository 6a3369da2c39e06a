//! The access table: which roles each client holds, and which methods each
//! role may call. Deny by default: a method no role of the caller grants is
//! refused.
//!
//! The file is TOML (mounted from a ConfigMap on Kubernetes):
//!
//! ```toml
//! [roles]
//! reader = ["*/Get*", "*/List*"]
//! lab_admin = ["*"]
//!
//! [[clients]]
//! id = "RO/GOV/4221187/innolab-portal"          # INSTANCE/CLASS/MEMBER/SUBSYSTEM
//! organization = "organizations/0190..."         # the member organisation
//! roles = ["member_editor", "reader"]
//! ```
//!
//! A method is `package.Service/Method`; a pattern may use `*` for any run of
//! characters (`innolab.impact.v1.ImpactService/*`, `*/List*`).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

/// The role whose writes are limited to records of the client's own
/// organisation (checked against the data).
pub const MEMBER_EDITOR: &str = "member_editor";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    clients: Vec<ClientEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    id: String,
    #[serde(default)]
    organization: Option<String>,
    roles: Vec<String>,
}

/// A client the table knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its id (`INSTANCE/CLASS/MEMBER/SUBSYSTEM`, or a token's subject).
    pub id: String,
    /// The member organisation it belongs to, `organizations/{id}`.
    pub organization: Option<String>,
    /// Its roles.
    pub roles: Vec<String>,
}

/// The methods that read what the suite holds about one person: granted
/// only by a pattern that names them whole, or by `*` (everything), never
/// by a partial wildcard such as a reader's `*/Export*` or `*/Find*`.
pub const PERSONAL_DATA: [&str; 4] = [
    "innolab.gateway.v1.GatewayService/ExportPersonData",
    "innolab.membership.v1.MembershipService/FindPersonReferences",
    "innolab.initiatives.v1.InitiativesService/FindPersonReferences",
    "innolab.impact.v1.ImpactService/FindPersonReferences",
];

/// Whether `pattern` grants `method`: a glob match, except that a personal
/// data method ([`PERSONAL_DATA`]) must be named whole or granted by `*`.
fn grants(pattern: &str, method: &str) -> bool {
    if PERSONAL_DATA.contains(&method) {
        pattern == "*" || pattern == method
    } else {
        glob(pattern, method)
    }
}

/// The parsed table.
#[derive(Debug, Clone, Default)]
pub struct AccessTable {
    roles: HashMap<String, Vec<String>>,
    clients: HashMap<String, Client>,
}

/// How a call is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// No role of the client grants the method.
    Denied,
    /// A role other than member editor grants it.
    Full,
    /// Only the member-editor role grants it: the record must belong to the
    /// client's organisation.
    OwnOrganization,
}

impl AccessTable {
    /// Parses a table; errors name what is wrong.
    pub fn parse(text: &str) -> Result<AccessTable, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut clients = HashMap::new();
        for entry in file.clients {
            if entry.id.trim().is_empty() {
                return Err("a client has an empty id".into());
            }
            for role in &entry.roles {
                if !file.roles.contains_key(role) {
                    return Err(format!(
                        "client {:?} has role {role:?}, which [roles] does not define",
                        entry.id
                    ));
                }
            }
            if entry.roles.iter().any(|r| r == MEMBER_EDITOR) && entry.organization.is_none() {
                return Err(format!(
                    "client {:?} is a {MEMBER_EDITOR} without an organization",
                    entry.id
                ));
            }
            if let Some(org) = &entry.organization
                && !org.starts_with("organizations/")
            {
                return Err(format!(
                    "client {:?}: organization must be organizations/{{id}}, got {org:?}",
                    entry.id
                ));
            }
            let client = Client {
                id: entry.id.clone(),
                organization: entry.organization,
                roles: entry.roles,
            };
            if clients.insert(entry.id.clone(), client).is_some() {
                return Err(format!("client {:?} is listed twice", entry.id));
            }
        }
        Ok(AccessTable {
            roles: file.roles.into_iter().collect(),
            clients,
        })
    }

    /// The client with this id, if the table knows it.
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    /// Whether `client` may call `method` (`package.Service/Method`), and how.
    pub fn grant(&self, client: &Client, method: &str) -> Grant {
        let mut grant = Grant::Denied;
        for role in &client.roles {
            let allows = self
                .roles
                .get(role)
                .is_some_and(|patterns| patterns.iter().any(|p| grants(p, method)));
            if allows {
                if role == MEMBER_EDITOR {
                    grant = Grant::OwnOrganization;
                } else {
                    return Grant::Full;
                }
            }
        }
        grant
    }
}

/// `*` matches any run of characters (including none); everything else
/// matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    if !text.ends_with(last) {
        return false;
    }
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "a.B/C"));
        assert!(glob("*/Get*", "innolab.x.v1.S/GetThing"));
        let export = "innolab.gateway.v1.GatewayService/ExportPersonData";
        assert!(!grants("*/Export*", export) && !grants("innolab.gateway.v1.*", export));
        assert!(grants("*", export) && grants(export, export));
        assert!(grants("*/Export*", "innolab.x.v1.S/ExportThings"));
        assert!(!glob("*/Get*", "innolab.x.v1.S/ListThings"));
        assert!(glob("innolab.x.v1.S/*", "innolab.x.v1.S/ListThings"));
        assert!(!glob("innolab.x.v1.S/*", "innolab.y.v1.S/ListThings"));
        assert!(glob("a*b*c", "abc") && glob("a*b*c", "axxbyyc") && !glob("a*b*c", "acb"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
    }

    #[test]
    fn grants_deny_by_default_and_mark_member_editors() {
        let table = AccessTable::parse(
            r#"
            [roles]
            reader = ["*/Get*"]
            member_editor = ["*/Update*"]
            [[clients]]
            id = "RO/GOV/1/portal"
            organization = "organizations/a"
            roles = ["reader", "member_editor"]
            "#,
        )
        .unwrap();
        let client = table.client("RO/GOV/1/portal").unwrap();
        assert_eq!(table.grant(client, "p.S/GetX"), Grant::Full);
        assert_eq!(table.grant(client, "p.S/UpdateX"), Grant::OwnOrganization);
        assert_eq!(table.grant(client, "p.S/DeleteX"), Grant::Denied);
        assert!(table.client("someone else").is_none());
    }

    #[test]
    fn bad_tables_are_refused_with_a_reason() {
        for (text, why) in [
            (
                "[roles]\n[[clients]]\nid = \"a\"\nroles = [\"x\"]",
                "does not define",
            ),
            (
                "[roles]\nmember_editor = []\n[[clients]]\nid = \"a\"\nroles = [\"member_editor\"]",
                "without an organization",
            ),
            (
                "[roles]\nr = []\n[[clients]]\nid = \"a\"\nroles = [\"r\"]\n[[clients]]\nid = \"a\"\nroles = []",
                "twice",
            ),
            ("[rolez]", "unknown field"),
        ] {
            let e = AccessTable::parse(text).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }
}
