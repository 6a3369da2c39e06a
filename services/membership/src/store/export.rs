//! Reads for the open-data export: the whole network inside one snapshot
//! (`innolab_kit::store::Snapshot`), each collection page by page on the
//! snapshot's connection, so the four agree with each other and with the
//! change-log sequence the release names. The network is small (thousands
//! of records) and Popolo and W3C ORG are single documents of all four, so
//! it is held whole.

use std::future::Future;

use innolab_kit::Error;
use innolab_kit::page::all;
use innolab_kit::store::Snapshot;

use super::Store;
use crate::domain::{
    Group, GroupQuery, Membership, MembershipQuery, Organization, OrganizationQuery, Post,
    PostQuery,
};

/// The network as one snapshot holds it, each collection in id order.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Every organisation.
    pub organizations: Vec<Organization>,
    /// Every group.
    pub groups: Vec<Group>,
    /// Every membership.
    pub memberships: Vec<Membership>,
    /// Every post.
    pub posts: Vec<Post>,
}

/// Reads the whole network in `snapshot`.
pub async fn network(snapshot: &mut Snapshot) -> Result<Network, Error> {
    let organizations = all(async |page| {
        Store::organizations_in(snapshot.connection(), &OrganizationQuery::default(), page).await
    })
    .await?;
    let groups = all(async |page| {
        Store::groups_in(snapshot.connection(), &GroupQuery::default(), page).await
    })
    .await?;
    let memberships = all(async |page| {
        Store::memberships_in(snapshot.connection(), &MembershipQuery::default(), page).await
    })
    .await?;
    let posts =
        all(async |page| Store::posts_in(snapshot.connection(), &PostQuery::default(), page).await)
            .await?;
    Ok(Network {
        organizations,
        groups,
        memberships,
        posts,
    })
}

/// Every organisation in `snapshot`, handed to `sink` page by page in id
/// order (the open-data stream).
pub async fn each_organization<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Organization) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let query = OrganizationQuery::default();
    snapshot
        .pages(
            &query,
            |c, q, p| Box::pin(Store::organizations_in(c, q, p)),
            sink,
        )
        .await
}

/// Every group in `snapshot`, in id order (as [`each_organization`]).
pub async fn each_group<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Group) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let query = GroupQuery::default();
    snapshot
        .pages(&query, |c, q, p| Box::pin(Store::groups_in(c, q, p)), sink)
        .await
}

/// Every membership in `snapshot`, in id order (as [`each_organization`]).
pub async fn each_membership<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Membership) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let query = MembershipQuery::default();
    snapshot
        .pages(
            &query,
            |c, q, p| Box::pin(Store::memberships_in(c, q, p)),
            sink,
        )
        .await
}

/// Every post in `snapshot`, in id order (as [`each_organization`]).
pub async fn each_post<E, F, Fut>(snapshot: &mut Snapshot, sink: F) -> Result<u64, E>
where
    E: From<Error>,
    F: FnMut(Post) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let query = PostQuery::default();
    snapshot
        .pages(&query, |c, q, p| Box::pin(Store::posts_in(c, q, p)), sink)
        .await
}
