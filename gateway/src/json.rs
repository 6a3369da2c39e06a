//! The suite's descriptors at run time: the pool every protocol translation
//! reads (the edge's Connect transcoding, the audit log's resource names,
//! the ownership checks, the OpenAPI document), the Connect error JSON, and
//! [`invoke`], a unary call made with a JSON request (the demo loader's).

use std::sync::{Arc, LazyLock};

use bytes::{Buf, BufMut};
use http::{HeaderValue, Response, StatusCode};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

/// Every message type the suite's API uses, plus `google.rpc` error details
/// and health and reflection (so that Connect clients such as `buf curl
/// --protocol connect` check health and discover the API over Connect too).
pub static POOL: LazyLock<Result<Arc<DescriptorPool>, String>> = LazyLock::new(|| {
    let mut pool =
        DescriptorPool::decode(innolab_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())?;
    pool.decode_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .map_err(|e| e.to_string())?;
    for set in [
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ] {
        pool.decode_file_descriptor_set(set)
            .map_err(|e| e.to_string())?;
    }
    Ok(Arc::new(pool))
});

/// `package.Service/Method` of every unary method of the suite, for the
/// default deadline (looked up once, not per call).
pub static UNARY: LazyLock<std::collections::HashSet<String>> = LazyLock::new(|| {
    POOL.as_ref()
        .map(|pool| {
            pool.services()
                .flat_map(|s| s.methods().collect::<Vec<_>>())
                .filter(|m| !m.is_client_streaming() && !m.is_server_streaming())
                .map(|m| format!("{}/{}", m.parent_service().full_name(), m.name()))
                .collect()
        })
        .unwrap_or_default()
});

/// `package.Service/Method` of every unary method marked
/// `option idempotency_level = NO_SIDE_EFFECTS`: reads, which Connect
/// clients may send as GET and the gateway may send twice.
pub static READS: LazyLock<std::collections::HashSet<String>> = LazyLock::new(|| {
    POOL.as_ref()
        .map(|pool| {
            pool.services()
                .flat_map(|s| s.methods().collect::<Vec<_>>())
                .filter(|m| !m.is_client_streaming() && !m.is_server_streaming())
                .filter(no_side_effects)
                .map(|m| format!("{}/{}", m.parent_service().full_name(), m.name()))
                .collect()
        })
        .unwrap_or_default()
});

/// Whether a method is marked `option idempotency_level = NO_SIDE_EFFECTS`.
pub fn no_side_effects(method: &MethodDescriptor) -> bool {
    use prost_reflect::prost_types::method_options::IdempotencyLevel;
    method
        .method_descriptor_proto()
        .options
        .as_ref()
        .is_some_and(|o| o.idempotency_level() == IdempotencyLevel::NoSideEffects)
}

/// Anything that takes gRPC calls: a channel to a service, or the gateway's
/// own service in process.
pub trait Target:
    tonic::client::GrpcService<
        Body,
        ResponseBody: http_body::Body<Data = bytes::Bytes, Error: Into<StdError> + Send>
                          + Send
                          + 'static,
        Future: Send,
    > + Send
{
}

impl<T> Target for T where
    T: tonic::client::GrpcService<
            Body,
            ResponseBody: http_body::Body<Data = bytes::Bytes, Error: Into<StdError> + Send>
                              + Send
                              + 'static,
            Future: Send,
        > + Send
{
}

type StdError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Calls the unary method at `path` (`/<package>.<Service>/<Method>`) over
/// `channel` with a JSON request, returning the JSON answer. `headers` may
/// carry `x-request-id`, trace context and `connect-timeout-ms`.
pub async fn invoke(
    channel: impl Target,
    path: &str,
    body: &[u8],
    headers: &http::HeaderMap,
) -> Result<Vec<u8>, Status> {
    let method = method(path)?;
    if method.is_client_streaming() || method.is_server_streaming() {
        return Err(Status::unimplemented(format!(
            "{} streams; JSON access covers unary methods, use gRPC for streams",
            method.full_name()
        )));
    }
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let input = DynamicMessage::deserialize(method.input(), &mut deserializer)
        .map_err(|e| Status::invalid_argument(format!("request body: {e}")))?;

    let mut grpc_request = tonic::Request::new(input);
    for name in [
        "x-request-id",
        "traceparent",
        "tracestate",
        "x-user-id",
        "x-issue",
    ] {
        if let Some(value) = headers.get(name)
            && let Ok(value) = value.to_str()
            && let Ok(value) = value.parse()
        {
            grpc_request.metadata_mut().insert(name, value);
        }
    }
    if let Some(ms) = headers
        .get("connect-timeout-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        grpc_request.set_timeout(std::time::Duration::from_millis(ms));
    }

    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| {
        let e: StdError = e.into();
        Status::unavailable(format!("service unavailable: {e}"))
    })?;
    let grpc_path = http::uri::PathAndQuery::try_from(format!(
        "/{}/{}",
        method.parent_service().full_name(),
        method.name()
    ))
    .map_err(|e| Status::internal(e.to_string()))?;
    let codec = DynamicCodec {
        output: method.output(),
    };
    let reply = grpc
        .unary(grpc_request, grpc_path, codec)
        .await
        .map_err(|status| {
            // The client's own timer (Connect-Timeout-Ms) says CANCELLED;
            // the call's deadline passed.
            if status.code() == Code::Cancelled && status.message() == "Timeout expired" {
                Status::deadline_exceeded("the deadline (Connect-Timeout-Ms) passed")
            } else {
                status
            }
        })?;
    serde_json::to_vec(reply.get_ref())
        .map_err(|e| Status::internal(format!("encoding the answer: {e}")))
}

pub(crate) fn method(path: &str) -> Result<MethodDescriptor, Status> {
    let pool = POOL
        .as_ref()
        .map_err(|e| Status::internal(format!("descriptors: {e}")))?;
    let (service, name) = path
        .trim_start_matches('/')
        .split_once('/')
        .ok_or_else(|| Status::unimplemented(format!("no method at {path}")))?;
    pool.get_service_by_name(service)
        .and_then(|s| s.methods().find(|m| m.name() == name))
        .ok_or_else(|| Status::unimplemented(format!("no method at {path}")))
}

/// The Connect protocol's HTTP status for a gRPC code.
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The Connect protocol's name of a gRPC code.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// `{"code", "message", "details"}`, each detail with its type, its encoded
/// value and a readable `debug` form (e.g. the BadRequest field violations).
pub(crate) fn error_response(status: &Status) -> Response<Body> {
    let body = error_json(status);
    let mut response = Response::new(Body::new(http_body_util::Full::new(bytes::Bytes::from(
        body.to_string(),
    ))));
    *response.status_mut() = http_status(status.code());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The metrics count the code the caller was told.
    response
        .extensions_mut()
        .insert(innolab_kit::meter::Outcome(status.code()));
    response
}

/// The Connect error JSON of `status`.
pub(crate) fn error_json(status: &Status) -> serde_json::Value {
    serde_json::json!({
        "code": code_name(status.code()),
        "message": status.message(),
        "details": decode_details(status.details()),
    })
}

fn decode_details(raw: &[u8]) -> Vec<serde_json::Value> {
    use base64::Engine as _;
    if raw.is_empty() {
        return Vec::new();
    }
    let Ok(rpc_status) = tonic_types::pb::Status::decode(raw) else {
        return Vec::new();
    };
    let pool = POOL.as_ref().ok();
    rpc_status
        .details
        .into_iter()
        .map(|any| {
            let name = any
                .type_url
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let debug = pool
                .and_then(|p| p.get_message_by_name(&name))
                .and_then(|desc| DynamicMessage::decode(desc, any.value.as_slice()).ok())
                .and_then(|m| serde_json::to_value(&m).ok());
            serde_json::json!({
                "type": name,
                "value": base64::engine::general_purpose::STANDARD_NO_PAD.encode(&any.value),
                "debug": debug,
            })
        })
        .collect()
}

/// Encodes and decodes dynamic messages for the forwarded gRPC call.
#[derive(Debug, Clone)]
struct DynamicCodec {
    output: MessageDescriptor,
}

#[derive(Debug)]
struct DynamicEncoder;

#[derive(Debug)]
struct DynamicDecoder(MessageDescriptor);

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> DynamicEncoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> DynamicDecoder {
        DynamicDecoder(self.output.clone())
    }
}

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        let bytes = item.encode_to_vec();
        dst.put_slice(&bytes);
        Ok(())
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        DynamicMessage::decode(self.0.clone(), bytes)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding the answer: {e}")))
    }
}
