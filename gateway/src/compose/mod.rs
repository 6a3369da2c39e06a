//! What the gateway composes from several services: the initiative dossier,
//! the organisation profile, the portfolio overview, a case's diffusion and
//! who has solved a problem already (FindSimilar).
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

    /// The organisation `name`, from membership.
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

    /// The initiative `name`, from initiatives.
    async fn initiative(&self, ctx: &CallContext, name: &str) -> Part<initiatives::Initiative> {
        Ok(self
            .initiatives()?
            .get_initiative(ctx.call(initiatives::GetInitiativeRequest {
                name: name.to_string(),
            }))
            .await
            .map_err(failed("initiatives"))?
            .into_inner())
    }

    /// The adoptions matching `filter`: one page of `page_size` and its
    /// next page token.
    async fn adoptions_where(
        &self,
        ctx: &CallContext,
        filter: String,
        page_size: i32,
        page_token: String,
    ) -> Part<initiatives::ListAdoptionsResponse> {
        Ok(self
            .initiatives()?
            .list_adoptions(ctx.call(initiatives::ListAdoptionsRequest {
                page_size,
                page_token,
                filter,
            }))
            .await
            .map_err(failed("initiatives"))?
            .into_inner())
    }

    /// The initiatives matching `filter` (at most one page of LIST_LIMIT),
    /// for the profile and the overview.
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
}

mod diffusion;
mod dossier;
mod overview;
mod person;
mod profile;
mod similar;

pub use overview::{add_evidence, empty_evidence};

#[cfg(test)]
mod tests;
