//! End-to-end tests of the membership service: a real server on
//! `127.0.0.1:0` over a fresh database, real gRPC, every rule of
//! `proto/innolab/membership/v1/membership.proto` shown from the caller's side.
//!
//! Each test makes its own data on its own database and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_tests::assert::{Outcome, assert_code, assert_invalid, mask};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use innolab_kit::config::{DatabaseSettings, Settings};
use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::membership::v1 as pb;
use innolab_tests::{Backend, TestServer, on_both_backends};
use pb::membership_service_client::MembershipServiceClient;
use prost_types::FieldMask;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

type Client = MembershipServiceClient<Channel>;

/// The gRPC name health checks report readiness under.
const SERVICE: &str = "innolab.membership.v1.MembershipService";

on_both_backends!(
    concurrent_updates_without_etag_lose_nothing,
    organization_round_trip,
    organization_bad_input_is_refused_and_nothing_stored,
    organization_every_violation_reported_at_once,
    create_organization_is_idempotent,
    create_person_group_membership_post_are_idempotent,
    update_requires_a_known_mask,
    update_applies_only_masked_fields_and_star_means_all,
    update_with_stale_etag_is_aborted,
    update_refuses_parent_cycles,
    get_unknown_is_not_found,
    malformed_names_are_invalid,
    duplicate_identifier_already_exists,
    pagination_walks_every_page_once,
    pagination_with_filter_ends_without_empty_page,
    pagination_refuses_bad_size_and_tokens,
    pagination_is_stable_while_records_are_added,
    concurrent_retries_create_one_organization,
    organization_filters_by_field,
    free_text_search_folds_case_and_romanian_diacritics,
    organization_filters_by_membership,
    bad_filters_are_invalid,
    person_round_trip_and_list_by_organization,
    person_bad_input_names_the_field,
    erase_person_clears_personal_data_and_keeps_history,
    erased_person_is_read_only,
    erased_person_contact_fields_cannot_be_updated,
    erased_person_cannot_take_on_roles,
    erase_requires_a_reason,
    group_of_every_kind_and_list_by_kind,
    group_update_and_parent_rules,
    group_parent_cycles_are_refused,
    membership_lifecycle_records_every_step,
    membership_approval_defaults_start_date,
    membership_reject_path,
    membership_illegal_moves_leave_it_unchanged,
    membership_transition_input_is_validated,
    membership_transition_with_stale_etag_is_aborted,
    concurrent_transitions_have_one_winner,
    membership_one_open_per_group_member_role,
    membership_references_must_exist,
    list_memberships_filters,
    post_national_contact_point,
    post_bad_input_and_duplicates,
    post_holder_hand_over,
    post_assignment_refusals,
    concurrent_assignments_keep_one_chain_of_holdings,
    list_posts_filters,
    readiness_waits_for_migrations,
    reflection_lists_services,
    stop_is_graceful_after_calls,
);

// ---------------------------------------------------------------- helpers --

async fn start(backend: &Backend) -> (TestServer, Client) {
    let server = TestServer::membership(backend).await;
    let client = MembershipServiceClient::new(server.channel().await);
    (server, client)
}

/// `code`, with an ErrorInfo detail carrying `reason`.
#[track_caller]
fn assert_reason(status: &Status, code: Code, reason: &str) {
    assert_eq!(
        status.code(),
        code,
        "expected {code:?} ({reason}), got {:?}: {}",
        status.code(),
        status.message()
    );
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("{code:?} without ErrorInfo: {}", status.message()));
    assert_eq!(
        info.reason,
        reason,
        "ErrorInfo.reason of {}",
        status.message()
    );
}

fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}

/// Today in UTC (the service's "today"), from the system clock.
fn today() -> Date {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    // Howard Hinnant's days-to-civil algorithm.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    date(year as i32, month as i32, day as i32)
}

/// A timestamp as microseconds, for ordering.
fn micros(time: &Option<prost_types::Timestamp>) -> i64 {
    let t = time.expect("timestamp is set");
    t.seconds * 1_000_000 + i64::from(t.nanos / 1000)
}

fn text(language_code: &str, text: &str) -> pb::LocalizedText {
    pb::LocalizedText {
        language_code: language_code.into(),
        text: text.into(),
    }
}

fn identifier(scheme: &str, value: &str) -> pb::Identifier {
    pb::Identifier {
        scheme: scheme.into(),
        value: value.into(),
    }
}

/// A minimal valid organisation: a government body of `country` named in Romanian.
fn org(country: &str, name: &str) -> pb::Organization {
    pb::Organization {
        display_names: vec![text("ro", name)],
        kind: pb::OrganizationKind::Government as i32,
        country_code: country.into(),
        ..Default::default()
    }
}

fn person(organization: &str, name: &str) -> pb::Person {
    pb::Person {
        organization: organization.into(),
        display_name: name.into(),
        ..Default::default()
    }
}

fn group(kind: pb::GroupKind, name: &str) -> pb::Group {
    pb::Group {
        display_name: name.into(),
        kind: kind as i32,
        ..Default::default()
    }
}

fn membership(group: &str, member: &str, role: pb::Role) -> pb::Membership {
    pb::Membership {
        group: group.into(),
        member: member.into(),
        role: role as i32,
        ..Default::default()
    }
}

fn post(group: &str, role: pb::Role, country: &str) -> pb::Post {
    pb::Post {
        group: group.into(),
        role: role as i32,
        country_code: country.into(),
        ..Default::default()
    }
}

async fn try_create_org(
    c: &mut Client,
    organization: pb::Organization,
    request_id: &str,
) -> Result<Response<pb::Organization>, Status> {
    c.create_organization(pb::CreateOrganizationRequest {
        organization: Some(organization),
        request_id: request_id.into(),
    })
    .await
}

async fn create_org(c: &mut Client, organization: pb::Organization) -> pb::Organization {
    try_create_org(c, organization, "")
        .await
        .accepted("CreateOrganization")
}

async fn get_org(c: &mut Client, name: &str) -> pb::Organization {
    c.get_organization(pb::GetOrganizationRequest { name: name.into() })
        .await
        .accepted("GetOrganization")
}

async fn update_org(
    c: &mut Client,
    organization: pb::Organization,
    update_mask: Option<FieldMask>,
) -> Result<Response<pb::Organization>, Status> {
    c.update_organization(pb::UpdateOrganizationRequest {
        organization: Some(organization),
        update_mask,
    })
    .await
}

async fn try_create_person(
    c: &mut Client,
    p: pb::Person,
    request_id: &str,
) -> Result<Response<pb::Person>, Status> {
    c.create_person(pb::CreatePersonRequest {
        person: Some(p),
        request_id: request_id.into(),
    })
    .await
}

async fn create_person(c: &mut Client, organization: &str, name: &str) -> pb::Person {
    try_create_person(c, person(organization, name), "")
        .await
        .accepted("CreatePerson")
}

async fn get_person(c: &mut Client, name: &str) -> pb::Person {
    c.get_person(pb::GetPersonRequest { name: name.into() })
        .await
        .accepted("GetPerson")
}

async fn erase(c: &mut Client, name: &str, reason: &str) -> Result<Response<pb::Person>, Status> {
    c.erase_person(pb::ErasePersonRequest {
        name: name.into(),
        reason: reason.into(),
    })
    .await
}

async fn try_create_group(
    c: &mut Client,
    g: pb::Group,
    request_id: &str,
) -> Result<Response<pb::Group>, Status> {
    c.create_group(pb::CreateGroupRequest {
        group: Some(g),
        request_id: request_id.into(),
    })
    .await
}

async fn create_group(c: &mut Client, kind: pb::GroupKind, name: &str) -> pb::Group {
    try_create_group(c, group(kind, name), "")
        .await
        .accepted("CreateGroup")
}

async fn try_apply(
    c: &mut Client,
    m: pb::Membership,
    decided_by: &str,
    request_id: &str,
) -> Result<Response<pb::Membership>, Status> {
    c.create_membership(pb::CreateMembershipRequest {
        membership: Some(m),
        decided_by: decided_by.into(),
        reason: "wants to take part".into(),
        request_id: request_id.into(),
    })
    .await
}

async fn apply(c: &mut Client, group: &str, member: &str, role: pb::Role) -> pb::Membership {
    try_apply(c, membership(group, member, role), "the applicant", "")
        .await
        .accepted("CreateMembership")
}

async fn get_membership(c: &mut Client, name: &str) -> pb::Membership {
    c.get_membership(pb::GetMembershipRequest { name: name.into() })
        .await
        .accepted("GetMembership")
}

/// A membership transition method.
#[derive(Debug, Clone)]
enum Move {
    Approve(Option<Date>),
    Reject,
    Suspend,
    Reinstate,
    End(Option<Date>),
}

const EVERY_MOVE: [Move; 5] = [
    Move::Approve(None),
    Move::Reject,
    Move::Suspend,
    Move::Reinstate,
    Move::End(None),
];

/// Calls the transition method of `step` on `m` (with its etag unless `etag` is given).
async fn decide_with(
    c: &mut Client,
    name: &str,
    etag: &str,
    decided_by: &str,
    step: Move,
) -> Result<Response<pb::Membership>, Status> {
    let name = name.to_string();
    let etag = etag.to_string();
    let decided_by = decided_by.to_string();
    let reason = format!("{step:?} decided in a test");
    match step {
        Move::Approve(effective_date) => {
            c.approve_membership(pb::ApproveMembershipRequest {
                name,
                etag,
                decided_by,
                reason,
                effective_date,
            })
            .await
        }
        Move::Reject => {
            c.reject_membership(pb::RejectMembershipRequest {
                name,
                etag,
                decided_by,
                reason,
            })
            .await
        }
        Move::Suspend => {
            c.suspend_membership(pb::SuspendMembershipRequest {
                name,
                etag,
                decided_by,
                reason,
            })
            .await
        }
        Move::Reinstate => {
            c.reinstate_membership(pb::ReinstateMembershipRequest {
                name,
                etag,
                decided_by,
                reason,
            })
            .await
        }
        Move::End(effective_date) => {
            c.end_membership(pb::EndMembershipRequest {
                name,
                etag,
                decided_by,
                reason,
                effective_date,
            })
            .await
        }
    }
}

/// Applies `step` to `m` as the network secretary, sending no etag.
async fn decide(c: &mut Client, m: &pb::Membership, step: Move) -> pb::Membership {
    let call = format!("{step:?}");
    decide_with(c, &m.name, "", "the secretary", step)
        .await
        .accepted(&call)
}

async fn try_create_post(
    c: &mut Client,
    p: pb::Post,
    request_id: &str,
) -> Result<Response<pb::Post>, Status> {
    c.create_post(pb::CreatePostRequest {
        post: Some(p),
        request_id: request_id.into(),
    })
    .await
}

async fn create_post(c: &mut Client, group: &str, role: pb::Role, country: &str) -> pb::Post {
    try_create_post(c, post(group, role, country), "")
        .await
        .accepted("CreatePost")
}

async fn get_post(c: &mut Client, name: &str) -> pb::Post {
    c.get_post(pb::GetPostRequest { name: name.into() })
        .await
        .accepted("GetPost")
}

async fn assign(
    c: &mut Client,
    post: &str,
    person: &str,
    start_date: Option<Date>,
) -> Result<Response<pb::Post>, Status> {
    c.assign_post_holder(pb::AssignPostHolderRequest {
        name: post.into(),
        person: person.into(),
        start_date,
        decided_by: "the task force".into(),
        reason: format!("{person} nominated"),
        ..Default::default()
    })
    .await
}

async fn list_orgs_page(
    c: &mut Client,
    filter: &str,
    page_size: i32,
    page_token: &str,
) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
    c.list_organizations(pb::ListOrganizationsRequest {
        page_size,
        page_token: page_token.into(),
        filter: filter.into(),
    })
    .await
}

/// Names of every organisation matching `filter`, all pages.
async fn org_names(c: &mut Client, filter: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = list_orgs_page(c, filter, 100, &token)
            .await
            .accepted(&format!("ListOrganizations {filter:?}"));
        names.extend(page.organizations.into_iter().map(|o| o.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        token = page.next_page_token;
    }
}

async fn person_names(c: &mut Client, filter: &str) -> Vec<String> {
    let page = c
        .list_people(pb::ListPeopleRequest {
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .accepted(&format!("ListPeople {filter:?}"));
    assert!(page.next_page_token.is_empty(), "one page expected");
    page.people.into_iter().map(|p| p.name).collect()
}

async fn group_names(c: &mut Client, filter: &str) -> Vec<String> {
    let page = c
        .list_groups(pb::ListGroupsRequest {
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .accepted(&format!("ListGroups {filter:?}"));
    page.groups.into_iter().map(|g| g.name).collect()
}

async fn membership_names(c: &mut Client, filter: &str) -> Vec<String> {
    let page = c
        .list_memberships(pb::ListMembershipsRequest {
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .accepted(&format!("ListMemberships {filter:?}"));
    page.memberships.into_iter().map(|m| m.name).collect()
}

async fn post_names(c: &mut Client, filter: &str) -> Vec<String> {
    let page = c
        .list_posts(pb::ListPostsRequest {
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .accepted(&format!("ListPosts {filter:?}"));
    page.posts.into_iter().map(|p| p.name).collect()
}

/// The same names, in any order.
fn set<S: AsRef<str>>(names: &[S]) -> BTreeSet<String> {
    names.iter().map(|n| n.as_ref().to_string()).collect()
}

/// The id part of a resource name.
fn id_of(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, id)| id)
}

// ---------------------------------------------------------- organisations --

async fn organization_round_trip(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let parent = create_org(&mut c, org("RO", "Guvernul României")).await;

    let sent = pb::Organization {
        display_names: vec![
            text("ro", "Secretariatul General al Guvernului"),
            text("en", "General Secretariat of the Government"),
        ],
        identifiers: vec![
            identifier("RO-CUI", "4267117"),
            identifier("WIKIDATA", "Q12345678"),
        ],
        kind: pb::OrganizationKind::Government as i32,
        government_level: pb::GovernmentLevel::Central as i32,
        country_code: "ro".into(),
        subdivision_code: "RO-CJ".into(),
        nuts_code: "RO113".into(),
        sector: pb::GovernmentFunction::GeneralPublicServices as i32,
        homepage_uri: "https://sgg.gov.ro/".into(),
        parent: parent.name.clone(),
        ..Default::default()
    };
    let created = create_org(&mut c, sent.clone()).await;

    let id = created
        .name
        .strip_prefix("organizations/")
        .expect("name is organizations/{id}");
    assert!(!id.is_empty());
    assert_ne!(created.name, parent.name);
    assert_eq!(created.display_names, sent.display_names);
    assert_eq!(created.identifiers, sent.identifiers);
    assert_eq!(created.kind, sent.kind);
    assert_eq!(created.government_level, sent.government_level);
    assert_eq!(
        created.country_code, "RO",
        "country code is normalised to upper case"
    );
    assert_eq!(created.subdivision_code, "RO-CJ");
    assert_eq!(created.nuts_code, "RO113");
    assert_eq!(created.sector, sent.sector);
    assert_eq!(created.homepage_uri, "https://sgg.gov.ro/");
    assert_eq!(created.parent, parent.name);
    assert!(!created.etag.is_empty(), "etag is set");
    let create_time = created.create_time.expect("create_time is set");
    assert!(create_time.seconds > 1_700_000_000, "create_time is now");
    assert_eq!(created.update_time, created.create_time);

    let read = get_org(&mut c, &created.name).await;
    assert_eq!(read, created, "Get returns what Create returned");
    server.stop().await;
}

async fn organization_bad_input_is_refused_and_nothing_stored(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    type Mutate = fn(&mut pb::Organization);
    let cases: &[(&str, Mutate, &str)] = &[
        (
            "unknown country",
            |o| o.country_code = "XX".into(),
            "organization.country_code",
        ),
        (
            "no country",
            |o| o.country_code.clear(),
            "organization.country_code",
        ),
        (
            "no names",
            |o| o.display_names.clear(),
            "organization.display_names",
        ),
        (
            "empty name",
            |o| o.display_names = vec![text("ro", "  ")],
            "organization.display_names[0].text",
        ),
        (
            "bad language",
            |o| o.display_names = vec![text("not a tag", "Nume")],
            "organization.display_names[0].language_code",
        ),
        (
            "duplicate language",
            |o| o.display_names = vec![text("ro", "Unu"), text("ro", "Doi")],
            "organization.display_names[1].language_code",
        ),
        (
            "subdivision of another country",
            |o| o.subdivision_code = "SE-O".into(),
            "organization.subdivision_code",
        ),
        (
            "unknown subdivision",
            |o| o.subdivision_code = "RO-ZZ".into(),
            "organization.subdivision_code",
        ),
        (
            "NUTS of another country",
            |o| o.nuts_code = "SE110".into(),
            "organization.nuts_code",
        ),
        (
            "malformed NUTS",
            |o| o.nuts_code = "R".into(),
            "organization.nuts_code",
        ),
        ("unknown kind number", |o| o.kind = 99, "organization.kind"),
        ("kind unspecified", |o| o.kind = 0, "organization.kind"),
        (
            "unknown government level number",
            |o| o.government_level = 42,
            "organization.government_level",
        ),
        (
            "unknown sector number",
            |o| o.sector = 77,
            "organization.sector",
        ),
        (
            "homepage not a URI",
            |o| o.homepage_uri = "not a uri".into(),
            "organization.homepage_uri",
        ),
        (
            "homepage not http(s)",
            |o| o.homepage_uri = "ftp://sgg.gov.ro".into(),
            "organization.homepage_uri",
        ),
        (
            "parent of another collection",
            |o| o.parent = "groups/abc".into(),
            "organization.parent",
        ),
        (
            "parent without id",
            |o| o.parent = "organizations/".into(),
            "organization.parent",
        ),
        (
            "parent that does not exist",
            |o| o.parent = "organizations/does-not-exist".into(),
            "organization.parent",
        ),
        (
            "duplicate identifier in one request",
            |o| o.identifiers = vec![identifier("RO-CUI", "1"), identifier("RO-CUI", "1")],
            "organization.identifiers[1]",
        ),
        (
            "empty identifier value",
            |o| o.identifiers = vec![identifier("RO-CUI", "")],
            "organization.identifiers[0].value",
        ),
    ];
    for (case, mutate, field) in cases {
        let mut o = org("RO", "Ministerul Cercetării");
        mutate(&mut o);
        let status = try_create_org(&mut c, o, "")
            .await
            .refused(&format!("CreateOrganization with {case}"));
        assert_invalid(&status, field);
    }

    let status = c
        .create_organization(pb::CreateOrganizationRequest {
            organization: None,
            request_id: String::new(),
        })
        .await
        .refused("CreateOrganization without organization");
    assert_invalid(&status, "organization");

    for request_id in ["has spaces".to_string(), "x".repeat(129)] {
        let status = try_create_org(&mut c, org("RO", "Ministerul"), &request_id)
            .await
            .refused("CreateOrganization with a bad request_id");
        assert_invalid(&status, "request_id");
    }

    assert_eq!(
        org_names(&mut c, "").await,
        Vec::<String>::new(),
        "nothing stored"
    );
    server.stop().await;
}

async fn organization_every_violation_reported_at_once(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = pb::Organization {
        display_names: vec![],
        kind: 0,
        country_code: "XX".into(),
        homepage_uri: "nope".into(),
        ..Default::default()
    };
    let status = try_create_org(&mut c, o, "")
        .await
        .refused("CreateOrganization with four mistakes");
    for field in [
        "organization.display_names",
        "organization.kind",
        "organization.country_code",
        "organization.homepage_uri",
    ] {
        assert_invalid(&status, field);
    }
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "INVALID_FIELD");
    assert_eq!(org_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn create_organization_is_idempotent(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let first = try_create_org(&mut c, org("RO", "Primăria Cluj-Napoca"), "req-1")
        .await
        .accepted("first create");
    let retry = try_create_org(&mut c, org("RO", "Primăria Cluj-Napoca"), "req-1")
        .await
        .accepted("retried create");
    assert_eq!(retry, first, "a retry returns the first result");
    assert_eq!(org_names(&mut c, "").await, vec![first.name.clone()]);

    // The key identifies the request: a retry returns the first result even
    // if the body differs.
    let changed = try_create_org(&mut c, org("SE", "Vinnova"), "req-1")
        .await
        .accepted("retry with another body");
    assert_eq!(changed.name, first.name);
    assert_eq!(changed.country_code, "RO");

    let other = try_create_org(&mut c, org("RO", "Primăria Cluj-Napoca"), "req-2")
        .await
        .accepted("create with another key");
    assert_ne!(other.name, first.name);
    let none = create_org(&mut c, org("RO", "Primăria Cluj-Napoca")).await;
    assert_eq!(
        set(&org_names(&mut c, "").await),
        set(&[&first.name, &other.name, &none.name])
    );
    server.stop().await;
}

async fn create_person_group_membership_post_are_idempotent(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;

    let p1 = try_create_person(&mut c, person(&o.name, "Ana Popescu"), "person-1")
        .await
        .accepted("CreatePerson");
    let p2 = try_create_person(&mut c, person(&o.name, "Ana Popescu"), "person-1")
        .await
        .accepted("CreatePerson retry");
    assert_eq!(p1, p2);
    let p3 = try_create_person(&mut c, person(&o.name, "Ana Popescu"), "person-2")
        .await
        .accepted("CreatePerson other key");
    assert_ne!(p3.name, p1.name);
    assert_eq!(person_names(&mut c, "").await.len(), 2);

    let g1 = try_create_group(&mut c, group(pb::GroupKind::Network, "Network"), "group-1")
        .await
        .accepted("CreateGroup");
    let g2 = try_create_group(&mut c, group(pb::GroupKind::Network, "Network"), "group-1")
        .await
        .accepted("CreateGroup retry");
    assert_eq!(g1, g2);
    assert_eq!(group_names(&mut c, "").await, vec![g1.name.clone()]);

    let m = membership(&g1.name, &o.name, pb::Role::Member);
    let m1 = try_apply(&mut c, m.clone(), "the applicant", "membership-1")
        .await
        .accepted("CreateMembership");
    // Without the key this would be a second open membership (ALREADY_EXISTS).
    let m2 = try_apply(&mut c, m, "the applicant", "membership-1")
        .await
        .accepted("CreateMembership retry");
    assert_eq!(m1, m2);
    assert_eq!(m2.history.len(), 1, "the retry records no second event");
    assert_eq!(membership_names(&mut c, "").await, vec![m1.name.clone()]);

    let post_ro = post(&g1.name, pb::Role::NationalContactPoint, "RO");
    let s1 = try_create_post(&mut c, post_ro.clone(), "post-1")
        .await
        .accepted("CreatePost");
    let s2 = try_create_post(&mut c, post_ro, "post-1")
        .await
        .accepted("CreatePost retry");
    assert_eq!(s1, s2);
    let s3 = try_create_post(
        &mut c,
        post(&g1.name, pb::Role::NationalContactPoint, "SE"),
        "post-2",
    )
    .await
    .accepted("CreatePost other key");
    assert_eq!(
        set(&post_names(&mut c, "").await),
        set(&[&s1.name, &s3.name])
    );
    server.stop().await;
}

async fn update_requires_a_known_mask(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "Ministerul Finanțelor")).await;
    let mut new = o.clone();
    new.homepage_uri = "https://mfinante.gov.ro".into();

    let status = update_org(&mut c, new.clone(), None)
        .await
        .refused("update without mask");
    assert_invalid(&status, "update_mask");
    let status = update_org(&mut c, new.clone(), mask(&[]))
        .await
        .refused("update with an empty mask");
    assert_invalid(&status, "update_mask");
    for path in ["name", "create_time", "etag", "no_such_field"] {
        let status = update_org(&mut c, new.clone(), mask(&["homepage_uri", path]))
            .await
            .refused(&format!("update with mask path {path}"));
        assert_invalid(&status, "update_mask");
    }
    let status = c
        .update_organization(pb::UpdateOrganizationRequest {
            organization: None,
            update_mask: mask(&["homepage_uri"]),
        })
        .await
        .refused("update without organization");
    assert_invalid(&status, "organization");
    let mut missing = new.clone();
    missing.name = "organizations/does-not-exist".into();
    let status = update_org(&mut c, missing, mask(&["homepage_uri"]))
        .await
        .refused("update of an unknown organisation");
    assert_code(&status, Code::NotFound);
    let mut bad_etag = new.clone();
    bad_etag.etag = "not-an-etag".into();
    let status = update_org(&mut c, bad_etag, mask(&["homepage_uri"]))
        .await
        .refused("update with a malformed etag");
    assert_invalid(&status, "organization.etag");
    let mut invalid = new.clone();
    invalid.country_code = "XX".into();
    let status = update_org(&mut c, invalid, mask(&["country_code"]))
        .await
        .refused("update to an invalid value");
    assert_invalid(&status, "organization.country_code");

    assert_eq!(get_org(&mut c, &o.name).await, o, "nothing changed");
    server.stop().await;
}

async fn update_applies_only_masked_fields_and_star_means_all(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "Ministerul Educației")).await;

    let mut new = o.clone();
    new.homepage_uri = "https://edu.ro".into();
    new.country_code = "SE".into(); // not in the mask: ignored
    let updated = update_org(&mut c, new, mask(&["homepage_uri"]))
        .await
        .accepted("update homepage with the current etag");
    assert_eq!(updated.homepage_uri, "https://edu.ro");
    assert_eq!(
        updated.country_code, "RO",
        "fields outside the mask are kept"
    );
    assert_ne!(updated.etag, o.etag, "the etag changes on update");
    assert_eq!(updated.create_time, o.create_time);
    assert!(micros(&updated.update_time) >= micros(&o.update_time));
    assert_eq!(get_org(&mut c, &o.name).await, updated);

    let star = pb::Organization {
        name: o.name.clone(),
        etag: updated.etag.clone(),
        display_names: vec![text("sv", "Utbildningsdepartementet")],
        identifiers: vec![identifier("SE-ORGNR", "202100-4276")],
        kind: pb::OrganizationKind::Government as i32,
        government_level: pb::GovernmentLevel::Central as i32,
        country_code: "se".into(),
        sector: pb::GovernmentFunction::Education as i32,
        ..Default::default()
    };
    let replaced = update_org(&mut c, star, mask(&["*"]))
        .await
        .accepted("update with *");
    assert_eq!(replaced.name, o.name);
    assert_eq!(replaced.country_code, "SE");
    assert_eq!(
        replaced.display_names,
        vec![text("sv", "Utbildningsdepartementet")]
    );
    assert_eq!(
        replaced.identifiers,
        vec![identifier("SE-ORGNR", "202100-4276")]
    );
    assert_eq!(
        replaced.homepage_uri, "",
        "* clears what the request leaves empty"
    );
    assert_eq!(replaced.sector, pb::GovernmentFunction::Education as i32);
    assert_eq!(replaced.create_time, o.create_time);
    assert_ne!(replaced.etag, updated.etag);
    server.stop().await;
}

async fn update_with_stale_etag_is_aborted(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(
        &mut c,
        org("RO", "Autoritatea pentru Digitalizarea României"),
    )
    .await;

    let mut first = o.clone();
    first.homepage_uri = "https://adr.gov.ro".into();
    let winner = update_org(&mut c, first, mask(&["homepage_uri"]))
        .await
        .accepted("first writer, current etag");

    let mut second = o.clone(); // still carries the original etag
    second.homepage_uri = "https://example.org".into();
    let status = update_org(&mut c, second, mask(&["homepage_uri"]))
        .await
        .refused("second writer, stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        get_org(&mut c, &o.name).await,
        winner,
        "a stale etag never overwrites"
    );

    let mut no_etag = winner.clone();
    no_etag.etag.clear();
    no_etag.homepage_uri = "https://www.adr.gov.ro".into();
    let last = update_org(&mut c, no_etag, mask(&["homepage_uri"]))
        .await
        .accepted("an update without etag is unconditional");
    assert_eq!(last.homepage_uri, "https://www.adr.gov.ro");
    server.stop().await;
}

async fn update_refuses_parent_cycles(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let a = create_org(&mut c, org("RO", "A")).await;
    let b = create_org(&mut c, org("RO", "B")).await;
    let cc = create_org(&mut c, org("RO", "C")).await;

    let set_parent = |o: &pb::Organization, parent: &pb::Organization| pb::Organization {
        parent: parent.name.clone(),
        etag: String::new(),
        ..o.clone()
    };
    update_org(&mut c, set_parent(&a, &b), mask(&["parent"]))
        .await
        .accepted("A's parent is B");
    let status = update_org(&mut c, set_parent(&b, &a), mask(&["parent"]))
        .await
        .refused("B's parent is A");
    assert_invalid(&status, "organization.parent");
    let status = update_org(&mut c, set_parent(&a, &a), mask(&["parent"]))
        .await
        .refused("A's parent is A");
    assert_invalid(&status, "organization.parent");

    update_org(&mut c, set_parent(&b, &cc), mask(&["parent"]))
        .await
        .accepted("B's parent is C");
    let status = update_org(&mut c, set_parent(&cc, &a), mask(&["parent"]))
        .await
        .refused("C's parent is A (A -> B -> C -> A)");
    assert_invalid(&status, "organization.parent");

    let mut orphan = a.clone();
    orphan.etag.clear();
    orphan.parent = "organizations/does-not-exist".into();
    let status = update_org(&mut c, orphan, mask(&["parent"]))
        .await
        .refused("parent that does not exist");
    assert_invalid(&status, "organization.parent");

    assert_eq!(get_org(&mut c, &b.name).await.parent, cc.name);
    assert_eq!(get_org(&mut c, &cc.name).await.parent, "");
    server.stop().await;
}

async fn get_unknown_is_not_found(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let missing = "0190c3e0-0000-7000-8000-000000000000";
    let status = c
        .get_organization(pb::GetOrganizationRequest {
            name: format!("organizations/{missing}"),
        })
        .await
        .refused("GetOrganization");
    assert_reason(&status, Code::NotFound, "NOT_FOUND");
    let status = c
        .get_person(pb::GetPersonRequest {
            name: format!("people/{missing}"),
        })
        .await
        .refused("GetPerson");
    assert_code(&status, Code::NotFound);
    let status = c
        .get_group(pb::GetGroupRequest {
            name: format!("groups/{missing}"),
        })
        .await
        .refused("GetGroup");
    assert_code(&status, Code::NotFound);
    let status = c
        .get_membership(pb::GetMembershipRequest {
            name: format!("memberships/{missing}"),
        })
        .await
        .refused("GetMembership");
    assert_code(&status, Code::NotFound);
    let status = c
        .get_post(pb::GetPostRequest {
            name: format!("posts/{missing}"),
        })
        .await
        .refused("GetPost");
    assert_code(&status, Code::NotFound);

    // Methods that act on a resource report NOT_FOUND too.
    let status = erase(&mut c, &format!("people/{missing}"), "request 17")
        .await
        .refused("ErasePerson");
    assert_code(&status, Code::NotFound);
    let status = decide_with(
        &mut c,
        &format!("memberships/{missing}"),
        "",
        "x",
        Move::Approve(None),
    )
    .await
    .refused("ApproveMembership");
    assert_code(&status, Code::NotFound);
    let status = assign(&mut c, &format!("posts/{missing}"), "people/p", None)
        .await
        .refused("AssignPostHolder");
    assert_code(&status, Code::NotFound);
    server.stop().await;
}

async fn malformed_names_are_invalid(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    for name in [
        "",
        "organizations/",
        "groups/x",
        "organizations/a/b",
        "organizations/x y",
    ] {
        let status = c
            .get_organization(pb::GetOrganizationRequest { name: name.into() })
            .await
            .refused(&format!("GetOrganization {name:?}"));
        assert_invalid(&status, "name");
    }
    let status = c
        .get_person(pb::GetPersonRequest {
            name: "organizations/x".into(),
        })
        .await
        .refused("GetPerson with an organisation's name");
    assert_invalid(&status, "name");
    let status = c
        .get_group(pb::GetGroupRequest {
            name: "groups/".into(),
        })
        .await
        .refused("GetGroup");
    assert_invalid(&status, "name");
    let status = c
        .get_membership(pb::GetMembershipRequest {
            name: "posts/x".into(),
        })
        .await
        .refused("GetMembership");
    assert_invalid(&status, "name");
    let status = c
        .get_post(pb::GetPostRequest {
            name: "memberships/x".into(),
        })
        .await
        .refused("GetPost");
    assert_invalid(&status, "name");
    let status = update_org(&mut c, org("RO", "X"), mask(&["parent"]))
        .await
        .refused("UpdateOrganization without a name");
    assert_invalid(&status, "organization.name");
    server.stop().await;
}

async fn duplicate_identifier_already_exists(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut first = org("RO", "Ministerul Cercetării, Inovării și Digitalizării");
    first.identifiers = vec![identifier("RO-CUI", "4266324")];
    let first = create_org(&mut c, first).await;

    let mut clash = org("RO", "Ministerul Cercetării");
    clash.identifiers = vec![identifier("RO-CUI", "4266324")];
    let status = try_create_org(&mut c, clash, "")
        .await
        .refused("a second organisation with the same identifier");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    assert_eq!(org_names(&mut c, "").await, vec![first.name.clone()]);

    let mut other_scheme = org("RO", "Alt registru");
    other_scheme.identifiers = vec![identifier("IATI", "4266324")];
    let second = create_org(&mut c, other_scheme).await;

    let mut steal = second.clone();
    steal.identifiers.push(identifier("RO-CUI", "4266324"));
    let status = update_org(&mut c, steal, mask(&["identifiers"]))
        .await
        .refused("an update taking another organisation's identifier");
    assert_code(&status, Code::AlreadyExists);
    assert_eq!(
        get_org(&mut c, &second.name).await,
        second,
        "update rolled back"
    );

    // An organisation may keep its own identifiers on update.
    let mut keep = first.clone();
    keep.homepage_uri = "https://www.research.gov.ro".into();
    update_org(&mut c, keep, mask(&["*"]))
        .await
        .accepted("update keeping its own identifier");
    server.stop().await;
}

async fn pagination_walks_every_page_once(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            create_org(&mut c, org("RO", &format!("Organizația {i}")))
                .await
                .name,
        );
    }

    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = list_orgs_page(&mut c, "", 3, &token)
            .await
            .accepted("ListOrganizations page");
        let names: Vec<String> = page.organizations.into_iter().map(|o| o.name).collect();
        pages.push(names);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(pages.len() < 10, "pagination does not end");
        token = page.next_page_token;
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![3, 3, 1], "7 items in pages of 3");

    let walked: Vec<String> = pages.concat();
    assert_eq!(set(&walked).len(), 7, "no duplicates: {walked:?}");
    assert_eq!(set(&walked), set(&created), "every organisation once");
    let mut by_id = walked.clone();
    by_id.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    assert_eq!(walked, by_id, "stable id order");

    let one = list_orgs_page(&mut c, "", 10, "")
        .await
        .accepted("one page of 10");
    assert!(one.next_page_token.is_empty());
    let one: Vec<String> = one.organizations.into_iter().map(|o| o.name).collect();
    assert_eq!(one, walked, "pages of 3 = one page of 10");

    let default = list_orgs_page(&mut c, "", 0, "")
        .await
        .accepted("page_size 0");
    assert!(default.next_page_token.is_empty(), "the default is above 7");
    assert_eq!(default.organizations.len(), 7);

    let huge = list_orgs_page(&mut c, "", 1_000_000, "")
        .await
        .accepted("page_size above the cap");
    assert_eq!(huge.organizations.len(), 7);
    server.stop().await;
}

async fn pagination_with_filter_ends_without_empty_page(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    for i in 0..4 {
        create_org(&mut c, org("RO", &format!("RO {i}"))).await;
        create_org(&mut c, org("FI", &format!("FI {i}"))).await;
    }
    let filter = r#"country_code = "FI""#;
    let first = list_orgs_page(&mut c, filter, 2, "")
        .await
        .accepted("first page");
    assert_eq!(first.organizations.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = list_orgs_page(&mut c, filter, 2, &first.next_page_token)
        .await
        .accepted("second page, same filter");
    assert_eq!(second.organizations.len(), 2);
    assert!(
        second.next_page_token.is_empty(),
        "a full last page has no token pointing at an empty page"
    );
    assert!(
        first
            .organizations
            .iter()
            .chain(&second.organizations)
            .all(|o| o.country_code == "FI")
    );
    server.stop().await;
}

async fn pagination_refuses_bad_size_and_tokens(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    for i in 0..3 {
        create_org(&mut c, org("RO", &format!("Org {i}"))).await;
    }
    let status = list_orgs_page(&mut c, "", -1, "")
        .await
        .refused("negative page_size");
    assert_invalid(&status, "page_size");

    let page = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, "")
        .await
        .accepted("first page");
    let token = page.next_page_token;
    assert!(!token.is_empty());

    let status = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, "not-a-token")
        .await
        .refused("forged token");
    assert_invalid(&status, "page_token");

    let mut tampered: Vec<char> = token.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let status = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, &tampered)
        .await
        .refused("tampered token");
    assert_invalid(&status, "page_token");

    let status = list_orgs_page(&mut c, r#"country_code = "RO""#, 1, &token)
        .await
        .refused("token reused with another filter");
    assert_invalid(&status, "page_token");

    let status = c
        .list_groups(pb::ListGroupsRequest {
            page_size: 1,
            page_token: token.clone(),
            filter: "kind = GOVERNMENT".into(),
        })
        .await
        .refused("token of another method");
    assert_code(&status, Code::InvalidArgument);

    let next = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, &token)
        .await
        .accepted("the genuine token still works");
    assert_eq!(next.organizations.len(), 1);
    server.stop().await;
}

/// Keyset pagination: records added while a caller pages through come after
/// what it has seen, never as duplicates.
async fn pagination_is_stable_while_records_are_added(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut created = Vec::new();
    for i in 0..4 {
        created.push(
            create_org(&mut c, org("RO", &format!("Before {i}")))
                .await
                .name,
        );
    }
    let first = list_orgs_page(&mut c, "", 3, "")
        .await
        .accepted("first page");
    for i in 0..2 {
        created.push(
            create_org(&mut c, org("RO", &format!("During {i}")))
                .await
                .name,
        );
    }
    let mut walked: Vec<String> = first.organizations.into_iter().map(|o| o.name).collect();
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = list_orgs_page(&mut c, "", 3, &token)
            .await
            .accepted("next page");
        walked.extend(page.organizations.into_iter().map(|o| o.name));
        token = page.next_page_token;
    }
    assert_eq!(walked, created, "every record once, in creation (id) order");
    server.stop().await;
}

/// A client that retries a create while the first attempt is still running
/// gets the one organisation, never a duplicate or an error.
async fn concurrent_retries_create_one_organization(backend: Backend) {
    let (server, c) = start(&backend).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let mut c = c.clone();
        tasks.spawn(async move {
            try_create_org(&mut c, org("RO", "Primăria Iași"), "retried-key")
                .await
                .accepted("concurrent retry")
                .name
        });
    }
    let names: BTreeSet<String> = tasks.join_all().await.into_iter().collect();
    assert_eq!(names.len(), 1, "one organisation for one key: {names:?}");
    let mut c = c;
    assert_eq!(set(&org_names(&mut c, "").await), names);
    server.stop().await;
}

async fn organization_filters_by_field(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut gov = org("RO", "Guvernul României");
    gov.government_level = pb::GovernmentLevel::Central as i32;
    gov.sector = pb::GovernmentFunction::GeneralPublicServices as i32;
    let gov = create_org(&mut c, gov).await;
    let mut city = org("RO", "Primăria Municipiului Cluj-Napoca");
    city.kind = pb::OrganizationKind::LocalGovernment as i32;
    city.government_level = pb::GovernmentLevel::Local as i32;
    city.parent = gov.name.clone();
    let city = create_org(&mut c, city).await;
    let mut uni = org("SE", "Kungliga Tekniska högskolan");
    uni.kind = pb::OrganizationKind::AcademicTrainingResearch as i32;
    uni.sector = pb::GovernmentFunction::Education as i32;
    let uni = create_org(&mut c, uni).await;
    let mut fi = org("FI", "Valtiovarainministeriö");
    fi.government_level = pb::GovernmentLevel::Central as i32;
    let fi = create_org(&mut c, fi).await;

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("", vec![&gov.name, &city.name, &uni.name, &fi.name]),
        ("kind = GOVERNMENT", vec![&gov.name, &fi.name]),
        ("kind = LOCAL_GOVERNMENT", vec![&city.name]),
        (r#"country_code = "RO""#, vec![&gov.name, &city.name]),
        (r#"country_code = "ro""#, vec![&gov.name, &city.name]),
        ("government_level = CENTRAL", vec![&gov.name, &fi.name]),
        ("government_level = LOCAL", vec![&city.name]),
        ("sector = EDUCATION", vec![&uni.name]),
        (
            "(kind = GOVERNMENT OR kind = LOCAL_GOVERNMENT)",
            vec![&gov.name, &city.name, &fi.name],
        ),
        (
            r#"country_code = "RO" AND kind = GOVERNMENT"#,
            vec![&gov.name],
        ),
        (
            r#"kind = GOVERNMENT AND (country_code = "FI" OR country_code = "SE")"#,
            vec![&fi.name],
        ),
        ("kind = MULTILATERAL", vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&org_names(&mut c, filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    let by_parent = format!(r#"parent = "{}""#, gov.name);
    assert_eq!(org_names(&mut c, &by_parent).await, vec![city.name.clone()]);
    server.stop().await;
}

async fn free_text_search_folds_case_and_romanian_diacritics(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    // Escapes keep the two look-alike letters apart in the source:
    // correct Romanian writes t and s with a comma below (U+021B, U+0219),
    // legacy encodings with a cedilla (U+0163, U+015F).
    let mut comma = org(
        "RO",
        "Secretariatul General al Guvernului \u{2014} Direc\u{021B}ia Digitalizare",
    );
    comma
        .display_names
        .push(text("en", "General Secretariat — Digital Directorate"));
    comma.identifiers = vec![identifier("RO-CUI", "4267117")];
    let comma = create_org(&mut c, comma).await;
    let cedilla = create_org(
        &mut c,
        org(
            "RO",
            "Direc\u{0163}ia General\u{0103} a Finan\u{0163}elor Publice Ploie\u{015F}ti",
        ),
    )
    .await;
    let other = create_org(&mut c, org("SE", "Vinnova")).await;

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("secretariatul", vec![&comma.name]),
        ("SECRETARIATUL", vec![&comma.name]),
        ("digital", vec![&comma.name]),
        ("direc\u{0163}ia", vec![&comma.name, &cedilla.name]), // cedilla query
        ("direc\u{021B}ia", vec![&comma.name, &cedilla.name]), // comma-below query
        ("DIREC\u{0162}IA", vec![&comma.name, &cedilla.name]), // capital cedilla
        ("DIREC\u{021A}IA", vec![&comma.name, &cedilla.name]), // capital comma
        ("finan\u{021B}elor", vec![&cedilla.name]),
        ("ploie\u{0219}ti", vec![&cedilla.name]),
        ("4267117", vec![&comma.name]), // identifiers are searched too
        ("vinnova", vec![&other.name]),
        (r#""general secretariat""#, vec![&comma.name]),
        ("direc\u{0163}ia digitalizare", vec![&comma.name]), // every term must match
        ("nothing-like-this", vec![]),
        (r#""%""#, vec![]), // LIKE wildcards are literal
        (r#""_""#, vec![]),
        (
            "direc\u{021B}ia AND country_code = \"RO\"",
            vec![&comma.name, &cedilla.name],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&org_names(&mut c, filter).await),
            set(&expected),
            "search {filter:?}"
        );
    }
    server.stop().await;
}

async fn organization_filters_by_membership(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let active = create_org(&mut c, org("RO", "Active member")).await;
    let applied = create_org(&mut c, org("SE", "Applicant")).await;
    let steering = create_org(&mut c, org("FI", "Task force member")).await;
    let _outsider = create_org(&mut c, org("FI", "Outsider")).await;

    let m = apply(&mut c, &network.name, &active.name, pb::Role::Member).await;
    decide(&mut c, &m, Move::Approve(None)).await;
    apply(&mut c, &network.name, &applied.name, pb::Role::Member).await;
    let m = apply(
        &mut c,
        &task_force.name,
        &steering.name,
        pb::Role::TaskForceMember,
    )
    .await;
    decide(&mut c, &m, Move::Approve(None)).await;

    let in_network = format!(r#"group = "{}""#, network.name);
    let cases: Vec<(String, Vec<&String>)> = vec![
        (in_network.clone(), vec![&active.name, &applied.name]),
        (
            format!("{in_network} AND state = ACTIVE"),
            vec![&active.name],
        ),
        (
            format!("{in_network} AND state = APPLIED"),
            vec![&applied.name],
        ),
        ("state = ACTIVE".into(), vec![&active.name, &steering.name]),
        ("role = TASK_FORCE_MEMBER".into(), vec![&steering.name]),
        (format!("{in_network} AND role = TASK_FORCE_MEMBER"), vec![]),
        (
            format!("{in_network} AND state = ACTIVE AND kind = GOVERNMENT"),
            vec![&active.name],
        ),
        (
            format!(r#"{in_network} AND state = ACTIVE AND country_code = "SE""#),
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&org_names(&mut c, &filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    server.stop().await;
}

async fn bad_filters_are_invalid(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    create_org(&mut c, org("RO", "Guvernul României")).await;
    for filter in [
        "colour = RED",
        "kind = SPACESHIP",
        "government_level = GALACTIC",
        "state = DORMANT",
        r#"country_code = "XX""#,
        r#"parent = "groups/x""#,
        "kind =",
        "(kind = GOVERNMENT",
        "kind = GOVERNMENT AND",
        r#""unterminated"#,
    ] {
        let status = list_orgs_page(&mut c, filter, 0, "")
            .await
            .refused(&format!("ListOrganizations {filter:?}"));
        assert_invalid(&status, "filter");
    }
    for (call, status) in [
        (
            "ListPeople erased = maybe",
            c.list_people(pb::ListPeopleRequest {
                filter: "erased = maybe".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "ListGroups kind = GOVERNMENT",
            c.list_groups(pb::ListGroupsRequest {
                filter: "kind = GOVERNMENT".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "ListMemberships free text",
            c.list_memberships(pb::ListMembershipsRequest {
                filter: "ana".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
        (
            "ListPosts unknown field",
            c.list_posts(pb::ListPostsRequest {
                filter: "holder_name = \"Ana\"".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        ),
    ] {
        let status = status
            .err()
            .unwrap_or_else(|| panic!("{call}: expected an error"));
        assert_invalid(&status, "filter");
    }
    server.stop().await;
}

// ----------------------------------------------------------------- people --

async fn person_round_trip_and_list_by_organization(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let vinnova = create_org(&mut c, org("SE", "Vinnova")).await;

    let sent = pb::Person {
        organization: adr.name.clone(),
        display_name: "Ana Popescu".into(),
        email: "ana.popescu@adr.gov.ro".into(),
        phone: "+40 21 123 4567".into(),
        language_codes: vec!["ro".into(), "en".into()],
        ..Default::default()
    };
    let ana = try_create_person(&mut c, sent.clone(), "")
        .await
        .accepted("CreatePerson");
    assert!(ana.name.starts_with("people/"));
    assert_eq!(ana.organization, adr.name);
    assert_eq!(ana.display_name, sent.display_name);
    assert_eq!(ana.email, sent.email);
    assert_eq!(ana.phone, sent.phone);
    assert_eq!(ana.language_codes, sent.language_codes);
    assert_eq!(ana.erase_time, None);
    assert!(ana.create_time.is_some() && !ana.etag.is_empty());
    assert_eq!(get_person(&mut c, &ana.name).await, ana);

    let ion = create_person(&mut c, &adr.name, "Ion Ionescu").await;
    let eva = create_person(&mut c, &vinnova.name, "Eva Andersson").await;

    let at_adr = format!(r#"organization = "{}""#, adr.name);
    assert_eq!(
        set(&person_names(&mut c, &at_adr).await),
        set(&[&ana.name, &ion.name])
    );
    let at_vinnova = format!(r#"organization = "{}""#, vinnova.name);
    assert_eq!(
        person_names(&mut c, &at_vinnova).await,
        vec![eva.name.clone()]
    );
    assert_eq!(
        person_names(&mut c, "popescu").await,
        vec![ana.name.clone()]
    );

    let updated = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                organization: vinnova.name.clone(),
                etag: ana.etag.clone(),
                ..ana.clone()
            }),
            update_mask: mask(&["organization"]),
        })
        .await
        .accepted("UpdatePerson moves Ana to Vinnova");
    assert_eq!(updated.organization, vinnova.name);
    assert_eq!(updated.email, ana.email);
    assert_ne!(updated.etag, ana.etag);
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(ana.clone()),
            update_mask: mask(&["phone"]),
        })
        .await
        .refused("UpdatePerson with a stale etag");
    assert_code(&status, Code::Aborted);
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                organization: "organizations/does-not-exist".into(),
                etag: String::new(),
                ..updated.clone()
            }),
            update_mask: mask(&["organization"]),
        })
        .await
        .refused("UpdatePerson to an organisation that does not exist");
    assert_invalid(&status, "person.organization");
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                email: "nope".into(),
                ..updated.clone()
            }),
            update_mask: mask(&["email"]),
        })
        .await
        .refused("UpdatePerson to a bad e-mail");
    assert_invalid(&status, "person.email");
    assert_eq!(get_person(&mut c, &ana.name).await, updated);
    server.stop().await;
}

async fn person_bad_input_names_the_field(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    type Mutate = fn(&mut pb::Person);
    let cases: &[(&str, Mutate, &str)] = &[
        (
            "bad e-mail",
            |p| p.email = "ana at adr".into(),
            "person.email",
        ),
        (
            "e-mail without domain dot",
            |p| p.email = "ana@adr".into(),
            "person.email",
        ),
        (
            "national phone",
            |p| p.phone = "021 123 4567".into(),
            "person.phone",
        ),
        (
            "phone with letters",
            |p| p.phone = "+40 CALL ME".into(),
            "person.phone",
        ),
        (
            "bad language",
            |p| p.language_codes = vec!["ro".into(), "not a tag".into()],
            "person.language_codes[1]",
        ),
        (
            "no name",
            |p| p.display_name = " ".into(),
            "person.display_name",
        ),
        (
            "no organisation",
            |p| p.organization.clear(),
            "person.organization",
        ),
        (
            "organisation of another collection",
            |p| p.organization = "groups/x".into(),
            "person.organization",
        ),
        (
            "organisation that does not exist",
            |p| p.organization = "organizations/does-not-exist".into(),
            "person.organization",
        ),
    ];
    for (case, mutate, field) in cases {
        let mut p = person(&o.name, "Ana Popescu");
        mutate(&mut p);
        let status = try_create_person(&mut c, p, "")
            .await
            .refused(&format!("CreatePerson with {case}"));
        assert_invalid(&status, field);
    }
    let status = c
        .create_person(pb::CreatePersonRequest::default())
        .await
        .refused("CreatePerson without person");
    assert_invalid(&status, "person");
    assert_eq!(person_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn erase_person_clears_personal_data_and_keeps_history(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let mut sent = person(&o.name, "Ana Popescu");
    sent.email = "ana@adr.gov.ro".into();
    sent.phone = "+40 21 123 4567".into();
    sent.language_codes = vec!["ro".into()];
    let ana = try_create_person(&mut c, sent, "")
        .await
        .accepted("CreatePerson");
    let other = create_person(&mut c, &o.name, "Ion Ionescu").await;
    let m = apply(&mut c, &network.name, &ana.name, pb::Role::Member).await;
    let m = decide(&mut c, &m, Move::Approve(Some(date(2025, 1, 1)))).await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let ncp = assign(&mut c, &ncp.name, &ana.name, Some(date(2025, 1, 1)))
        .await
        .accepted("Ana holds the RO post");

    let erased = erase(&mut c, &ana.name, "GDPR request 2026/17")
        .await
        .accepted("ErasePerson");
    assert_eq!(erased.name, ana.name, "the resource name stays");
    assert_eq!(erased.organization, o.name);
    assert_eq!(erased.display_name, "");
    assert_eq!(erased.email, "");
    assert_eq!(erased.phone, "");
    assert!(erased.language_codes.is_empty());
    assert!(erased.erase_time.is_some(), "erase_time is set");
    assert_ne!(erased.etag, ana.etag);
    assert_eq!(get_person(&mut c, &ana.name).await, erased);

    let kept = get_membership(&mut c, &m.name).await;
    assert_eq!(
        kept, m,
        "memberships that point at the person are untouched"
    );
    assert_eq!(kept.member, ana.name);
    assert_eq!(kept.history.len(), 2);
    let post = get_post(&mut c, &ncp.name).await;
    assert_eq!(
        post, ncp,
        "post holdings that point at the person are untouched"
    );
    assert_eq!(post.holder, ana.name);

    assert_eq!(
        person_names(&mut c, "erased = true").await,
        vec![ana.name.clone()]
    );
    assert_eq!(
        person_names(&mut c, "erased = false").await,
        vec![other.name.clone()]
    );
    assert_eq!(
        person_names(&mut c, "popescu").await,
        Vec::<String>::new(),
        "an erased name is no longer searchable"
    );
    server.stop().await;
}

async fn erased_person_is_read_only(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    let erased = erase(&mut c, &ana.name, "GDPR request 17")
        .await
        .accepted("ErasePerson");

    for paths in [&["display_name"][..], &["*"]] {
        let status = update_erased(&mut c, &erased, paths).await;
        assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    }
    let status = erase(&mut c, &ana.name, "second request")
        .await
        .refused("second ErasePerson");
    assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    assert_eq!(
        get_person(&mut c, &ana.name).await,
        erased,
        "the first erasure stays as it was"
    );
    server.stop().await;
}

/// Tries to write personal data back onto an erased person.
async fn update_erased(c: &mut Client, erased: &pb::Person, paths: &[&str]) -> Status {
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                display_name: "Ana Popescu".into(),
                email: "ana@adr.gov.ro".into(),
                phone: "+40 21 123 4567".into(),
                language_codes: vec!["ro".into()],
                ..erased.clone()
            }),
            update_mask: mask(paths),
        })
        .await
        .refused(&format!("UpdatePerson {paths:?} of an erased person"));
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "UpdatePerson {paths:?} of an erased person: {}",
        status.message()
    );
    status
}

/// An erased person cannot be updated, whichever field the mask names (the
/// refusal must not depend on the erased display name failing validation).
async fn erased_person_contact_fields_cannot_be_updated(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    let erased = erase(&mut c, &ana.name, "GDPR request 17")
        .await
        .accepted("ErasePerson");
    for paths in [
        &["email"][..],
        &["phone"],
        &["language_codes"],
        &["organization"],
    ] {
        let status = update_erased(&mut c, &erased, paths).await;
        assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    }
    assert_eq!(get_person(&mut c, &ana.name).await, erased);
    server.stop().await;
}

async fn erased_person_cannot_take_on_roles(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    erase(&mut c, &ana.name, "GDPR request 17")
        .await
        .accepted("ErasePerson");

    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let status = assign(&mut c, &ncp.name, &ana.name, None)
        .await
        .refused("assigning an erased person");
    assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    assert_eq!(get_post(&mut c, &ncp.name).await, ncp, "post still vacant");

    let status = try_apply(
        &mut c,
        membership(&network.name, &ana.name, pb::Role::Member),
        "the applicant",
        "",
    )
    .await
    .refused("an erased person applying");
    assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    assert_eq!(membership_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn erase_requires_a_reason(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    for reason in ["", "   "] {
        let status = erase(&mut c, &ana.name, reason)
            .await
            .refused(&format!("ErasePerson with reason {reason:?}"));
        assert_invalid(&status, "reason");
    }
    let status = erase(&mut c, "organizations/x", "GDPR")
        .await
        .refused("ErasePerson of a non-person name");
    assert_invalid(&status, "name");
    assert_eq!(get_person(&mut c, &ana.name).await, ana, "not erased");
    server.stop().await;
}

// ----------------------------------------------------------------- groups --

async fn group_of_every_kind_and_list_by_kind(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let kinds = [
        pb::GroupKind::Network,
        pb::GroupKind::TaskForce,
        pb::GroupKind::AssociateGroup,
        pb::GroupKind::AdvisoryBoard,
        pb::GroupKind::WorkingGroup,
        pb::GroupKind::CommunityOfPractice,
    ];
    let mut created = Vec::new();
    for kind in kinds {
        let mut g = group(kind, kind.as_str_name());
        g.description = format!("The {} of the network", kind.as_str_name());
        let made = try_create_group(&mut c, g.clone(), "")
            .await
            .accepted("CreateGroup");
        assert!(made.name.starts_with("groups/"));
        assert_eq!((made.kind, &made.display_name), (g.kind, &g.display_name));
        assert_eq!(made.description, g.description);
        assert!(!made.etag.is_empty() && made.create_time.is_some());
        let read = c
            .get_group(pb::GetGroupRequest {
                name: made.name.clone(),
            })
            .await
            .accepted("GetGroup");
        assert_eq!(read, made);
        created.push(made);
    }
    for (kind, g) in kinds.iter().zip(&created) {
        let short = kind.as_str_name().trim_start_matches("GROUP_KIND_");
        assert_eq!(
            group_names(&mut c, &format!("kind = {short}")).await,
            vec![g.name.clone()],
            "kind = {short}"
        );
    }
    assert_eq!(group_names(&mut c, "").await.len(), 6);
    assert_eq!(
        group_names(&mut c, "(kind = NETWORK OR kind = TASK_FORCE)")
            .await
            .len(),
        2
    );
    assert_eq!(
        group_names(&mut c, "practice").await,
        vec![created[5].name.clone()],
        "free text over names"
    );

    for (case, g, field) in [
        (
            "no kind",
            group(pb::GroupKind::Unspecified, "X"),
            "group.kind",
        ),
        (
            "unknown kind",
            pb::Group {
                kind: 42,
                ..group(pb::GroupKind::Network, "X")
            },
            "group.kind",
        ),
        (
            "no name",
            group(pb::GroupKind::Network, ""),
            "group.display_name",
        ),
    ] {
        let status = try_create_group(&mut c, g, "")
            .await
            .refused(&format!("CreateGroup with {case}"));
        assert_invalid(&status, field);
    }
    assert_eq!(
        group_names(&mut c, "").await.len(),
        6,
        "nothing more stored"
    );
    server.stop().await;
}

async fn group_update_and_parent_rules(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;

    let status = try_create_group(
        &mut c,
        pb::Group {
            parent: "groups/does-not-exist".into(),
            ..group(pb::GroupKind::WorkingGroup, "AI in government")
        },
        "",
    )
    .await
    .refused("CreateGroup with a parent that does not exist");
    assert_invalid(&status, "group.parent");
    let status = try_create_group(
        &mut c,
        pb::Group {
            parent: "organizations/x".into(),
            ..group(pb::GroupKind::WorkingGroup, "AI in government")
        },
        "",
    )
    .await
    .refused("CreateGroup with a malformed parent");
    assert_invalid(&status, "group.parent");

    let wg = try_create_group(
        &mut c,
        pb::Group {
            parent: network.name.clone(),
            ..group(pb::GroupKind::WorkingGroup, "AI in government")
        },
        "",
    )
    .await
    .accepted("CreateGroup with a parent");
    assert_eq!(wg.parent, network.name);
    assert_eq!(
        group_names(&mut c, &format!(r#"parent = "{}""#, network.name)).await,
        vec![wg.name.clone()]
    );

    let renamed = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                display_name: "AI and automation in government".into(),
                kind: pb::GroupKind::CommunityOfPractice as i32, // not in the mask
                ..wg.clone()
            }),
            update_mask: mask(&["display_name"]),
        })
        .await
        .accepted("UpdateGroup display_name");
    assert_eq!(renamed.display_name, "AI and automation in government");
    assert_eq!(renamed.kind, pb::GroupKind::WorkingGroup as i32);
    assert_eq!(renamed.parent, network.name);
    assert_ne!(renamed.etag, wg.etag);

    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(renamed.clone()),
            update_mask: None,
        })
        .await
        .refused("UpdateGroup without mask");
    assert_invalid(&status, "update_mask");
    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(wg.clone()),
            update_mask: mask(&["description"]),
        })
        .await
        .refused("UpdateGroup with a stale etag");
    assert_code(&status, Code::Aborted);
    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                parent: "groups/does-not-exist".into(),
                etag: String::new(),
                ..renamed.clone()
            }),
            update_mask: mask(&["parent"]),
        })
        .await
        .refused("UpdateGroup to a parent that does not exist");
    assert_invalid(&status, "group.parent");
    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                parent: wg.name.clone(),
                etag: String::new(),
                ..renamed.clone()
            }),
            update_mask: mask(&["parent"]),
        })
        .await
        .refused("UpdateGroup to be its own parent");
    assert_invalid(&status, "group.parent");
    let read = c
        .get_group(pb::GetGroupRequest {
            name: wg.name.clone(),
        })
        .await
        .accepted("GetGroup");
    assert_eq!(read, renamed, "refused updates change nothing");
    server.stop().await;
}

/// Like organisations, groups cannot contain themselves through a chain.
async fn group_parent_cycles_are_refused(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let a = create_group(&mut c, pb::GroupKind::Network, "A").await;
    let b = create_group(&mut c, pb::GroupKind::WorkingGroup, "B").await;
    let set_parent = |g: &pb::Group, parent: &pb::Group| pb::UpdateGroupRequest {
        group: Some(pb::Group {
            parent: parent.name.clone(),
            etag: String::new(),
            ..g.clone()
        }),
        update_mask: mask(&["parent"]),
    };
    c.update_group(set_parent(&b, &a))
        .await
        .accepted("B belongs to A");
    let status = c
        .update_group(set_parent(&a, &b))
        .await
        .refused("A belongs to B (A -> B -> A)");
    assert_invalid(&status, "group.parent");
    let read = c
        .get_group(pb::GetGroupRequest {
            name: a.name.clone(),
        })
        .await
        .accepted("GetGroup");
    assert_eq!(read, a, "A is unchanged");
    server.stop().await;
}

// ------------------------------------------------------------ memberships --

async fn membership_lifecycle_records_every_step(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;

    let applied = try_apply(
        &mut c,
        membership(&network.name, &adr.name, pb::Role::Member),
        "people/the-director",
        "",
    )
    .await
    .accepted("CreateMembership");
    assert!(applied.name.starts_with("memberships/"));
    assert_eq!(applied.state, pb::MembershipState::Applied as i32);
    assert_eq!((applied.start_date, applied.end_date), (None, None));
    assert_eq!(applied.history.len(), 1);
    let event = &applied.history[0];
    assert_eq!(event.from_state, pb::MembershipState::Unspecified as i32);
    assert_eq!(event.to_state, pb::MembershipState::Applied as i32);
    assert_eq!(event.decided_by, "people/the-director");
    assert_eq!(event.reason, "wants to take part");
    assert!(event.time.is_some());

    let active = decide(&mut c, &applied, Move::Approve(Some(date(2025, 1, 15)))).await;
    assert_eq!(active.state, pb::MembershipState::Active as i32);
    assert_eq!(active.start_date, Some(date(2025, 1, 15)));
    assert_ne!(active.etag, applied.etag);
    let suspended = decide(&mut c, &active, Move::Suspend).await;
    assert_eq!(suspended.state, pb::MembershipState::Suspended as i32);
    let reinstated = decide(&mut c, &suspended, Move::Reinstate).await;
    assert_eq!(reinstated.state, pb::MembershipState::Active as i32);
    let left = decide(&mut c, &reinstated, Move::End(Some(date(2026, 2, 28)))).await;
    assert_eq!(left.state, pb::MembershipState::Left as i32);
    assert_eq!(left.start_date, Some(date(2025, 1, 15)));
    assert_eq!(left.end_date, Some(date(2026, 2, 28)));

    use pb::MembershipState::{Active, Applied, Left, Suspended, Unspecified};
    let steps: Vec<(i32, i32)> = left
        .history
        .iter()
        .map(|e| (e.from_state, e.to_state))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Unspecified as i32, Applied as i32),
            (Applied as i32, Active as i32),
            (Active as i32, Suspended as i32),
            (Suspended as i32, Active as i32),
            (Active as i32, Left as i32),
        ],
        "every transition, oldest first"
    );
    assert!(
        left.history[1..]
            .iter()
            .all(|e| e.decided_by == "the secretary")
    );
    assert!(left.history[1..].iter().all(|e| !e.reason.is_empty()));
    let times: Vec<i64> = left.history.iter().map(|e| micros(&e.time)).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "event times are in order: {times:?}"
    );
    assert_eq!(get_membership(&mut c, &left.name).await, left);
    server.stop().await;
}

async fn membership_approval_defaults_start_date(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let a = create_org(&mut c, org("RO", "A")).await;
    let b = create_org(&mut c, org("RO", "B")).await;

    let before = today();
    let m = apply(&mut c, &network.name, &a.name, pb::Role::Member).await;
    let approved = decide(&mut c, &m, Move::Approve(None)).await;
    let after = today();
    let start = approved.start_date.expect("start_date set on approval");
    assert!(
        start == before || start == after,
        "start_date defaults to today: {start:?}"
    );

    // A requested start date is kept when the approval gives none.
    let requested = pb::Membership {
        start_date: Some(date(2025, 9, 1)),
        ..membership(&network.name, &b.name, pb::Role::Member)
    };
    let m = try_apply(&mut c, requested, "the applicant", "")
        .await
        .accepted("CreateMembership with a start date");
    assert_eq!(m.start_date, Some(date(2025, 9, 1)));
    let approved = decide(&mut c, &m, Move::Approve(None)).await;
    assert_eq!(approved.start_date, Some(date(2025, 9, 1)));
    let ended = decide(&mut c, &approved, Move::End(None)).await;
    let end = ended.end_date.expect("end_date set on end");
    assert!(
        end == before || end == today(),
        "end_date defaults to today"
    );
    server.stop().await;
}

async fn membership_reject_path(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let m = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    let rejected = decide(&mut c, &m, Move::Reject).await;
    assert_eq!(rejected.state, pb::MembershipState::Rejected as i32);
    assert_eq!((rejected.start_date, rejected.end_date), (None, None));
    let last = rejected.history.last().expect("history");
    assert_eq!(
        (last.from_state, last.to_state),
        (
            pb::MembershipState::Applied as i32,
            pb::MembershipState::Rejected as i32
        )
    );
    assert_eq!(rejected.history.len(), 2);
    for step in EVERY_MOVE {
        let status = decide_with(&mut c, &m.name, "", "the secretary", step.clone())
            .await
            .refused(&format!("{step:?} after REJECTED"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(
        get_membership(&mut c, &m.name).await,
        rejected,
        "REJECTED is final"
    );

    let again = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    assert_ne!(again.name, m.name, "a rejected applicant may apply again");
    server.stop().await;
}

async fn membership_illegal_moves_leave_it_unchanged(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;

    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    for step in [Move::Suspend, Move::Reinstate, Move::End(None)] {
        let status = decide_with(&mut c, &applied.name, "", "x", step.clone())
            .await
            .refused(&format!("{step:?} an APPLIED membership"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(get_membership(&mut c, &applied.name).await, applied);

    let active = decide(&mut c, &applied, Move::Approve(None)).await;
    for step in [Move::Approve(None), Move::Reject, Move::Reinstate] {
        let status = decide_with(&mut c, &active.name, "", "x", step.clone())
            .await
            .refused(&format!("{step:?} an ACTIVE membership"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(get_membership(&mut c, &active.name).await, active);

    let suspended = decide(&mut c, &active, Move::Suspend).await;
    for step in [Move::Approve(None), Move::Reject, Move::Suspend] {
        let status = decide_with(&mut c, &suspended.name, "", "x", step.clone())
            .await
            .refused(&format!("{step:?} a SUSPENDED membership"));
        assert_code(&status, Code::FailedPrecondition);
    }
    assert_eq!(get_membership(&mut c, &suspended.name).await, suspended);

    let left = decide(&mut c, &suspended, Move::End(None)).await;
    assert_eq!(
        left.state,
        pb::MembershipState::Left as i32,
        "SUSPENDED -> LEFT"
    );
    for step in EVERY_MOVE {
        let status = decide_with(&mut c, &left.name, "", "x", step.clone())
            .await
            .refused(&format!("{step:?} a LEFT membership"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(
        get_membership(&mut c, &left.name).await,
        left,
        "LEFT is final"
    );
    server.stop().await;
}

async fn membership_transition_input_is_validated(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;

    for step in EVERY_MOVE {
        let status = decide_with(&mut c, &applied.name, "", "  ", step.clone())
            .await
            .refused(&format!("{step:?} without decided_by"));
        assert_invalid(&status, "decided_by");
    }
    let status = decide_with(
        &mut c,
        &applied.name,
        "",
        "x",
        Move::Approve(Some(date(2025, 13, 1))),
    )
    .await
    .refused("approval on month 13");
    assert_invalid(&status, "effective_date");
    let status = decide_with(
        &mut c,
        &applied.name,
        "",
        "x",
        Move::Approve(Some(date(2025, 2, 30))),
    )
    .await
    .refused("approval on 30 February");
    assert_invalid(&status, "effective_date");
    let status = decide_with(&mut c, "groups/x", "", "x", Move::Approve(None))
        .await
        .refused("approval of a malformed name");
    assert_invalid(&status, "name");
    assert_eq!(get_membership(&mut c, &applied.name).await, applied);

    let active = decide(&mut c, &applied, Move::Approve(Some(date(2025, 6, 1)))).await;
    let status = decide_with(
        &mut c,
        &active.name,
        "",
        "x",
        Move::End(Some(date(2025, 5, 31))),
    )
    .await
    .refused("end before the start");
    assert_invalid(&status, "effective_date");
    assert_eq!(get_membership(&mut c, &active.name).await, active);
    let ended = decide(&mut c, &active, Move::End(Some(date(2025, 6, 1)))).await;
    assert_eq!(
        ended.end_date,
        Some(date(2025, 6, 1)),
        "a one-day membership"
    );

    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "",
        "",
    )
    .await
    .refused("CreateMembership without decided_by");
    assert_invalid(&status, "decided_by");
    let status = c
        .create_membership(pb::CreateMembershipRequest {
            decided_by: "x".into(),
            ..Default::default()
        })
        .await
        .refused("CreateMembership without membership");
    assert_invalid(&status, "membership");
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Unspecified),
        "x",
        "",
    )
    .await
    .refused("CreateMembership without role");
    assert_invalid(&status, "membership.role");
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::NationalContactPoint),
        "x",
        "",
    )
    .await
    .refused("national contact point as a membership");
    assert_invalid(&status, "membership.role");
    server.stop().await;
}

async fn membership_transition_with_stale_etag_is_aborted(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;

    let active = decide_with(
        &mut c,
        &applied.name,
        &applied.etag,
        "x",
        Move::Approve(None),
    )
    .await
    .accepted("approve with the current etag");
    let status = decide_with(&mut c, &active.name, &applied.etag, "x", Move::Suspend)
        .await
        .refused("suspend with the etag from before the approval");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(get_membership(&mut c, &active.name).await, active);
    let status = decide_with(&mut c, &active.name, "garbage", "x", Move::Suspend)
        .await
        .refused("suspend with a malformed etag");
    assert_invalid(&status, "etag");
    // A stale caller learns that it is stale before any rule about the
    // current state: approving an ACTIVE membership would also be illegal.
    let status = decide_with(
        &mut c,
        &active.name,
        &applied.etag,
        "x",
        Move::Approve(None),
    )
    .await
    .refused("approve again with a stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    decide_with(&mut c, &active.name, &active.etag, "x", Move::Suspend)
        .await
        .accepted("suspend with the current etag");
    server.stop().await;
}

/// Decisions taken at the same moment on one membership: exactly one wins;
/// the others are told the membership changed (ABORTED) or is no longer
/// APPLIED (FAILED_PRECONDITION), and the history records one decision.
async fn concurrent_transitions_have_one_winner(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6 {
        let mut c = c.clone();
        let name = applied.name.clone();
        let step = if i % 2 == 0 {
            Move::Approve(None)
        } else {
            Move::Reject
        };
        tasks.spawn(async move {
            decide_with(&mut c, &name, "", &format!("official {i}"), step)
                .await
                .map(Response::into_inner)
        });
    }
    let outcomes = tasks.join_all().await;
    let winners: Vec<&pb::Membership> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one decision wins: {outcomes:?}");
    for status in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(status.code(), Code::Aborted | Code::FailedPrecondition),
            "a losing decision is ABORTED or FAILED_PRECONDITION, got {:?}: {}",
            status.code(),
            status.message()
        );
    }
    let stored = get_membership(&mut c, &applied.name).await;
    assert_eq!(&stored, winners[0]);
    assert_eq!(stored.history.len(), 2, "one application, one decision");
    server.stop().await;
}

async fn membership_one_open_per_group_member_role(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let p = create_person(&mut c, &o.name, "Ana Popescu").await;

    let first = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "x",
        "",
    )
    .await
    .refused("a second open membership, same group/member/role");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    let active = decide(&mut c, &first, Move::Approve(None)).await;
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "x",
        "",
    )
    .await
    .refused("applying while ACTIVE");
    assert_code(&status, Code::AlreadyExists);
    let suspended = decide(&mut c, &active, Move::Suspend).await;
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "x",
        "",
    )
    .await
    .refused("applying while SUSPENDED");
    assert_code(&status, Code::AlreadyExists);

    // Another role, group or member is another membership.
    apply(&mut c, &network.name, &o.name, pb::Role::Coordinator).await;
    apply(&mut c, &task_force.name, &o.name, pb::Role::Member).await;
    apply(&mut c, &network.name, &p.name, pb::Role::Member).await;

    decide(&mut c, &suspended, Move::End(None)).await;
    let again = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    assert_eq!(again.state, pb::MembershipState::Applied as i32);
    assert_ne!(
        again.name, first.name,
        "after LEFT a new application is allowed"
    );
    let for_o = format!(r#"member = "{}" AND role = MEMBER"#, o.name);
    assert_eq!(membership_names(&mut c, &for_o).await.len(), 3);
    server.stop().await;
}

async fn membership_references_must_exist(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let cases = [
        (
            "unknown group",
            membership("groups/does-not-exist", &o.name, pb::Role::Member),
            "membership.group",
        ),
        (
            "malformed group",
            membership("organizations/x", &o.name, pb::Role::Member),
            "membership.group",
        ),
        (
            "no group",
            membership("", &o.name, pb::Role::Member),
            "membership.group",
        ),
        (
            "unknown organisation",
            membership(
                &network.name,
                "organizations/does-not-exist",
                pb::Role::Member,
            ),
            "membership.member",
        ),
        (
            "unknown person",
            membership(&network.name, "people/does-not-exist", pb::Role::Member),
            "membership.member",
        ),
        (
            "member that is a group",
            membership(&network.name, &network.name, pb::Role::Member),
            "membership.member",
        ),
        (
            "no member",
            membership(&network.name, "", pb::Role::Member),
            "membership.member",
        ),
    ];
    for (case, m, field) in cases {
        let status = try_apply(&mut c, m, "x", "")
            .await
            .refused(&format!("CreateMembership with {case}"));
        assert_invalid(&status, field);
    }
    assert_eq!(membership_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn list_memberships_filters(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let a = create_org(&mut c, org("RO", "A")).await;
    let b = create_org(&mut c, org("SE", "B")).await;
    let ana = create_person(&mut c, &a.name, "Ana Popescu").await;

    let a_net = apply(&mut c, &network.name, &a.name, pb::Role::Member).await;
    let a_net = decide(&mut c, &a_net, Move::Approve(None)).await;
    let b_net = apply(&mut c, &network.name, &b.name, pb::Role::Member).await;
    let ana_tf = apply(
        &mut c,
        &task_force.name,
        &ana.name,
        pb::Role::TaskForceChair,
    )
    .await;
    let ana_tf = decide(&mut c, &ana_tf, Move::Approve(None)).await;
    let b_tf = apply(&mut c, &task_force.name, &b.name, pb::Role::TaskForceMember).await;
    decide(&mut c, &b_tf, Move::Reject).await;

    let cases: Vec<(String, Vec<&String>)> = vec![
        (
            String::new(),
            vec![&a_net.name, &b_net.name, &ana_tf.name, &b_tf.name],
        ),
        (
            format!(r#"group = "{}""#, network.name),
            vec![&a_net.name, &b_net.name],
        ),
        (
            format!(r#"member = "{}""#, b.name),
            vec![&b_net.name, &b_tf.name],
        ),
        (format!(r#"member = "{}""#, ana.name), vec![&ana_tf.name]),
        ("role = TASK_FORCE_CHAIR".into(), vec![&ana_tf.name]),
        ("state = ACTIVE".into(), vec![&a_net.name, &ana_tf.name]),
        ("state = REJECTED".into(), vec![&b_tf.name]),
        (
            "(state = APPLIED OR state = REJECTED)".into(),
            vec![&b_net.name, &b_tf.name],
        ),
        (
            format!(r#"group = "{}" AND state = ACTIVE"#, task_force.name),
            vec![&ana_tf.name],
        ),
        (
            format!(
                r#"group = "{}" AND role = MEMBER AND state = APPLIED"#,
                network.name
            ),
            vec![&b_net.name],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&membership_names(&mut c, &filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    let page = c
        .list_memberships(pb::ListMembershipsRequest {
            filter: format!(r#"member = "{}""#, a.name),
            ..Default::default()
        })
        .await
        .accepted("ListMemberships");
    assert_eq!(page.memberships, vec![a_net], "listed with their history");
    for filter in ["state = GONE", r#"member = "groups/x""#, "role = CAPTAIN"] {
        let status = c
            .list_memberships(pb::ListMembershipsRequest {
                filter: filter.into(),
                ..Default::default()
            })
            .await
            .refused(&format!("ListMemberships {filter:?}"));
        assert_invalid(&status, "filter");
    }
    server.stop().await;
}

// ------------------------------------------------------------------ posts --

async fn post_national_contact_point(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "ro").await;
    assert!(ncp.name.starts_with("posts/"));
    assert_eq!(ncp.group, network.name);
    assert_eq!(ncp.role, pb::Role::NationalContactPoint as i32);
    assert_eq!(ncp.country_code, "RO", "country code normalised");
    assert_eq!(ncp.holder, "", "a new post is vacant");
    assert!(ncp.holdings.is_empty());
    assert!(!ncp.etag.is_empty() && ncp.create_time.is_some());
    assert_eq!(get_post(&mut c, &ncp.name).await, ncp);

    let chair = create_post(&mut c, &network.name, pb::Role::TaskForceChair, "").await;
    assert_eq!(chair.country_code, "", "other posts need no country");
    let coordinator = create_post(&mut c, &network.name, pb::Role::Coordinator, "").await;
    assert_eq!(coordinator.role, pb::Role::Coordinator as i32);
    server.stop().await;
}

async fn post_bad_input_and_duplicates(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let cases = [
        (
            "national contact point without country",
            post(&network.name, pb::Role::NationalContactPoint, ""),
            "post.country_code",
        ),
        (
            "unknown country",
            post(&network.name, pb::Role::NationalContactPoint, "XX"),
            "post.country_code",
        ),
        (
            "role MEMBER",
            post(&network.name, pb::Role::Member, "RO"),
            "post.role",
        ),
        (
            "role TASK_FORCE_MEMBER",
            post(&network.name, pb::Role::TaskForceMember, ""),
            "post.role",
        ),
        (
            "no role",
            post(&network.name, pb::Role::Unspecified, "RO"),
            "post.role",
        ),
        (
            "unknown group",
            post(
                "groups/does-not-exist",
                pb::Role::NationalContactPoint,
                "RO",
            ),
            "post.group",
        ),
        (
            "no group",
            post("", pb::Role::NationalContactPoint, "RO"),
            "post.group",
        ),
    ];
    for (case, p, field) in cases {
        let status = try_create_post(&mut c, p, "")
            .await
            .refused(&format!("CreatePost with {case}"));
        assert_invalid(&status, field);
    }
    let status = c
        .create_post(pb::CreatePostRequest::default())
        .await
        .refused("CreatePost without post");
    assert_invalid(&status, "post");

    let ro = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let status = try_create_post(
        &mut c,
        post(&network.name, pb::Role::NationalContactPoint, "ro"),
        "",
    )
    .await
    .refused("a second RO national contact point in the network");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    let chair = create_post(&mut c, &network.name, pb::Role::TaskForceChair, "").await;
    let status = try_create_post(
        &mut c,
        post(&network.name, pb::Role::TaskForceChair, ""),
        "",
    )
    .await
    .refused("a second task force chair");
    assert_code(&status, Code::AlreadyExists);

    let se = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "SE").await;
    let other_group = create_group(&mut c, pb::GroupKind::AssociateGroup, "Associates").await;
    let other = create_post(
        &mut c,
        &other_group.name,
        pb::Role::NationalContactPoint,
        "RO",
    )
    .await;
    assert_eq!(
        set(&post_names(&mut c, "").await),
        set(&[&ro.name, &chair.name, &se.name, &other.name])
    );
    server.stop().await;
}

async fn post_holder_hand_over(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let a = create_person(&mut c, &adr.name, "Ana Popescu").await;
    let b = create_person(&mut c, &adr.name, "Bogdan Ionescu").await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;

    let first = assign(&mut c, &ncp.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("assign A");
    assert_eq!(first.holder, a.name);
    assert_eq!(first.holdings.len(), 1);
    assert_ne!(first.etag, ncp.etag);

    let second = assign(&mut c, &ncp.name, &b.name, Some(date(2026, 3, 1)))
        .await
        .accepted("assign B");
    assert_eq!(second.holder, b.name, "the holder is B");
    let holdings: Vec<_> = second
        .holdings
        .iter()
        .map(|h| (h.person.as_str(), h.start_date, h.end_date))
        .collect();
    assert_eq!(
        holdings,
        vec![
            (
                a.name.as_str(),
                Some(date(2025, 1, 1)),
                Some(date(2026, 3, 1))
            ),
            (b.name.as_str(), Some(date(2026, 3, 1)), None),
        ],
        "A's holding ends the day B's starts; B's is open"
    );
    assert_eq!(second.holdings[1].decided_by, "the task force");
    assert_eq!(second.holdings[1].reason, format!("{} nominated", b.name));
    assert_eq!(get_post(&mut c, &ncp.name).await, second);

    // Without a start date the new holding starts today.
    let third = assign(&mut c, &ncp.name, &a.name, None)
        .await
        .accepted("assign A again, from today");
    assert_eq!(third.holder, a.name);
    let last = third.holdings.last().expect("holding");
    let now = today();
    assert_eq!(last.start_date, Some(now));
    assert_eq!(third.holdings[1].end_date, Some(now));
    server.stop().await;
}

async fn post_assignment_refusals(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let a = create_person(&mut c, &adr.name, "Ana Popescu").await;
    let b = create_person(&mut c, &adr.name, "Bogdan Ionescu").await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    assign(&mut c, &ncp.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("assign A");
    let held = assign(&mut c, &ncp.name, &b.name, Some(date(2026, 3, 1)))
        .await
        .accepted("assign B");

    let status = assign(&mut c, &ncp.name, &b.name, Some(date(2026, 4, 1)))
        .await
        .refused("assigning the current holder again");
    assert_reason(&status, Code::FailedPrecondition, "ALREADY_HOLDER");
    let status = assign(&mut c, &ncp.name, &a.name, Some(date(2026, 2, 28)))
        .await
        .refused("a start before the current holding's start");
    assert_invalid(&status, "start_date");
    let status = assign(
        &mut c,
        &ncp.name,
        "people/does-not-exist",
        Some(date(2026, 4, 1)),
    )
    .await
    .refused("a person who does not exist");
    assert_invalid(&status, "person");
    let status = assign(&mut c, &ncp.name, &adr.name, Some(date(2026, 4, 1)))
        .await
        .refused("an organisation as holder");
    assert_invalid(&status, "person");
    let status = assign(&mut c, &ncp.name, "", None)
        .await
        .refused("no person");
    assert_invalid(&status, "person");
    let status = c
        .assign_post_holder(pb::AssignPostHolderRequest {
            name: ncp.name.clone(),
            person: a.name.clone(),
            ..Default::default()
        })
        .await
        .refused("no decided_by");
    assert_invalid(&status, "decided_by");
    let status = c
        .assign_post_holder(pb::AssignPostHolderRequest {
            name: ncp.name.clone(),
            person: a.name.clone(),
            etag: ncp.etag.clone(),
            decided_by: "x".into(),
            start_date: Some(date(2026, 4, 1)),
            ..Default::default()
        })
        .await
        .refused("a stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = c
        .assign_post_holder(pb::AssignPostHolderRequest {
            name: ncp.name.clone(),
            person: b.name.clone(),
            etag: ncp.etag.clone(),
            decided_by: "x".into(),
            ..Default::default()
        })
        .await
        .refused("the current holder again, with a stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = assign(&mut c, &ncp.name, &a.name, Some(date(2026, 4, 31)))
        .await
        .refused("31 April");
    assert_invalid(&status, "start_date");
    assert_eq!(
        get_post(&mut c, &ncp.name).await,
        held,
        "refusals change nothing"
    );

    c.assign_post_holder(pb::AssignPostHolderRequest {
        name: ncp.name.clone(),
        person: a.name.clone(),
        etag: held.etag.clone(),
        decided_by: "x".into(),
        start_date: Some(date(2026, 3, 1)),
        ..Default::default()
    })
    .await
    .accepted("the current etag, a start on the current start");
    server.stop().await;
}

/// Assignments racing on one post may each succeed (a later one simply
/// follows an earlier one), but the holdings always form one chain: each
/// ends the day the next starts, only the last is open, and it is the holder.
async fn concurrent_assignments_keep_one_chain_of_holdings(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let mut people = Vec::new();
    for i in 0..4 {
        people.push(
            create_person(&mut c, &adr.name, &format!("Candidate {i}"))
                .await
                .name,
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for person in people.clone() {
        let mut c = c.clone();
        let post = ncp.name.clone();
        tasks.spawn(async move {
            assign(&mut c, &post, &person, Some(date(2026, 1, 1)))
                .await
                .map(|_| person)
        });
    }
    let outcomes = tasks.join_all().await;
    let won: Vec<&String> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(!won.is_empty(), "someone is assigned: {outcomes:?}");
    for status in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert_code(status, Code::Aborted);
    }

    let post = get_post(&mut c, &ncp.name).await;
    assert_eq!(
        post.holdings.len(),
        won.len(),
        "one holding per successful call"
    );
    assert_eq!(
        set(&post.holdings.iter().map(|h| &h.person).collect::<Vec<_>>()),
        set(&won)
    );
    for pair in post.holdings.windows(2) {
        assert_eq!(pair[0].end_date, pair[1].start_date, "holdings chain up");
    }
    let last = post.holdings.last().expect("a holding");
    assert_eq!(last.end_date, None, "only the last holding is open");
    assert_eq!(post.holder, last.person);
    server.stop().await;
}

async fn list_posts_filters(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let a = create_person(&mut c, &adr.name, "Ana Popescu").await;
    let b = create_person(&mut c, &adr.name, "Bogdan Ionescu").await;
    let ro = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let se = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "SE").await;
    let chair = create_post(&mut c, &task_force.name, pb::Role::TaskForceChair, "").await;
    assign(&mut c, &ro.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("A holds RO");
    assign(&mut c, &ro.name, &b.name, Some(date(2026, 3, 1)))
        .await
        .accepted("B holds RO");
    assign(&mut c, &chair.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("A chairs the task force");

    let cases: Vec<(String, Vec<&String>)> = vec![
        (format!(r#"holder = "{}""#, b.name), vec![&ro.name]),
        (
            format!(r#"holder = "{}""#, a.name),
            vec![&chair.name], // A no longer holds RO
        ),
        (r#"country_code = "RO""#.into(), vec![&ro.name]),
        (r#"country_code = "se""#.into(), vec![&se.name]),
        (
            "role = NATIONAL_CONTACT_POINT".into(),
            vec![&ro.name, &se.name],
        ),
        (
            format!(r#"group = "{}""#, task_force.name),
            vec![&chair.name],
        ),
        (
            r#"role = NATIONAL_CONTACT_POINT AND country_code = "RO""#.into(),
            vec![&ro.name],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&post_names(&mut c, &filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    let status = c
        .list_posts(pb::ListPostsRequest {
            filter: "popescu".into(),
            ..Default::default()
        })
        .await
        .refused("ListPosts with free text");
    assert_invalid(&status, "filter");
    server.stop().await;
}

// ------------------------------------------------- operations: health etc. --

async fn readiness_waits_for_migrations(backend: Backend) {
    let server = TestServer::start(&backend, "membership", innolab_tests::membership, |s| {
        s.migrate_on_start = false;
    })
    .await;
    server
        .wait_for(innolab_kit::server::LIVENESS, ServingStatus::Serving)
        .await;
    assert_eq!(server.health("").await, ServingStatus::NotServing);
    assert_eq!(server.health(SERVICE).await, ServingStatus::NotServing);
    let mut c = MembershipServiceClient::new(server.channel().await);
    let status = list_orgs_page(&mut c, "", 0, "")
        .await
        .refused("a call before migrations");
    assert_code(&status, Code::Unavailable);

    let settings = Settings::new(server.db.settings.clone());
    innolab_kit::cli::migrate_with(&settings, &innolab_membership::SPEC.migrations)
        .await
        .expect("migrate command");
    server.wait_for("", ServingStatus::Serving).await;
    server.wait_for(SERVICE, ServingStatus::Serving).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    assert_eq!(org_names(&mut c, "").await, vec![o.name]);
    server.stop().await;
}

/// A server whose database is unreachable stays NOT_SERVING and refuses
/// calls with UNAVAILABLE at once (no wait for a database timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_is_not_serving_and_unavailable() {
    let server = TestServer::start(
        &Backend::Sqlite,
        "membership",
        innolab_tests::membership,
        |s| {
            s.database =
                DatabaseSettings::new("postgres://postgres@127.0.0.1:1/none", "membership", 2)
                    .expect("database settings");
        },
    )
    .await;
    server
        .wait_for(innolab_kit::server::LIVENESS, ServingStatus::Serving)
        .await;
    let mut c = MembershipServiceClient::new(server.channel().await);
    for _ in 0..3 {
        assert_eq!(server.health("").await, ServingStatus::NotServing);
        assert_eq!(server.health(SERVICE).await, ServingStatus::NotServing);
        let started = Instant::now();
        let status = create_org_status(&mut c).await;
        assert_code(&status, Code::Unavailable);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "UNAVAILABLE comes at once, not after a database timeout ({:?})",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    server.stop().await;
}

async fn create_org_status(c: &mut Client) -> Status {
    try_create_org(c, org("RO", "ADR"), "")
        .await
        .refused("CreateOrganization without a database")
}

async fn reflection_lists_services(backend: Backend) {
    use tonic_reflection::pb::v1::ServerReflectionRequest as ReqV1;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient as V1;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest as RequestV1;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse as ResponseV1;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest as ReqV1alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as V1alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as RequestV1alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as ResponseV1alpha;

    let (server, _) = start(&backend).await;
    let channel = server.channel().await;

    let request = ReqV1 {
        host: String::new(),
        message_request: Some(RequestV1::ListServices(String::new())),
    };
    let mut stream = V1::new(channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await
        .accepted("reflection v1")
        .message()
        .await
        .expect("v1 stream")
        .expect("v1 answer");
    let Some(ResponseV1::ListServicesResponse(list)) = stream.message_response.take() else {
        panic!("v1 answered {:?}", stream.message_response);
    };
    let services: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [SERVICE, "grpc.health.v1.Health"] {
        assert!(
            services.contains(expected),
            "v1 lists {expected}: {services:?}"
        );
    }

    let request = ReqV1alpha {
        host: String::new(),
        message_request: Some(RequestV1alpha::ListServices(String::new())),
    };
    let mut answer = V1alpha::new(channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await
        .accepted("reflection v1alpha")
        .message()
        .await
        .expect("v1alpha stream")
        .expect("v1alpha answer");
    let Some(ResponseV1alpha::ListServicesResponse(list)) = answer.message_response.take() else {
        panic!("v1alpha answered {:?}", answer.message_response);
    };
    let services: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        services.contains(SERVICE),
        "v1alpha lists {SERVICE}: {services:?}"
    );

    // The descriptor of the service is served too.
    let request = ReqV1 {
        host: String::new(),
        message_request: Some(RequestV1::FileContainingSymbol(SERVICE.into())),
    };
    let answer = V1::new(channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await
        .accepted("reflection v1 file containing symbol")
        .message()
        .await
        .expect("v1 stream")
        .expect("v1 answer");
    assert!(
        matches!(
            answer.message_response,
            Some(ResponseV1::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()
        ),
        "descriptor of {SERVICE}: {:?}",
        answer.message_response.map(|_| "another answer")
    );

    // An unknown symbol is answered with an error_response on a stream that
    // stays open: the next request on it is answered (as grpcurl expects).
    let (ask, asked) = tokio::sync::mpsc::channel(4);
    let mut answers = V1::new(channel.clone())
        .server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(asked))
        .await
        .accepted("reflection v1 session");
    for symbol in ["innolab.membership.v1.NoSuchThing", SERVICE] {
        ask.send(ReqV1 {
            host: String::new(),
            message_request: Some(RequestV1::FileContainingSymbol(symbol.into())),
        })
        .await
        .unwrap();
        let answer = answers
            .message()
            .await
            .expect("stream open")
            .expect("answer");
        match (symbol, answer.message_response) {
            (SERVICE, Some(ResponseV1::FileDescriptorResponse(f))) => {
                assert!(!f.file_descriptor_proto.is_empty());
            }
            (_, Some(ResponseV1::ErrorResponse(e))) if symbol != SERVICE => {
                assert_eq!(e.error_code, tonic::Code::NotFound as i32);
                assert!(e.error_message.contains(symbol), "{}", e.error_message);
            }
            (_, other) => panic!("{symbol}: {other:?}"),
        }
    }
    drop(ask);
    assert!(answers.message().await.expect("clean end").is_none());
    let (ask, asked) = tokio::sync::mpsc::channel(4);
    let mut answers = V1alpha::new(channel)
        .server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(asked))
        .await
        .accepted("reflection v1alpha session");
    for file in ["no/such.proto", "innolab/membership/v1/membership.proto"] {
        ask.send(ReqV1alpha {
            host: String::new(),
            message_request: Some(RequestV1alpha::FileByFilename(file.into())),
        })
        .await
        .unwrap();
        let answer = answers
            .message()
            .await
            .expect("stream open")
            .expect("answer");
        let ok = matches!(
            answer.message_response,
            Some(ResponseV1alpha::FileDescriptorResponse(_))
        );
        let refused = matches!(answer.message_response, Some(ResponseV1alpha::ErrorResponse(ref e)) if e.error_code == tonic::Code::NotFound as i32);
        assert!(
            if file.starts_with("no/") { refused } else { ok },
            "{file}: {:?}",
            answer.message_response
        );
    }
    server.stop().await;
}

async fn stop_is_graceful_after_calls(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let m = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    decide(&mut c, &m, Move::Approve(None)).await;
    let addr = server.addr;
    // The client keeps its connection open: an idle connection must not hold
    // the shutdown up.
    let started = Instant::now();
    server.stop().await; // asserts a clean exit within 30 s
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed after stop"
    );
    drop(c);
}

/// Updates sent without an etag, racing on different fields: every update
/// that reports success is in the final record (a loser is ABORTED, never
/// silently undone by a writer that merged onto an older read).
async fn concurrent_updates_without_etag_lose_nothing(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let created = create_org(&mut c, org("RO", "Consiliul Județean Cluj")).await;
    let changes: Vec<(&str, pb::Organization)> = vec![
        (
            "homepage_uri",
            pb::Organization {
                homepage_uri: "https://cjcluj.ro".into(),
                ..created.clone()
            },
        ),
        (
            "nuts_code",
            pb::Organization {
                nuts_code: "RO113".into(),
                ..created.clone()
            },
        ),
        (
            "subdivision_code",
            pb::Organization {
                subdivision_code: "RO-CJ".into(),
                ..created.clone()
            },
        ),
        (
            "sector",
            pb::Organization {
                sector: pb::GovernmentFunction::GeneralPublicServices as i32,
                ..created.clone()
            },
        ),
    ];
    let channel = server.channel().await;
    let mut tasks = Vec::new();
    for (path, mut organization) in changes {
        organization.etag = String::new();
        let mut client = Client::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            let result = client
                .update_organization(pb::UpdateOrganizationRequest {
                    organization: Some(organization),
                    update_mask: mask(&[path]),
                })
                .await;
            (path, result.map(|_| ()).map_err(|s| s.code()))
        }));
    }
    let mut succeeded = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (path, Ok(())) => succeeded.push(path),
            (_, Err(code)) => assert_eq!(code, Code::Aborted, "a loser is ABORTED"),
        }
    }
    assert!(!succeeded.is_empty());
    let last = get_org(&mut c, &created.name).await;
    for path in &succeeded {
        let kept = match *path {
            "homepage_uri" => last.homepage_uri == "https://cjcluj.ro",
            "nuts_code" => last.nuts_code == "RO113",
            "subdivision_code" => last.subdivision_code == "RO-CJ",
            _ => last.sector == pb::GovernmentFunction::GeneralPublicServices as i32,
        };
        assert!(kept, "the successful update of {path} was lost: {last:?}");
    }
    assert_eq!(last.etag, format!("r{}", 1 + succeeded.len()));
    server.stop().await;
}
