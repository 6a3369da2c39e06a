//! End-to-end tests of the membership service: a real server on
//! `127.0.0.1:0` over a fresh database, real gRPC, every rule of
//! `proto/innolab/membership/v1/membership.proto` shown from the caller's side.
//!
//! Each test makes its own data on its own database and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set (the `postgres::`
//! tests of each module).
//!
//! This file holds what the modules share: the client, the request builders
//! and the calls the tests make again and again. Each module holds the tests
//! of one resource or one concern.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_tests::assert::{Outcome, assert_code, assert_invalid, assert_reason, date, mask};
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

mod export;
mod filters;
mod groups;
mod memberships;
mod operations;
mod organizations;
mod pagination;
mod people;
mod posts;
mod updates;

// ---------------------------------------------------------------- helpers --

async fn start(backend: &Backend) -> (TestServer, Client) {
    let server = TestServer::membership(backend).await;
    let client = MembershipServiceClient::new(server.channel().await);
    (server, client)
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
    try_apply(c, membership(group, member, role), "people/applicant", "")
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
    decide_with(c, &m.name, "", "posts/secretary", step)
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
        decided_by: "groups/task-force".into(),
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
