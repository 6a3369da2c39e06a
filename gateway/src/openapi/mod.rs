//! The OpenAPI 3.1 document of the JSON API, generated from the suite's own
//! descriptors (never written by hand): one path per method as the gateway
//! serves it over the Connect protocol (connectrpc.com/docs/protocol), the
//! proto3 JSON mapping of every message and enum those methods reach, and the
//! Connect error. The same descriptors give the same bytes (every map is
//! sorted; serde_json is built without `preserve_order`).

mod plain;
mod schema;
#[cfg(test)]
mod tests;

use prost_reflect::{DescriptorPool, MethodDescriptor, ServiceDescriptor};
use prost_types::method_options::IdempotencyLevel;
use serde_json::{Map, Value, json};

use schema::{Schemas, first_sentence, pointer, reference};

/// The Connect error codes, as the error JSON names them.
const CODES: [&str; 16] = [
    "canceled",
    "unknown",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal",
    "unavailable",
    "data_loss",
    "unauthenticated",
];

/// The HTTP statuses of unary errors (the Connect protocol's table, plus 413
/// and 415 from HTTP itself), each with what it means here.
const STATUSES: [(&str, &str); 13] = [
    (
        "400",
        "`invalid_argument` (field violations in a `google.rpc.BadRequest` detail), `failed_precondition` or `out_of_range`.",
    ),
    ("401", "`unauthenticated`: no or a refused identity."),
    ("403", "`permission_denied`."),
    ("404", "`not_found`."),
    (
        "409",
        "`already_exists`, or `aborted` (a stale `etag` or a concurrent change).",
    ),
    (
        "413",
        "`resource_exhausted`: the request body is over the limit.",
    ),
    ("415", "The `Content-Type` is not one the method accepts."),
    ("429", "`resource_exhausted`: a rate or quota limit."),
    ("499", "`canceled`."),
    ("500", "`internal`, `unknown` or `data_loss`."),
    ("501", "`unimplemented`."),
    ("503", "`unavailable`: safe to retry."),
    ("504", "`deadline_exceeded` (see `Connect-Timeout-Ms`)."),
];

/// The name of the Connect error schema.
const ERROR: &str = "connect.error";

/// The OpenAPI 3.1.0 document of `services` (full names such as
/// `innolab.membership.v1.MembershipService`; names not in `pool` are
/// skipped) as the gateway serves them, `version` being the API's version.
pub fn document(pool: &DescriptorPool, services: &[&str], version: &str) -> Value {
    let mut schemas = Schemas::new(pool);
    let mut paths = Map::new();
    let mut tags = Vec::new();
    for service in services.iter().filter_map(|s| pool.get_service_by_name(s)) {
        let mut tag = json!({ "name": service.name() });
        if let Some(comment) = schemas.comment(service.parent_file().name(), service.path()) {
            tag["description"] = Value::String(comment);
        }
        tags.push(tag);
        for method in service.methods() {
            let path = format!("/{}/{}", service.full_name(), method.name());
            paths.insert(path, path_item(&mut schemas, &service, &method));
        }
    }
    for (path, item) in plain::paths(pool, &mut schemas) {
        paths.insert(path, item);
    }
    let error = error_schema(pool, &mut schemas);
    schemas.insert(ERROR, error);
    schemas.insert("connect.end_stream", end_stream_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "innolab JSON API (Connect protocol)",
            "version": version,
            "description": DESCRIPTION,
        },
        "externalDocs": {
            "description": "The Connect protocol",
            "url": "https://connectrpc.com/docs/protocol",
        },
        "security": [{ "bearer": [] }, { "mutualTLS": [] }],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas.into_map(),
            "parameters": parameters(),
            "responses": responses(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token from the lab's identity provider.",
                },
                "mutualTLS": {
                    "type": "mutualTLS",
                    "description": "A client certificate the gateway trusts.",
                },
            },
        },
    })
}

/// What `info.description` says: how the paths, encodings and errors work.
const DESCRIPTION: &str = "Every method of the innolab suite over HTTP, as the gateway serves it \
following the Connect protocol. This document is generated from the suite's protobuf descriptors \
when the gateway starts; it is never written by hand.\n\n\
A unary method is `POST /<package>.<Service>/<Method>` with `Content-Type: application/json` \
(the proto3 JSON mapping: lowerCamelCase field names, the original names accepted too; 64-bit \
integers as strings; enums by name; fields at their default value left out) or \
`application/proto` (the binary encoding). Methods without side effects may also be called with \
`GET` and the request in the query. Streaming methods take and give `application/connect+json` \
or `application/connect+proto`: a sequence of envelopes (one flags byte, a 4-byte big-endian \
length, the message), the answer ending with an end-of-stream envelope (flag `0x02`, a \
`connect.end_stream` JSON object). Errors are the Connect error JSON (`connect.error`). The paths \
tagged `plain HTTP` serve some streams to clients with nothing but an HTTP library (the change \
feed as Server-Sent Events or NDJSON, the initiatives export as NDJSON or CSV, attachments as \
raw bytes).";

/// The operations of one method.
fn path_item(
    schemas: &mut Schemas<'_>,
    service: &ServiceDescriptor,
    method: &MethodDescriptor,
) -> Value {
    let streaming = method.is_client_streaming() || method.is_server_streaming();
    let input = method.input();
    let output = method.output();
    let input_ref = schemas.message(&input);
    let output_ref = schemas.message(&output);
    let mut post = json!({
        "operationId": format!("{}_{}", service.name(), method.name()),
        "tags": [service.name()],
        "parameters": [
            { "$ref": "#/components/parameters/Connect-Protocol-Version" },
            { "$ref": "#/components/parameters/Connect-Timeout-Ms" },
        ],
    });
    if let Some(comment) = schemas.comment(method.parent_file().name(), method.path()) {
        post["summary"] = Value::String(first_sentence(&comment));
        post["description"] = Value::String(comment);
    }
    let options = method.method_descriptor_proto().options.as_ref();
    if options.is_some_and(|o| o.deprecated()) {
        post["deprecated"] = Value::Bool(true);
    }
    let (input_name, output_name) = (input.full_name(), output.full_name());
    if streaming {
        let kind = match (method.is_client_streaming(), method.is_server_streaming()) {
            (true, true) => "bidi",
            (true, false) => "client",
            _ => "server",
        };
        post["x-connect-streaming"] = Value::String(kind.into());
        post["requestBody"] = json!({
            "required": true,
            "description": format!("Enveloped `{input_name}` messages ({}).", if method.is_client_streaming() { "one or more" } else { "exactly one" }),
            "content": stream_content(input_name),
        });
        let mut answers = json!({
            "200": {
                "description": format!("Enveloped `{output_name}` messages ({}), then the end-of-stream envelope, which carries the error if the call failed.", if method.is_server_streaming() { "zero or more" } else { "exactly one on success" }),
                "content": stream_content(output_name),
            },
            "415": { "$ref": "#/components/responses/connect.error.415" },
        });
        answers["default"] = json!({ "$ref": "#/components/responses/connect.error" });
        post["responses"] = answers;
        return json!({ "post": post });
    }
    post["requestBody"] = json!({
        "required": true,
        "content": {
            "application/json": { "schema": input_ref.clone() },
            "application/proto": { "schema": binary(input_name) },
        },
    });
    post["responses"] = unary_responses(output_name, &output_ref);
    let mut item = json!({ "post": post.clone() });
    let safe = options.is_some_and(|o| o.idempotency_level() == IdempotencyLevel::NoSideEffects);
    if safe {
        let mut get = post;
        if let Some(get) = get.as_object_mut() {
            get.remove("requestBody");
        }
        get["operationId"] = Value::String(format!("{}_{}_get", service.name(), method.name()));
        get["parameters"] = json!([
            { "$ref": "#/components/parameters/Connect-Protocol-Version" },
            { "$ref": "#/components/parameters/Connect-Timeout-Ms" },
            { "$ref": "#/components/parameters/connect" },
            { "$ref": "#/components/parameters/encoding" },
            {
                "name": "message",
                "in": "query",
                "required": true,
                "description": format!("The `{input_name}` request: its JSON with `encoding=json`, its binary encoding with `encoding=proto`; with `base64=1`, that in URL-safe base64 (needed for `proto`); compressed first when `compression` is set."),
                "content": { "application/json": { "schema": input_ref } },
            },
            { "$ref": "#/components/parameters/base64" },
            { "$ref": "#/components/parameters/compression" },
        ]);
        item["get"] = get;
    }
    item
}

/// The answers of a unary call: the output, or a Connect error.
fn unary_responses(output_name: &str, output_ref: &Value) -> Value {
    let mut answers = Map::new();
    answers.insert(
        "200".into(),
        json!({
            "description": format!("The `{output_name}` answer, in the request's encoding."),
            "content": {
                "application/json": { "schema": output_ref },
                "application/proto": { "schema": binary(output_name) },
            },
        }),
    );
    for (status, _) in STATUSES {
        answers.insert(
            status.into(),
            json!({ "$ref": format!("#/components/responses/{ERROR}.{status}") }),
        );
    }
    answers.insert(
        "default".into(),
        json!({ "$ref": format!("#/components/responses/{ERROR}") }),
    );
    Value::Object(answers)
}

/// A message in the binary encoding.
fn binary(message: &str) -> Value {
    json!({
        "type": "string",
        "format": "binary",
        "description": format!("The `{message}` message in the protobuf binary encoding."),
        "x-protobuf-message": message,
    })
}

/// The content of a stream of `message`s in Connect envelopes.
fn stream_content(message: &str) -> Value {
    let envelopes = |encoding: &str| {
        json!({
            "schema": {
                "type": "string",
                "format": "binary",
                "description": format!("Connect envelopes (a flags byte, a 4-byte big-endian length, then the message), each holding one `{message}` ([schema]({})) in {encoding}.", pointer(message)),
                "x-connect-message": reference(message),
            }
        })
    };
    json!({
        "application/connect+json": envelopes("JSON"),
        "application/connect+proto": envelopes("the binary encoding"),
    })
}

/// The reusable parameters: Connect's headers and `GET` query.
fn parameters() -> Value {
    json!({
        "Connect-Protocol-Version": {
            "name": "Connect-Protocol-Version",
            "in": "header",
            "description": "The Connect protocol version; `1`.",
            "schema": { "type": "string", "enum": ["1"] },
        },
        "Connect-Timeout-Ms": {
            "name": "Connect-Timeout-Ms",
            "in": "header",
            "description": "The call's deadline in milliseconds; when it passes the call ends with `deadline_exceeded`.",
            "schema": { "type": "integer", "minimum": 0, "maximum": 9_999_999_999_u64 },
        },
        "connect": {
            "name": "connect",
            "in": "query",
            "required": true,
            "description": "The Connect protocol version.",
            "schema": { "type": "string", "enum": ["v1"] },
        },
        "encoding": {
            "name": "encoding",
            "in": "query",
            "required": true,
            "description": "How `message` is encoded (and the answer).",
            "schema": { "type": "string", "enum": ["json", "proto"] },
        },
        "base64": {
            "name": "base64",
            "in": "query",
            "description": "`1` when `message` is URL-safe base64.",
            "schema": { "type": "string", "enum": ["1"] },
        },
        "compression": {
            "name": "compression",
            "in": "query",
            "description": "How `message` is compressed.",
            "schema": { "type": "string", "enum": ["gzip", "identity"] },
        },
    })
}

/// The error answers, one per HTTP status, and `connect.error` for any.
fn responses() -> Value {
    let content = json!({ "application/json": { "schema": reference(ERROR) } });
    let mut answers = Map::new();
    for (status, text) in STATUSES {
        answers.insert(
            format!("{ERROR}.{status}"),
            json!({ "description": text, "content": content }),
        );
    }
    answers.insert(
        ERROR.into(),
        json!({ "description": "A Connect error.", "content": content }),
    );
    Value::Object(answers)
}

/// The Connect error JSON, its `debug` any of the `google.rpc` error details.
fn error_schema(pool: &DescriptorPool, schemas: &mut Schemas<'_>) -> Value {
    let details: Vec<Value> = pool
        .all_messages()
        .filter(|m| m.package_name() == "google.rpc" && m.parent_message().is_none())
        .filter(|m| m.full_name() != "google.rpc.Status")
        .map(|m| m.full_name().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|name| pool.get_message_by_name(&name))
        .map(|m| schemas.message(&m))
        .chain([json!({ "type": "null" })])
        .collect();
    json!({
        "type": "object",
        "description": "The Connect protocol's error: a code, a message for developers, and machine-readable details.",
        "properties": {
            "code": { "type": "string", "enum": CODES },
            "message": { "type": "string" },
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": { "type": "string", "description": "The detail's full message name, e.g. `google.rpc.BadRequest`." },
                        "value": { "type": "string", "contentEncoding": "base64", "description": "The detail in the protobuf binary encoding." },
                        "debug": { "description": "The detail as JSON, for people and for clients without its type.", "anyOf": details },
                    },
                    "required": ["type", "value"],
                },
            },
        },
        "required": ["code"],
    })
}

/// The JSON of a stream's last envelope.
fn end_stream_schema() -> Value {
    json!({
        "type": "object",
        "description": "The end-of-stream message of a Connect stream: the error if the call failed, and trailers.",
        "properties": {
            "error": reference(ERROR),
            "metadata": {
                "type": "object",
                "additionalProperties": { "type": "array", "items": { "type": "string" } },
            },
        },
    })
}
