//! The network as open data (`innolab-membership export`): organisations,
//! groups, memberships and posts as CSV, each with its CSVW description and
//! DCAT-AP record, and the whole network as Popolo JSON (`popolo.json`) and
//! as W3C ORG / Core Public Organisation Vocabulary JSON-LD
//! (`organizations.org.jsonld`). Nothing personal: people are not exported,
//! nor who decided a membership step or holds a post. The network is read
//! whole in one snapshot (`store::export`), so every file reflects the same
//! change-log sequence.

use std::path::Path;

use innolab_kit::Error;
use innolab_kit::opendata::{self, CREATED, Collection, Column, Release, UPDATED};
use innolab_kit::store::{ChangeLog as _, export as in_snapshot};
use innolab_kit::subscriber::Subscription;
use serde_json::{Value, json};

use crate::domain::{Group, LocalizedText, Membership, Organization, Post};
use crate::store::Store;
use crate::store::export::{self as read, Network};

mod linked;
pub use linked::{org_graph, popolo};

const fn column(name: &'static str, datatype: &'static str, description: &'static str) -> Column {
    Column::new(name, datatype, description)
}

/// The organisations' columns.
pub const ORGANIZATIONS: &[Column] = &[
    column("name", "string", "Resource name, `organizations/{id}`."),
    column(
        "display_names",
        "json",
        "JSON array of {language_code, text}: the name per language.",
    ),
    column(
        "identifiers",
        "json",
        "JSON array of {scheme, value}: identifiers in public registers (RO-CUI, FI-YTUNNUS, IATI, ROR, WIKIDATA...).",
    ),
    column(
        "kind",
        "string",
        "IATI organisation type: GOVERNMENT, LOCAL_GOVERNMENT, OTHER_PUBLIC_SECTOR, ...",
    ),
    column(
        "government_level",
        "string",
        "CENTRAL, STATE, REGIONAL, LOCAL, SOCIAL_SECURITY, INTERNATIONAL, or empty.",
    ),
    column("country_code", "string", "ISO 3166-1 alpha-2 country code."),
    column(
        "subdivision_code",
        "string",
        "ISO 3166-2 subdivision, or empty.",
    ),
    column("nuts_code", "string", "NUTS region code, or empty."),
    column("sector", "string", "COFOG level I function, or empty."),
    column("homepage_uri", "string", "The organisation's web site."),
    column(
        "parent",
        "string",
        "The organisation it is part of, `organizations/{id}`, or empty.",
    ),
    CREATED,
    UPDATED,
];

/// The groups' columns.
pub const GROUPS: &[Column] = &[
    column("name", "string", "Resource name, `groups/{id}`."),
    column("display_name", "string", "The group's name."),
    column("description", "string", "What the group is for."),
    column(
        "kind",
        "string",
        "NETWORK, TASK_FORCE, ASSOCIATE_GROUP, ADVISORY_BOARD, WORKING_GROUP...",
    ),
    column(
        "parent",
        "string",
        "The group it belongs to, `groups/{id}`, or empty.",
    ),
    CREATED,
    UPDATED,
];

/// The memberships' columns.
pub const MEMBERSHIPS: &[Column] = &[
    column("name", "string", "Resource name, `memberships/{id}`."),
    column("group", "string", "The group, `groups/{id}`."),
    column("member", "string", "The member, `organizations/{id}`."),
    column("role", "string", "The member's role in the group."),
    column(
        "state",
        "string",
        "APPLIED, ACTIVE, SUSPENDED, LEFT or REJECTED.",
    ),
    column("start_date", "date", "First day, YYYY-MM-DD, or empty."),
    column("end_date", "date", "Last day, YYYY-MM-DD, or empty."),
    CREATED,
    UPDATED,
];

/// The posts' columns (who holds a post is personal, and not exported).
pub const POSTS: &[Column] = &[
    column("name", "string", "Resource name, `posts/{id}`."),
    column(
        "group",
        "string",
        "The group the post is in, `groups/{id}`.",
    ),
    column(
        "role",
        "string",
        "The post's role, e.g. NATIONAL_CONTACT_POINT.",
    ),
    column(
        "country_code",
        "string",
        "The country the post is for, or empty.",
    ),
    column(
        "held",
        "string",
        "`true` while someone holds the post (who is not published).",
    ),
    CREATED,
    UPDATED,
];

use innolab_kit::opendata::rfc3339;

fn texts(values: &[LocalizedText]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|t| json!({"language_code": t.language_code, "text": t.text}))
            .collect(),
    )
}

fn vocab(value: Option<&'static str>) -> &'static str {
    value.unwrap_or_default()
}

fn organization_record(o: &Organization) -> Value {
    let f = &o.fields;
    json!({
        "name": o.name(),
        "display_names": texts(&f.display_names),
        "identifiers": f.identifiers.iter()
            .map(|i| json!({"scheme": i.scheme, "value": i.value}))
            .collect::<Vec<_>>(),
        "kind": vocab(f.kind.map(|k| k.as_str())),
        "government_level": vocab(f.government_level.map(|l| l.as_str())),
        "country_code": f.country_code,
        "subdivision_code": f.subdivision_code,
        "nuts_code": f.nuts_code,
        "sector": vocab(f.sector.map(|s| s.as_str())),
        "homepage_uri": f.homepage_uri,
        "parent": f.parent,
        "create_time": rfc3339(o.meta.create_time),
        "update_time": rfc3339(o.meta.update_time),
    })
}

fn group_record(g: &Group) -> Value {
    let f = &g.fields;
    json!({
        "name": g.name(),
        "display_name": f.display_name,
        "description": f.description,
        "kind": vocab(f.kind.map(|k| k.as_str())),
        "parent": f.parent,
        "create_time": rfc3339(g.meta.create_time),
        "update_time": rfc3339(g.meta.update_time),
    })
}

fn day(d: Option<time::Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn membership_record(m: &Membership) -> Value {
    let f = &m.fields;
    json!({
        "name": m.name(),
        "group": f.group,
        "member": f.member,
        "role": vocab(f.role.map(|r| r.as_str())),
        "state": m.state.as_str(),
        "start_date": day(f.start_date),
        "end_date": day(m.end_date),
        "create_time": rfc3339(m.meta.create_time),
        "update_time": rfc3339(m.meta.update_time),
    })
}

fn post_record(p: &Post) -> Value {
    let f = &p.fields;
    json!({
        "name": p.name(),
        "group": f.group,
        "role": vocab(f.role.map(|r| r.as_str())),
        "country_code": f.country_code,
        "held": p.current().is_some().to_string(),
        "create_time": rfc3339(p.meta.create_time),
        "update_time": rfc3339(p.meta.update_time),
    })
}

/// The organisations as a collection of the release (also published as
/// Popolo JSON and W3C ORG / CPOV JSON-LD).
const ORGANIZATION_COLLECTION: Collection = Collection {
    id: "organizations",
    titles: &[("en", "Organisations of the innovation network")],
    descriptions: &[(
        "en",
        "The public bodies and partners of the network, with their identifiers in public \
         registers, kind, level of government, country, NUTS region and COFOG sector. \
         Also as Popolo JSON (with groups, memberships and posts) and as W3C ORG / CPOV \
         JSON-LD.",
    )],
    columns: ORGANIZATIONS,
    json: false,
};

const GROUP_COLLECTION: Collection = Collection {
    id: "groups",
    titles: &[("en", "Groups of the innovation network")],
    descriptions: &[(
        "en",
        "The network itself, its task force, working groups and boards.",
    )],
    columns: GROUPS,
    json: false,
};

const MEMBERSHIP_COLLECTION: Collection = Collection {
    id: "memberships",
    titles: &[("en", "Memberships of the innovation network")],
    descriptions: &[(
        "en",
        "Which organisation belongs to which group, in which role, since when and in \
         which state.",
    )],
    columns: MEMBERSHIPS,
    json: false,
};

const POST_COLLECTION: Collection = Collection {
    id: "posts",
    titles: &[("en", "Posts of the innovation network")],
    descriptions: &[(
        "en",
        "The network's posts, such as each country's national contact point (whether \
         held, not by whom).",
    )],
    columns: POSTS,
    json: false,
};

/// Writes `collection` from `records` (each with its last change);
/// `extra` names other files publishing the same dataset.
fn write_collection(
    dir: &Path,
    release: &Release,
    sequence: i64,
    collection: &Collection,
    records: impl Iterator<Item = (Value, i64)>,
    extra: &[(&str, &'static str)],
) -> std::io::Result<usize> {
    let mut table = collection.create(dir)?;
    for (record, updated) in records {
        table.write(&record, updated, (None, None))?;
    }
    Ok(table.finish(release, sequence, extra)?.records)
}

/// How many records of each collection an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Organisations.
    pub organizations: usize,
    /// Groups.
    pub groups: usize,
    /// Memberships.
    pub memberships: usize,
    /// Posts.
    pub posts: usize,
    /// The change-log sequence the files reflect.
    pub sequence: i64,
}

/// Writes the network's open data into `dir` for `release`, read in one
/// snapshot; adds its datasets to the folder's catalogue.
pub async fn write_files(store: &Store, dir: &Path, release: &Release) -> anyhow::Result<Counts> {
    let mut snapshot = store.snapshot().await?;
    let sequence = snapshot.sequence();
    let network = read::network(&mut snapshot).await;
    snapshot.end().await?;
    let Network {
        organizations,
        groups,
        memberships,
        posts,
    } = network?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("popolo.json"),
        format!(
            "{}\n",
            serde_json::to_string_pretty(&popolo(&organizations, &groups, &memberships, &posts))?
        ),
    )?;
    opendata::write_json(
        &dir.join("organizations.org.jsonld"),
        &org_graph(release, &organizations, &groups, &memberships, &posts),
    )?;
    let counts = Counts {
        organizations: write_collection(
            dir,
            release,
            sequence,
            &ORGANIZATION_COLLECTION,
            organizations
                .iter()
                .map(|o| (organization_record(o), o.meta.update_time)),
            &[
                ("popolo.json", "application/json"),
                ("organizations.org.jsonld", "application/ld+json"),
            ],
        )?,
        groups: write_collection(
            dir,
            release,
            sequence,
            &GROUP_COLLECTION,
            groups.iter().map(|g| (group_record(g), g.meta.update_time)),
            &[],
        )?,
        memberships: write_collection(
            dir,
            release,
            sequence,
            &MEMBERSHIP_COLLECTION,
            memberships
                .iter()
                .map(|m| (membership_record(m), m.meta.update_time)),
            &[],
        )?,
        posts: write_collection(
            dir,
            release,
            sequence,
            &POST_COLLECTION,
            posts.iter().map(|p| (post_record(p), p.meta.update_time)),
            &[],
        )?,
        sequence,
    };
    opendata::write_catalogue(dir, release)?;
    Ok(counts)
}

/// Every organisation, in id order, read in one snapshot as a stream
/// ([`innolab_kit::store::export`]: a reader that stops reading is dropped,
/// and lets go of the snapshot).
pub fn organizations(store: &Store) -> Subscription<Organization, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_organization(snapshot, |o| emit.send(o)))
    })
}

/// Every group, in id order, in one snapshot (as [`organizations`]).
pub fn groups(store: &Store) -> Subscription<Group, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_group(snapshot, |g| emit.send(g)))
    })
}

/// Every membership, in id order, in one snapshot (as [`organizations`]).
pub fn memberships(store: &Store) -> Subscription<Membership, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_membership(snapshot, |m| emit.send(m)))
    })
}

/// Every post, in id order, in one snapshot (as [`organizations`]).
pub fn posts(store: &Store) -> Subscription<Post, Error> {
    in_snapshot(store.database().clone(), |snapshot, emit| {
        Box::pin(read::each_post(snapshot, |p| emit.send(p)))
    })
}
