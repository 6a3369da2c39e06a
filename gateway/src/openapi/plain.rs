//! The plain HTTP routes (`crate::edge` `plain.rs`) in the document: not
//! methods of the contract, so described here, their messages referenced
//! from the descriptors like every other schema.

use prost_reflect::DescriptorPool;
use serde_json::{Value, json};

use super::ERROR;
use super::schema::{Schemas, reference};

/// (path, path item) of each plain route whose messages `pool` holds.
pub(super) fn paths(pool: &DescriptorPool, schemas: &mut Schemas<'_>) -> Vec<(String, Value)> {
    let mut paths = Vec::new();
    let mut schema_of = |name: &str| pool.get_message_by_name(name).map(|m| schemas.message(&m));
    let error = json!({ "$ref": "#/components/responses/connect.error" });
    let tags = json!(["plain HTTP"]);
    if let Some(change) = schema_of("innolab.gateway.v1.StreamChangesResponse") {
        paths.push((
            "/changes".to_string(),
            json!({ "get": {
                "operationId": "plain_changes",
                "tags": tags,
                "summary": "The merged change feed as Server-Sent Events or NDJSON.",
                "description": "`GatewayService/StreamChanges` for HTTP clients. With `Accept: text/event-stream` each change is an event (`event: change`, `id:` the cursor after it, `data:` the change as JSON), so an EventSource resumes with `Last-Event-ID`; otherwise one JSON object per line. An error after the stream began is a last event `error` (or a last line `{\"error\": ...}`).",
                "parameters": [
                    { "name": "cursor", "in": "query", "description": "Resume after this cursor (the `cursor` of the last change received).", "schema": { "type": "string" } },
                    { "name": "follow", "in": "query", "description": "Keep the stream open for new changes.", "schema": { "type": "boolean" } },
                    { "name": "Last-Event-ID", "in": "header", "description": "The cursor to resume after (Server-Sent Events); wins over `cursor`.", "schema": { "type": "string" } },
                ],
                "responses": {
                    "200": { "description": "The changes.", "content": {
                        "text/event-stream": { "schema": { "type": "string" } },
                        "application/x-ndjson": { "schema": change },
                    } },
                    "default": error,
                },
            } }),
        ));
    }
    for (collection, path) in crate::edge::EXPORTS {
        let Some((service, name)) = path.trim_start_matches('/').split_once('/') else {
            continue;
        };
        let Some(method) = pool
            .get_service_by_name(service)
            .and_then(|s| s.methods().find(|m| m.name() == name))
        else {
            continue;
        };
        let output = method.output();
        // The record: the answer's one field, or the whole answer.
        let record = match output.fields().len() {
            1 => output
                .fields()
                .next()
                .and_then(|f| f.kind().as_message().cloned()),
            _ => Some(output.clone()),
        };
        let Some(schema) = record.and_then(|r| schema_of(r.full_name())) else {
            continue;
        };
        let filters = method.input().get_field_by_name("filter").is_some();
        let mut parameters = vec![
            json!({ "name": "format", "in": "query", "schema": { "type": "string", "enum": ["ndjson", "csv"] } }),
        ];
        if filters {
            parameters.push(json!({ "name": "filter", "in": "query", "description": "As in the List call.", "schema": { "type": "string" } }));
        }
        let item = json!({ "get": {
            "tags": tags,
            "summary": format!("Open data: every record of {collection}, one per line: NDJSON or CSV."),
            "description": format!("`{service}/{name}` for HTTP clients (one snapshot). NDJSON: one record (proto3 JSON) per line. CSV (`format=csv`, a `.csv` path or `Accept: text/csv`): RFC 4180, a header row of the record's field names, one row per record, lists and objects as JSON text in their cell. A failure midway cuts the response off."),
            "parameters": parameters,
            "responses": {
                "200": { "description": format!("The {collection}."), "content": {
                    "application/x-ndjson": { "schema": schema },
                    "text/csv": { "schema": { "type": "string" } },
                } },
                "default": error,
            },
        } });
        for suffix in ["", ".csv", ".ndjson"] {
            let mut item = item.clone();
            item["get"]["operationId"] = json!(format!(
                "plain_export_{}{}",
                collection.replace('-', "_"),
                suffix.replace('.', "_")
            ));
            paths.push((format!("/exports/{collection}{suffix}"), item));
        }
    }
    if let Some(attachment) = schema_of("innolab.guidance.v1.Attachment") {
        let document = json!({ "name": "document", "in": "path", "required": true, "schema": { "type": "string" } });
        let id = json!({ "name": "attachment", "in": "path", "required": true, "schema": { "type": "string" } });
        paths.push((
            "/files/documents/{document}/attachments/{attachment}".to_string(),
            json!({ "get": {
                "operationId": "plain_download_attachment",
                "tags": tags,
                "summary": "An attachment's bytes.",
                "description": "`GuidanceService/DownloadAttachment` for HTTP clients: the file with its `Content-Type`, `Content-Length`, `Content-Disposition` and `ETag` (its SHA-256); `If-None-Match` answers 304, one `Range` 206 (several: the whole file).",
                "parameters": [document, id,
                    { "name": "Range", "in": "header", "schema": { "type": "string" } },
                    { "name": "If-None-Match", "in": "header", "schema": { "type": "string" } }],
                "responses": {
                    "200": { "description": "The file.", "content": { "*/*": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } } } },
                    "206": { "description": "The range asked for." },
                    "304": { "description": "Unchanged (the ETag matched)." },
                    "416": { "description": "The range lies outside the file.", "content": { "application/json": { "schema": reference(ERROR) } } },
                    "default": error,
                },
            } }),
        ));
        paths.push((
            "/files/documents/{document}/attachments".to_string(),
            json!({ "post": {
                "operationId": "plain_upload_attachment",
                "tags": tags,
                "summary": "Uploads a file as the raw request body.",
                "description": "`GuidanceService/UploadAttachment` for HTTP clients. The body is the file; `Content-Type` its type. Nothing is stored unless the whole file arrives within the size limit with the announced SHA-256. `PUT` works the same.",
                "parameters": [document,
                    { "name": "filename", "in": "query", "description": "Or `Content-Disposition: attachment; filename=...`.", "schema": { "type": "string" } },
                    { "name": "sha256", "in": "query", "description": "The file's SHA-256 in hex, or `Repr-Digest: sha-256=:<base64>:`.", "schema": { "type": "string" } },
                    { "name": "request_id", "in": "query", "description": "Idempotency key (or `Idempotency-Key`): a retried upload stores nothing twice.", "schema": { "type": "string" } }],
                "requestBody": { "required": true, "content": { "*/*": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } } } },
                "responses": {
                    "201": { "description": "The stored attachment.", "content": { "application/json": { "schema": attachment } } },
                    "default": error,
                },
            } }),
        ));
    }
    for (feed, what, methods) in [
        (
            "guidance",
            "Newly published guidance editions",
            "`GuidanceService/ListDocuments` (`filter` as there) and `GetEdition` of each current edition",
        ),
        (
            "cases",
            "Cases accepted from calls for innovation",
            "`InitiativesService/ListInnovationCalls` (`filter` as there) and `ListSubmissions` (`state = ACCEPTED`) of each",
        ),
        (
            "calls",
            "Calls for innovation that opened",
            "`InitiativesService/ListInnovationCalls` (`filter` as there), those whose `open_date` has come",
        ),
    ] {
        paths.push((
            format!("/feeds/{feed}.atom"),
            json!({ "get": {
                "operationId": format!("plain_feed_{feed}"),
                "tags": tags,
                "summary": format!("{what}: an Atom feed (RFC 4287), newest first."),
                "description": format!("Made of {methods}, called as the caller (the same access rules). At most 50 entries, from at most 10,000 records read. With `lang`, each entry is in that language and records without it are left out."),
                "parameters": [
                    { "name": "lang", "in": "query", "description": "A BCP 47 language tag, e.g. `ro`.", "schema": { "type": "string" } },
                    { "name": "filter", "in": "query", "description": "An AIP-160 filter of the list method.", "schema": { "type": "string" } },
                ],
                "responses": {
                    "200": { "description": "The feed.", "content": { "application/atom+xml": { "schema": { "type": "string" } } } },
                    "default": error,
                },
            } }),
        ));
    }
    paths
}
