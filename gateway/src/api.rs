//! The gateway's own `innolab.gateway.v1.GatewayService`: the merged change
//! feed, the compositions, the audit log, the data-subject access export and
//! the webhook subscriptions (`hooks/rpc.rs`). The only module of the gateway besides
//! `compose.rs`, `feed.rs`, `demo.rs` and `hooks/` that sees generated types.

use innolab_proto::innolab::gateway::v1 as pb;
use pb::gateway_service_server::{GatewayService, GatewayServiceServer};
use tonic::{Request, Response, Status};

use crate::compose::{CallContext, Compose};
use crate::feed::{Feed, Stream};
use crate::hooks::rpc as hooks;

/// The gateway's own service.
#[derive(Debug, Clone)]
pub struct Gateway {
    feed: Feed,
    compose: Compose,
    audit: Option<crate::audit::Store>,
    hooks: Option<crate::hooks::Hooks>,
}

impl Gateway {
    /// The service over a change feed, the compositions' clients, the
    /// audit log (if kept) and the webhook subscriptions (if kept).
    pub fn new(
        feed: Feed,
        compose: Compose,
        audit: Option<crate::audit::Store>,
        hooks: Option<crate::hooks::Hooks>,
    ) -> Self {
        Gateway {
            feed,
            compose,
            audit,
            hooks,
        }
    }
}

#[tonic::async_trait]
impl GatewayService for Gateway {
    type StreamChangesStream = Stream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Result<Response<Stream>, Status> {
        self.feed.stream(request).await
    }

    async fn get_initiative_dossier(
        &self,
        request: Request<pb::GetInitiativeDossierRequest>,
    ) -> Result<Response<pb::InitiativeDossier>, Status> {
        let ctx = CallContext::of(&request)?;
        let dossier = self.compose.dossier(&ctx, &request.get_ref().name).await?;
        Ok(ctx.reply(dossier))
    }

    async fn get_organization_profile(
        &self,
        request: Request<pb::GetOrganizationProfileRequest>,
    ) -> Result<Response<pb::OrganizationProfile>, Status> {
        let ctx = CallContext::of(&request)?;
        let profile = self.compose.profile(&ctx, &request.get_ref().name).await?;
        Ok(ctx.reply(profile))
    }

    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let ctx = CallContext::of(&request)?;
        let Some(store) = &self.audit else {
            return Err(Status::failed_precondition(
                "this gateway keeps no audit log (INNOLAB_AUDIT_DATABASE_URL is not set)",
            ));
        };
        let caller = request
            .extensions()
            .get::<crate::security::Caller>()
            .cloned();
        let r = request.into_inner();
        let size = hooks::page_size(r.page_size, 100, 1000)?;
        let after = hooks::after_sequence(&r.page_token)?;
        // Administrators read every entry; anyone else only their own.
        let own = match &caller {
            Some(c) if c.admin => None,
            Some(c) => Some(c.client_id.clone()),
            None => return Err(Status::permission_denied("no caller")),
        };
        let only = crate::audit::Only {
            client: own.as_deref(),
            user: Some(r.user_id.as_str()).filter(|u| !u.is_empty()),
        };
        let mut entries = store
            .list(after, size + 1, only)
            .await
            .map_err(Status::from)?;
        let more = entries.len() as i64 > size;
        entries.truncate(usize::try_from(size).unwrap_or(0));
        let next_page_token = match (more, entries.last()) {
            (true, Some(last)) => format!("after-{}", last.sequence),
            _ => String::new(),
        };
        Ok(ctx.reply(pb::ListAuditEntriesResponse {
            entries: entries.into_iter().map(entry_pb).collect(),
            next_page_token,
        }))
    }

    async fn export_person_data(
        &self,
        request: Request<pb::ExportPersonDataRequest>,
    ) -> Result<Response<pb::PersonDataExport>, Status> {
        let ctx = CallContext::of(&request)?;
        let r = request.into_inner();
        let (person, references) = self.compose.person_data(&ctx, &r.name).await?;
        let audit_entries = match &self.audit {
            Some(store) => store
                .about(&r.name, Some(r.user_id.as_str()).filter(|u| !u.is_empty()))
                .await
                .map_err(Status::from)?
                .into_iter()
                .map(entry_pb)
                .collect(),
            None => Vec::new(),
        };
        Ok(ctx.reply(pb::PersonDataExport {
            person: Some(person),
            references,
            audit_entries,
            export_time: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        }))
    }

    async fn get_diffusion(
        &self,
        request: Request<pb::GetDiffusionRequest>,
    ) -> Result<Response<pb::Diffusion>, Status> {
        let ctx = CallContext::of(&request)?;
        let r = request.get_ref();
        let diffusion = self.compose.diffusion(&ctx, &r.name, r.max_depth).await?;
        Ok(ctx.reply(diffusion))
    }

    async fn find_similar(
        &self,
        request: Request<pb::FindSimilarRequest>,
    ) -> Result<Response<pb::SimilarAnswer>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = self
            .compose
            .similar(&ctx, request.into_inner().query)
            .await?;
        Ok(ctx.reply(answer))
    }

    async fn get_portfolio_overview(
        &self,
        request: Request<pb::GetPortfolioOverviewRequest>,
    ) -> Result<Response<pb::PortfolioOverview>, Status> {
        let ctx = CallContext::of(&request)?;
        let overview = self
            .compose
            .overview(&ctx, &request.get_ref().filter)
            .await?;
        Ok(ctx.reply(overview))
    }

    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::create(self.hooks.as_ref(), request).await?;
        Ok(ctx.reply(answer))
    }

    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::get(self.hooks.as_ref(), request).await?;
        Ok(ctx.reply(answer))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::list(self.hooks.as_ref(), request).await?;
        Ok(ctx.reply(answer))
    }

    async fn update_subscription(
        &self,
        request: Request<pb::UpdateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::update(self.hooks.as_ref(), request).await?;
        Ok(ctx.reply(answer))
    }

    async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<pb::DeleteSubscriptionResponse>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::delete(self.hooks.as_ref(), request).await?;
        Ok(ctx.reply(answer))
    }

    async fn rotate_subscription_secret(
        &self,
        request: Request<pb::RotateSubscriptionSecretRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::rotate(self.hooks.as_ref(), request).await?;
        Ok(ctx.reply(answer))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::deliveries(self.hooks.as_ref(), request).await?;
        Ok(ctx.reply(answer))
    }

    async fn replay_subscription(
        &self,
        request: Request<pb::ReplaySubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let ctx = CallContext::of(&request)?;
        let answer = hooks::replay(self.hooks.as_ref(), &self.feed, request).await?;
        Ok(ctx.reply(answer))
    }
}

/// The gateway's own service, as routed (behind the same edge, audit tap
/// and guard as every forwarded service).
pub fn service(gateway: Gateway) -> GatewayServiceServer<Gateway> {
    GatewayServiceServer::new(gateway)
}

fn entry_pb(e: crate::audit::Entry) -> pb::AuditEntry {
    pb::AuditEntry {
        sequence: e.sequence,
        time: Some(prost_types::Timestamp {
            seconds: e.time_micros.div_euclid(1_000_000),
            nanos: i32::try_from(e.time_micros.rem_euclid(1_000_000) * 1000).unwrap_or(0),
        }),
        client_id: e.client_id,
        user_id: e.user_id,
        issue: e.issue,
        method: e.method,
        resource: e.resource,
        request_id: e.request_id,
        outcome: e.outcome,
        request_sha256: e.request_sha256,
        response_sha256: e.response_sha256,
        previous_hash: e.previous_hash,
        hash: e.hash,
    }
}
