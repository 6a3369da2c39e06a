//! Plain HTTP for systems with nothing but an HTTP library: the change feed
//! as Server-Sent Events or NDJSON, every open-data export as NDJSON or
//! CSV, attachments downloaded with a GET (ETag, ranges) and uploaded with
//! the raw bytes. Each is made the gRPC call it stands for and handed to
//! the same stack as every other call, so the guard, the audit log, the
//! metrics and the deadlines hold as for gRPC; only the encoding differs.
//!
//! | route | gRPC method |
//! |---|---|
//! | `GET /changes?cursor=&follow=` | `GatewayService/StreamChanges` |
//! | `GET /feeds/{guidance,cases,calls}.atom?lang=&filter=` | list calls (`atom.rs`) |
//! | `GET /exports/{collection}?format=csv\|ndjson` | the collection's `Export*` stream ([`EXPORTS`]; `filter=` for initiatives) |
//! | `GET /files/documents/{d}/attachments/{a}` | `GuidanceService/DownloadAttachment` |
//! | `POST /files/documents/{d}/attachments?filename=&sha256=` | `GuidanceService/UploadAttachment` |

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use innolab_kit::opendata::csv_cell;
use innolab_kit::server::LocalService;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor, Value};
use tonic::Status;
use tonic::body::Body;

use super::envelope::Reframe;
use super::{Codec, error_response};

const CHANGES: &str = "/innolab.gateway.v1.GatewayService/StreamChanges";

/// The open-data streams served over HTTP as `/exports/{collection}` (also
/// `.csv`, `.ndjson`): (collection, gRPC method).
pub(crate) const EXPORTS: &[(&str, &str)] = &[
    (
        "organizations",
        "/innolab.membership.v1.MembershipService/ExportOrganizations",
    ),
    (
        "groups",
        "/innolab.membership.v1.MembershipService/ExportGroups",
    ),
    (
        "memberships",
        "/innolab.membership.v1.MembershipService/ExportMemberships",
    ),
    (
        "posts",
        "/innolab.membership.v1.MembershipService/ExportPosts",
    ),
    (
        "initiatives",
        "/innolab.initiatives.v1.InitiativesService/ExportInitiatives",
    ),
    (
        "challenges",
        "/innolab.initiatives.v1.InitiativesService/ExportChallenges",
    ),
    (
        "calls",
        "/innolab.initiatives.v1.InitiativesService/ExportInnovationCalls",
    ),
    (
        "submissions",
        "/innolab.initiatives.v1.InitiativesService/ExportSubmissions",
    ),
    (
        "documents",
        "/innolab.guidance.v1.GuidanceService/ExportDocuments",
    ),
    (
        "assessments",
        "/innolab.impact.v1.ImpactService/ExportAssessments",
    ),
    (
        "indicators",
        "/innolab.impact.v1.ImpactService/ExportIndicators",
    ),
    (
        "capacity-assessments",
        "/innolab.impact.v1.ImpactService/ExportCapacityAssessments",
    ),
];
const DOWNLOAD: &str = "/innolab.guidance.v1.GuidanceService/DownloadAttachment";
const UPLOAD: &str = "/innolab.guidance.v1.GuidanceService/UploadAttachment";

/// Largest piece of an uploaded file sent as one message.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// A plain route and what it names.
pub(super) enum Route {
    Changes,
    Atom(super::atom::Kind),
    Export(&'static str, &'static str),
    Download(String),
    Upload(String),
}

/// The plain route a request is for, if any.
pub(super) fn route(method: &Method, path: &str) -> Option<Route> {
    let read = *method == Method::GET || *method == Method::HEAD;
    let write = *method == Method::POST || *method == Method::PUT;
    match path {
        "/changes" if read => return Some(Route::Changes),
        _ if read && let Some(kind) = super::atom::kind(path) => return Some(Route::Atom(kind)),
        _ => {}
    }
    if let Some(file) = path.strip_prefix("/exports/")
        && read
    {
        let collection = file
            .strip_suffix(".csv")
            .or_else(|| file.strip_suffix(".ndjson"))
            .unwrap_or(file);
        let (collection, method) = EXPORTS.iter().find(|(c, _)| *c == collection)?;
        return Some(Route::Export(collection, method));
    }
    let name = path.strip_prefix("/files/")?;
    let parts: Vec<&str> = name.split('/').collect();
    let id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    match parts.as_slice() {
        ["documents", d, "attachments", a] if read && id(d) && id(a) => {
            Some(Route::Download(name.to_string()))
        }
        ["documents", d, "attachments"] if write && id(d) => {
            Some(Route::Upload(format!("documents/{d}")))
        }
        _ => None,
    }
}

/// Serves `route` through `inner`.
pub(super) async fn serve(
    inner: LocalService,
    request: Request<Body>,
    route: Route,
    limit: usize,
) -> Response<Body> {
    let query: Vec<(String, String)> =
        form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let result = match route {
        Route::Changes => changes(inner, request, param("cursor"), param("follow")).await,
        Route::Atom(kind) => {
            super::atom::serve(inner, request, kind, param("lang"), param("filter")).await
        }
        Route::Export(collection, method) => {
            let asked = Asked {
                collection,
                method,
                filter: param("filter"),
                format: param("format"),
            };
            export(inner, request, asked).await
        }
        Route::Download(name) => download(inner, request, name).await,
        Route::Upload(parent) => {
            let meta = UploadQuery {
                filename: param("filename"),
                sha256: param("sha256"),
                request_id: param("request_id"),
            };
            upload(inner, request, parent, meta, limit).await
        }
    };
    result.unwrap_or_else(|status| error_response(&status))
}

/// The method at `path` and a request message for it with `fields` set.
fn request_message(
    path: &str,
    fields: &[(&str, Value)],
) -> Result<(MethodDescriptor, Bytes), Status> {
    let method = crate::json::method(path)?;
    let mut message = DynamicMessage::new(method.input());
    for (name, value) in fields {
        message
            .try_set_field_by_name(name, value.clone())
            .map_err(|e| Status::internal(format!("{path}: {name}: {e}")))?;
    }
    Ok((method, message.encode_to_vec().into()))
}

/// Calls `method` through `inner` with `parts` (the caller's headers and
/// identity) and one request message.
pub(super) async fn call(
    inner: LocalService,
    mut parts: http::request::Parts,
    path: &str,
    body: Body,
) -> Result<Response<Body>, Status> {
    parts.uri = http::Uri::try_from(path).map_err(|e| Status::internal(e.to_string()))?;
    let request = super::grpc_request(parts, body)?;
    let Ok(response) = tower::ServiceExt::oneshot(inner, request).await;
    Ok(response)
}

/// Calls the server-streaming method at `path` with one request message of
/// `fields`; its descriptor and the answer, or the status it failed with
/// before its first message.
async fn open_stream(
    inner: LocalService,
    parts: http::request::Parts,
    path: &str,
    fields: &[(&str, Value)],
) -> Result<(MethodDescriptor, Response<Body>), Status> {
    let (method, message) = request_message(path, fields)?;
    let body = Body::new(http_body_util::Full::new(super::grpc_frame(&message)));
    let response = call(inner, parts, path, body).await?;
    match failed_early(&response) {
        Some(status) => Err(status),
        None => Ok((method, response)),
    }
}

/// A stream's answer that failed before its first message: its status.
fn failed_early(response: &Response<Body>) -> Option<Status> {
    response
        .headers()
        .contains_key("grpc-status")
        .then(|| Status::from_header_map(response.headers()))
        .flatten()
        .filter(|s| s.code() != tonic::Code::Ok)
}

/// The status a stream ended with: OK, or why not.
fn ending(how: Result<Option<http::HeaderMap>, Status>) -> Result<(), Status> {
    let trailers = how?.unwrap_or_default();
    match Status::from_header_map(&trailers) {
        Some(status) if status.code() == tonic::Code::Ok => Ok(()),
        Some(status) => Err(status),
        None => Err(Status::internal("the stream ended without a status")),
    }
}

fn json_of(kind: &MessageDescriptor, payload: Bytes) -> Result<serde_json::Value, Status> {
    let message = DynamicMessage::decode(kind.clone(), payload)
        .map_err(|e| Status::internal(format!("decoding the answer: {e}")))?;
    serde_json::to_value(&message).map_err(|e| Status::internal(format!("encoding: {e}")))
}

fn with_type(mut response: Response<Body>, content_type: &'static str) -> Response<Body> {
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

/// The merged change feed: `text/event-stream` (each change an event whose
/// id is the cursor to resume from, so an `EventSource` reconnecting with
/// `Last-Event-ID` goes on where it stopped) when asked for, else NDJSON.
async fn changes(
    inner: LocalService,
    request: Request<Body>,
    cursor: Option<String>,
    follow: Option<String>,
) -> Result<Response<Body>, Status> {
    let (parts, _) = request.into_parts();
    let sse = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let resume = parts
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let follow = match follow.as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(other) => {
            return Err(Status::invalid_argument(format!(
                "follow: {other:?} is not true or false"
            )));
        }
    };
    let cursor = resume.or(cursor).unwrap_or_default();
    let (method, response) = open_stream(
        inner,
        parts,
        CHANGES,
        &[
            ("cursor", Value::String(cursor)),
            ("follow", Value::Bool(follow)),
        ],
    )
    .await?;
    let output = method.output();
    let (parts, body) = response.into_parts();
    let lines = Reframe::new(
        body,
        usize::MAX,
        Box::new(move |_, payload| {
            let change = json_of(&output, payload)?;
            Ok(if sse {
                let id = change["cursor"].as_str().unwrap_or_default().to_string();
                format!("id: {id}\nevent: change\ndata: {change}\n\n").into()
            } else {
                format!("{change}\n").into()
            })
        }),
        Box::new(move |how| {
            let status = ending(how).err()?;
            let error = serde_json::json!({"error": crate::json::error_json(&status)});
            let last = if sse {
                format!("event: error\ndata: {}\n\n", error["error"])
            } else {
                format!("{error}\n")
            };
            Some(Ok(Frame::data(last.into())))
        }),
    );
    let mut answer = Response::new(Body::new(lines));
    *answer.headers_mut() = super::passed_headers(&parts.headers);
    answer.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    Ok(with_type(
        answer,
        if sse {
            "text/event-stream"
        } else {
            "application/x-ndjson"
        },
    ))
}

/// What an export over HTTP asks for.
struct Asked {
    collection: &'static str,
    method: &'static str,
    filter: Option<String>,
    format: Option<String>,
}

/// An open-data export, one record per line: NDJSON (the proto3 JSON of
/// each record) or CSV (RFC 4180; a column per field of the record, in
/// field order, named as in the proto; lists and objects as JSON text). The
/// record is the answer's one field (the initiative), or the whole answer
/// when it has several (a document and its edition). A failure midway cuts
/// the response off rather than end it as if complete.
async fn export(
    inner: LocalService,
    request: Request<Body>,
    asked: Asked,
) -> Result<Response<Body>, Status> {
    let Asked {
        collection,
        method: path,
        filter,
        format,
    } = asked;
    let (parts, _) = request.into_parts();
    let accept = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let csv = match format.as_deref() {
        Some("csv") => true,
        Some("ndjson") => false,
        Some(other) => {
            return Err(Status::invalid_argument(format!(
                "format: {other:?} is not csv or ndjson"
            )));
        }
        None => parts.uri.path().ends_with(".csv") || accept.contains("text/csv"),
    };
    let filters = crate::json::method(path)?
        .input()
        .get_field_by_name("filter")
        .is_some();
    let fields = match filter {
        Some(filter) if filters => vec![("filter", Value::String(filter))],
        Some(_) => {
            return Err(Status::invalid_argument(format!(
                "filter: the {collection} export takes no filter"
            )));
        }
        None => Vec::new(),
    };
    let (method, response) = open_stream(inner, parts, path, &fields).await?;
    let output = method.output();
    let field = match output.fields().len() {
        1 => output.fields().next().map(|f| f.name().to_string()),
        _ => None,
    };
    let record = match &field {
        Some(name) => output
            .get_field_by_name(name)
            .and_then(|f| f.kind().as_message().cloned())
            .ok_or_else(|| Status::internal("the export's answer holds no record"))?,
        None => output.clone(),
    };
    let columns: Vec<String> = record.fields().map(|f| f.name().to_string()).collect();
    let header = csv_line(columns.iter().map(|c| csv_cell(c)));
    let (parts, body) = response.into_parts();
    let lines = Reframe::new(
        body,
        usize::MAX,
        Box::new(move |_, payload| {
            let answer = DynamicMessage::decode(output.clone(), payload)
                .map_err(|e| Status::internal(format!("decoding the answer: {e}")))?;
            let item = match field.as_deref() {
                None => answer,
                Some(f) => match answer.get_field_by_name(f).map(|v| v.into_owned()) {
                    Some(Value::Message(item)) => item,
                    _ => return Ok(Bytes::new()),
                },
            };
            if !csv {
                let text = serde_json::to_string(&item)
                    .map_err(|e| Status::internal(format!("encoding: {e}")))?;
                return Ok(format!("{text}\n").into());
            }
            let options = prost_reflect::SerializeOptions::new()
                .use_proto_field_name(true)
                .skip_default_fields(false);
            let mut serializer = serde_json::Serializer::new(Vec::new());
            item.serialize_with_options(&mut serializer, &options)
                .map_err(|e| Status::internal(format!("encoding: {e}")))?;
            let value: serde_json::Value = serde_json::from_slice(&serializer.into_inner())
                .map_err(|e| Status::internal(format!("encoding: {e}")))?;
            let cells = columns.iter().map(|c| match value.get(c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => csv_cell(s),
                Some(other) => csv_cell(&other.to_string()),
            });
            Ok(csv_line(cells).into())
        }),
        Box::new(|how| ending(how).err().map(Err)),
    );
    let body: Body = if csv {
        use futures_util::StreamExt as _;
        let head =
            futures_util::stream::once(
                async move { Ok::<_, Status>(Frame::data(Bytes::from(header))) },
            );
        let rest = http_body_util::BodyStream::new(lines);
        Body::new(http_body_util::StreamBody::new(head.chain(rest)))
    } else {
        Body::new(lines)
    };
    let mut answer = Response::new(body);
    *answer.headers_mut() = super::passed_headers(&parts.headers);
    Ok(with_type(
        answer,
        if csv {
            "text/csv; charset=utf-8; header=present"
        } else {
            "application/x-ndjson"
        },
    ))
}

fn csv_line(cells: impl Iterator<Item = String>) -> String {
    let mut line = cells.collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// A single `bytes=` range of a file of `size` bytes: (first, last), or
/// `Err` when it lies outside the file (416).
fn range(header: Option<&HeaderValue>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    // Several ranges are answered with the whole file, as RFC 9110 allows.
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (first, "") => (first.parse().map_err(|_| ())?, size.saturating_sub(1)),
        (first, last) => {
            let last: u64 = last.parse().map_err(|_| ())?;
            (
                first.parse().map_err(|_| ())?,
                last.min(size.saturating_sub(1)),
            )
        }
    };
    if size == 0 || first > last || first >= size {
        return Err(());
    }
    Ok(Some((first, last)))
}

/// An attachment's bytes: its content type, length, `ETag` (the SHA-256),
/// `Content-Disposition`; `If-None-Match` answered 304, one `Range` 206.
async fn download(
    inner: LocalService,
    request: Request<Body>,
    name: String,
) -> Result<Response<Body>, Status> {
    let head = request.method() == Method::HEAD;
    let (parts, _) = request.into_parts();
    let if_none_match = parts.headers.get(http::header::IF_NONE_MATCH).cloned();
    let range_header = parts.headers.get(http::header::RANGE).cloned();
    let (method, response) =
        open_stream(inner, parts, DOWNLOAD, &[("name", Value::String(name))]).await?;
    let output = method.output();
    let (parts, mut body) = response.into_parts();
    // The first message is the metadata: read it before answering.
    let mut buffer = BytesMut::new();
    let first = loop {
        if let Some(message) = take_message(&mut buffer)? {
            break message;
        }
        use http_body_util::BodyExt as _;
        match body.frame().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => buffer.extend_from_slice(&data),
                Err(frame) => {
                    let trailers = frame.into_trailers().unwrap_or_default();
                    return Err(ending(Ok(Some(trailers)))
                        .err()
                        .unwrap_or_else(|| Status::internal("the download held nothing")));
                }
            },
            Some(Err(status)) => return Err(status),
            None => return Err(Status::internal("the download ended before its metadata")),
        }
    };
    let metadata = DynamicMessage::decode(output.clone(), first)
        .map_err(|e| Status::internal(format!("decoding the answer: {e}")))?;
    let attachment = match metadata
        .get_field_by_name("attachment")
        .map(|v| v.into_owned())
    {
        Some(Value::Message(a)) => a,
        _ => {
            return Err(Status::internal(
                "the download did not start with its metadata",
            ));
        }
    };
    let text = |field: &str| match attachment.get_field_by_name(field).map(|v| v.into_owned()) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let size = match attachment
        .get_field_by_name("size_bytes")
        .map(|v| v.into_owned())
    {
        Some(Value::I64(n)) => u64::try_from(n).unwrap_or(0),
        _ => 0,
    };
    let etag = format!("\"{}\"", text("sha256"));
    let mut answer = Response::new(Body::empty());
    *answer.headers_mut() = super::passed_headers(&parts.headers);
    let headers = answer.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(http::header::ETAG, value);
    }
    headers.insert(
        http::header::ACCEPT_RANGES,
        HeaderValue::from_static("bytes"),
    );
    let content_type = text("content_type");
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let filename: String = text("filename")
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(http::header::CONTENT_DISPOSITION, value);
    }
    let unchanged = if_none_match
        .and_then(|v| v.to_str().ok().map(str::to_string))
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if unchanged {
        *answer.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(answer);
    }
    let (skip, length) = match range(range_header.as_ref(), size) {
        Ok(None) => (0, size),
        Ok(Some((first, last))) => {
            *answer.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {first}-{last}/{size}")) {
                answer
                    .headers_mut()
                    .insert(http::header::CONTENT_RANGE, value);
            }
            (first, last - first + 1)
        }
        Err(()) => {
            let mut refused = error_response(&Status::out_of_range(format!(
                "Range: outside the file's {size} bytes"
            )));
            *refused.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                refused
                    .headers_mut()
                    .insert(http::header::CONTENT_RANGE, value);
            }
            return Ok(refused);
        }
    };
    if let Ok(value) = HeaderValue::from_str(&length.to_string()) {
        answer
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, value);
    }
    if head {
        return Ok(answer);
    }
    // The chunks after the metadata, cut to the range.
    let rest = Body::new(Prefixed {
        prefix: Some(buffer.freeze()),
        inner: body,
    });
    let mut to_skip = skip;
    let mut left = length;
    let bytes = Reframe::new(
        rest,
        usize::MAX,
        Box::new(move |_, payload| {
            let part = DynamicMessage::decode(output.clone(), payload)
                .map_err(|e| Status::internal(format!("decoding the answer: {e}")))?;
            let Some(Value::Bytes(mut chunk)) =
                part.get_field_by_name("chunk").map(|v| v.into_owned())
            else {
                return Ok(Bytes::new());
            };
            let skipped = usize::try_from(to_skip.min(chunk.len() as u64)).unwrap_or(0);
            to_skip -= skipped as u64;
            let _ = chunk.split_to(skipped);
            let kept = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(0);
            left -= kept as u64;
            Ok(chunk.split_to(kept))
        }),
        Box::new(|how| ending(how).err().map(Err)),
    );
    *answer.body_mut() = Body::new(bytes);
    Ok(answer)
}

/// One whole length-prefixed message off the front of `buffer`, if there.
fn take_message(buffer: &mut BytesMut) -> Result<Option<Bytes>, Status> {
    if buffer.len() < 5 {
        return Ok(None);
    }
    let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if buffer.len() < 5 + length {
        return Ok(None);
    }
    if buffer[0] & 1 != 0 {
        return Err(Status::internal(
            "a compressed answer, which was not asked for",
        ));
    }
    let _ = buffer.split_to(5);
    Ok(Some(buffer.split_to(length).freeze()))
}

/// A body that first yields `prefix` (bytes already read), then `inner`.
struct Prefixed {
    prefix: Option<Bytes>,
    inner: Body,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(prefix) = self.prefix.take()
            && !prefix.is_empty()
        {
            return std::task::Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }
}

/// What an upload says about its file besides the bytes.
struct UploadQuery {
    filename: Option<String>,
    sha256: Option<String>,
    request_id: Option<String>,
}

/// A file uploaded as the raw request body: its type from `Content-Type`,
/// its name from `?filename=` (or `Content-Disposition`), its SHA-256 from
/// `?sha256=` (hex) or `Repr-Digest: sha-256=:<base64>:`, an idempotency key
/// from `?request_id=` or `Idempotency-Key`. Answered 201 with the
/// attachment as JSON and its download URL in `Location`.
async fn upload(
    inner: LocalService,
    request: Request<Body>,
    parent: String,
    query: UploadQuery,
    limit: usize,
) -> Result<Response<Body>, Status> {
    let (parts, body) = request.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let filename = query
        .filename
        .or_else(|| header("content-disposition").and_then(|d| disposition_filename(&d)))
        .unwrap_or_default();
    let sha256 = match query.sha256 {
        Some(hex) => hex.to_ascii_lowercase(),
        None => header("repr-digest")
            .and_then(|d| digest_sha256(&d))
            .unwrap_or_default(),
    };
    let content_type = header("content-type").unwrap_or_else(|| "application/octet-stream".into());
    let request_id = query
        .request_id
        .or_else(|| header("idempotency-key"))
        .unwrap_or_default();
    let method = crate::json::method(UPLOAD)?;
    let input = method.input();
    let metadata_kind = message_field(&input, "metadata")?;
    let attachment_kind = message_field(&metadata_kind, "attachment")?;
    let mut attachment = DynamicMessage::new(attachment_kind);
    for (field, value) in [
        ("filename", filename),
        ("content_type", content_type),
        ("sha256", sha256),
    ] {
        set(&mut attachment, field, Value::String(value))?;
    }
    let mut metadata = DynamicMessage::new(metadata_kind);
    set(&mut metadata, "parent", Value::String(parent))?;
    set(&mut metadata, "attachment", Value::Message(attachment))?;
    set(&mut metadata, "request_id", Value::String(request_id))?;
    let mut first = DynamicMessage::new(input.clone());
    set(&mut first, "metadata", Value::Message(metadata))?;
    let first = super::grpc_frame(&first.encode_to_vec());
    // Each piece of the body becomes a chunk message no larger than the limit.
    let piece = UPLOAD_CHUNK.min(limit.saturating_sub(16).max(1));
    let chunks = Chunked {
        first: Some(first),
        inner: body,
        pending: Bytes::new(),
        piece,
        input,
    };
    let response = call(inner, parts, UPLOAD, Body::new(chunks)).await?;
    let mut answer = super::unary::answer(response, &method, Codec::Json, false).await;
    if answer.status() == StatusCode::OK {
        *answer.status_mut() = StatusCode::CREATED;
    }
    Ok(answer)
}

fn message_field(kind: &MessageDescriptor, name: &str) -> Result<MessageDescriptor, Status> {
    kind.get_field_by_name(name)
        .and_then(|f| f.kind().as_message().cloned())
        .ok_or_else(|| Status::internal(format!("{}: no message field {name}", kind.full_name())))
}

fn set(message: &mut DynamicMessage, field: &str, value: Value) -> Result<(), Status> {
    message
        .try_set_field_by_name(field, value)
        .map_err(|e| Status::internal(format!("{field}: {e}")))
}

/// `filename="..."` of a `Content-Disposition`.
fn disposition_filename(value: &str) -> Option<String> {
    value.split(';').find_map(|part| {
        let (key, v) = part.trim().split_once('=')?;
        (key.trim().eq_ignore_ascii_case("filename"))
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The SHA-256 of a `Repr-Digest` (RFC 9530, `sha-256=:<base64>:`), as hex.
fn digest_sha256(value: &str) -> Option<String> {
    use base64::Engine as _;
    value.split(',').find_map(|part| {
        let (algorithm, digest) = part.trim().split_once('=')?;
        if !algorithm.trim().eq_ignore_ascii_case("sha-256") {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(digest.trim().trim_matches(':'))
            .ok()?;
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    })
}

/// The upload's gRPC request body: the metadata message, then the raw body
/// in chunk messages.
struct Chunked {
    first: Option<Bytes>,
    inner: Body,
    pending: Bytes,
    piece: usize,
    input: MessageDescriptor,
}

impl Chunked {
    fn chunk(&mut self) -> Result<Bytes, Status> {
        let take = self.piece.min(self.pending.len());
        let piece = self.pending.split_to(take);
        let mut message = DynamicMessage::new(self.input.clone());
        set(&mut message, "chunk", Value::Bytes(piece))?;
        Ok(super::grpc_frame(&message.encode_to_vec()))
    }
}

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Status>>> {
        use std::task::Poll;
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        loop {
            if !self.pending.is_empty() {
                return Poll::Ready(Some(self.chunk().map(Frame::data)));
            }
            match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(status))) => return Poll::Ready(Some(Err(status))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending = data;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        let h = |v: &'static str| Some(HeaderValue::from_static(v));
        assert_eq!(range(None, 100), Ok(None));
        assert_eq!(range(h("bytes=0-9").as_ref(), 100), Ok(Some((0, 9))));
        assert_eq!(range(h("bytes=90-").as_ref(), 100), Ok(Some((90, 99))));
        assert_eq!(range(h("bytes=-10").as_ref(), 100), Ok(Some((90, 99))));
        assert_eq!(range(h("bytes=95-200").as_ref(), 100), Ok(Some((95, 99))));
        assert_eq!(range(h("bytes=0-1,5-6").as_ref(), 100), Ok(None));
        assert_eq!(range(h("bytes=100-").as_ref(), 100), Err(()));
        assert_eq!(range(h("bytes=5-1").as_ref(), 100), Err(()));
        assert_eq!(range(h("bytes=x-1").as_ref(), 100), Err(()));
    }

    #[test]
    fn plain_routes_are_recognised() {
        assert!(matches!(
            route(&Method::GET, "/changes"),
            Some(Route::Changes)
        ));
        assert!(matches!(
            route(&Method::GET, "/exports/initiatives.csv"),
            Some(Route::Export("initiatives", m)) if m.ends_with("/ExportInitiatives")
        ));
        assert!(matches!(
            route(&Method::GET, "/exports/capacity-assessments"),
            Some(Route::Export("capacity-assessments", m)) if m.ends_with("/ExportCapacityAssessments")
        ));
        assert!(route(&Method::GET, "/exports/people").is_none());
        assert!(route(&Method::POST, "/exports/posts").is_none());
        // Every method the table names is in the contract, a server stream.
        for (collection, method) in EXPORTS {
            let found = crate::json::method(method).unwrap();
            assert!(!collection.is_empty());
            assert!(found.is_server_streaming() && !found.is_client_streaming());
        }
        assert!(matches!(
            route(&Method::GET, "/files/documents/a-1/attachments/b-2"),
            Some(Route::Download(n)) if n == "documents/a-1/attachments/b-2"
        ));
        assert!(matches!(
            route(&Method::POST, "/files/documents/a-1/attachments"),
            Some(Route::Upload(p)) if p == "documents/a-1"
        ));
        assert!(route(&Method::POST, "/changes").is_none());
        assert!(route(&Method::GET, "/files/documents/../attachments/x").is_none());
    }

    #[test]
    fn digests_and_dispositions_are_read() {
        assert_eq!(
            disposition_filename("attachment; filename=\"guide.pdf\"").as_deref(),
            Some("guide.pdf")
        );
        // sha-256 of "" in base64.
        assert_eq!(
            digest_sha256("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }
}
