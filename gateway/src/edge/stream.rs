//! Connect streams (`application/connect+json`, `application/connect+proto`):
//! the caller's envelopes become gRPC frames and the answer's frames become
//! envelopes, one message at a time, ending with the end-of-stream envelope
//! that carries the status and the trailers as JSON. Works for every
//! streaming method (exports, the change feeds, uploads, imports), over
//! HTTP/1.1 as over HTTP/2 for the server streams.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body::Frame;
use innolab_kit::server::LocalService;
use tonic::Status;
use tonic::body::Body;

use super::Codec;
use super::envelope::Reframe;

/// Flag of an envelope whose payload is compressed.
const COMPRESSED: u8 = 0b01;
/// Flag of the end-of-stream envelope.
const END_STREAM: u8 = 0b10;

/// A Connect streaming call.
pub(super) async fn call(
    inner: LocalService,
    request: Request<Body>,
    codec: Codec,
    limit: usize,
) -> Response<Body> {
    let method = match super::method(request.uri().path()) {
        Ok(method) => method,
        Err(response) => return *response,
    };
    let (parts, body) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let gzipped = match super::compressed(
        header("connect-content-encoding"),
        "Connect-Content-Encoding",
    ) {
        Ok(gzipped) => gzipped,
        Err(status) => return super::error_response(&status),
    };
    let gzip_answer = super::accepts_gzip(parts.headers.get("connect-accept-encoding"));
    // Why the caller's own stream was refused (bad JSON, too large), which
    // the service sees only as a broken request.
    let refused: Arc<Mutex<Option<Status>>> = Arc::default();
    let input = method.input();
    let noted = refused.clone();
    let requests = Reframe::new(
        body,
        limit,
        Box::new(move |flags, payload| {
            let payload = if flags & COMPRESSED != 0 {
                if !gzipped {
                    return Err(Status::invalid_argument(
                        "a compressed message without Connect-Content-Encoding",
                    ));
                }
                Bytes::from(super::gunzip(&payload, limit)?)
            } else {
                payload
            };
            let message = super::to_proto(&input, codec, &payload)?;
            Ok(super::grpc_frame(&message))
        }),
        Box::new(move |how| {
            if let Err(status) = how
                && let Ok(mut slot) = noted.lock()
                && slot.is_none()
            {
                *slot = Some(status);
            }
            None
        }),
    );
    let request = match super::grpc_request(parts, Body::new(requests)) {
        Ok(request) => request,
        Err(status) => return super::error_response(&status),
    };
    let Ok(response) = tower::ServiceExt::oneshot(inner, request).await;
    let (parts, body) = response.into_parts();
    let mut answer = Response::new(Body::empty());
    *answer.headers_mut() = super::passed_headers(&parts.headers);
    answer.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(match codec {
            Codec::Json => "application/connect+json",
            Codec::Proto => "application/connect+proto",
        }),
    );
    if gzip_answer {
        answer
            .headers_mut()
            .insert("connect-content-encoding", HeaderValue::from_static("gzip"));
    }
    let ending = move |how: Result<Option<http::HeaderMap>, Status>| {
        let refusal = refused.lock().ok().and_then(|mut r| r.take());
        let end = match (refusal, how) {
            (Some(status), _) | (None, Err(status)) => end_of_stream(Some(&status), None),
            (None, Ok(trailers)) => {
                let trailers = trailers.unwrap_or_default();
                let status = Status::from_header_map(&trailers).unwrap_or_else(|| {
                    Status::internal("the stream ended without a status (no grpc-status trailer)")
                });
                let failed = status.code() != tonic::Code::Ok;
                end_of_stream(failed.then_some(&status), Some(&trailers))
            }
        };
        Some(Ok(Frame::data(end)))
    };
    // A trailers-only answer (an error before any message).
    if parts.headers.contains_key("grpc-status") {
        let end = ending(Ok(Some(parts.headers)));
        let frames = tokio_stream::iter(end);
        *answer.body_mut() = Body::new(http_body_util::StreamBody::new(frames));
        return answer;
    }
    let output = method.output();
    let messages = Reframe::new(
        body,
        usize::MAX,
        Box::new(move |_flags, payload| {
            let message = super::from_proto(&output, codec, payload)?;
            if gzip_answer {
                Ok(envelope(COMPRESSED, &super::gzip(&message)))
            } else {
                Ok(envelope(0, &message))
            }
        }),
        Box::new(ending),
    );
    *answer.body_mut() = Body::new(messages);
    answer
}

fn envelope(flags: u8, payload: &[u8]) -> Bytes {
    let mut frame = super::grpc_frame(payload).to_vec();
    frame[0] = flags;
    frame.into()
}

/// The end-of-stream envelope: `{"error": {...}, "metadata": {...}}`.
fn end_of_stream(status: Option<&Status>, trailers: Option<&http::HeaderMap>) -> Bytes {
    let mut end = serde_json::Map::new();
    if let Some(status) = status {
        end.insert("error".into(), crate::json::error_json(status));
    }
    let mut metadata = serde_json::Map::new();
    for (name, value) in trailers.into_iter().flatten() {
        if name.as_str().starts_with("grpc-") {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        let entry = metadata
            .entry(name.as_str().to_string())
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(values) = entry {
            values.push(value.into());
        }
    }
    if !metadata.is_empty() {
        end.insert("metadata".into(), metadata.into());
    }
    envelope(
        END_STREAM,
        serde_json::Value::Object(end).to_string().as_bytes(),
    )
}
