//! Forwarding: every public RPC of a service passes through unchanged (same
//! path, same bytes, streams included), with the caller's deadline shortened
//! by what the gateway spent, a request id, and the trace context.

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

/// Header carrying the request id, generated when the caller sends none and
/// echoed back in the response.
pub const REQUEST_ID: &str = "x-request-id";

/// A service the gateway forwards to, named by its gRPC service name.
pub trait Upstream: Send + Sync + 'static {
    /// Fully qualified gRPC service name.
    const NAME: &'static str;
}

/// Forwards the calls of upstream `U` over `channel` (balanced over the
/// service's endpoints): gRPC byte for byte, JSON calls through a typed
/// client.
#[derive(Debug)]
pub struct Forward<U> {
    audit: Option<crate::audit::Recorder>,
    guard: crate::security::Guard,
    owners: crate::security::ownership::Owners,
    channel: Channel,
    local: Option<innolab_kit::server::InProcess>,
    upstream: PhantomData<fn() -> U>,
}

impl<U> Clone for Forward<U> {
    fn clone(&self) -> Self {
        Forward {
            audit: self.audit.clone(),
            guard: self.guard.clone(),
            owners: self.owners.clone(),
            channel: self.channel.clone(),
            local: self.local.clone(),
            upstream: PhantomData,
        }
    }
}

impl<U: Upstream> Forward<U> {
    /// Forwards to the service over `channel`. With `local` (the service
    /// runs in this process), gRPC calls go to its published stack instead,
    /// once it is up.
    pub fn new(
        channel: Channel,
        guard: crate::security::Guard,
        owners: crate::security::ownership::Owners,
        audit: Option<crate::audit::Recorder>,
        local: Option<innolab_kit::server::InProcess>,
    ) -> Self {
        Forward {
            audit,
            guard,
            owners,
            channel,
            local,
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
        Box::pin(self.clone().handle(request))
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

/// Largest unary request a member editor's call may carry (it is read whole
/// for the ownership check).
const OWNED_REQUEST_LIMIT: usize = 4 * 1024 * 1024;

/// How a write ended, as the audit log names it.
struct Outcome {
    json: bool,
    http_ok: bool,
    /// A trailers-only answer's status (or a JSON refusal's).
    header_code: Option<String>,
    /// The status in the trailers; `None` when the answer was dropped first.
    trailer_code: Option<String>,
}

impl Outcome {
    /// Fills in `entry`'s outcome, resource and hashes from the request's and
    /// the response's (hash, first bytes).
    fn complete(
        self,
        entry: &mut crate::audit::Entry,
        request: (String, Vec<u8>),
        response: (String, Vec<u8>),
    ) {
        let (request_sha256, request_first) = request;
        let (response_sha256, response_first) = response;
        entry.outcome = if self.json {
            crate::audit::json_outcome(self.http_ok, &response_first)
        } else {
            match (self.header_code, self.trailer_code) {
                (Some(code), _) | (None, Some(code)) => crate::audit::code_name(Some(&code)),
                (None, None) => "CANCELLED".into(),
            }
        };
        entry.resource =
            crate::audit::tap::resource(&entry.method, &request_first, &response_first, self.json);
        entry.request_sha256 = request_sha256;
        entry.response_sha256 = response_sha256;
    }
}

/// How long a strict write waits for its audit entry before it is answered
/// UNAVAILABLE.
const STRICT_AUDIT_WAIT: Duration = Duration::from_secs(10);

/// Strict mode: the write's answer is read whole (a write's answer is one
/// message), its entry appended, and only then is it passed on; a write
/// whose entry cannot be committed is answered UNAVAILABLE (503 over JSON),
/// saying that it may have been applied, so that the caller retries with the
/// same request id rather than trusting an unrecorded success.
async fn strict_answer(
    response: Response<Body>,
    mut entry: crate::audit::Entry,
    recorder: crate::audit::Recorder,
    request_seen: crate::audit::tap::Shared,
    json: bool,
    header_code: Option<String>,
) -> Response<Body> {
    use http_body_util::BodyExt as _;
    let http_ok = response.status().is_success();
    let (parts, body) = response.into_parts();
    let (bytes, trailers, trailer_code) = match body.collect().await {
        Ok(collected) => {
            let trailers = collected.trailers().cloned();
            let code = trailers
                .as_ref()
                .and_then(|t| t.get("grpc-status"))
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_string();
            (collected.to_bytes(), trailers, Some(code))
        }
        Err(status) => {
            // The service's answer broke off: recorded as what the caller gets.
            let code = (status.code() as i32).to_string();
            let failed = if json {
                crate::json::error_response(&status)
            } else {
                status.into_http()
            };
            let request = request_seen.lock().map(|s| s.finish()).unwrap_or_default();
            let outcome = Outcome {
                json,
                http_ok: false,
                header_code: None,
                trailer_code: Some(code),
            };
            let nothing = crate::audit::tap::Seen::default().finish();
            outcome.complete(&mut entry, request, nothing);
            let _ = tokio::time::timeout(STRICT_AUDIT_WAIT, recorder.record_durable(entry)).await;
            return failed;
        }
    };
    let request = request_seen.lock().map(|s| s.finish()).unwrap_or_default();
    let mut seen = crate::audit::tap::Seen::default();
    seen.add(&bytes);
    let outcome = Outcome {
        json,
        http_ok,
        header_code,
        trailer_code,
    };
    outcome.complete(&mut entry, request, seen.finish());
    let durable = matches!(
        tokio::time::timeout(STRICT_AUDIT_WAIT, recorder.record_durable(entry)).await,
        Ok(Ok(true))
    );
    if !durable {
        let status = tonic::Status::unavailable(
            "the audit log could not record this write, so it is not confirmed: it may have \
             been applied; retry with the same request_id",
        );
        return if json {
            crate::json::error_response(&status)
        } else {
            status.into_http()
        };
    }
    // Frames as they came: a trailers-only answer had none.
    let mut frames = Vec::new();
    if !bytes.is_empty() {
        frames.push(Ok::<_, std::convert::Infallible>(http_body::Frame::data(
            bytes,
        )));
    }
    if let Some(trailers) = trailers {
        frames.push(Ok(http_body::Frame::trailers(trailers)));
    }
    Response::from_parts(
        parts,
        Body::new(http_body_util::StreamBody::new(tokio_stream::iter(frames))),
    )
}

impl<U: Upstream> Forward<U> {
    async fn handle(self, mut request: Request<Body>) -> Result<Response<Body>, Infallible> {
        let arrived = Instant::now();
        let request_id = ensure_request_id(request.headers_mut());
        let method = request.uri().path().trim_start_matches('/').to_string();
        let json = crate::json::is_json(&request);
        let Some(recorder) = self.audit.clone() else {
            let (response, _) = self
                .forward_call(request, arrived, &request_id, &method, json)
                .await;
            return Ok(response);
        };
        let mut entry = crate::audit::Entry {
            client_id: self
                .guard
                .client_hint(request.headers(), request.extensions()),
            user_id: header_text(request.headers(), crate::security::USER_ID),
            issue: header_text(request.headers(), crate::security::ISSUE),
            method: method.clone(),
            request_id: request_id.to_str().unwrap_or_default().to_string(),
            ..Default::default()
        };
        let write = crate::audit::is_write(&method);
        let request_seen = crate::audit::tap::Shared::default();
        if write {
            let seen = request_seen.clone();
            request = request.map(|body| Body::new(crate::audit::tap::Tap::new(body, seen)));
        }
        let (response, caller) = self
            .forward_call(request, arrived, &request_id, &method, json)
            .await;
        let header_code = response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // A refusal answers gRPC callers with grpc-status 7 or 16, JSON
        // callers with HTTP 403 or 401.
        let header_code = header_code.or_else(|| match (json, response.status().as_u16()) {
            (true, 403) => Some("7".into()),
            (true, 401) => Some("16".into()),
            _ => None,
        });
        let denied = caller.is_none() && matches!(header_code.as_deref(), Some("7" | "16"));
        if let Some(caller) = caller {
            entry.client_id = caller;
        }
        if !write {
            if denied {
                entry.outcome = crate::audit::code_name(header_code.as_deref());
                entry.request_sha256 =
                    crate::audit::hex(&<sha2::Sha256 as sha2::Digest>::digest(b""));
                entry.response_sha256 = entry.request_sha256.clone();
                recorder.record(entry);
            }
            return Ok(response);
        }
        let http_ok = response.status().is_success();
        if recorder.strict() {
            return Ok(
                strict_answer(response, entry, recorder, request_seen, json, header_code).await,
            );
        }
        let response_seen = crate::audit::tap::Shared::default();
        let seen = response_seen.clone();
        Ok(response.map(move |body| {
            Body::new(
                crate::audit::tap::Tap::new(body, seen).on_end(move |trailer_code| {
                    let request = request_seen.lock().map(|s| s.finish()).unwrap_or_default();
                    let response = response_seen.lock().map(|s| s.finish()).unwrap_or_default();
                    let outcome = Outcome {
                        json,
                        http_ok,
                        header_code,
                        trailer_code,
                    };
                    outcome.complete(&mut entry, request, response);
                    recorder.record(entry);
                }),
            )
        }))
    }

    /// The call itself: admission, ownership, forwarding. Also returns the
    /// admitted client's id.
    async fn forward_call(
        &self,
        mut request: Request<Body>,
        arrived: Instant,
        request_id: &HeaderValue,
        method: &str,
        json: bool,
    ) -> (Response<Body>, Option<String>) {
        let mut client = None;
        let response = self
            .forward_admitted(&mut request, arrived, request_id, method, json, &mut client)
            .await;
        (response, client)
    }

    async fn forward_admitted(
        &self,
        request: &mut Request<Body>,
        arrived: Instant,
        request_id: &HeaderValue,
        method: &str,
        json: bool,
        client: &mut Option<String>,
    ) -> Response<Body> {
        let mut request = std::mem::take(request);
        // A JSON caller gets its error as JSON, a gRPC caller as gRPC.
        let refuse = |status: tonic::Status| {
            let response = if json {
                crate::json::error_response(&status)
            } else {
                status.into_http()
            };
            with_request_id(response, request_id)
        };
        let method = method.to_string();
        let admitted = self
            .guard
            .admit(&method, request.headers(), request.extensions())
            .and_then(|caller| {
                let permit = self.guard.limits().admit(&caller.client_id)?;
                Ok((caller, permit))
            });
        let (caller, _permit) = match admitted {
            Ok(admitted) => admitted,
            Err(status) => {
                tracing::info!(%method, code = ?status.code(), reason = status.message(), "call refused");
                return refuse(status);
            }
        };
        if caller.own_organization_only {
            let (parts, body) = request.into_parts();
            let bytes = match http_body_util::Limited::new(body, OWNED_REQUEST_LIMIT)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(e) => {
                    return refuse(tonic::Status::invalid_argument(format!(
                        "request: cannot read it: {e}"
                    )));
                }
            };
            let checked = match crate::security::ownership::decode(&method, &bytes, json) {
                Ok(message) => {
                    self.owners
                        .check(&method, &message, caller.organization.as_deref())
                        .await
                }
                Err(status) => Err(status),
            };
            if let Err(status) = checked {
                tracing::info!(%method, client = %caller.client_id, reason = status.message(), "call refused");
                return refuse(status);
            }
            request = Request::from_parts(parts, Body::new(http_body_util::Full::new(bytes)));
        }
        *client = Some(caller.client_id.clone());
        request.extensions_mut().insert(caller);
        if json {
            let response = crate::json::call(self.channel.clone(), request).await;
            return with_request_id(response, request_id);
        }
        let (deadline, propagate) = match grpc_timeout(request.headers()) {
            Ok(Some(deadline)) => (Some(deadline), true),
            // Unary calls without a deadline get the default one, enforced
            // here (on expiry the stream to the service is reset, which
            // cancels its work); streams (a followed change feed) may last.
            Ok(None) => (
                crate::json::UNARY
                    .contains(method.as_str())
                    .then(|| self.guard.limits().default_deadline),
                false,
            ),
            Err(status) => return refuse(status),
        };
        let remaining = deadline.map(|d| d.saturating_sub(arrived.elapsed()));
        if let Some(left) = remaining {
            if left.is_zero() {
                return refuse(tonic::Status::deadline_exceeded(
                    "deadline spent at the gateway",
                ));
            }
            if propagate && let Ok(value) = HeaderValue::from_str(&encode_timeout(left)) {
                request.headers_mut().insert("grpc-timeout", value);
            }
        }
        let limit = self.guard.limits().max_message_bytes;
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
        let local = self.local.as_ref().and_then(|slot| slot.get());
        let unary = crate::json::UNARY.contains(method.as_str());
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
                None => {
                    // A unary request is read whole first (one message, one
                    // frame or a few), so that a replica that refuses it
                    // unprocessed (it is stopping) can be passed over.
                    let request = if unary {
                        let (parts, body) = request.into_parts();
                        let bytes = body.collect().await?.to_bytes();
                        Request::from_parts(parts, Body::new(http_body_util::Full::new(bytes)))
                    } else {
                        request
                    };
                    tower::ServiceExt::oneshot(self.channel.clone(), request)
                        .await
                        .map(|r| r.map(Body::new))
                }
            }
        };
        let outcome = match remaining {
            Some(left) => match tokio::time::timeout(left, call).await {
                Ok(result) => result,
                Err(_) => {
                    return refuse(tonic::Status::deadline_exceeded(format!(
                        "{} did not answer within the deadline",
                        U::NAME
                    )));
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
        let streams = !crate::json::UNARY.contains(method.as_str());
        let response = match outcome {
            // A service in this process reports the cut-off body as its own error.
            Ok(_) if let Some(refusal) = refusal() => refusal,
            // An answer that is already whole (a trailers-only error) stays
            // one HEADERS frame with END_STREAM, as gRPC clients expect.
            Ok(response) if streams && !response.headers().contains_key("grpc-status") => {
                response.map(relay_stream)
            }
            Ok(response) => response,
            Err(_) if let Some(refusal) = refusal() => refusal,
            Err(e) => {
                let e = innolab_kit::balance::Causes(&*e);
                tracing::warn!(upstream = U::NAME, error = %e, "upstream unreachable");
                upstream_unavailable(U::NAME, &e).into_http()
            }
        };
        with_request_id(response, request_id)
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

/// A header's text, or empty.
fn header_text(headers: &http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The caller's request id, or a new one written into the headers.
fn ensure_request_id(headers: &mut http::HeaderMap) -> HeaderValue {
    if let Some(existing) = headers.get(REQUEST_ID)
        && !existing.is_empty()
    {
        return existing.clone();
    }
    let id = HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
    headers.insert(REQUEST_ID, id.clone());
    id
}

fn with_request_id(mut response: Response<Body>, id: &HeaderValue) -> Response<Body> {
    response.headers_mut().insert(REQUEST_ID, id.clone());
    response
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
