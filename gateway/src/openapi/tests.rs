#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind};
use prost_types::method_options::IdempotencyLevel;
use serde_json::Value;

use super::document;

/// The services the gateway serves.
fn services() -> Vec<&'static str> {
    crate::UPSTREAM_NAMES
        .iter()
        .copied()
        .chain([crate::GATEWAY_NAME])
        .collect()
}

fn pool() -> &'static DescriptorPool {
    match crate::json::POOL.as_ref() {
        Ok(pool) => pool,
        Err(e) => panic!("descriptors: {e}"),
    }
}

fn suite_document() -> Value {
    document(pool(), &services(), "1.2.3")
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    schema
}

/// Every `$ref` under `value`, with where it was found.
fn refs(value: &Value, at: String, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "$ref"
                    && let Value::String(target) = value
                {
                    found.push((at.clone(), target.clone()));
                }
                refs(value, format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                refs(value, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn is_openapi_3_1_with_the_version_given() {
    let doc = suite_document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], "1.2.3");
    assert_eq!(doc["info"]["title"], "innolab JSON API (Connect protocol)");
}

#[test]
fn every_method_has_a_post_path() {
    let doc = suite_document();
    let mut count = 0;
    for name in services() {
        let Some(service) = pool().get_service_by_name(name) else {
            panic!("{name} is not in the descriptors");
        };
        for method in service.methods() {
            count += 1;
            let path = format!("/{name}/{}", method.name());
            let post = &doc["paths"][&path]["post"];
            assert!(post.is_object(), "no POST {path}");
            assert_eq!(post["tags"][0], service.name());
            let content = &post["requestBody"]["content"];
            if method.is_client_streaming() || method.is_server_streaming() {
                assert!(content["application/connect+json"].is_object(), "{path}");
                assert!(
                    post["responses"]["200"]["content"]["application/connect+json"].is_object()
                );
            } else {
                let input = format!("#/components/schemas/{}", method.input().full_name());
                assert_eq!(
                    content["application/json"]["schema"]["$ref"],
                    input.as_str()
                );
                assert!(content["application/proto"].is_object(), "{path}");
                let output = format!("#/components/schemas/{}", method.output().full_name());
                let ok = &post["responses"]["200"]["content"]["application/json"]["schema"];
                assert_eq!(ok["$ref"], output.as_str(), "{path}");
                for status in [
                    "400", "401", "403", "404", "409", "413", "415", "429", "499",
                ] {
                    assert!(post["responses"][status].is_object(), "{path} {status}");
                }
                for status in ["500", "501", "503", "504", "default"] {
                    assert!(post["responses"][status].is_object(), "{path} {status}");
                }
            }
        }
    }
    // Besides the methods: the plain HTTP paths (changes, three paths per
    // open-data export, two files, three Atom feeds).
    let plain = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| !p.starts_with("/innolab."))
        .count();
    assert_eq!(plain, 6 + 3 * crate::edge::EXPORTS.len());
    assert_eq!(
        doc["paths"].as_object().map(|p| p.len()),
        Some(count + plain)
    );
    let operation_ids: BTreeSet<&str> = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .flat_map(|item| item.as_object().into_iter().flat_map(|i| i.values()))
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert!(operation_ids.contains("MembershipService_GetOrganization"));
    assert!(operation_ids.contains("GatewayService_StreamChanges"));
}

/// Whether a method may be called with GET: its descriptor says so.
fn safe(method: &prost_reflect::MethodDescriptor) -> bool {
    !method.is_client_streaming()
        && !method.is_server_streaming()
        && method
            .method_descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.idempotency_level() == IdempotencyLevel::NoSideEffects)
}

fn assert_get_exactly_where_safe(pool: &DescriptorPool, doc: &Value) -> usize {
    let mut gets = 0;
    for name in services() {
        let Some(service) = pool.get_service_by_name(name) else {
            panic!("{name} is not in the descriptors");
        };
        for method in service.methods() {
            let path = format!("/{name}/{}", method.name());
            let get = &doc["paths"][&path]["get"];
            assert_eq!(get.is_object(), safe(&method), "GET {path}");
            if get.is_object() {
                gets += 1;
                let names: Vec<&str> = get["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["name"].as_str().or(p["$ref"].as_str()))
                    .collect();
                for parameter in ["connect", "encoding", "message", "base64", "compression"] {
                    assert!(
                        names.iter().any(|n| n.ends_with(parameter)),
                        "GET {path} lacks {parameter}: {names:?}"
                    );
                }
                assert!(get.get("requestBody").is_none());
            }
        }
    }
    gets
}

#[test]
fn get_is_offered_exactly_for_methods_without_side_effects() {
    assert_get_exactly_where_safe(pool(), &suite_document());
}

#[test]
fn the_idempotency_option_is_read_from_the_descriptor() {
    // The suite's descriptors with GetOrganization marked NO_SIDE_EFFECTS.
    let mut files: Vec<prost_types::FileDescriptorProto> =
        pool().file_descriptor_protos().cloned().collect();
    let mut marked = 0;
    for method in files
        .iter_mut()
        .flat_map(|f| f.service.iter_mut())
        .filter(|s| s.name() == "MembershipService")
        .flat_map(|s| s.method.iter_mut())
        .filter(|m| m.name() == "GetOrganization")
    {
        let mut options = method.options.clone().unwrap_or_default();
        options.set_idempotency_level(IdempotencyLevel::NoSideEffects);
        method.options = Some(options);
        marked += 1;
    }
    assert_eq!(marked, 1);
    let pool = match DescriptorPool::from_file_descriptor_set(prost_types::FileDescriptorSet {
        file: files,
    }) {
        Ok(pool) => pool,
        Err(e) => panic!("{e}"),
    };
    let doc = document(&pool, &services(), "1");
    assert!(assert_get_exactly_where_safe(&pool, &doc) >= 1);
    let get = &doc["paths"]["/innolab.membership.v1.MembershipService/GetOrganization"]["get"];
    assert_eq!(get["operationId"], "MembershipService_GetOrganization_get");
}

#[test]
fn every_ref_resolves() {
    let doc = suite_document();
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(found.len() > 100);
    for (at, target) in found {
        let Some(pointer) = target.strip_prefix('#') else {
            panic!("{at}: {target} is not local");
        };
        assert!(
            doc.pointer(pointer).is_some(),
            "{at}: {target} resolves to nothing"
        );
        if let Some(name) = pointer.strip_prefix("/components/schemas/") {
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{at}: {target}"
            );
        }
    }
}

#[test]
fn component_names_are_valid() {
    let doc = suite_document();
    for (kind, components) in doc["components"].as_object().into_iter().flatten() {
        for name in components.as_object().into_iter().flat_map(|c| c.keys()) {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
                "{kind}/{name}"
            );
        }
    }
}

#[test]
fn messages_follow_the_json_mapping() {
    let doc = suite_document();
    let organization = schema(&doc, "innolab.membership.v1.Organization");
    let names = &organization["properties"]["displayNames"];
    assert_eq!(names["type"], "array");
    assert_eq!(
        names["items"]["$ref"],
        "#/components/schemas/innolab.common.v1.LocalizedText"
    );
    schema(&doc, "innolab.common.v1.LocalizedText");
    assert!(organization["properties"]["display_names"].is_null());
    assert!(
        organization["properties"]["countryCode"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("ISO 3166-1")),
        "field comments become descriptions"
    );

    let attachment = schema(&doc, "innolab.guidance.v1.Attachment");
    let size = &attachment["properties"]["sizeBytes"];
    assert_eq!(size["type"], "string");
    assert_eq!(size["format"], "int64");
    let change = schema(&doc, "innolab.common.v1.Change");
    assert_eq!(change["properties"]["sequence"]["type"], "string");

    let kind = schema(&doc, "innolab.membership.v1.OrganizationKind");
    assert_eq!(kind["type"], "string");
    let values = kind["enum"].as_array().cloned().unwrap_or_default();
    assert!(values.contains(&Value::from("ORGANIZATION_KIND_UNSPECIFIED")));
    assert!(values.contains(&Value::from("ORGANIZATION_KIND_GOVERNMENT")));
    assert_eq!(
        organization["properties"]["kind"]["$ref"],
        "#/components/schemas/innolab.membership.v1.OrganizationKind"
    );

    let upload = schema(&doc, "innolab.guidance.v1.UploadAttachmentRequest");
    assert_eq!(upload["properties"]["chunk"]["contentEncoding"], "base64");
    assert!(
        upload["properties"]["chunk"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("oneof `part`")),
    );

    let timestamp = schema(&doc, "google.protobuf.Timestamp");
    assert_eq!(timestamp["type"], "string");
    assert_eq!(timestamp["format"], "date-time");
    assert_eq!(schema(&doc, "google.protobuf.FieldMask")["type"], "string");
    schema(&doc, "google.type.Date");
}

/// The suite's descriptors with `google.api.field_behavior` set on
/// `marks` (top-level message, field, behavior), as a descriptor set that
/// keeps extension options has them.
fn with_behaviors(marks: &[(&str, &str, &str)]) -> DescriptorPool {
    let pool = pool();
    let extension = pool
        .get_extension_by_name("google.api.field_behavior")
        .unwrap();
    let Kind::Enum(behaviors) = extension.kind() else {
        panic!("field_behavior is an enum");
    };
    let set = pool
        .get_message_by_name("google.protobuf.FileDescriptorSet")
        .unwrap();
    let mut set = DynamicMessage::decode(set, pool.encode_to_vec().as_slice()).unwrap();
    let name_of = |m: &DynamicMessage| {
        m.get_field_by_name("name")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut marked = 0;
    for file in set
        .get_field_by_name_mut("file")
        .unwrap()
        .as_list_mut()
        .unwrap()
    {
        let file = file.as_message_mut().unwrap();
        let package = file
            .get_field_by_name("package")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        let messages = file.get_field_by_name_mut("message_type").unwrap();
        for message in messages.as_list_mut().unwrap() {
            let message = message.as_message_mut().unwrap();
            let message_name = format!("{package}.{}", name_of(message));
            for field in message
                .get_field_by_name_mut("field")
                .unwrap()
                .as_list_mut()
                .unwrap()
            {
                let field = field.as_message_mut().unwrap();
                let field_name = name_of(field);
                let numbers: Vec<prost_reflect::Value> = marks
                    .iter()
                    .filter(|(m, f, _)| *m == message_name && *f == field_name)
                    .map(|(_, _, b)| {
                        let number = behaviors.get_value_by_name(b).unwrap().number();
                        prost_reflect::Value::EnumNumber(number)
                    })
                    .collect();
                if !numbers.is_empty() {
                    marked += numbers.len();
                    let options = field.get_field_by_name_mut("options").unwrap();
                    let options = options.as_message_mut().unwrap();
                    options.set_extension(&extension, prost_reflect::Value::List(numbers));
                }
            }
        }
    }
    assert_eq!(marked, marks.len(), "every mark found its field");
    DescriptorPool::decode(set.encode_to_vec().as_slice()).unwrap()
}

#[test]
fn field_behavior_gives_required_and_read_only() {
    let pool = with_behaviors(&[
        ("innolab.membership.v1.Organization", "name", "OUTPUT_ONLY"),
        ("innolab.membership.v1.Organization", "kind", "REQUIRED"),
        (
            "innolab.membership.v1.Organization",
            "country_code",
            "REQUIRED",
        ),
        (
            "innolab.membership.v1.Organization",
            "create_time",
            "OUTPUT_ONLY",
        ),
        (
            "innolab.guidance.v1.Attachment",
            "size_bytes",
            "OUTPUT_ONLY",
        ),
        ("innolab.guidance.v1.Attachment", "size_bytes", "IMMUTABLE"),
    ]);
    let doc = document(&pool, &services(), "1");
    let organization = schema(&doc, "innolab.membership.v1.Organization");
    assert_eq!(organization["properties"]["name"]["readOnly"], true);
    let create_time = &organization["properties"]["createTime"];
    assert_eq!(create_time["readOnly"], true);
    assert_eq!(
        create_time["$ref"],
        "#/components/schemas/google.protobuf.Timestamp"
    );
    assert!(organization["properties"]["etag"].get("readOnly").is_none());
    assert_eq!(
        organization["required"],
        serde_json::json!(["kind", "countryCode"])
    );
    let size = &schema(&doc, "innolab.guidance.v1.Attachment")["properties"]["sizeBytes"];
    assert_eq!(size["type"], "string");
    assert_eq!(size["readOnly"], true);
}

/// Whatever the suite's descriptors carry of `google.api.field_behavior` is
/// what the document says (today nothing: `proto/build.rs` embeds a set
/// without extension options).
#[test]
fn field_behavior_is_as_the_descriptors_say() {
    let doc = suite_document();
    let extension = pool()
        .get_extension_by_name("google.api.field_behavior")
        .unwrap();
    let Kind::Enum(behaviors) = extension.kind() else {
        panic!("field_behavior is an enum");
    };
    let has = |field: &prost_reflect::FieldDescriptor, name: &str| {
        let number = behaviors.get_value_by_name(name).unwrap().number();
        let options = field.options();
        let value = options.get_extension(&extension);
        value
            .as_list()
            .is_some_and(|l| l.iter().any(|v| v.as_enum_number() == Some(number)))
    };
    let mut checked = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(message) = pool().get_message_by_name(name) else {
            continue;
        };
        let Some(properties) = schema["properties"].as_object() else {
            continue;
        };
        for field in message.fields() {
            let property = &properties[field.json_name()];
            let read_only = property.get("readOnly") == Some(&Value::Bool(true));
            assert_eq!(
                read_only,
                has(&field, "OUTPUT_ONLY"),
                "{}",
                field.full_name()
            );
            let required = schema["required"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from(field.json_name())));
            assert_eq!(required, has(&field, "REQUIRED"), "{}", field.full_name());
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} fields");
}

#[test]
fn errors_are_the_connect_error() {
    let doc = suite_document();
    let error = schema(&doc, "connect.error");
    assert_eq!(
        error["properties"]["code"]["enum"].as_array().map(Vec::len),
        Some(16)
    );
    schema(&doc, "google.rpc.BadRequest");
    schema(&doc, "google.rpc.ErrorInfo");
    let not_found = &doc["components"]["responses"]["connect.error.404"];
    assert_eq!(
        not_found["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/connect.error"
    );
}

#[test]
fn comments_become_summaries() {
    let doc = suite_document();
    let post = &doc["paths"]["/innolab.membership.v1.MembershipService/GetOrganization"]["post"];
    assert_eq!(post["summary"], "Reads one organisation");
    let list = &doc["paths"]["/innolab.membership.v1.MembershipService/ListPeople"]["post"];
    assert_eq!(list["summary"], "Lists people");
    assert!(
        list["description"]
            .as_str()
            .is_some_and(|d| d.contains("Filter fields"))
    );
}

#[test]
fn the_same_descriptors_give_the_same_bytes() {
    let first = suite_document().to_string();
    assert_eq!(first, suite_document().to_string());
}

/// Writes the document where `INNOLAB_OPENAPI_OUT` says (default: the
/// system's temporary directory), for `scripts/check-openapi.sh`.
#[test]
fn write_document() {
    // The document always serializes; it is written out only when asked
    // (to validate it offline with scripts/check-openapi.sh).
    let text = match serde_json::to_string_pretty(&suite_document()) {
        Ok(text) => text,
        Err(e) => panic!("{e}"),
    };
    assert!(text.contains("\"openapi\": \"3.1.0\""));
    let Some(path) = std::env::var_os("INNOLAB_OPENAPI_OUT").map(std::path::PathBuf::from) else {
        return;
    };
    if let Err(e) = std::fs::write(&path, text) {
        panic!("{}: {e}", path.display());
    }
}
