//! The guard as one layer around every route the gateway serves (the
//! forwarded services and the gateway's own), after the edge has made every
//! protocol gRPC: identity, the access table, the limits, and for a member
//! editor the ownership of what it touches. Only health and reflection pass
//! without it. A change to who may call what is made here, once.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body_util::BodyExt as _;
use innolab_kit::server::LocalService;
use tonic::Status;
use tonic::body::Body;

use super::ownership::Owners;
use super::{Caller, Guard};

/// Largest unary request a member editor's call may carry (it is read whole
/// for the ownership check).
const OWNED_REQUEST_LIMIT: usize = 4 * 1024 * 1024;

/// Who a call was admitted as, set on its answer for the audit layer.
#[derive(Debug, Clone)]
pub struct Admitted(pub Caller);

/// The guard around `inner`.
#[derive(Debug, Clone)]
pub struct Admit {
    inner: LocalService,
    /// The guard and the ownership clients, shared by every call (cloned
    /// per call, they would copy the limits and two balancer queues).
    shared: Arc<(Guard, Owners)>,
}

impl Admit {
    /// Every call to `inner` (but health and reflection) passes `guard`;
    /// member editors' calls also `owners`' checks.
    pub fn new(inner: LocalService, guard: Guard, owners: Owners) -> Self {
        Admit {
            inner,
            shared: Arc::new((guard, owners)),
        }
    }
}

impl tower::Service<Request<Body>> for Admit {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let (inner, shared) = (self.inner.clone(), self.shared.clone());
        Box::pin(async move { Ok(handle(inner, &shared.0, &shared.1, request).await) })
    }
}

async fn handle(
    inner: LocalService,
    guard: &Guard,
    owners: &Owners,
    mut request: Request<Body>,
) -> Response<Body> {
    if innolab_kit::meter::is_infrastructure(request.uri().path()) {
        let Ok(response) = tower::ServiceExt::oneshot(inner, request).await;
        return response;
    }
    let method = request.uri().path().trim_start_matches('/').to_string();
    let admitted = guard
        .admit(&method, request.headers(), request.extensions())
        .and_then(|caller| {
            let permit = guard.limits().admit(&caller.client_id)?;
            Ok((caller, permit))
        });
    let (caller, permit) = match admitted {
        Ok(admitted) => admitted,
        Err(status) => return refused(&method, None, status),
    };
    if caller.own_organization_only {
        request = match owned(owners, &method, &caller, request).await {
            Ok(request) => request,
            Err(status) => return refused(&method, Some(&caller.client_id), status),
        };
    }
    request.extensions_mut().insert(caller.clone());
    let Ok(mut response) = tower::ServiceExt::oneshot(inner, request).await;
    // The place is held until the call is answered (a stream's first
    // message), not for a followed stream's whole life.
    drop(permit);
    response.extensions_mut().insert(Admitted(caller));
    response
}

/// A member editor's call, read whole and let through only if what it
/// touches belongs to the editor's organisation.
async fn owned(
    owners: &Owners,
    method: &str,
    caller: &Caller,
    request: Request<Body>,
) -> Result<Request<Body>, Status> {
    if method.starts_with(crate::GATEWAY_NAME) {
        // The compositions read across organisations: no ownership rule.
        return Err(Status::permission_denied(format!(
            "a member editor may not call {method}"
        )));
    }
    let (parts, body) = request.into_parts();
    let bytes = http_body_util::Limited::new(body, OWNED_REQUEST_LIMIT)
        .collect()
        .await
        .map_err(|e| Status::invalid_argument(format!("request: cannot read it: {e}")))?
        .to_bytes();
    let message = super::ownership::decode(method, &bytes)?;
    owners
        .check(method, &message, caller.organization.as_deref())
        .await?;
    Ok(Request::from_parts(
        parts,
        Body::new(http_body_util::Full::new(bytes)),
    ))
}

fn refused(method: &str, client: Option<&str>, status: Status) -> Response<Body> {
    tracing::info!(%method, client, code = ?status.code(), reason = status.message(), "call refused");
    status.into_http()
}
