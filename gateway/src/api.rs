//! The gateway's own `innolab.gateway.v1.GatewayService`: the merged change
//! feed and the compositions. The only module of the gateway besides
//! `compose.rs`, `feed.rs` and `demo.rs` that sees generated types.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use innolab_proto::innolab::gateway::v1 as pb;
use pb::gateway_service_server::{GatewayService, GatewayServiceServer};
use tonic::body::Body;
use tonic::{Request, Response, Status};

use crate::compose::{CallContext, Compose};
use crate::feed::{Feed, Stream};

/// The gateway's own service.
#[derive(Debug, Clone)]
pub struct Gateway {
    feed: Feed,
    compose: Compose,
}

impl Gateway {
    /// The service over a change feed and the compositions' clients.
    pub fn new(feed: Feed, compose: Compose) -> Self {
        Gateway { feed, compose }
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
}

/// The gateway's own service as routed: gRPC calls go to it directly, JSON
/// calls are transcoded (as for the services it forwards to) and made to it
/// in process.
#[derive(Debug, Clone)]
pub struct Routed {
    inner: GatewayServiceServer<Gateway>,
    guard: crate::security::Guard,
}

impl Routed {
    /// Routes calls to `gateway`, each admitted by `guard` first.
    pub fn new(gateway: Gateway, guard: crate::security::Guard) -> Self {
        Routed {
            inner: GatewayServiceServer::new(gateway),
            guard,
        }
    }
}

impl tonic::server::NamedService for Routed {
    const NAME: &'static str = crate::GATEWAY_NAME;
}

impl tower::Service<http::Request<Body>> for Routed {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let method = request.uri().path().trim_start_matches('/').to_string();
        let admitted = self
            .guard
            .admit(&method, request.headers(), request.extensions())
            .and_then(|caller| {
                if caller.own_organization_only {
                    // Compositions read across organisations: no ownership rule.
                    return Err(Status::permission_denied(format!(
                        "a member editor may not call {method}"
                    )));
                }
                let permit = self.guard.limits().admit(&caller.client_id)?;
                Ok((caller, permit))
            });
        let permit = match admitted {
            Ok((caller, permit)) => {
                request.extensions_mut().insert(caller);
                permit
            }
            Err(status) => {
                tracing::info!(%method, code = ?status.code(), reason = status.message(), "call refused");
                let mut response = status.into_http();
                if let Some(id) = request.headers().get(crate::proxy::REQUEST_ID) {
                    response
                        .headers_mut()
                        .insert(crate::proxy::REQUEST_ID, id.clone());
                }
                return Box::pin(std::future::ready(Ok(response)));
            }
        };
        // The place is held until the call is answered (a stream's first
        // message), not for a followed stream's whole life.
        let mut inner = self.inner.clone();
        if crate::json::is_json(&request) {
            return Box::pin(async move {
                let response = crate::json::call(inner, request).await;
                drop(permit);
                Ok(response)
            });
        }
        Box::pin(async move {
            let response = inner.call(request).await;
            drop(permit);
            response
        })
    }
}
