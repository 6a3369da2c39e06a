//! Connect unary calls: a POST whose body is the message (JSON or binary,
//! gzip allowed), or a GET whose query carries it (methods marked
//! `NO_SIDE_EFFECTS` only), answered with the message or the error JSON.

use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use innolab_kit::server::LocalService;
use prost_reflect::MethodDescriptor;
use tonic::Status;
use tonic::body::Body;

use super::{Codec, error_response};

/// A Connect unary POST.
pub(super) async fn post(
    inner: LocalService,
    request: Request<Body>,
    codec: Codec,
    limit: usize,
) -> Response<Body> {
    let method = match super::method(request.uri().path()) {
        Ok(method) => method,
        Err(response) => return *response,
    };
    if method.is_client_streaming() || method.is_server_streaming() {
        return wrong_shape(&method);
    }
    let (parts, body) = request.into_parts();
    let gzipped = match super::compressed(
        parts
            .headers
            .get(http::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        "Content-Encoding",
    ) {
        Ok(gzipped) => gzipped,
        Err(status) => return error_response(&status),
    };
    let deadline = match super::deadline(&parts) {
        Ok(deadline) => deadline,
        Err(status) => return error_response(&status),
    };
    let read = http_body_util::Limited::new(body, limit).collect();
    let read = match deadline {
        Some(at) => match tokio::time::timeout_at(at.into(), read).await {
            Ok(read) => read,
            Err(_) => return error_response(&super::deadline_passed()),
        },
        None => read.await,
    };
    let bytes = match read {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return super::too_large(limit),
        Err(e) => {
            return error_response(&Status::invalid_argument(format!(
                "cannot read the request body: {e}"
            )));
        }
    };
    call(inner, parts, &method, codec, bytes.to_vec(), gzipped, limit).await
}

/// A Connect unary GET: `?encoding=json|proto&message=...` (`base64=1` for
/// base64url, `compression=gzip`, `connect=v1`).
pub(super) async fn get(
    inner: LocalService,
    request: Request<Body>,
    limit: usize,
) -> Response<Body> {
    let method = match super::method(request.uri().path()) {
        Ok(method) => method,
        Err(response) => return *response,
    };
    if method.is_client_streaming() || method.is_server_streaming() {
        return wrong_shape(&method);
    }
    if !no_side_effects(&method) {
        return super::not_allowed(
            request.method(),
            "POST",
            &format!(
                "{} changes data, so it is called with POST; GET is for methods without side \
                 effects",
                method.full_name()
            ),
        );
    }
    let (parts, _) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let mut message = None;
    let mut encoding = None;
    let mut base64 = false;
    let mut compression = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "message" => message = Some(value.into_owned()),
            "encoding" => encoding = Some(value.into_owned()),
            "base64" => base64 = value == "1",
            "compression" => compression = Some(value.into_owned()),
            _ => {}
        }
    }
    let codec = match encoding.as_deref() {
        Some("json") => Codec::Json,
        Some("proto") => Codec::Proto,
        Some(other) => {
            let mut response = error_response(&Status::invalid_argument(format!(
                "encoding: {other:?} is not json or proto"
            )));
            *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return response;
        }
        None => {
            return error_response(&Status::invalid_argument(
                "encoding: a GET call names its message's encoding (encoding=json or \
                 encoding=proto) and carries it in message=",
            ));
        }
    };
    let gzipped = match super::compressed(compression.as_deref(), "compression") {
        Ok(gzipped) => gzipped,
        Err(status) => return error_response(&status),
    };
    let message = message.unwrap_or_default();
    let bytes = if base64 {
        use base64::Engine as _;
        let trimmed = message.trim_end_matches('=');
        match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed) {
            Ok(bytes) => bytes,
            Err(e) => {
                return error_response(&Status::invalid_argument(format!(
                    "message: not base64url: {e}"
                )));
            }
        }
    } else {
        message.into_bytes()
    };
    if bytes.len() > limit {
        return super::too_large(limit);
    }
    call(inner, parts, &method, codec, bytes, gzipped, limit).await
}

pub(crate) use crate::json::no_side_effects;

/// 415: a streaming method called as unary.
fn wrong_shape(method: &MethodDescriptor) -> Response<Body> {
    let mut response = error_response(&Status::invalid_argument(format!(
        "{} streams: call it with application/connect+json or application/connect+proto",
        method.full_name()
    )));
    *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response
}

/// Makes the call as gRPC and answers it the Connect way.
async fn call(
    inner: LocalService,
    parts: http::request::Parts,
    method: &MethodDescriptor,
    codec: Codec,
    bytes: Vec<u8>,
    gzipped: bool,
    limit: usize,
) -> Response<Body> {
    let bytes = if gzipped {
        match super::gunzip(&bytes, limit) {
            Ok(bytes) => bytes,
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                return super::too_large(limit);
            }
            Err(status) => return error_response(&status),
        }
    } else {
        bytes
    };
    let message = match super::to_proto(&method.input(), codec, &bytes) {
        Ok(message) => message,
        Err(status) => return error_response(&status),
    };
    if message.len() > limit {
        return super::too_large(limit);
    }
    let gzip_answer = super::accepts_gzip(parts.headers.get(http::header::ACCEPT_ENCODING));
    let body = Body::new(http_body_util::Full::new(super::grpc_frame(&message)));
    let request = match super::grpc_request(parts, body) {
        Ok(request) => request,
        Err(status) => return error_response(&status),
    };
    let Ok(response) = tower::ServiceExt::oneshot(inner, request).await;
    answer(response, method, codec, gzip_answer).await
}

/// A unary gRPC answer the Connect way: the message in `codec` (gzipped if
/// `gzip`), its trailers as `trailer-` headers; or the error JSON.
pub(super) async fn answer(
    response: Response<Body>,
    method: &MethodDescriptor,
    codec: Codec,
    gzip_answer: bool,
) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let headers = super::passed_headers(&parts.headers);
    // A trailers-only answer (an error) carries its status in the headers.
    let (data, trailers) = if parts.headers.contains_key("grpc-status") {
        (bytes::Bytes::new(), parts.headers.clone())
    } else {
        match body.collect().await {
            Ok(collected) => {
                let trailers = collected.trailers().cloned().unwrap_or_default();
                (collected.to_bytes(), trailers)
            }
            Err(status) => return with_headers(error_response(&status), &headers),
        }
    };
    let status = Status::from_header_map(&trailers).unwrap_or_else(|| {
        Status::internal("the call ended without a status (no grpc-status trailer)")
    });
    if status.code() != tonic::Code::Ok {
        return with_headers(error_response(&status), &headers);
    }
    let payload = match first_message(data) {
        Ok(payload) => payload,
        Err(status) => return with_headers(error_response(&status), &headers),
    };
    let answer = match super::from_proto(&method.output(), codec, payload) {
        Ok(answer) => answer,
        Err(status) => return with_headers(error_response(&status), &headers),
    };
    let (answer, encoding) = if gzip_answer {
        (super::gzip(&answer).into(), Some("gzip"))
    } else {
        (answer, None)
    };
    let mut response = Response::new(Body::new(http_body_util::Full::new(answer)));
    let content_type = match codec {
        Codec::Json => "application/json",
        Codec::Proto => "application/proto",
    };
    let out = response.headers_mut();
    out.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Some(encoding) = encoding {
        out.insert(
            http::header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding),
        );
    }
    // The answer's trailers, as the protocol carries them in unary calls.
    for (name, value) in &trailers {
        if name.as_str().starts_with("grpc-") {
            continue;
        }
        if let Ok(prefixed) = http::header::HeaderName::try_from(format!("trailer-{name}")) {
            out.append(prefixed, value.clone());
        }
    }
    with_headers(response, &headers)
}

fn with_headers(mut response: Response<Body>, headers: &http::HeaderMap) -> Response<Body> {
    for (name, value) in headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// The one message of a unary gRPC answer.
fn first_message(mut data: bytes::Bytes) -> Result<bytes::Bytes, Status> {
    use bytes::Buf as _;
    if data.len() < 5 {
        return Err(Status::internal("the answer holds no message"));
    }
    if data[0] & 1 != 0 {
        return Err(Status::internal(
            "the answer is compressed, which was not asked for",
        ));
    }
    let length = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    data.advance(5);
    if data.len() < length {
        return Err(Status::internal("the answer's message is cut short"));
    }
    Ok(data.split_to(length))
}
