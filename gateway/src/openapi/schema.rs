//! JSON Schemas of protobuf messages and enums, after the proto3 JSON mapping
//! (protobuf.dev/programming-guides/json): the shapes the gateway reads and
//! writes, since it transcodes with the same descriptors and prost-reflect's
//! implementation of that mapping.

use std::collections::{BTreeMap, HashMap};

use prost_reflect::{
    DescriptorPool, EnumDescriptor, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};
use serde_json::{Map, Value, json};

/// Where a component schema is referred to from: `#/components/schemas/<full name>`.
pub(super) fn pointer(full_name: &str) -> String {
    format!("#/components/schemas/{full_name}")
}

/// `{"$ref": ...}` to the component of a message or enum.
pub(super) fn reference(full_name: &str) -> Value {
    json!({ "$ref": pointer(full_name) })
}

/// Collects the component schemas of every message and enum reachable from
/// the messages it is asked about, each once, keyed by full proto name.
pub(super) struct Schemas<'a> {
    /// `google.api.field_behavior`, when the pool has it (else nothing is
    /// required or read-only).
    behavior: Option<ExtensionDescriptor>,
    /// Comments of the files already looked at, by file name.
    comments: Comments<'a>,
    /// Finished schemas (and, while a message is being described, its
    /// placeholder, so that a recursive message stops there).
    done: BTreeMap<String, Value>,
}

impl<'a> Schemas<'a> {
    /// An empty collection over `pool`.
    pub(super) fn new(pool: &'a DescriptorPool) -> Self {
        Self {
            behavior: pool.get_extension_by_name("google.api.field_behavior"),
            comments: Comments::new(pool),
            done: BTreeMap::new(),
        }
    }

    /// The comment before a descriptor at `path` of `file`, if the pool kept
    /// source info.
    pub(super) fn comment(&mut self, file: &str, path: &[i32]) -> Option<String> {
        self.comments.get(file, path)
    }

    /// A `$ref` to `message`'s schema, adding it and all it refers to.
    pub(super) fn message(&mut self, message: &MessageDescriptor) -> Value {
        let name = message.full_name();
        if !self.done.contains_key(name) {
            self.done.insert(name.to_string(), Value::Null);
            let schema = match well_known(name) {
                Some(schema) => schema,
                None => self.describe_message(message),
            };
            self.done.insert(name.to_string(), schema);
        }
        reference(name)
    }

    /// Adds schemas that are not messages or enums (`connect.error`...).
    pub(super) fn insert(&mut self, name: &str, schema: Value) {
        self.done.insert(name.to_string(), schema);
    }

    /// Every schema collected, sorted by name.
    pub(super) fn into_map(self) -> Map<String, Value> {
        self.done.into_iter().collect()
    }

    /// A `$ref` to `descriptor`'s schema, adding it.
    fn enumeration(&mut self, descriptor: &EnumDescriptor) -> Value {
        let name = descriptor.full_name();
        if !self.done.contains_key(name) {
            let schema = self.describe_enum(descriptor);
            self.done.insert(name.to_string(), schema);
        }
        reference(name)
    }

    fn describe_message(&mut self, message: &MessageDescriptor) -> Value {
        let file = message.parent_file();
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in message.fields() {
            let mut schema = self.field(&field);
            let mut notes = Vec::new();
            if let Some(comment) = self.comments.get(file.name(), field.path()) {
                notes.push(comment);
            }
            if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
                let members: Vec<String> = oneof
                    .fields()
                    .map(|f| format!("`{}`", f.json_name()))
                    .collect();
                notes.push(format!(
                    "Member of the oneof `{}`: at most one of {} may be set.",
                    oneof.name(),
                    members.join(", ")
                ));
            }
            if let Value::Object(object) = &mut schema {
                if !notes.is_empty() {
                    object.insert("description".into(), Value::String(notes.join("\n\n")));
                }
                for behavior in self.behaviors(&field) {
                    match behavior.as_str() {
                        "REQUIRED" => required.push(Value::String(field.json_name().into())),
                        "OUTPUT_ONLY" => {
                            object.insert("readOnly".into(), Value::Bool(true));
                        }
                        "INPUT_ONLY" => {
                            object.insert("writeOnly".into(), Value::Bool(true));
                        }
                        _ => {}
                    }
                }
                if field
                    .field_descriptor_proto()
                    .options
                    .as_ref()
                    .is_some_and(|o| o.deprecated())
                {
                    object.insert("deprecated".into(), Value::Bool(true));
                }
            }
            properties.insert(field.json_name().to_string(), schema);
        }
        let mut schema = json!({ "type": "object", "properties": properties });
        if let Some(comment) = self.comments.get(file.name(), message.path()) {
            schema["description"] = Value::String(comment);
        }
        if !required.is_empty() {
            schema["required"] = Value::Array(required);
        }
        schema
    }

    fn describe_enum(&mut self, descriptor: &EnumDescriptor) -> Value {
        if descriptor.full_name() == "google.protobuf.NullValue" {
            return json!({ "type": "null" });
        }
        let file = descriptor.parent_file();
        let names: Vec<String> = descriptor.values().map(|v| v.name().to_string()).collect();
        let mut text = self
            .comments
            .get(file.name(), descriptor.path())
            .unwrap_or_default();
        let values: Vec<String> = descriptor
            .values()
            .filter_map(|v| {
                let comment = self.comments.get(file.name(), v.path())?;
                Some(format!("- `{}`: {}", v.name(), comment.replace('\n', " ")))
            })
            .collect();
        if !values.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&values.join("\n"));
        }
        let mut schema = json!({ "type": "string", "enum": names });
        if !text.is_empty() {
            schema["description"] = Value::String(text);
        }
        schema
    }

    /// The schema of one field as it appears in its message.
    fn field(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return json!({ "type": "object" });
            };
            let key = entry.map_entry_key_field().kind();
            let value = self.kind(&entry.map_entry_value_field().kind());
            let mut schema = json!({ "type": "object", "additionalProperties": value });
            match key {
                Kind::Bool => {
                    schema["propertyNames"] = json!({ "enum": ["true", "false"] });
                }
                Kind::String => {}
                _ => schema["propertyNames"] = json!({ "pattern": "^-?[0-9]+$" }),
            }
            schema
        } else if field.is_list() {
            json!({ "type": "array", "items": self.kind(&field.kind()) })
        } else {
            self.kind(&field.kind())
        }
    }

    /// The schema of one value of a kind.
    fn kind(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX })
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => int64(),
            Kind::Uint64 | Kind::Fixed64 => {
                json!({ "type": "string", "format": "uint64", "pattern": "^[0-9]+$" })
            }
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::String => json!({ "type": "string" }),
            Kind::Bytes => bytes(),
            Kind::Message(message) => self.message(message),
            Kind::Enum(descriptor) => self.enumeration(descriptor),
        }
    }

    /// The names of the `google.api.field_behavior` values on `field`.
    fn behaviors(&self, field: &FieldDescriptor) -> Vec<String> {
        let Some(extension) = &self.behavior else {
            return Vec::new();
        };
        let options = field.options();
        if !options.has_extension(extension) {
            return Vec::new();
        }
        let value = options.get_extension(extension);
        let numbers: Vec<i32> = match value.as_list() {
            Some(list) => list.iter().filter_map(|v| v.as_enum_number()).collect(),
            None => value.as_enum_number().into_iter().collect(),
        };
        let Kind::Enum(names) = extension.kind() else {
            return Vec::new();
        };
        numbers
            .into_iter()
            .filter_map(|n| names.get_value(n).map(|v| v.name().to_string()))
            .collect()
    }
}

/// A 64-bit integer: a decimal string in JSON (numbers are accepted too).
fn int64() -> Value {
    json!({ "type": "string", "format": "int64", "pattern": "^-?[0-9]+$" })
}

/// Bytes: base64 (standard or URL-safe, padding optional) in JSON.
fn bytes() -> Value {
    json!({ "type": "string", "contentEncoding": "base64" })
}

/// The special JSON forms of the well-known types, which are not their
/// fields' shapes.
fn well_known(name: &str) -> Option<Value> {
    let schema = match name {
        "google.protobuf.Timestamp" => json!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 in UTC, e.g. `2024-05-01T12:00:00Z`, with 0, 3, 6 or 9 fractional digits.",
        }),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "Seconds with up to 9 fractional digits and the suffix `s`, e.g. `1.5s`.",
        }),
        "google.protobuf.FieldMask" => json!({
            "type": "string",
            "description": "Comma-separated field paths in lowerCamelCase, e.g. `displayNames,countryCode`.",
        }),
        "google.protobuf.Struct" => json!({ "type": "object", "description": "Any JSON object." }),
        "google.protobuf.Value" => json!({ "description": "Any JSON value." }),
        "google.protobuf.ListValue" => json!({ "type": "array", "items": {} }),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": { "@type": { "type": "string" } },
            "required": ["@type"],
            "description": "A message of the type named by `@type` (`type.googleapis.com/<full name>`), its fields beside `@type` (a well-known type's JSON form in `value`).",
        }),
        "google.protobuf.DoubleValue" => json!({ "type": "number", "format": "double" }),
        "google.protobuf.FloatValue" => json!({ "type": "number", "format": "float" }),
        "google.protobuf.Int64Value" => int64(),
        "google.protobuf.UInt64Value" => {
            json!({ "type": "string", "format": "uint64", "pattern": "^[0-9]+$" })
        }
        "google.protobuf.Int32Value" => json!({ "type": "integer", "format": "int32" }),
        "google.protobuf.UInt32Value" => {
            json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX })
        }
        "google.protobuf.BoolValue" => json!({ "type": "boolean" }),
        "google.protobuf.StringValue" => json!({ "type": "string" }),
        "google.protobuf.BytesValue" => bytes(),
        _ => return None,
    };
    Some(schema)
}

/// The leading comments of a pool's files (trailing ones where a descriptor
/// has no leading comment), indexed on first use.
struct Comments<'a> {
    pool: &'a DescriptorPool,
    by_file: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl<'a> Comments<'a> {
    fn new(pool: &'a DescriptorPool) -> Self {
        Self {
            pool,
            by_file: HashMap::new(),
        }
    }

    fn get(&mut self, file: &str, path: &[i32]) -> Option<String> {
        if !self.by_file.contains_key(file) {
            let index = self.index(file);
            self.by_file.insert(file.to_string(), index);
        }
        self.by_file.get(file)?.get(path).cloned()
    }

    fn index(&self, file: &str) -> HashMap<Vec<i32>, String> {
        let Some(info) = self
            .pool
            .get_file_by_name(file)
            .and_then(|f| f.file_descriptor_proto().source_code_info.clone())
        else {
            return HashMap::new();
        };
        info.location
            .into_iter()
            .filter_map(|location| {
                let text = location
                    .leading_comments
                    .as_deref()
                    .map(clean)
                    .filter(|t| !t.is_empty())
                    .or_else(|| {
                        location
                            .trailing_comments
                            .as_deref()
                            .map(clean)
                            .filter(|t| !t.is_empty())
                    })?;
                Some((location.path, text))
            })
            .collect()
    }
}

/// A comment as Markdown: the space after `//` removed, lines kept (they
/// join into paragraphs when rendered).
fn clean(comment: &str) -> String {
    comment
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// The first sentence of a comment, on one line, for a summary.
pub(super) fn first_sentence(comment: &str) -> String {
    let paragraph = comment
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>();
    let mut words = Vec::new();
    for word in paragraph {
        words.push(word);
        let abbreviation = matches!(word, "e.g." | "i.e." | "etc." | "cf." | "vs.");
        if !abbreviation && word.ends_with('.') {
            break;
        }
    }
    words.join(" ").trim_end_matches('.').to_string()
}
