//! The audit tap as one layer around the guard and every route: each call
//! gets a request id (the caller's, or a new one, echoed in the answer);
//! each write, each read of one person's data (`ExportPersonData`,
//! `FindPersonReferences`) and each refusal becomes an entry, with the hashes of what
//! was asked and answered (gRPC frames: every protocol is gRPC once past
//! the edge). In strict mode a write's answer waits for its entry.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use innolab_kit::server::LocalService;
use tonic::body::Body;

use super::tap::{Seen, Shared, Tap};
use super::{Entry, Recorder};
use crate::security::admit::Admitted;

/// Header carrying the request id, generated when the caller sends none and
/// echoed back in the response.
pub const REQUEST_ID: &str = "x-request-id";

/// How long a strict write waits for its audit entry before it is answered
/// UNAVAILABLE.
const STRICT_AUDIT_WAIT: Duration = Duration::from_secs(10);

/// The audit tap around `inner` (the guard and the routes).
#[derive(Debug, Clone)]
pub struct Audited {
    inner: LocalService,
    /// The recorder and the guard, shared by every call rather than cloned.
    shared: Arc<(Option<Recorder>, crate::security::Guard)>,
}

impl Audited {
    /// Records `inner`'s writes and refusals with `recorder` (none: only
    /// request ids); `guard` names the client of a refused call.
    pub fn new(
        inner: LocalService,
        recorder: Option<Recorder>,
        guard: crate::security::Guard,
    ) -> Self {
        Audited {
            inner,
            shared: Arc::new((recorder, guard)),
        }
    }
}

impl tower::Service<Request<Body>> for Audited {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let (inner, shared) = (self.inner.clone(), self.shared.clone());
        Box::pin(async move {
            let request_id = ensure_request_id(request.headers_mut());
            let (recorder, guard) = &*shared;
            let mut response = handle(inner, recorder, guard, request, &request_id).await;
            response.headers_mut().insert(REQUEST_ID, request_id);
            Ok(response)
        })
    }
}

/// How a write ended, as the audit log names it.
struct Outcome {
    /// A trailers-only answer's status.
    header_code: Option<String>,
    /// The status in the trailers; `None` when the answer was dropped first.
    trailer_code: Option<String>,
}

impl Outcome {
    /// Fills in `entry`'s outcome, resource and hashes from the request's and
    /// the response's (hash, first bytes).
    fn complete(self, entry: &mut Entry, request: (String, Vec<u8>), response: (String, Vec<u8>)) {
        let (request_sha256, request_first) = request;
        let (response_sha256, response_first) = response;
        entry.outcome = match (self.header_code, self.trailer_code) {
            (Some(code), _) | (None, Some(code)) => super::code_name(Some(&code)),
            (None, None) => "CANCELLED".into(),
        };
        entry.resource = super::tap::resource(&entry.method, &request_first, &response_first);
        entry.request_sha256 = request_sha256;
        entry.response_sha256 = response_sha256;
    }
}

async fn handle(
    inner: LocalService,
    recorder: &Option<Recorder>,
    guard: &crate::security::Guard,
    mut request: Request<Body>,
    request_id: &HeaderValue,
) -> Response<Body> {
    let path = request.uri().path();
    let recorder = match recorder {
        Some(recorder) if !innolab_kit::meter::is_infrastructure(path) => recorder.clone(),
        _ => {
            let Ok(response) = tower::ServiceExt::oneshot(inner, request).await;
            return response;
        }
    };
    let method = path.trim_start_matches('/').to_string();
    let mut entry = Entry {
        client_id: guard.client_hint(request.headers(), request.extensions()),
        user_id: header_text(request.headers(), crate::security::USER_ID),
        issue: header_text(request.headers(), crate::security::ISSUE),
        method: method.clone(),
        request_id: request_id.to_str().unwrap_or_default().to_string(),
        ..Default::default()
    };
    let audited = super::is_audited(&method);
    let request_seen = Shared::default();
    if audited {
        let seen = request_seen.clone();
        request = request.map(|body| Body::new(Tap::new(body, seen)));
    }
    let Ok(response) = tower::ServiceExt::oneshot(inner, request).await;
    let header_code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let caller = response.extensions().get::<Admitted>().cloned();
    let denied = caller.is_none() && matches!(header_code.as_deref(), Some("7" | "16"));
    if let Some(Admitted(caller)) = caller {
        entry.client_id = caller.client_id;
    }
    if !audited {
        if denied {
            entry.outcome = super::code_name(header_code.as_deref());
            entry.request_sha256 = super::hex(&<sha2::Sha256 as sha2::Digest>::digest(b""));
            entry.response_sha256 = entry.request_sha256.clone();
            recorder.record(entry);
        }
        return response;
    }
    if recorder.strict() {
        return strict_answer(response, entry, recorder, request_seen, header_code).await;
    }
    let response_seen = Shared::default();
    let seen = response_seen.clone();
    response.map(move |body| {
        Body::new(Tap::new(body, seen).on_end(move |trailer_code| {
            let request = request_seen.lock().map(|s| s.finish()).unwrap_or_default();
            let response = response_seen.lock().map(|s| s.finish()).unwrap_or_default();
            let outcome = Outcome {
                header_code,
                trailer_code,
            };
            outcome.complete(&mut entry, request, response);
            recorder.record(entry);
        }))
    })
}

/// Strict mode: the write's answer is read whole (a write's answer is one
/// message), its entry appended, and only then is it passed on; a write
/// whose entry cannot be committed is answered UNAVAILABLE, saying that it
/// may have been applied, so that the caller retries with the same request
/// id rather than trusting an unrecorded success.
async fn strict_answer(
    response: Response<Body>,
    mut entry: Entry,
    recorder: Recorder,
    request_seen: Shared,
    header_code: Option<String>,
) -> Response<Body> {
    use http_body_util::BodyExt as _;
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
            let request = request_seen.lock().map(|s| s.finish()).unwrap_or_default();
            let outcome = Outcome {
                header_code: None,
                trailer_code: Some(code),
            };
            outcome.complete(&mut entry, request, Seen::default().finish());
            let _ = tokio::time::timeout(STRICT_AUDIT_WAIT, recorder.record_durable(entry)).await;
            return status.into_http();
        }
    };
    let request = request_seen.lock().map(|s| s.finish()).unwrap_or_default();
    let mut seen = Seen::default();
    seen.add(&bytes);
    let outcome = Outcome {
        header_code,
        trailer_code,
    };
    outcome.complete(&mut entry, request, seen.finish());
    let durable = matches!(
        tokio::time::timeout(STRICT_AUDIT_WAIT, recorder.record_durable(entry)).await,
        Ok(Ok(true))
    );
    if !durable {
        return tonic::Status::unavailable(
            "the audit log could not record this write, so it is not confirmed: it may have \
             been applied; retry with the same request_id",
        )
        .into_http();
    }
    // Frames as they came: a trailers-only answer had none.
    let mut frames = Vec::new();
    if !bytes.is_empty() {
        frames.push(Ok::<_, Infallible>(http_body::Frame::data(bytes)));
    }
    if let Some(trailers) = trailers {
        frames.push(Ok(http_body::Frame::trailers(trailers)));
    }
    Response::from_parts(
        parts,
        Body::new(http_body_util::StreamBody::new(tokio_stream::iter(frames))),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn request_ids_are_kept_or_made() {
        let mut headers = http::HeaderMap::new();
        let made = ensure_request_id(&mut headers);
        assert_eq!(headers.get(REQUEST_ID), Some(&made));
        let mut headers = http::HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc"));
        assert_eq!(ensure_request_id(&mut headers), "abc");
    }
}
