//! The gRPC API: protobuf <-> domain, and nothing else. The only module of the
//! service that knows generated types.

use innolab_kit::api::{
    ChangeStream, Pages, Reply, date_in, date_out, merge, reply, stream_changes, timestamp,
};
use innolab_kit::page::PageTokens;
use innolab_kit::store::ChangeLog;
use innolab_kit::{Error, Violations};
use innolab_proto::google::r#type::Date as PbDate;
use innolab_proto::innolab::membership::v1 as pb;
use pb::membership_service_server::MembershipService;
use tonic::Request;

use crate::domain::{
    self, Action, Assignment, Decision, DecisionFields, GovernmentFunction, GovernmentLevel,
    GroupFields, GroupKind, GroupQuery, Identifier, LocalizedText, MembershipFields,
    MembershipQuery, MembershipState, OrganizationFields, OrganizationKind, OrganizationQuery,
    PersonFields, PersonQuery, PostFields, PostQuery, Role, Transition, check,
};
use crate::store::Store;

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
}

/// The id in `name`, or INVALID_ARGUMENT naming `field`.
fn id(field: &str, name: &str, collection: &str) -> Result<String, Error> {
    check::resource_id(name, collection).map_err(|e| Error::invalid(field, e))
}

#[tonic::async_trait]
impl MembershipService for MembershipApi {
    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Reply<Self::StreamChangesStream> {
        let r = request.into_inner();
        stream_changes(r.after_sequence, |after| {
            self.store.changes(after, r.follow)
        })
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
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            decided_by: r.decided_by,
            reason: r.reason,
            date: r.effective_date,
        };
        reply(self.transition(Action::Approve, step).await)
    }

    async fn reject_membership(
        &self,
        request: Request<pb::RejectMembershipRequest>,
    ) -> Reply<pb::Membership> {
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            decided_by: r.decided_by,
            reason: r.reason,
            date: None,
        };
        reply(self.transition(Action::Reject, step).await)
    }

    async fn suspend_membership(
        &self,
        request: Request<pb::SuspendMembershipRequest>,
    ) -> Reply<pb::Membership> {
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            decided_by: r.decided_by,
            reason: r.reason,
            date: None,
        };
        reply(self.transition(Action::Suspend, step).await)
    }

    async fn reinstate_membership(
        &self,
        request: Request<pb::ReinstateMembershipRequest>,
    ) -> Reply<pb::Membership> {
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            decided_by: r.decided_by,
            reason: r.reason,
            date: None,
        };
        reply(self.transition(Action::Reinstate, step).await)
    }

    async fn end_membership(
        &self,
        request: Request<pb::EndMembershipRequest>,
    ) -> Reply<pb::Membership> {
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            decided_by: r.decided_by,
            reason: r.reason,
            date: r.effective_date,
        };
        reply(self.transition(Action::End, step).await)
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
                Ok(post_pb(
                    self.store.assign_post_holder(&post_id, &assignment).await?,
                ))
            }
            .await,
        )
    }
}

/// The common fields of the membership transition requests.
struct Step {
    name: String,
    etag: String,
    decided_by: String,
    reason: String,
    date: Option<PbDate>,
}

impl MembershipApi {
    async fn transition(&self, action: Action, step: Step) -> Result<pb::Membership, Error> {
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
        Ok(membership_pb(
            self.store.transition_membership(&id, &transition).await?,
        ))
    }
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

fn organization_fields(o: pb::Organization) -> Result<OrganizationFields, Error> {
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

fn organization_pb(o: domain::Organization) -> pb::Organization {
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

fn person_fields(p: pb::Person) -> PersonFields {
    PersonFields {
        organization: p.organization,
        display_name: p.display_name,
        email: p.email,
        phone: p.phone,
        language_codes: p.language_codes,
    }
}

fn person_pb(p: domain::Person) -> pb::Person {
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

fn group_fields(g: pb::Group) -> Result<GroupFields, Error> {
    Ok(GroupFields {
        display_name: g.display_name,
        description: g.description,
        kind: group_kind_in("kind", g.kind)?,
        parent: g.parent,
    })
}

fn group_pb(g: domain::Group) -> pb::Group {
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

fn membership_fields(m: pb::Membership) -> Result<MembershipFields, Error> {
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

fn membership_pb(m: domain::Membership) -> pb::Membership {
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

fn post_fields(p: pb::Post) -> Result<PostFields, Error> {
    Ok(PostFields {
        group: p.group,
        role: role_in("role", p.role)?,
        country_code: p.country_code,
    })
}

fn post_pb(p: domain::Post) -> pb::Post {
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
