//! Protobuf <-> domain: the resources, the enum mappings, and the requests
//! whose fields make a domain value (transitions, post assignments).

use innolab_kit::api::{date_in, date_out, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::google::r#type::Date as PbDate;
use innolab_proto::innolab::membership::v1 as pb;

use crate::domain::{
    self, Action, Assignment, Decision, DecisionFields, GovernmentFunction, GovernmentLevel,
    GroupFields, GroupKind, Identifier, LocalizedText, MembershipFields, MembershipState,
    OrganizationFields, OrganizationKind, PersonFields, PostFields, Role, Transition, check,
};

pub(super) use innolab_kit::api::id;

// ---- requests ----

/// The common fields of the membership transition requests.
pub(super) struct Step {
    name: String,
    etag: String,
    decided_by: String,
    reason: String,
    date: Option<PbDate>,
}

/// The transition requests, as their common fields (`date` is the effective
/// date where the request has one).
macro_rules! step_from {
    ($($request:ident => |$r:ident| $date:expr),+ $(,)?) => {$(
        impl From<pb::$request> for Step {
            fn from($r: pb::$request) -> Self {
                Step {
                    date: $date,
                    name: $r.name,
                    etag: $r.etag,
                    decided_by: $r.decided_by,
                    reason: $r.reason,
                }
            }
        }
    )+};
}

step_from!(
    ApproveMembershipRequest => |r| r.effective_date,
    RejectMembershipRequest => |r| None,
    SuspendMembershipRequest => |r| None,
    ReinstateMembershipRequest => |r| None,
    EndMembershipRequest => |r| r.effective_date,
);

/// The membership a transition request names, and the transition.
pub(super) fn transition_in(action: Action, step: Step) -> Result<(String, Transition), Error> {
    let id = id("name", &step.name, "memberships")?;
    let mut v = Violations::new();
    let expected = v.merge(domain::parse_etag(&step.etag)).flatten();
    let effective_date = v.merge(date_in("effective_date", step.date)).flatten();
    let decision = v.merge(Decision::new(
        DecisionFields::DECIDED_BY,
        &step.decided_by,
        &step.reason,
    ));
    v.finish()?;
    let transition = Transition {
        action,
        decision: decision.ok_or_else(|| Error::Internal("decision".into()))?,
        effective_date,
        expected_revision: expected,
    };
    Ok((id, transition))
}

/// The post an `AssignPostHolder` request names, and the assignment.
pub(super) fn assignment_in(r: pb::AssignPostHolderRequest) -> Result<(String, Assignment), Error> {
    let post_id = id("name", &r.name, "posts")?;
    let mut v = Violations::new();
    let expected = v.merge(domain::parse_etag(&r.etag)).flatten();
    if let Err(e) = check::resource_id(&r.person, "people") {
        v.add("person", e);
    }
    let start_date = v
        .merge(date_in("start_date", r.start_date))
        .flatten()
        .unwrap_or_else(domain::today);
    let decision = v.merge(Decision::new(
        DecisionFields::DECIDED_BY,
        &r.decided_by,
        &r.reason,
    ));
    v.finish()?;
    let assignment = Assignment {
        person: r.person,
        start_date,
        decision: decision.ok_or_else(|| Error::Internal("decision".into()))?,
        expected_revision: expected,
    };
    Ok((post_id, assignment))
}

// ---- enums: the protobuf value `<PREFIX>_<NAME>` carries the domain name ----

innolab_kit::enum_mapping!(
    kind_in,
    kind_out,
    pb::OrganizationKind,
    "ORGANIZATION_KIND_",
    OrganizationKind
);
innolab_kit::enum_mapping!(
    level_in,
    level_out,
    pb::GovernmentLevel,
    "GOVERNMENT_LEVEL_",
    GovernmentLevel
);
innolab_kit::enum_mapping!(
    sector_in,
    sector_out,
    pb::GovernmentFunction,
    "GOVERNMENT_FUNCTION_",
    GovernmentFunction
);
innolab_kit::enum_mapping!(
    group_kind_in,
    group_kind_out,
    pb::GroupKind,
    "GROUP_KIND_",
    GroupKind
);
innolab_kit::enum_mapping!(role_in, role_out, pb::Role, "ROLE_", Role);
innolab_kit::enum_mapping!(
    state_in,
    state_out,
    pb::MembershipState,
    "MEMBERSHIP_STATE_",
    MembershipState
);

// ---- resources ----

pub(super) fn organization_fields(o: pb::Organization) -> Result<OrganizationFields, Error> {
    let mut v = Violations::new();
    let kind = v.merge(kind_in("kind", o.kind)).flatten();
    let government_level = v
        .merge(level_in("government_level", o.government_level))
        .flatten();
    let sector = v.merge(sector_in("sector", o.sector)).flatten();
    v.finish()?;
    Ok(OrganizationFields {
        display_names: o
            .display_names
            .into_iter()
            .map(|n| LocalizedText {
                language_code: n.language_code,
                text: n.text,
            })
            .collect(),
        identifiers: o
            .identifiers
            .into_iter()
            .map(|i| Identifier {
                scheme: i.scheme,
                value: i.value,
            })
            .collect(),
        kind,
        government_level,
        country_code: o.country_code,
        subdivision_code: o.subdivision_code,
        nuts_code: o.nuts_code,
        sector,
        homepage_uri: o.homepage_uri,
        parent: o.parent,
    })
}

pub(super) fn organization_pb(o: domain::Organization) -> pb::Organization {
    let name = o.name();
    let etag = o.meta.etag();
    let f = o.fields;
    pb::Organization {
        name,
        display_names: f
            .display_names
            .into_iter()
            .map(|n| pb::LocalizedText {
                language_code: n.language_code,
                text: n.text,
            })
            .collect(),
        identifiers: f
            .identifiers
            .into_iter()
            .map(|i| pb::Identifier {
                scheme: i.scheme,
                value: i.value,
            })
            .collect(),
        kind: kind_out(f.kind),
        government_level: level_out(f.government_level),
        country_code: f.country_code,
        subdivision_code: f.subdivision_code,
        nuts_code: f.nuts_code,
        sector: sector_out(f.sector),
        homepage_uri: f.homepage_uri,
        parent: f.parent,
        create_time: timestamp(o.meta.create_time),
        update_time: timestamp(o.meta.update_time),
        etag,
    }
}

pub(super) fn person_fields(p: pb::Person) -> PersonFields {
    PersonFields {
        organization: p.organization,
        display_name: p.display_name,
        email: p.email,
        phone: p.phone,
        language_codes: p.language_codes,
    }
}

pub(super) fn person_pb(p: domain::Person) -> pb::Person {
    pb::Person {
        name: p.name(),
        etag: p.meta.etag(),
        organization: p.fields.organization,
        display_name: p.fields.display_name,
        email: p.fields.email,
        phone: p.fields.phone,
        language_codes: p.fields.language_codes,
        erase_time: p.erase_time.and_then(timestamp),
        create_time: timestamp(p.meta.create_time),
        update_time: timestamp(p.meta.update_time),
    }
}

pub(super) fn group_fields(g: pb::Group) -> Result<GroupFields, Error> {
    Ok(GroupFields {
        display_name: g.display_name,
        description: g.description,
        kind: group_kind_in("kind", g.kind)?,
        parent: g.parent,
    })
}

pub(super) fn group_pb(g: domain::Group) -> pb::Group {
    pb::Group {
        name: g.name(),
        etag: g.meta.etag(),
        display_name: g.fields.display_name,
        description: g.fields.description,
        kind: group_kind_out(g.fields.kind),
        parent: g.fields.parent,
        create_time: timestamp(g.meta.create_time),
        update_time: timestamp(g.meta.update_time),
    }
}

pub(super) fn membership_fields(m: pb::Membership) -> Result<MembershipFields, Error> {
    let mut v = Violations::new();
    let role = v.merge(role_in("role", m.role)).flatten();
    let start_date = v.merge(date_in("start_date", m.start_date)).flatten();
    v.finish()?;
    Ok(MembershipFields {
        group: m.group,
        member: m.member,
        role,
        start_date,
    })
}

pub(super) fn membership_pb(m: domain::Membership) -> pb::Membership {
    pb::Membership {
        name: m.name(),
        etag: m.meta.etag(),
        group: m.fields.group,
        member: m.fields.member,
        role: role_out(m.fields.role),
        state: state_out(Some(m.state)),
        start_date: date_out(m.fields.start_date),
        end_date: date_out(m.end_date),
        history: m
            .history
            .into_iter()
            .map(|e| pb::MembershipEvent {
                from_state: state_out(e.from_state),
                to_state: state_out(Some(e.to_state)),
                decided_by: e.decision.decided_by,
                reason: e.decision.reason,
                time: timestamp(e.time),
            })
            .collect(),
        create_time: timestamp(m.meta.create_time),
        update_time: timestamp(m.meta.update_time),
    }
}

pub(super) fn post_fields(p: pb::Post) -> Result<PostFields, Error> {
    Ok(PostFields {
        group: p.group,
        role: role_in("role", p.role)?,
        country_code: p.country_code,
    })
}

pub(super) fn post_pb(p: domain::Post) -> pb::Post {
    let holder = p.current().map(|h| h.person.clone()).unwrap_or_default();
    pb::Post {
        name: p.name(),
        etag: p.meta.etag(),
        group: p.fields.group,
        role: role_out(p.fields.role),
        country_code: p.fields.country_code,
        holder,
        holdings: p
            .holdings
            .into_iter()
            .map(|h| pb::PostHolding {
                person: h.person,
                start_date: date_out(Some(h.start_date)),
                end_date: date_out(h.end_date),
                decided_by: h.decision.decided_by,
                reason: h.decision.reason,
            })
            .collect(),
        create_time: timestamp(p.meta.create_time),
        update_time: timestamp(p.meta.update_time),
    }
}
