//! Forwarding: every public RPC of a service passes through unchanged (same
//! path, same bytes, streams included), with the caller's deadline shortened
//! by what the gateway spent, a request id, and the trace context. Calls
//! arrive here admitted (the guard and the audit tap are layers around every
//! route, see [`crate::security::admit`] and [`crate::audit::layer`]) and as
//! gRPC (the edge translated every other protocol, see [`crate::edge`]).

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use innolab_kit::balance::Channel;
use std::sync::Arc;
use tonic::body::Body;
use tonic::server::NamedService;

pub use crate::audit::layer::REQUEST_ID;

/// A service the gateway forwards to, named by its gRPC service name.
pub trait Upstream: Send + Sync + 'static {
    /// Fully qualified gRPC service name.
    const NAME: &'static str;
}

/// Forwards the calls of upstream `U` over `channel` (balanced over the
/// service's endpoints), byte for byte.
#[derive(Debug)]
pub struct Forward<U> {
    /// Shared by every call: a forwarded call clones one `Arc`, not the
    /// limits and the balancer's queue (the router and `call` each clone
    /// the service for every call).
    shared: Arc<Shared>,
    upstream: PhantomData<fn() -> U>,
}

#[derive(Debug)]
struct Shared {
    limits: crate::security::limits::Limits,
    channel: Channel,
    local: Option<innolab_kit::server::InProcess>,
}

impl<U> Clone for Forward<U> {
    fn clone(&self) -> Self {
        Forward {
            shared: self.shared.clone(),
            upstream: PhantomData,
        }
    }
}

impl<U: Upstream> Forward<U> {
    /// Forwards to the service over `channel`, holding calls to `limits`'
    /// message size and default deadline. With `local` (the service runs in
    /// this process), calls go to its published stack instead, once it is up.
    pub fn new(
        channel: Channel,
        limits: crate::security::limits::Limits,
        local: Option<innolab_kit::server::InProcess>,
    ) -> Self {
        Forward {
            shared: Arc::new(Shared {
                limits,
                channel,
                local,
            }),
            upstream: PhantomData,
        }
    }
}

impl<U: Upstream> NamedService for Forward<U> {
    const NAME: &'static str = U::NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

impl<U: Upstream> tower::Service<Request<Body>> for Forward<U> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.forward(request).await) })
    }
}

/// Flow-control window of one call on the shared connection to a service.
/// What a stream's caller has not read yet stays buffered against the
/// connection's window until the stream is dropped, so the connection
/// window is many stream windows: 64 stalled streams (each dropped after
/// [`innolab_kit::subscriber::STALL`]) before the other calls would wait.
pub const UPSTREAM_STREAM_WINDOW: u32 = 256 * 1024;
/// Flow-control window of the whole connection to a service.
pub const UPSTREAM_CONNECTION_WINDOW: u32 = 64 * UPSTREAM_STREAM_WINDOW;
/// Largest header block (an error's trailers with its details) accepted
/// from a service: what a service may legally send, well above what it does.
pub const UPSTREAM_MAX_HEADER_LIST: u32 = 1024 * 1024;
/// Frames of a server stream buffered for its caller at the gateway.
const STREAM_BUFFER_FRAMES: usize = 32;

impl<U: Upstream> Forward<U> {
    async fn forward(self, mut request: Request<Body>) -> Response<Body> {
        let arrived = Instant::now();
        let method = request.uri().path().trim_start_matches('/').to_string();
        let unary = crate::json::UNARY.contains(method.as_str());
        let read = crate::json::READS.contains(method.as_str());
        let (deadline, propagate) = match grpc_timeout(request.headers()) {
            Ok(Some(deadline)) => (Some(deadline), true),
            // Unary calls without a deadline get the default one, enforced
            // here (on expiry the stream to the service is reset, which
            // cancels its work); streams (a followed change feed) may last.
            Ok(None) => (unary.then_some(self.shared.limits.default_deadline), false),
            Err(status) => return status.into_http(),
        };
        let remaining = deadline.map(|d| d.saturating_sub(arrived.elapsed()));
        if let Some(left) = remaining {
            if left.is_zero() {
                return tonic::Status::deadline_exceeded("deadline spent at the gateway")
                    .into_http();
            }
            if propagate && let Ok(value) = HeaderValue::from_str(&encode_timeout(left)) {
                request.headers_mut().insert("grpc-timeout", value);
            }
        }
        let limit = self.shared.limits.max_message_bytes;
        let refused = Refused::default();
        let request = request.map(|body| {
            Body::new(MessageLimit {
                inner: body,
                limit,
                header: [0; 5],
                have: 0,
                payload_left: 0,
                refused: refused.clone(),
            })
        });
        let local = self.shared.local.as_ref().and_then(|slot| slot.get());
        let shared = self.shared;
        let call = async move {
            match local {
                // In the same process: the service's own stack, no socket,
                // measured and traced as a call to it all the same.
                Some(service) => {
                    use tracing::Instrument as _;
                    let mut request = request;
                    let (span, call) = innolab_kit::meter::client_call(&mut request);
                    match tower::ServiceExt::oneshot(service, request)
                        .instrument(span)
                        .await
                    {
                        Ok(response) => {
                            Ok(innolab_kit::meter::observe(call, response).map(Body::new))
                        }
                        Err(never) => match never {},
                    }
                }
                None if unary => {
                    // A unary request is read whole first (one message, one
                    // frame or a few), so that a replica that refuses it
                    // unprocessed (it is stopping) can be passed over.
                    let (parts, body) = request.into_parts();
                    let bytes = body.collect().await?.to_bytes();
                    let again = read.then(|| {
                        let mut copy =
                            Request::new(Body::new(http_body_util::Full::new(bytes.clone())));
                        *copy.uri_mut() = parts.uri.clone();
                        *copy.headers_mut() = parts.headers.clone();
                        *copy.version_mut() = parts.version;
                        copy
                    });
                    let request =
                        Request::from_parts(parts, Body::new(http_body_util::Full::new(bytes)));
                    let channel = shared.channel.clone();
                    match tower::ServiceExt::oneshot(channel.clone(), request).await {
                        // A read is free of side effects (NO_SIDE_EFFECTS in
                        // its proto): one whose connection broke (a replica
                        // stopping as it was sent) is sent once more, over
                        // whatever endpoint is ready.
                        Err(e)
                            if !unreachable(&*e)
                                && let Some(again) = again =>
                        {
                            let why = innolab_kit::balance::Causes(&*e).to_string();
                            drop(e);
                            tracing::info!(upstream = U::NAME, error = %why, "a read is sent again");
                            tower::ServiceExt::oneshot(channel, again)
                                .await
                                .map(|r| r.map(Body::new))
                        }
                        other => other.map(|r| r.map(Body::new)),
                    }
                }
                None => tower::ServiceExt::oneshot(shared.channel.clone(), request)
                    .await
                    .map(|r| r.map(Body::new)),
            }
        };
        let outcome = match remaining {
            Some(left) => match tokio::time::timeout(left, call).await {
                Ok(result) => result,
                Err(_) => {
                    return tonic::Status::deadline_exceeded(format!(
                        "{} did not answer within the deadline",
                        U::NAME
                    ))
                    .into_http();
                }
            },
            None => call.await,
        };
        // Why the caller's own request body failed (too large, or silent for
        // too long), which the service then sees as a broken request.
        let refusal = || {
            refused
                .lock()
                .ok()
                .and_then(|r| r.clone())
                .map(|(code, message)| tonic::Status::new(code, message).into_http())
        };
        match outcome {
            // A service in this process reports the cut-off body as its own error.
            Ok(_) if let Some(refusal) = refusal() => refusal,
            // An answer that is already whole (a trailers-only error) stays
            // one HEADERS frame with END_STREAM, as gRPC clients expect.
            Ok(response) if !unary && !response.headers().contains_key("grpc-status") => {
                response.map(relay_stream)
            }
            Ok(response) => response,
            Err(_) if let Some(refusal) = refusal() => refusal,
            Err(e) => {
                let e = innolab_kit::balance::Causes(&*e);
                tracing::warn!(upstream = U::NAME, error = %e, "upstream unreachable");
                upstream_unavailable(U::NAME, &e).into_http()
            }
        }
    }
}

/// Relays a server stream's body through a bounded buffer of its own (see
/// [`innolab_kit::subscriber`]): a caller that stops reading is dropped once
/// its buffer has stayed full, the stream to the service is reset (so the
/// shared connection's window is given back and the service stops its
/// work), and the caller, when it reads again, gets what was buffered and
/// then RESOURCE_EXHAUSTED, from which it can resume.
fn relay_stream(mut body: Body) -> Body {
    use futures_util::StreamExt as _;
    let (tx, rx) = innolab_kit::subscriber::channel(STREAM_BUFFER_FRAMES, || {
        tonic::Status::resource_exhausted(innolab_kit::subscriber::STALLED_MESSAGE)
    });
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                frame = body.frame() => frame,
                () = tx.closed() => return,
            };
            let last = !matches!(frame, Some(Ok(_)));
            let Some(frame) = frame else {
                return;
            };
            // On a stall, `body` is dropped here: the stream to the service ends.
            if tx.send(frame).await.is_err() || last {
                return;
            }
        }
    });
    let frames = rx.map(|item| {
        Ok::<_, tonic::Status>(match item {
            Ok(frame) => frame,
            // A failure midway (the service reset, the caller dropped) ends
            // the stream with its status in trailers.
            Err(status) => {
                http_body::Frame::trailers(innolab_kit::server::status_trailers(&status))
            }
        })
    });
    Body::new(http_body_util::StreamBody::new(frames))
}

/// A request body that fails as soon as a gRPC message's length prefix
/// exceeds `limit` (and says so in `refused`), without buffering anything;
/// also notes in `refused` why the caller's body itself failed.
struct MessageLimit {
    inner: Body,
    limit: usize,
    header: [u8; 5],
    have: usize,
    payload_left: usize,
    refused: Refused,
}

/// Why a caller's request body failed: (code, message).
type Refused = Arc<std::sync::Mutex<Option<(tonic::Code, String)>>>;

impl MessageLimit {
    fn refuse(&self, status: &tonic::Status) {
        if let Ok(mut refused) = self.refused.lock()
            && refused.is_none()
        {
            *refused = Some((status.code(), status.message().to_string()));
        }
    }

    fn scan(&mut self, mut data: &[u8]) -> Result<(), tonic::Status> {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let skip = self.payload_left.min(data.len());
                self.payload_left -= skip;
                data = &data[skip..];
                continue;
            }
            let take = (5 - self.have).min(data.len());
            self.header[self.have..self.have + take].copy_from_slice(&data[..take]);
            self.have += take;
            data = &data[take..];
            if self.have == 5 {
                self.have = 0;
                let length = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]) as usize;
                if length > self.limit {
                    let status = tonic::Status::resource_exhausted(format!(
                        "a message of {length} bytes is larger than the gateway's limit of {} bytes",
                        self.limit
                    ));
                    self.refuse(&status);
                    return Err(status);
                }
                self.payload_left = length;
            }
        }
        Ok(())
    }
}

impl http_body::Body for MessageLimit {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(status))) = &polled {
            self.refuse(status);
        }
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let data = data.clone();
            if let Err(status) = self.scan(&data) {
                return Poll::Ready(Some(Err(status)));
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error` says no endpoint could be reached at all (then sending
/// again would only wait as long once more).
fn unreachable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<innolab_kit::balance::Unavailable>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// UNAVAILABLE for a call the service `grpc_name` could not be reached for,
/// naming the service in `google.rpc.ErrorInfo` (reason `SERVICE_UNAVAILABLE`,
/// metadata `service`) so that a client can tell which part of the suite is
/// down, with a hint to retry.
pub(crate) fn upstream_unavailable(
    grpc_name: &str,
    error: &dyn std::fmt::Display,
) -> tonic::Status {
    use tonic_types::StatusExt as _;
    let mut details = tonic_types::ErrorDetails::with_error_info(
        "SERVICE_UNAVAILABLE",
        innolab_kit::error::ERROR_DOMAIN,
        [("service".to_string(), grpc_name.to_string())],
    );
    details.set_retry_info(Some(Duration::from_secs(1)));
    tonic::Status::with_error_details(
        tonic::Code::Unavailable,
        format!("{grpc_name} is unavailable: {error}"),
        details,
    )
}

pub(crate) use innolab_kit::server::grpc_timeout;

/// Encodes a timeout in the largest-precision unit that fits 8 digits.
fn encode_timeout(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros < 100_000_000 {
        format!("{}u", micros.max(1))
    } else {
        format!("{}m", duration.as_millis().min(99_999_999))
    }
}

#[cfg(test)]
mod tests;
