//! The gRPC API: the tonic service and its handlers. With `convert`, the
//! only module of the service that knows generated types.

mod convert;

use innolab_kit::Error;
use innolab_kit::api::{self, ChangeStream, Pages, Reply, ServerStream, merge, reply};
use innolab_kit::page::PageTokens;
use innolab_proto::innolab::common::v1::{
    FindPersonReferencesRequest, FindPersonReferencesResponse,
};
use innolab_proto::innolab::membership::v1 as pb;
use pb::membership_service_server::MembershipService;
use tonic::Request;

use crate::domain::{
    self, Action, Decision, DecisionFields, GroupFields, GroupQuery, MembershipFields,
    MembershipQuery, OrganizationFields, OrganizationQuery, PersonQuery, PostFields, PostQuery,
    check,
};
use crate::export;
use crate::store::Store;
use convert::{
    Step, assignment_in, group_fields, group_pb, id, membership_fields, membership_pb,
    organization_fields, organization_pb, person_fields, person_pb, post_fields, post_pb,
    transition_in,
};

/// The MembershipService implementation.
#[derive(Debug, Clone)]
pub struct MembershipApi {
    store: Store,
    pages: Pages,
}

impl MembershipApi {
    /// An API over `store`, signing page tokens with `tokens`.
    pub fn new(store: Store, tokens: PageTokens) -> Self {
        MembershipApi {
            store,
            pages: Pages::new(tokens),
        }
    }

    /// Applies the membership transition `action` that `step` asks for.
    async fn transition(&self, action: Action, step: Step) -> Result<pb::Membership, Error> {
        let (id, transition) = transition_in(action, step)?;
        Ok(membership_pb(
            self.store.transition_membership(&id, &transition).await?,
        ))
    }
}

#[tonic::async_trait]
impl MembershipService for MembershipApi {
    type StreamChangesStream = ChangeStream;

    type ExportOrganizationsStream = ServerStream<pb::ExportOrganizationsResponse>;

    async fn export_organizations(
        &self,
        _: Request<pb::ExportOrganizationsRequest>,
    ) -> Reply<Self::ExportOrganizationsStream> {
        api::export(export::organizations(&self.store), |o| {
            pb::ExportOrganizationsResponse {
                organization: Some(organization_pb(o)),
            }
        })
    }

    type ExportGroupsStream = ServerStream<pb::ExportGroupsResponse>;

    async fn export_groups(
        &self,
        _: Request<pb::ExportGroupsRequest>,
    ) -> Reply<Self::ExportGroupsStream> {
        api::export(export::groups(&self.store), |g| pb::ExportGroupsResponse {
            group: Some(group_pb(g)),
        })
    }

    type ExportMembershipsStream = ServerStream<pb::ExportMembershipsResponse>;

    async fn export_memberships(
        &self,
        _: Request<pb::ExportMembershipsRequest>,
    ) -> Reply<Self::ExportMembershipsStream> {
        api::export(export::memberships(&self.store), |m| {
            let mut membership = membership_pb(m);
            for event in &mut membership.history {
                api::unname(&mut event.decided_by);
            }
            pb::ExportMembershipsResponse {
                membership: Some(membership),
            }
        })
    }

    type ExportPostsStream = ServerStream<pb::ExportPostsResponse>;

    async fn export_posts(
        &self,
        _: Request<pb::ExportPostsRequest>,
    ) -> Reply<Self::ExportPostsStream> {
        api::export(export::posts(&self.store), |p| {
            let mut post = post_pb(p);
            post.holder.clear();
            for holding in &mut post.holdings {
                holding.person.clear();
                holding.reason.clear();
                api::unname(&mut holding.decided_by);
            }
            pb::ExportPostsResponse { post: Some(post) }
        })
    }

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Reply<Self::StreamChangesStream> {
        innolab_kit::api::changes(&self.store, request)
    }

    async fn find_person_references(
        &self,
        request: Request<FindPersonReferencesRequest>,
    ) -> Reply<FindPersonReferencesResponse> {
        innolab_kit::api::person_references(
            "membership",
            request.into_inner(),
            |person| async move { self.store.find_person_references(&person).await },
        )
        .await
    }

    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Reply<pb::Organization> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let org = r
                    .organization
                    .ok_or_else(|| Error::invalid("organization", "is required"))?;
                let fields = organization_fields(org)
                    .and_then(OrganizationFields::validate)
                    .map_err(|e| e.within("organization"))?;
                let stored = self
                    .store
                    .create_organization(&fields, request_id.as_deref())
                    .await?;
                Ok(organization_pb(stored))
            }
            .await,
        )
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Reply<pb::Organization> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "organizations")?;
                Ok(organization_pb(self.store.get_organization(&id).await?))
            }
            .await,
        )
    }

    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Reply<pb::ListOrganizationsResponse> {
        const METHOD: &str = "ListOrganizations";
        let r = request.into_inner();
        reply(
            async {
                let query = OrganizationQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_organizations(&query, &page).await?;
                Ok(pb::ListOrganizationsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    organizations: found.items.into_iter().map(organization_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Reply<pb::Organization> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .organization
                    .ok_or_else(|| Error::invalid("organization", "is required"))?;
                let id = id("organization.name", &new.name, "organizations")?;
                let expected =
                    domain::parse_etag(&new.etag).map_err(|e| e.within("organization"))?;
                let current = organization_pb(self.store.get_organization(&id).await?);
                // Without an etag, the write still requires the revision merged onto.
                let expected = expected.or(domain::parse_etag(&current.etag)?);
                let merged = merge(
                    current,
                    new,
                    r.update_mask,
                    &[
                        "display_names",
                        "identifiers",
                        "kind",
                        "government_level",
                        "country_code",
                        "subdivision_code",
                        "nuts_code",
                        "sector",
                        "homepage_uri",
                        "parent",
                    ],
                    |cur, new, path| match path {
                        "display_names" => cur.display_names = new.display_names.clone(),
                        "identifiers" => cur.identifiers = new.identifiers.clone(),
                        "kind" => cur.kind = new.kind,
                        "government_level" => cur.government_level = new.government_level,
                        "country_code" => cur.country_code = new.country_code.clone(),
                        "subdivision_code" => cur.subdivision_code = new.subdivision_code.clone(),
                        "nuts_code" => cur.nuts_code = new.nuts_code.clone(),
                        "sector" => cur.sector = new.sector,
                        "homepage_uri" => cur.homepage_uri = new.homepage_uri.clone(),
                        _ => cur.parent = new.parent.clone(),
                    },
                )?;
                let fields = organization_fields(merged)
                    .and_then(OrganizationFields::validate)
                    .map_err(|e| e.within("organization"))?;
                let stored = self
                    .store
                    .update_organization(&id, expected, &fields)
                    .await?;
                Ok(organization_pb(stored))
            }
            .await,
        )
    }

    async fn create_person(&self, request: Request<pb::CreatePersonRequest>) -> Reply<pb::Person> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let person = r
                    .person
                    .ok_or_else(|| Error::invalid("person", "is required"))?;
                let fields = person_fields(person)
                    .validate()
                    .map_err(|e| e.within("person"))?;
                let stored = self
                    .store
                    .create_person(&fields, request_id.as_deref())
                    .await?;
                Ok(person_pb(stored))
            }
            .await,
        )
    }

    async fn get_person(&self, request: Request<pb::GetPersonRequest>) -> Reply<pb::Person> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "people")?;
                Ok(person_pb(self.store.get_person(&id).await?))
            }
            .await,
        )
    }

    async fn list_people(
        &self,
        request: Request<pb::ListPeopleRequest>,
    ) -> Reply<pb::ListPeopleResponse> {
        const METHOD: &str = "ListPeople";
        let r = request.into_inner();
        reply(
            async {
                let query = PersonQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_people(&query, &page).await?;
                Ok(pb::ListPeopleResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    people: found.items.into_iter().map(person_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_person(&self, request: Request<pb::UpdatePersonRequest>) -> Reply<pb::Person> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .person
                    .ok_or_else(|| Error::invalid("person", "is required"))?;
                let id = id("person.name", &new.name, "people")?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("person"))?;
                let stored = self.store.get_person(&id).await?;
                // Checked before merging: an erased record would fail validation first.
                stored.ensure_not_erased()?;
                let current = person_pb(stored);
                let expected = expected.or(domain::parse_etag(&current.etag)?);
                let merged = merge(
                    current,
                    new,
                    r.update_mask,
                    &[
                        "organization",
                        "display_name",
                        "email",
                        "phone",
                        "language_codes",
                    ],
                    |cur, new, path| match path {
                        "organization" => cur.organization = new.organization.clone(),
                        "display_name" => cur.display_name = new.display_name.clone(),
                        "email" => cur.email = new.email.clone(),
                        "phone" => cur.phone = new.phone.clone(),
                        _ => cur.language_codes = new.language_codes.clone(),
                    },
                )?;
                let fields = person_fields(merged)
                    .validate()
                    .map_err(|e| e.within("person"))?;
                let stored = self.store.update_person(&id, expected, &fields).await?;
                Ok(person_pb(stored))
            }
            .await,
        )
    }

    async fn erase_person(&self, request: Request<pb::ErasePersonRequest>) -> Reply<pb::Person> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "people")?;
                let reason = check::required_text(&r.reason, 2000)
                    .map_err(|e| Error::invalid("reason", e))?;
                Ok(person_pb(self.store.erase_person(&id, &reason).await?))
            }
            .await,
        )
    }

    async fn create_group(&self, request: Request<pb::CreateGroupRequest>) -> Reply<pb::Group> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let group = r
                    .group
                    .ok_or_else(|| Error::invalid("group", "is required"))?;
                let fields = group_fields(group)
                    .and_then(GroupFields::validate)
                    .map_err(|e| e.within("group"))?;
                let stored = self
                    .store
                    .create_group(&fields, request_id.as_deref())
                    .await?;
                Ok(group_pb(stored))
            }
            .await,
        )
    }

    async fn get_group(&self, request: Request<pb::GetGroupRequest>) -> Reply<pb::Group> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "groups")?;
                Ok(group_pb(self.store.get_group(&id).await?))
            }
            .await,
        )
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListGroupsRequest>,
    ) -> Reply<pb::ListGroupsResponse> {
        const METHOD: &str = "ListGroups";
        let r = request.into_inner();
        reply(
            async {
                let query = GroupQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_groups(&query, &page).await?;
                Ok(pb::ListGroupsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    groups: found.items.into_iter().map(group_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_group(&self, request: Request<pb::UpdateGroupRequest>) -> Reply<pb::Group> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .group
                    .ok_or_else(|| Error::invalid("group", "is required"))?;
                let id = id("group.name", &new.name, "groups")?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("group"))?;
                let current = group_pb(self.store.get_group(&id).await?);
                let expected = expected.or(domain::parse_etag(&current.etag)?);
                let merged = merge(
                    current,
                    new,
                    r.update_mask,
                    &["display_name", "description", "kind", "parent"],
                    |cur, new, path| match path {
                        "display_name" => cur.display_name = new.display_name.clone(),
                        "description" => cur.description = new.description.clone(),
                        "kind" => cur.kind = new.kind,
                        _ => cur.parent = new.parent.clone(),
                    },
                )?;
                let fields = group_fields(merged)
                    .and_then(GroupFields::validate)
                    .map_err(|e| e.within("group"))?;
                let stored = self.store.update_group(&id, expected, &fields).await?;
                Ok(group_pb(stored))
            }
            .await,
        )
    }

    async fn create_membership(
        &self,
        request: Request<pb::CreateMembershipRequest>,
    ) -> Reply<pb::Membership> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let decision = Decision::new(DecisionFields::DECIDED_BY, &r.decided_by, &r.reason)?;
                let m = r
                    .membership
                    .ok_or_else(|| Error::invalid("membership", "is required"))?;
                let fields = membership_fields(m)
                    .and_then(MembershipFields::validate)
                    .map_err(|e| e.within("membership"))?;
                let stored = self
                    .store
                    .create_membership(&fields, &decision, request_id.as_deref())
                    .await?;
                Ok(membership_pb(stored))
            }
            .await,
        )
    }

    async fn get_membership(
        &self,
        request: Request<pb::GetMembershipRequest>,
    ) -> Reply<pb::Membership> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "memberships")?;
                Ok(membership_pb(self.store.get_membership(&id).await?))
            }
            .await,
        )
    }

    async fn list_memberships(
        &self,
        request: Request<pb::ListMembershipsRequest>,
    ) -> Reply<pb::ListMembershipsResponse> {
        const METHOD: &str = "ListMemberships";
        let r = request.into_inner();
        reply(
            async {
                let query = MembershipQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_memberships(&query, &page).await?;
                Ok(pb::ListMembershipsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    memberships: found.items.into_iter().map(membership_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn approve_membership(
        &self,
        request: Request<pb::ApproveMembershipRequest>,
    ) -> Reply<pb::Membership> {
        reply(
            self.transition(Action::Approve, request.into_inner().into())
                .await,
        )
    }

    async fn reject_membership(
        &self,
        request: Request<pb::RejectMembershipRequest>,
    ) -> Reply<pb::Membership> {
        reply(
            self.transition(Action::Reject, request.into_inner().into())
                .await,
        )
    }

    async fn suspend_membership(
        &self,
        request: Request<pb::SuspendMembershipRequest>,
    ) -> Reply<pb::Membership> {
        reply(
            self.transition(Action::Suspend, request.into_inner().into())
                .await,
        )
    }

    async fn reinstate_membership(
        &self,
        request: Request<pb::ReinstateMembershipRequest>,
    ) -> Reply<pb::Membership> {
        reply(
            self.transition(Action::Reinstate, request.into_inner().into())
                .await,
        )
    }

    async fn end_membership(
        &self,
        request: Request<pb::EndMembershipRequest>,
    ) -> Reply<pb::Membership> {
        reply(
            self.transition(Action::End, request.into_inner().into())
                .await,
        )
    }

    async fn create_post(&self, request: Request<pb::CreatePostRequest>) -> Reply<pb::Post> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let post = r
                    .post
                    .ok_or_else(|| Error::invalid("post", "is required"))?;
                let fields = post_fields(post)
                    .and_then(PostFields::validate)
                    .map_err(|e| e.within("post"))?;
                let stored = self
                    .store
                    .create_post(&fields, request_id.as_deref())
                    .await?;
                Ok(post_pb(stored))
            }
            .await,
        )
    }

    async fn get_post(&self, request: Request<pb::GetPostRequest>) -> Reply<pb::Post> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "posts")?;
                Ok(post_pb(self.store.get_post(&id).await?))
            }
            .await,
        )
    }

    async fn list_posts(
        &self,
        request: Request<pb::ListPostsRequest>,
    ) -> Reply<pb::ListPostsResponse> {
        const METHOD: &str = "ListPosts";
        let r = request.into_inner();
        reply(
            async {
                let query = PostQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_posts(&query, &page).await?;
                Ok(pb::ListPostsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    posts: found.items.into_iter().map(post_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn assign_post_holder(
        &self,
        request: Request<pb::AssignPostHolderRequest>,
    ) -> Reply<pb::Post> {
        let r = request.into_inner();
        reply(
            async {
                let (post_id, assignment) = assignment_in(r)?;
                Ok(post_pb(
                    self.store.assign_post_holder(&post_id, &assignment).await?,
                ))
            }
            .await,
        )
    }
}
