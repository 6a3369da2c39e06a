//! The organisation profile: the organisation, its people's posts and the
//! initiatives it leads or partners in.

use super::*;

impl Compose {
    /// GetOrganizationProfile.
    pub async fn profile(
        &self,
        ctx: &CallContext,
        name: &str,
    ) -> Result<pb::OrganizationProfile, Status> {
        check_name(name, "organizations")?;
        let members = self.membership().map_err(required)?;
        let (organization, memberships, posts, led, partnered, capacity) = tokio::join!(
            self.organization(ctx, name),
            async {
                Ok(members
                    .clone()
                    .list_memberships(ctx.call(membership::ListMembershipsRequest {
                        page_size: LIST_LIMIT,
                        page_token: String::new(),
                        filter: format!("member = {name:?}"),
                    }))
                    .await
                    .map_err(failed("membership"))?
                    .into_inner()
                    .memberships)
            },
            self.posts_of_people(ctx, &members, name),
            self.initiatives_where(ctx, format!("lead_organization = {name:?}")),
            self.initiatives_where(ctx, format!("partner = {name:?}")),
            async {
                Ok(self
                    .impact()?
                    .list_capacity_assessments(ctx.call(impact::ListCapacityAssessmentsRequest {
                        page_size: LIST_LIMIT,
                        page_token: String::new(),
                        filter: format!("subject = {name:?}"),
                    }))
                    .await
                    .map_err(failed("impact"))?
                    .into_inner()
                    .capacity_assessments)
            },
        );
        let mut profile = pb::OrganizationProfile {
            organization: Some(organization.map_err(required)?),
            memberships: memberships.map_err(required)?,
            posts: posts.map_err(required)?,
            ..Default::default()
        };
        match led {
            Ok(list) => profile.led_initiatives = list,
            Err(f) => profile.missing_parts.push(missing("led_initiatives", &f)),
        }
        match partnered {
            Ok(list) => profile.partner_initiatives = list,
            Err(f) => profile
                .missing_parts
                .push(missing("partner_initiatives", &f)),
        }
        match capacity {
            Ok(list) => profile.capacity_assessments = list,
            Err(f) => profile
                .missing_parts
                .push(missing("capacity_assessments", &f)),
        }
        Ok(profile)
    }

    /// The posts currently held by the people of `organization`.
    async fn posts_of_people(
        &self,
        ctx: &CallContext,
        client: &MembershipServiceClient<Channel>,
        organization: &str,
    ) -> Part<Vec<membership::Post>> {
        let people: Vec<String> = client
            .clone()
            .list_people(ctx.call(membership::ListPeopleRequest {
                page_size: LIST_LIMIT,
                page_token: String::new(),
                filter: format!("organization = {organization:?}"),
            }))
            .await
            .map_err(failed("membership"))?
            .into_inner()
            .people
            .into_iter()
            .map(|p| p.name)
            .collect();
        let calls = people.chunks(NAMES_PER_FILTER).map(|chunk| {
            let mut client = client.clone();
            let request = ctx.call(membership::ListPostsRequest {
                page_size: LIST_LIMIT,
                page_token: String::new(),
                filter: any_of("holder", chunk),
            });
            async move {
                Ok(client
                    .list_posts(request)
                    .await
                    .map_err(failed("membership"))?
                    .into_inner()
                    .posts)
            }
        });
        let mut posts: Vec<membership::Post> = bounded(calls.collect())
            .await?
            .into_iter()
            .flatten()
            .collect();
        posts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(posts)
    }
}
