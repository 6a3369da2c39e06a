//! The gateway's protocol edge: every protocol a caller may speak becomes
//! gRPC here, before anything else sees the call, so that the guard, the
//! audit log, the metrics, the deadlines and the forwarding handle one
//! protocol and no path can go around them.
//!
//! - gRPC passes through unchanged.
//! - gRPC-Web (browsers) is translated by `tonic-web`, the gRPC authors'
//!   implementation; CORS is `tower-http`'s, open only to the origins the
//!   operator lists (`INNOLAB_CORS_ALLOWED_ORIGINS`; none by default).
//! - The Connect protocol (<https://connectrpc.com/docs/protocol>) for every
//!   method of the suite: unary calls as `application/json` or
//!   `application/proto` (also as GET for methods marked
//!   `NO_SIDE_EFFECTS`), streams as `application/connect+json` or
//!   `application/connect+proto`, gzip both ways, `Connect-Timeout-Ms` as
//!   the call's deadline, errors as the Connect error JSON ([`unary`],
//!   [`stream`]). Transcoded here with the suite's own descriptors: the Rust
//!   Connect implementation (`connectrpc`) serves its own generated types
//!   (buffa), not a byte-forwarding proxy in front of tonic services.
//! - Anything else is refused with the protocol's status and a JSON body:
//!   415 for a body of another content type, 405 for another HTTP method.

mod atom;
mod envelope;
mod plain;
pub(crate) use plain::EXPORTS;
mod stream;
mod unary;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Method, Request, Response, StatusCode};
use innolab_kit::server::LocalService;
use prost_reflect::MethodDescriptor;
use tonic::Status;
use tonic::body::Body;

use crate::json::error_response;

/// What the edge needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest message a caller may send, in bytes (the gateway's
    /// `INNOLAB_MAX_MESSAGE_BYTES`), held for JSON exactly as for gRPC.
    pub max_message_bytes: usize,
    /// Origins whose browser applications may call (CORS); empty: none.
    pub cors_origins: Vec<HeaderValue>,
}

/// Wraps `stack` (which takes gRPC) in the edge: CORS (when origins are
/// listed), gRPC-Web, then Connect.
pub fn wrap(stack: LocalService, settings: &Settings) -> LocalService {
    // tonic-web answers 400 to any HTTP/1.1 request that is not gRPC-Web,
    // so only gRPC-Web is given to it.
    let web = LocalService::new(tower::Layer::layer(
        &tonic_web::GrpcWebLayer::new(),
        stack.clone(),
    ));
    let connect = Connect {
        inner: stack,
        web,
        limit: settings.max_message_bytes,
    };
    if settings.cors_origins.is_empty() {
        return LocalService::new(connect);
    }
    LocalService::new(tower::Layer::layer(&cors(&settings.cors_origins), connect))
}

/// CORS for the listed origins: the methods and headers gRPC-Web and Connect
/// clients send, and the ones they read.
fn cors(origins: &[HeaderValue]) -> tower_http::cors::CorsLayer {
    use http::header::HeaderName;
    let names = |list: &[&'static str]| -> Vec<HeaderName> {
        list.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(names(&[
            "content-type",
            "authorization",
            "connect-protocol-version",
            "connect-timeout-ms",
            "connect-content-encoding",
            "connect-accept-encoding",
            "content-encoding",
            "accept-encoding",
            "grpc-timeout",
            "x-grpc-web",
            "x-user-agent",
            "x-request-id",
            "x-user-id",
            "x-issue",
            "traceparent",
            "tracestate",
        ]))
        .expose_headers(names(&[
            "grpc-status",
            "grpc-message",
            "grpc-status-details-bin",
            "content-encoding",
            "connect-content-encoding",
            "x-request-id",
        ]))
        .max_age(std::time::Duration::from_secs(7200))
}

/// The Connect protocol in front of a gRPC stack.
#[derive(Clone)]
struct Connect {
    inner: LocalService,
    web: LocalService,
    limit: usize,
}

/// How a message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Json,
    Proto,
}

/// What a request asks for, from its HTTP method and content type.
enum Kind {
    OpenApi,
    Grpc,
    GrpcWeb,
    Unary(Codec),
    Stream(Codec),
    Get,
    Unsupported(String),
    NotAllowed,
}

fn kind(request: &Request<Body>) -> Kind {
    let header = request.headers().get(http::header::CONTENT_TYPE);
    // The common case, gRPC, without an allocation.
    if request.method() == Method::POST
        && header.is_some_and(|v| v.as_bytes() == b"application/grpc")
    {
        return Kind::Grpc;
    }
    let content_type = header
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    match *request.method() {
        Method::POST => match essence.as_str() {
            "application/json" => Kind::Unary(Codec::Json),
            "application/proto" => Kind::Unary(Codec::Proto),
            "application/connect+json" => Kind::Stream(Codec::Json),
            "application/connect+proto" => Kind::Stream(Codec::Proto),
            grpc if grpc == "application/grpc" || grpc.starts_with("application/grpc+") => {
                Kind::Grpc
            }
            web if web.starts_with("application/grpc-web") => Kind::GrpcWeb,
            _ => Kind::Unsupported(content_type),
        },
        Method::GET if request.uri().path() == OPENAPI_PATH => Kind::OpenApi,
        Method::GET => Kind::Get,
        _ => Kind::NotAllowed,
    }
}

impl tower::Service<Request<Body>> for Connect {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        request
            .extensions_mut()
            .insert(Arrived(std::time::Instant::now()));
        let inner = self.inner.clone();
        let web = self.web.clone();
        let limit = self.limit;
        if let Some(route) = plain::route(request.method(), request.uri().path()) {
            return Box::pin(async move { Ok(plain::serve(inner, request, route, limit).await) });
        }
        Box::pin(async move {
            Ok(match kind(&request) {
                Kind::OpenApi => openapi(),
                Kind::Grpc => tower::ServiceExt::oneshot(inner, request).await?,
                Kind::GrpcWeb => tower::ServiceExt::oneshot(web, request).await?,
                Kind::Unary(codec) => unary::post(inner, request, codec, limit).await,
                Kind::Get => unary::get(inner, request, limit).await,
                Kind::Stream(codec) => stream::call(inner, request, codec, limit).await,
                Kind::Unsupported(content_type) => {
                    drain(request.into_body()).await;
                    unsupported(&content_type)
                }
                Kind::NotAllowed => {
                    let method = request.method().clone();
                    drain(request.into_body()).await;
                    not_allowed(
                        &method,
                        "POST",
                        "calls are POST (or GET for methods without side effects)",
                    )
                }
            })
        })
    }
}

/// Reads (and drops) a refused request's body, at most 64 KiB for at most a
/// second, so that the refusal ends the exchange cleanly: answered while
/// the client still sends, HTTP/2 resets the stream, and some clients
/// (curl 7.88) then lose the answer too.
async fn drain(body: Body) {
    use http_body_util::BodyExt as _;
    let read = http_body_util::Limited::new(body, 64 * 1024).collect();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), read).await;
}

/// Where the OpenAPI document of the JSON API is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The OpenAPI 3.1 document of every service the gateway serves, made once
/// from the descriptors it runs with.
static OPENAPI: std::sync::LazyLock<Result<bytes::Bytes, String>> =
    std::sync::LazyLock::new(|| {
        let pool = crate::json::POOL.as_ref().map_err(Clone::clone)?;
        let services: Vec<&str> = crate::UPSTREAM_NAMES
            .iter()
            .copied()
            .chain([crate::GATEWAY_NAME])
            .collect();
        let document = crate::openapi::document(pool, &services, env!("CARGO_PKG_VERSION"));
        Ok(document.to_string().into())
    });

fn openapi() -> Response<Body> {
    match OPENAPI.as_ref() {
        Ok(document) => {
            let mut response =
                Response::new(Body::new(http_body_util::Full::new(document.clone())));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => error_response(&Status::internal(format!("the OpenAPI document: {e}"))),
    }
}

/// 415: a body this gateway does not read. Says what it does read.
fn unsupported(content_type: &str) -> Response<Body> {
    let shown = if content_type.is_empty() {
        "no Content-Type".to_string()
    } else {
        format!("Content-Type {content_type:?}")
    };
    let mut response = error_response(&Status::invalid_argument(format!(
        "{shown} is not a protocol this gateway speaks: send application/json or \
             application/proto (Connect unary), application/connect+json or \
             application/connect+proto (Connect streams), application/grpc or \
             application/grpc-web"
    )));
    *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response.headers_mut().insert(
        "accept-post",
        HeaderValue::from_static(
            "application/json, application/proto, application/connect+json, \
             application/connect+proto, application/grpc, application/grpc-web",
        ),
    );
    response
}

/// 405 naming what is allowed.
fn not_allowed(method: &Method, allow: &'static str, why: &str) -> Response<Body> {
    let mut response = error_response(&Status::invalid_argument(format!(
        "HTTP {method} is not allowed here: {why}"
    )));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The method a path names, or the Connect answer for an unknown one (404,
/// as Connect servers answer an unknown procedure).
fn method(path: &str) -> Result<MethodDescriptor, Box<Response<Body>>> {
    crate::json::method(path).map_err(|status| {
        let mut response = error_response(&status);
        if status.code() == tonic::Code::Unimplemented {
            *response.status_mut() = StatusCode::NOT_FOUND;
        }
        Box::new(response)
    })
}

/// 413 for a request over the message limit, naming it.
fn too_large(limit: usize) -> Response<Body> {
    let mut response = error_response(&over_limit(limit));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
}

fn over_limit(limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "the request is larger than the gateway's message limit of {limit} bytes"
    ))
}

/// When a request's headers arrived: its `Connect-Timeout-Ms` counts from
/// then, as gRPC's timeout does, so a body sent slowly spends it too.
#[derive(Debug, Clone, Copy)]
struct Arrived(std::time::Instant);

/// The call's deadline, from `Connect-Timeout-Ms`.
fn deadline(parts: &http::request::Parts) -> Result<Option<std::time::Instant>, Status> {
    let Some(value) = parts.headers.get("connect-timeout-ms") else {
        return Ok(None);
    };
    let ms = value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            Status::invalid_argument(
                "Connect-Timeout-Ms: must be a positive number of milliseconds, at most 10 digits",
            )
        })?;
    let arrived = parts
        .extensions
        .get::<Arrived>()
        .map_or_else(std::time::Instant::now, |a| a.0);
    Ok(Some(arrived + std::time::Duration::from_millis(ms)))
}

fn deadline_passed() -> Status {
    Status::deadline_exceeded(
        "the deadline (Connect-Timeout-Ms) passed before the call was answered",
    )
}

/// The gRPC request for a Connect one: same path, headers and extensions
/// (the caller's certificate, its metadata), with gRPC's content type, what
/// is left of the deadline as `grpc-timeout`, and `body` (gRPC frames).
fn grpc_request(mut parts: http::request::Parts, body: Body) -> Result<Request<Body>, Status> {
    let left = match deadline(&parts)? {
        Some(at) => {
            let left = at.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(deadline_passed());
            }
            Some(left)
        }
        None => None,
    };
    for name in [
        "content-length",
        "content-encoding",
        "accept-encoding",
        "connect-protocol-version",
        "connect-timeout-ms",
        "connect-content-encoding",
        "connect-accept-encoding",
    ] {
        parts.headers.remove(name);
    }
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    parts
        .headers
        .insert(http::header::TE, HeaderValue::from_static("trailers"));
    if let Some(left) = left
        && let Ok(value) =
            HeaderValue::from_str(&format!("{}m", left.as_millis().clamp(1, 99_999_999)))
    {
        parts.headers.insert("grpc-timeout", value);
    }
    let path = parts.uri.path().to_string();
    parts.uri = http::Uri::try_from(path).unwrap_or_default();
    parts.method = Method::POST;
    parts.version = http::Version::HTTP_2;
    Ok(Request::from_parts(parts, body))
}

/// The headers of a gRPC answer that a Connect caller gets too (the
/// request id, the caller's own metadata), without gRPC's own.
fn passed_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    let mut out = http::HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        if n.starts_with("grpc-")
            || n == "content-type"
            || n == "content-length"
            || n == "content-encoding"
            || n == "te"
            || n == "trailer"
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// Whether a list of encodings (`Accept-Encoding`) takes gzip.
fn accepts_gzip(value: Option<&HeaderValue>) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|part| {
            let mut fields = part.split(';');
            let name = fields.next().unwrap_or_default().trim();
            let refused = fields.any(|f| {
                let f = f.trim().replace(' ', "");
                f == "q=0" || f == "q=0.0" || f == "q=0.00" || f == "q=0.000"
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

/// Reads `compression` (`gzip`, `identity` or none) or says it is not one
/// this gateway reads.
fn compressed(value: Option<&str>, header: &str) -> Result<bool, Status> {
    match value.map(str::trim) {
        None | Some("") | Some("identity") => Ok(false),
        Some(gzip) if gzip.eq_ignore_ascii_case("gzip") => Ok(true),
        Some(other) => Err(Status::unimplemented(format!(
            "{header}: {other:?} is not supported; use gzip or identity"
        ))),
    }
}

/// Gunzips `bytes`, refusing more than `limit` bytes of output.
fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, Status> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(bytes).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| Status::invalid_argument(format!("the gzip body cannot be read: {e}")))?;
    if out.len() > limit {
        return Err(over_limit(limit));
    }
    Ok(out)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// A message in `codec` as protobuf bytes of `kind`.
fn to_proto(
    kind: &prost_reflect::MessageDescriptor,
    codec: Codec,
    bytes: &[u8],
) -> Result<bytes::Bytes, Status> {
    match codec {
        Codec::Proto => Ok(bytes::Bytes::copy_from_slice(bytes)),
        Codec::Json => {
            use prost::Message as _;
            let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
                b"{}"
            } else {
                bytes
            };
            let mut deserializer = serde_json::Deserializer::from_slice(text);
            let message =
                prost_reflect::DynamicMessage::deserialize(kind.clone(), &mut deserializer)
                    .and_then(|m| deserializer.end().map(|()| m))
                    .map_err(|e| Status::invalid_argument(format!("request body: {e}")))?;
            Ok(message.encode_to_vec().into())
        }
    }
}

/// Protobuf bytes of `kind` as a message in `codec`.
fn from_proto(
    kind: &prost_reflect::MessageDescriptor,
    codec: Codec,
    bytes: bytes::Bytes,
) -> Result<bytes::Bytes, Status> {
    match codec {
        Codec::Proto => Ok(bytes),
        Codec::Json => {
            let message = prost_reflect::DynamicMessage::decode(kind.clone(), bytes)
                .map_err(|e| Status::internal(format!("decoding the answer: {e}")))?;
            serde_json::to_vec(&message)
                .map(Into::into)
                .map_err(|e| Status::internal(format!("encoding the answer: {e}")))
        }
    }
}

/// One gRPC frame (uncompressed) around `payload`.
fn grpc_frame(payload: &[u8]) -> bytes::Bytes {
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.push(0);
    frame.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    frame.extend_from_slice(payload);
    frame.into()
}

#[cfg(test)]
mod tests;
