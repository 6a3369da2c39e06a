//! The network in the linked-data forms: Popolo JSON and W3C ORG / CPOV
//! JSON-LD.

use innolab_kit::opendata::{Release, rfc3339};
use serde_json::{Value, json};

use super::vocab;
use crate::domain::{Group, LocalizedText, Membership, Organization, OrganizationKind, Post};

/// The name a Popolo or ORG record shows: English if there is one, else
/// the first.
fn main_name(names: &[LocalizedText]) -> &str {
    names
        .iter()
        .find(|t| t.language_code == "en")
        .or_else(|| names.first())
        .map(|t| t.text.as_str())
        .unwrap_or_default()
}

/// The network in Popolo JSON (https://www.popoloproject.com): groups are
/// organisations too (classified `group:<KIND>`), members are organisations.
pub fn popolo(
    organizations: &[Organization],
    groups: &[Group],
    memberships: &[Membership],
    posts: &[Post],
) -> Value {
    let mut orgs: Vec<Value> = organizations
        .iter()
        .map(|o| {
            let f = &o.fields;
            let mut record = json!({
                "id": o.name(),
                "name": main_name(&f.display_names),
                "other_names": f.display_names.iter()
                    .map(|t| json!({"name": t.text, "note": t.language_code}))
                    .collect::<Vec<_>>(),
                "identifiers": f.identifiers.iter()
                    .map(|i| json!({"scheme": i.scheme, "identifier": i.value}))
                    .collect::<Vec<_>>(),
                "classification": vocab(f.kind.map(|k| k.as_str())),
                "created_at": rfc3339(o.meta.create_time),
                "updated_at": rfc3339(o.meta.update_time),
            });
            if !f.parent.is_empty() {
                record["parent_id"] = json!(f.parent);
            }
            if !f.homepage_uri.is_empty() {
                record["links"] = json!([{"url": f.homepage_uri, "note": "homepage"}]);
            }
            record
        })
        .collect();
    orgs.extend(groups.iter().map(|g| {
        let mut record = json!({
            "id": g.name(),
            "name": g.fields.display_name,
            "classification": format!("group:{}", vocab(g.fields.kind.map(|k| k.as_str()))),
            "created_at": rfc3339(g.meta.create_time),
            "updated_at": rfc3339(g.meta.update_time),
        });
        if !g.fields.parent.is_empty() {
            record["parent_id"] = json!(g.fields.parent);
        }
        record
    }));
    let memberships: Vec<Value> = memberships
        .iter()
        .map(|m| {
            let mut record = json!({
                "id": m.name(),
                "organization_id": m.fields.group,
                "member": {"@type": "Organization", "id": m.fields.member},
                "role": vocab(m.fields.role.map(|r| r.as_str())),
                "label": m.state.as_str(),
            });
            if let Some(start) = m.fields.start_date {
                record["start_date"] = json!(start.to_string());
            }
            if let Some(end) = m.end_date {
                record["end_date"] = json!(end.to_string());
            }
            record
        })
        .collect();
    let posts: Vec<Value> = posts
        .iter()
        .map(|p| {
            let role = vocab(p.fields.role.map(|r| r.as_str()));
            let mut record = json!({
                "id": p.name(),
                "label": if p.fields.country_code.is_empty() {
                    role.to_string()
                } else {
                    format!("{role} ({})", p.fields.country_code)
                },
                "role": role,
                "organization_id": p.fields.group,
            });
            if !p.fields.country_code.is_empty() {
                record["area_id"] = json!(format!("countries/{}", p.fields.country_code));
            }
            record
        })
        .collect();
    json!({"organizations": orgs, "memberships": memberships, "posts": posts})
}

/// The network in W3C ORG (https://www.w3.org/TR/vocab-org/) with the
/// Core Public Organisation Vocabulary's class for public bodies.
pub fn org_graph(
    release: &Release,
    organizations: &[Organization],
    groups: &[Group],
    memberships: &[Membership],
    posts: &[Post],
) -> Value {
    let iri = |name: &str| json!({"@id": format!("{}{name}", release.base_url)});
    let role = |r: &str| json!({"@id": format!("{}roles/{r}", release.base_url)});
    let labels = |names: &[LocalizedText]| {
        Value::Array(
            names
                .iter()
                .map(|t| json!({"@value": t.text, "@language": t.language_code}))
                .collect(),
        )
    };
    let mut graph: Vec<Value> = Vec::new();
    for o in organizations {
        let f = &o.fields;
        let public = matches!(
            f.kind,
            Some(
                OrganizationKind::Government
                    | OrganizationKind::LocalGovernment
                    | OrganizationKind::OtherPublicSector
            )
        );
        let mut node = json!({
            "@id": iri(&o.name())["@id"],
            "@type": if public {
                json!(["org:Organization", "cpov:PublicOrganisation"])
            } else {
                json!("org:Organization")
            },
            "skos:prefLabel": labels(&f.display_names),
            "adms:identifier": f.identifiers.iter().map(|i| json!({
                "@type": "adms:Identifier",
                "skos:notation": i.value,
                "dct:creator": i.scheme,
            })).collect::<Vec<_>>(),
        });
        if !f.parent.is_empty() {
            node["org:subOrganizationOf"] = iri(&f.parent);
        }
        if !f.homepage_uri.is_empty() {
            node["foaf:homepage"] = json!({"@id": f.homepage_uri});
        }
        graph.push(node);
    }
    for g in groups {
        let mut node = json!({
            "@id": iri(&g.name())["@id"],
            "@type": "org:Organization",
            "skos:prefLabel": g.fields.display_name,
            "org:classification": role(vocab(g.fields.kind.map(|k| k.as_str()))),
        });
        if !g.fields.parent.is_empty() {
            node["org:subOrganizationOf"] = iri(&g.fields.parent);
        }
        graph.push(node);
    }
    for m in memberships {
        let mut node = json!({
            "@id": iri(&m.name())["@id"],
            "@type": "org:Membership",
            "org:member": iri(&m.fields.member),
            "org:organization": iri(&m.fields.group),
            "org:role": role(vocab(m.fields.role.map(|r| r.as_str()))),
        });
        if let Some(start) = m.fields.start_date {
            let mut interval = json!({
                "@type": "time:Interval",
                "time:hasBeginning": {"@type": "time:Instant",
                    "time:inXSDDate": {"@value": start.to_string(), "@type": "xsd:date"}},
            });
            if let Some(end) = m.end_date {
                interval["time:hasEnd"] = json!({"@type": "time:Instant",
                    "time:inXSDDate": {"@value": end.to_string(), "@type": "xsd:date"}});
            }
            node["org:memberDuring"] = interval;
        }
        graph.push(node);
    }
    for p in posts {
        graph.push(json!({
            "@id": iri(&p.name())["@id"],
            "@type": "org:Post",
            "org:postIn": iri(&p.fields.group),
            "org:role": role(vocab(p.fields.role.map(|r| r.as_str()))),
        }));
    }
    json!({
        "@context": {
            "org": "http://www.w3.org/ns/org#",
            "cpov": "http://data.europa.eu/m8g/",
            "adms": "http://www.w3.org/ns/adms#",
            "skos": "http://www.w3.org/2004/02/skos/core#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "time": "http://www.w3.org/2006/time#",
            "xsd": "http://www.w3.org/2001/XMLSchema#"
        },
        "@graph": graph,
    })
}
