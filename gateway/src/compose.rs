//! What the gateway composes from several services: the initiative dossier,
//! the organisation profile and the portfolio overview.
//!
//! Each answer has one required part (its errors are the call's) and optional
//! parts fetched concurrently; an optional part whose service fails is left
//! empty and named in `missing_parts`. Every outgoing call carries the
//! caller's request id, trace context and what is left of its deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use innolab_kit::balance::Channel;
use innolab_proto::innolab::gateway::v1 as pb;
use innolab_proto::innolab::guidance::v1 as guidance;
use innolab_proto::innolab::impact::v1 as impact;
use innolab_proto::innolab::initiatives::v1 as initiatives;
use innolab_proto::innolab::membership::v1 as membership;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use guidance::guidance_service_client::GuidanceServiceClient;
use impact::impact_service_client::ImpactServiceClient;
use initiatives::initiatives_service_client::InitiativesServiceClient;
use membership::membership_service_client::MembershipServiceClient;

use crate::proxy::REQUEST_ID;
use innolab_kit::server::code_name;

/// Most items a composed list holds (one page of the service's list).
const LIST_LIMIT: i32 = 500;
/// Most guidance documents and assessments in a dossier.
const DOSSIER_LIMIT: i32 = 50;
/// Most indicators per assessment in a dossier.
const INDICATOR_LIMIT: i32 = 100;
/// Most initiatives a filtered portfolio overview joins with impact.
pub const OVERVIEW_LIMIT: usize = 1_000;
/// Initiatives per impact rollup call (the filter grammar caps terms and length).
const NAMES_PER_FILTER: usize = 25;
/// Calls in flight at once for one composed answer's fan-out.
const FAN_OUT: usize = 8;

/// Clients of the services the compositions read; `None` when the gateway
/// was configured without that service.
#[derive(Debug, Clone, Default)]
pub struct Compose {
    membership: Option<MembershipServiceClient<Channel>>,
    initiatives: Option<InitiativesServiceClient<Channel>>,
    guidance: Option<GuidanceServiceClient<Channel>>,
    impact: Option<ImpactServiceClient<Channel>>,
}

/// A failed part: which service, and its status.
#[derive(Debug)]
struct Failure {
    service: &'static str,
    status: Status,
}

type Part<T> = Result<T, Failure>;

fn failed(service: &'static str) -> impl Fn(Status) -> Failure {
    move |status| Failure {
        service,
        status: if status.code() == Code::Cancelled && status.message() == "Timeout expired" {
            // tonic's client timer: the caller's deadline passed.
            Status::deadline_exceeded("the deadline passed before it answered")
        } else {
            status
        },
    }
}

fn missing(part: &str, failure: &Failure) -> pb::MissingPart {
    pb::MissingPart {
        part: part.to_string(),
        service: failure.service.to_string(),
        code: code_name(failure.status.code()).to_string(),
        message: failure.status.message().to_string(),
    }
}

/// A required part failed: the call fails with the service's status, its
/// message prefixed by the service when the service itself is in trouble.
fn required(failure: Failure) -> Status {
    match failure.status.code() {
        Code::NotFound | Code::InvalidArgument | Code::PermissionDenied => failure.status,
        code => Status::new(
            code,
            format!("{}: {}", failure.service, failure.status.message()),
        ),
    }
}

fn unconfigured(service: &'static str) -> Failure {
    Failure {
        service,
        status: Status::unavailable(format!("the gateway has no address for {service}")),
    }
}

/// What an incoming call passes on to the calls it makes.
#[derive(Debug, Clone)]
pub struct CallContext {
    request_id: MetadataValue<tonic::metadata::Ascii>,
    deadline: Option<Instant>,
}

impl CallContext {
    /// The request id (the caller's or a new one) and deadline of `request`.
    pub fn of<T>(request: &Request<T>) -> Result<CallContext, Status> {
        let arrived = Instant::now();
        let request_id = request
            .metadata()
            .get(REQUEST_ID)
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| {
                MetadataValue::try_from(uuid::Uuid::now_v7().to_string())
                    .unwrap_or_else(|_| MetadataValue::from_static("unknown"))
            });
        let headers = request.metadata().clone().into_headers();
        let timeout = crate::proxy::grpc_timeout(&headers)?;
        Ok(CallContext {
            request_id,
            deadline: timeout.map(|t| arrived + t),
        })
    }

    /// An outgoing request carrying the context.
    fn call<M>(&self, message: M) -> Request<M> {
        // The trace context goes with the channel's CLIENT span.
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert(REQUEST_ID, self.request_id.clone());
        if let Some(deadline) = self.deadline {
            request.set_timeout(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
        }
        request
    }

    /// The response, echoing the request id.
    pub fn reply<M>(&self, message: M) -> tonic::Response<M> {
        let mut response = tonic::Response::new(message);
        response
            .metadata_mut()
            .insert(REQUEST_ID, self.request_id.clone());
        response
    }
}

/// INVALID_ARGUMENT unless `name` is `{collection}/{id}`.
fn check_name(name: &str, collection: &str) -> Result<(), Status> {
    let valid = name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    if valid {
        return Ok(());
    }
    let why = format!("must be {collection}/{{id}}, got {name:?}");
    Err(Status::with_error_details(
        Code::InvalidArgument,
        format!("name: {why}"),
        ErrorDetails::with_bad_request_violation("name", why),
    ))
}

/// `field = "a" OR field = "b"`, parenthesised.
fn any_of(field: &str, values: &[String]) -> String {
    let terms: Vec<String> = values.iter().map(|v| format!("{field} = {v:?}")).collect();
    format!("({})", terms.join(" OR "))
}

/// Runs `calls` with at most FAN_OUT in flight, keeping their order.
async fn bounded<T, F: Future<Output = Part<T>>>(calls: Vec<F>) -> Part<Vec<T>> {
    stream::iter(calls).buffered(FAN_OUT).try_collect().await
}

impl Compose {
    /// Clients over the given channels.
    pub fn new(
        membership: Option<Channel>,
        initiatives: Option<Channel>,
        guidance: Option<Channel>,
        impact: Option<Channel>,
    ) -> Self {
        Compose {
            membership: membership.map(MembershipServiceClient::new),
            initiatives: initiatives.map(InitiativesServiceClient::new),
            guidance: guidance.map(GuidanceServiceClient::new),
            impact: impact.map(ImpactServiceClient::new),
        }
    }

    fn membership(&self) -> Part<MembershipServiceClient<Channel>> {
        self.membership
            .clone()
            .ok_or_else(|| unconfigured("membership"))
    }

    fn initiatives(&self) -> Part<InitiativesServiceClient<Channel>> {
        self.initiatives
            .clone()
            .ok_or_else(|| unconfigured("initiatives"))
    }

    fn guidance(&self) -> Part<GuidanceServiceClient<Channel>> {
        self.guidance
            .clone()
            .ok_or_else(|| unconfigured("guidance"))
    }

    fn impact(&self) -> Part<ImpactServiceClient<Channel>> {
        self.impact.clone().ok_or_else(|| unconfigured("impact"))
    }

    /// GetInitiativeDossier.
    pub async fn dossier(
        &self,
        ctx: &CallContext,
        name: &str,
    ) -> Result<pb::InitiativeDossier, Status> {
        check_name(name, "initiatives")?;
        let initiative = self
            .initiatives()
            .map_err(required)?
            .get_initiative(ctx.call(initiatives::GetInitiativeRequest {
                name: name.to_string(),
            }))
            .await
            .map_err(failed("initiatives"))
            .map_err(required)?
            .into_inner();

        let partners: Vec<String> = initiative
            .partners
            .iter()
            .map(|p| p.organization.clone())
            .collect();
        let stage = initiatives::InitiativeStage::try_from(initiative.stage)
            .ok()
            .filter(|s| *s != initiatives::InitiativeStage::Unspecified)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("INITIATIVE_STAGE_")
                    .to_string()
            });
        let (lead, partner_orgs, challenges, related, for_stage, assessments) = tokio::join!(
            self.organization(ctx, &initiative.lead_organization),
            bounded(partners.iter().map(|p| self.organization(ctx, p)).collect()),
            self.challenges(ctx, &initiative.challenges),
            self.published_guidance(ctx, format!("related_initiative = {name:?}")),
            async {
                match &stage {
                    Some(stage) => {
                        self.published_guidance(ctx, format!("lifecycle_stage = {stage}"))
                            .await
                    }
                    None => Ok(Vec::new()),
                }
            },
            self.assessments(ctx, name),
        );

        let mut dossier = pb::InitiativeDossier {
            initiative: Some(initiative),
            ..Default::default()
        };
        let missing = &mut dossier.missing_parts;
        match lead {
            Ok(org) => dossier.lead_organization = Some(org),
            Err(f) => missing.push(self::missing("lead_organization", &f)),
        }
        match partner_orgs {
            Ok(orgs) => dossier.partner_organizations = orgs,
            Err(f) => missing.push(self::missing("partner_organizations", &f)),
        }
        match challenges {
            Ok(list) => dossier.challenges = list,
            Err(f) => missing.push(self::missing("challenges", &f)),
        }
        match related {
            Ok(list) => dossier.related_guidance = list,
            Err(f) => missing.push(self::missing("related_guidance", &f)),
        }
        match for_stage {
            Ok(list) => dossier.stage_guidance = list,
            Err(f) => missing.push(self::missing("stage_guidance", &f)),
        }
        match assessments {
            Ok(list) => dossier.assessments = list,
            Err(f) => missing.push(self::missing("assessments", &f)),
        }
        Ok(dossier)
    }

    async fn organization(&self, ctx: &CallContext, name: &str) -> Part<membership::Organization> {
        Ok(self
            .membership()?
            .get_organization(ctx.call(membership::GetOrganizationRequest {
                name: name.to_string(),
            }))
            .await
            .map_err(failed("membership"))?
            .into_inner())
    }

    async fn challenges(
        &self,
        ctx: &CallContext,
        names: &[String],
    ) -> Part<Vec<initiatives::Challenge>> {
        let client = self.initiatives()?;
        let calls = names.iter().map(|name| {
            let mut client = client.clone();
            let request = ctx.call(initiatives::GetChallengeRequest { name: name.clone() });
            async move {
                Ok(client
                    .get_challenge(request)
                    .await
                    .map_err(failed("initiatives"))?
                    .into_inner())
            }
        });
        bounded(calls.collect()).await
    }

    /// Documents matching `filter` that have a published edition.
    async fn published_guidance(
        &self,
        ctx: &CallContext,
        filter: String,
    ) -> Part<Vec<guidance::Document>> {
        let documents = self
            .guidance()?
            .list_documents(ctx.call(guidance::ListDocumentsRequest {
                page_size: DOSSIER_LIMIT,
                page_token: String::new(),
                filter,
            }))
            .await
            .map_err(failed("guidance"))?
            .into_inner()
            .documents;
        Ok(documents
            .into_iter()
            .filter(|d| !d.current_edition.is_empty())
            .collect())
    }

    async fn assessments(
        &self,
        ctx: &CallContext,
        initiative: &str,
    ) -> Part<Vec<pb::AssessmentWithIndicators>> {
        let client = self.impact()?;
        let assessments = client
            .clone()
            .list_assessments(ctx.call(impact::ListAssessmentsRequest {
                page_size: DOSSIER_LIMIT,
                page_token: String::new(),
                filter: format!("initiative = {initiative:?}"),
            }))
            .await
            .map_err(failed("impact"))?
            .into_inner()
            .assessments;
        let calls = assessments.into_iter().map(|assessment| {
            let mut client = client.clone();
            let request = ctx.call(impact::ListIndicatorsRequest {
                parent: assessment.name.clone(),
                page_size: INDICATOR_LIMIT,
                ..Default::default()
            });
            async move {
                let indicators = client
                    .list_indicators(request)
                    .await
                    .map_err(failed("impact"))?
                    .into_inner()
                    .indicators;
                Ok(pb::AssessmentWithIndicators {
                    assessment: Some(assessment),
                    indicators,
                })
            }
        });
        bounded(calls.collect()).await
    }

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

    async fn initiatives_where(
        &self,
        ctx: &CallContext,
        filter: String,
    ) -> Part<Vec<initiatives::Initiative>> {
        Ok(self
            .initiatives()?
            .list_initiatives(ctx.call(initiatives::ListInitiativesRequest {
                page_size: LIST_LIMIT,
                page_token: String::new(),
                filter,
            }))
            .await
            .map_err(failed("initiatives"))?
            .into_inner()
            .initiatives)
    }

    /// GetPortfolioOverview.
    pub async fn overview(
        &self,
        ctx: &CallContext,
        filter: &str,
    ) -> Result<pb::PortfolioOverview, Status> {
        let client = self.initiatives().map_err(required)?;
        let (summary, evidence) = tokio::join!(
            async {
                client
                    .clone()
                    .get_portfolio_summary(ctx.call(initiatives::GetPortfolioSummaryRequest {
                        filter: filter.to_string(),
                    }))
                    .await
                    .map_err(failed("initiatives"))
            },
            self.evidence(ctx, &client, filter),
        );
        let mut overview = pb::PortfolioOverview {
            initiatives: Some(summary.map_err(required)?.into_inner()),
            ..Default::default()
        };
        match evidence {
            Ok(evidence) => overview.evidence = Some(evidence),
            Err(f) => overview.missing_parts.push(missing("evidence", &f)),
        }
        Ok(overview)
    }

    /// The impact rollup over the assessments of the initiatives matching
    /// `filter`: the whole rollup for no filter, else the sum of rollups over
    /// chunks of the matching initiatives' names.
    async fn evidence(
        &self,
        ctx: &CallContext,
        initiatives_client: &InitiativesServiceClient<Channel>,
        filter: &str,
    ) -> Part<impact::SummarizeAssessmentsResponse> {
        let client = self.impact()?;
        if filter.trim().is_empty() {
            return Ok(client
                .clone()
                .summarize_assessments(ctx.call(impact::SummarizeAssessmentsRequest {
                    filter: String::new(),
                }))
                .await
                .map_err(failed("impact"))?
                .into_inner());
        }
        let mut names = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = initiatives_client
                .clone()
                .list_initiatives(ctx.call(initiatives::ListInitiativesRequest {
                    page_size: LIST_LIMIT,
                    page_token,
                    filter: filter.to_string(),
                }))
                .await
                .map_err(failed("initiatives"))?
                .into_inner();
            names.extend(page.initiatives.into_iter().map(|i| i.name));
            if names.len() > OVERVIEW_LIMIT {
                return Err(Failure {
                    service: "gateway",
                    status: Status::failed_precondition(format!(
                        "the filter matches more than {OVERVIEW_LIMIT} initiatives; \
                         narrow it to join them with their evidence"
                    )),
                });
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let calls = names.chunks(NAMES_PER_FILTER).map(|chunk| {
            let mut client = client.clone();
            let request = ctx.call(impact::SummarizeAssessmentsRequest {
                filter: any_of("initiative", chunk),
            });
            async move {
                Ok(client
                    .summarize_assessments(request)
                    .await
                    .map_err(failed("impact"))?
                    .into_inner())
            }
        });
        let parts = bounded(calls.collect()).await?;
        Ok(parts
            .into_iter()
            .fold(empty_evidence(), |total, part| add_evidence(total, &part)))
    }
}

/// A rollup over no assessment, in the impact service's shape.
pub fn empty_evidence() -> impact::SummarizeAssessmentsResponse {
    let levels = |n: i32| {
        (0..=n)
            .map(|level| impact::LevelCount { level, count: 0 })
            .collect::<Vec<_>>()
    };
    impact::SummarizeAssessmentsResponse {
        assessment_count: 0,
        nesta_levels: levels(5),
        maryland_levels: levels(5),
        dac: [
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact",
            "sustainability",
        ]
        .iter()
        .map(|criterion| impact::CriterionDistribution {
            criterion: criterion.to_string(),
            ratings: levels(4),
        })
        .collect(),
        public_value_outcomes: (1..)
            .map_while(|v| impact::PublicValueOutcome::try_from(v).ok())
            .map(|outcome| impact::PublicValueCount {
                outcome: outcome as i32,
                count: 0,
            })
            .collect(),
        indicator_progress: Some(impact::ProgressCounts::default()),
    }
}

/// Adds a rollup into a running total, matching entries by level, criterion
/// and outcome.
pub fn add_evidence(
    mut total: impact::SummarizeAssessmentsResponse,
    part: &impact::SummarizeAssessmentsResponse,
) -> impact::SummarizeAssessmentsResponse {
    fn add_levels(total: &mut Vec<impact::LevelCount>, part: &[impact::LevelCount]) {
        for entry in part {
            match total.iter_mut().find(|t| t.level == entry.level) {
                Some(t) => t.count += entry.count,
                None => total.push(*entry),
            }
        }
        total.sort_by_key(|t| t.level);
    }
    total.assessment_count += part.assessment_count;
    add_levels(&mut total.nesta_levels, &part.nesta_levels);
    add_levels(&mut total.maryland_levels, &part.maryland_levels);
    for criterion in &part.dac {
        match total
            .dac
            .iter_mut()
            .find(|t| t.criterion == criterion.criterion)
        {
            Some(t) => add_levels(&mut t.ratings, &criterion.ratings),
            None => total.dac.push(criterion.clone()),
        }
    }
    for outcome in &part.public_value_outcomes {
        match total
            .public_value_outcomes
            .iter_mut()
            .find(|t| t.outcome == outcome.outcome)
        {
            Some(t) => t.count += outcome.count,
            None => total.public_value_outcomes.push(*outcome),
        }
    }
    if let Some(p) = &part.indicator_progress {
        let t = total
            .indicator_progress
            .get_or_insert_with(Default::default);
        t.total += p.total;
        t.no_data += p.no_data;
        t.off_track += p.off_track;
        t.on_track += p.on_track;
        t.achieved += p.achieved;
    }
    total
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("initiatives/abc", "initiatives").is_ok());
        for bad in [
            "",
            "initiatives/",
            "initiatives/a/b",
            "organizations/a",
            "initiativesx/a",
        ] {
            let status = check_name(bad, "initiatives").unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
            assert!(status.message().starts_with("name:"), "{bad:?}");
        }
    }

    #[test]
    fn rollups_add_up() {
        let mut one = empty_evidence();
        one.assessment_count = 2;
        one.nesta_levels[3].count = 2;
        one.dac[0].ratings[4].count = 1;
        one.public_value_outcomes[0].count = 1;
        one.indicator_progress = Some(impact::ProgressCounts {
            total: 3,
            achieved: 3,
            ..Default::default()
        });
        let sum = add_evidence(add_evidence(empty_evidence(), &one), &one);
        assert_eq!(sum.assessment_count, 4);
        assert_eq!(sum.nesta_levels[3].count, 4);
        assert_eq!(sum.nesta_levels.len(), 6);
        assert_eq!(sum.dac[0].ratings[4].count, 2);
        assert_eq!(sum.public_value_outcomes[0].count, 2);
        assert_eq!(sum.indicator_progress.unwrap().achieved, 6);
    }

    #[test]
    fn alternatives_are_quoted() {
        assert_eq!(
            any_of("holder", &["people/a".into(), "people/b".into()]),
            r#"(holder = "people/a" OR holder = "people/b")"#
        );
    }
}
