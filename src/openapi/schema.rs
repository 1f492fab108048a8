//! Protobuf types → JSON Schema, in the form the gateway reads and writes.
//!
//! Two forms: [`Form::Json`] is proto3's canonical JSON mapping, the form of
//! request and response bodies (lowerCamelCase names, 64-bit integers as
//! strings, enums by name, well-known types in their JSON forms);
//! [`Form::Text`] is the text of one path segment or query parameter value
//! (64-bit integers as plain numbers, no messages but the well-known types
//! that have a string form).
//!
//! Every message and enum (well-known types excepted) becomes one named
//! schema under `components/schemas`, keyed by its full name and used
//! through `$ref`, so recursive messages terminate. Well-known types are
//! written inline. Schemas are generated on first reference and drained by
//! [`Schemas::finish`].

use std::collections::BTreeMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{json, Map, Value};

use super::comments;
use super::scalar::{map_key_pattern, scalar, well_known};
use crate::compile::FieldBehavior;

/// Where a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// In a JSON body, in proto3 JSON form.
    Json,
    /// As the text of a path segment or a query parameter.
    Text,
}

/// The prefix of every `$ref` to a named schema.
pub(super) const SCHEMA_REF: &str = "#/components/schemas/";

/// The named schemas of one document, generated on first reference.
#[derive(Debug)]
pub(super) struct Schemas {
    proto_field_names: bool,
    /// Full name → schema; `Value::Null` while queued.
    named: BTreeMap<String, Value>,
    /// Referenced, not yet generated.
    queue: Vec<Named>,
}

#[derive(Debug)]
enum Named {
    Message(MessageDescriptor),
    Enum(EnumDescriptor),
}

impl Schemas {
    /// An empty registry; `proto_field_names` matches the gateway's option.
    pub(super) fn new(proto_field_names: bool) -> Schemas {
        Schemas {
            proto_field_names,
            named: BTreeMap::new(),
            queue: Vec::new(),
        }
    }

    /// The name the gateway writes `field` under.
    pub(super) fn property_name(&self, field: &FieldDescriptor) -> String {
        if self.proto_field_names {
            field.name().to_owned()
        } else {
            field.json_name().to_owned()
        }
    }

    /// A message value in JSON: a well-known type inline, else a `$ref`.
    pub(super) fn message(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = well_known(message, Form::Json) {
            return schema;
        }
        self.reference(message.full_name(), || Named::Message(message.clone()))
    }

    /// `field`'s whole value: an array for a repeated field, an object for a
    /// map (proto3 JSON writes every map key as a string).
    pub(super) fn field(&mut self, field: &FieldDescriptor, form: Form) -> Value {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field's kind is its entry message")
            };
            let key = entry.map_entry_key_field();
            let mut schema = json!({
                "type": "object",
                "additionalProperties": self.singular(&entry.map_entry_value_field(), form),
            });
            if let Some(pattern) = map_key_pattern(&key.kind()) {
                schema["propertyNames"] = json!({ "pattern": pattern });
            }
            schema
        } else if field.is_list() {
            json!({ "type": "array", "items": self.singular(field, form) })
        } else {
            self.singular(field, form)
        }
    }

    /// One value of `field`'s kind (an element, for a repeated field).
    pub(super) fn singular(&mut self, field: &FieldDescriptor, form: Form) -> Value {
        match (field.kind(), form) {
            (Kind::Message(m), Form::Json) => self.message(&m),
            (Kind::Message(m), Form::Text) => {
                well_known(&m, Form::Text).unwrap_or_else(|| json!({ "type": "string" }))
            }
            (Kind::Enum(e), Form::Json) => self.enumeration(&e),
            (Kind::Enum(e), Form::Text) => enum_schema(&e, Form::Text),
            (kind, form) => scalar(&kind, form),
        }
    }

    /// An enum value in JSON: its name (the named schema, one string type),
    /// or a number. proto3 JSON reads either, and its enums are open: a
    /// number with no name is kept, and replies write it as that number.
    fn enumeration(&mut self, e: &EnumDescriptor) -> Value {
        if e.full_name() == "google.protobuf.NullValue" {
            return json!({ "type": "null" });
        }
        let named = self.reference(e.full_name(), || Named::Enum(e.clone()));
        json!({ "anyOf": [named, {
            "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX,
            "description": "The value's number, which requests may send instead of its name; \
                replies write a name where the enum has one, else the number.",
        }] })
    }

    fn reference(&mut self, name: &str, named: impl FnOnce() -> Named) -> Value {
        if !self.named.contains_key(name) {
            self.named.insert(name.to_owned(), Value::Null);
            self.queue.push(named());
        }
        json!({ "$ref": format!("{SCHEMA_REF}{name}") })
    }

    /// Generates everything referenced so far (and what that references):
    /// the `components/schemas` object.
    pub(super) fn finish(mut self) -> Map<String, Value> {
        while let Some(next) = self.queue.pop() {
            let (name, schema) = match next {
                Named::Message(m) => (m.full_name().to_owned(), self.message_schema(&m)),
                Named::Enum(e) => (e.full_name().to_owned(), enum_schema(&e, Form::Json)),
            };
            self.named.insert(name, schema);
        }
        self.named.into_iter().collect()
    }

    /// A message as a JSON object. Unknown fields are refused by default
    /// (`additionalProperties: false`). `google.api.field_behavior` marks
    /// fields `readOnly` (OUTPUT_ONLY) and `required` (REQUIRED); proto3
    /// itself has no required fields.
    fn message_schema(&mut self, message: &MessageDescriptor) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in message.fields() {
            let mut schema = self.field(&field, Form::Json);
            let mut notes: Vec<String> = comments::of(&field.parent_file(), field.path())
                .into_iter()
                .collect();
            if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
                notes.push(format!(
                    "Member of oneof `{}`: {}",
                    oneof.name(),
                    self.at_most_one(&oneof)
                ));
            }
            if !notes.is_empty() {
                describe(&mut schema, &notes.join("\n\n"));
            }
            // proto3 JSON reads `null` as the field's default, for every field.
            let mut schema = json!({ "anyOf": [schema, { "type": "null" }] });
            let behavior = FieldBehavior::of(&field);
            if behavior.output_only {
                // Set by the service: clients leave it out, and a PATCH that
                // carries it is refused.
                schema["readOnly"] = Value::Bool(true);
            }
            if behavior.required {
                required.push(Value::String(self.property_name(&field)));
            }
            properties.insert(self.property_name(&field), schema);
        }
        let mut notes: Vec<String> = comments::of(&message.parent_file(), message.path())
            .into_iter()
            .collect();
        for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
            notes.push(format!(
                "Oneof `{}`: {}",
                oneof.name(),
                self.at_most_one(&oneof)
            ));
        }
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            schema["required"] = Value::Array(required);
        }
        if !notes.is_empty() {
            describe(&mut schema, &notes.join("\n\n"));
        }
        schema
    }

    fn at_most_one(&self, oneof: &prost_reflect::OneofDescriptor) -> String {
        let names: Vec<String> = oneof
            .fields()
            .map(|f| format!("`{}`", self.property_name(&f)))
            .collect();
        format!(
            "at most one of {} may be set (proto3 JSON carries one member of a oneof).",
            names.join(", ")
        )
    }
}

/// Adds `text` to a schema's description.
pub(super) fn describe(schema: &mut Value, text: &str) {
    if let Value::Object(map) = schema {
        let joined = match map.get("description").and_then(Value::as_str) {
            Some(before) if !before.is_empty() => format!("{text}\n\n{before}"),
            _ => text.to_owned(),
        };
        map.insert("description".to_owned(), Value::String(joined));
    }
}

/// The `x-` extension of an enum schema in JSON form listing each value's
/// number, which requests may send instead of its name.
pub(super) const ENUM_NUMBERS: &str = "x-restgate-enum-numbers";

/// An enum, each value's comment in the description.
///
/// In JSON, the named schema is a string schema of its value names: what
/// replies carry, and one JSON type, as client generators need. Fields
/// reach it through [`Schemas::enumeration`], which admits a number beside
/// it; `x-restgate-enum-numbers` maps each name to its number, an extension
/// that tools which do not know it pass over. In a path or query string,
/// where every value is text and only named values are taken, the names and
/// their numbers (`"1"`) are all listed.
fn enum_schema(e: &EnumDescriptor, form: Form) -> Value {
    let names = e.values().map(|v| Value::from(v.name()));
    let mut lines: Vec<String> = comments::of(&e.parent_file(), e.path())
        .into_iter()
        .collect();
    let values: Vec<String> = e
        .values()
        .filter_map(|v| {
            let text = comments::of(&v.parent_file(), v.path())?;
            Some(format!("- `{}`: {}", v.name(), text.replace('\n', " ")))
        })
        .collect();
    if !values.is_empty() {
        lines.push(values.join("\n"));
    }
    let mut schema = match form {
        Form::Json => {
            let numbers: Map<String, Value> = e
                .values()
                .map(|v| (v.name().to_owned(), Value::from(v.number())))
                .collect();
            json!({ "type": "string", "enum": names.collect::<Vec<_>>(), ENUM_NUMBERS: numbers })
        }
        Form::Text => {
            let numbers = e.values().map(|v| Value::from(v.number().to_string()));
            json!({ "type": "string", "enum": names.chain(numbers).collect::<Vec<_>>() })
        }
    };
    if !lines.is_empty() {
        describe(&mut schema, &lines.join("\n\n"));
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> prost_reflect::DescriptorPool {
        super::super::fixture_pool()
    }

    /// A properties object with each `anyOf: [schema, null]` unwrapped.
    fn unwrapped(properties: &Value) -> Value {
        let map = properties.as_object().cloned().unwrap_or_default();
        Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let inner = v.get("anyOf").and_then(|a| a.get(0)).cloned().unwrap_or(v);
                    (k, inner)
                })
                .collect(),
        )
    }

    /// The `Thing` schema and every named schema it pulled in.
    fn thing(proto_names: bool) -> Map<String, Value> {
        let pool = fixture();
        let mut schemas = Schemas::new(proto_names);
        let thing = pool.get_message_by_name("testing.v1.Thing").unwrap();
        assert_eq!(
            schemas.message(&thing),
            json!({ "$ref": "#/components/schemas/testing.v1.Thing" })
        );
        schemas.finish()
    }

    #[test]
    fn every_field_kind_in_proto3_json_form() {
        let all = thing(false);
        let p = &unwrapped(&all["testing.v1.Thing"]["properties"]);
        let cases = [
            ("id", json!({ "type": "string" })),
            (
                "big",
                json!({ "type": ["string", "integer"], "format": "int64", "pattern": "^-?[0-9]{1,19}$", "minimum": i64::MIN, "maximum": i64::MAX }),
            ),
            (
                "ubig",
                json!({ "type": ["string", "integer"], "format": "uint64", "pattern": "^[0-9]{1,20}$", "minimum": 0, "maximum": u64::MAX }),
            ),
            (
                "small",
                json!({ "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX }),
            ),
            ("ratio", json!({ "type": "number", "format": "double" })),
            ("flag", json!({ "type": "boolean" })),
            (
                "color",
                json!({ "anyOf": [
                    { "$ref": "#/components/schemas/testing.v1.Color" },
                    {
                        "type": "integer", "format": "int32",
                        "minimum": i32::MIN, "maximum": i32::MAX,
                        "description": "The value's number, which requests may send instead of its name; replies write a name where the enum has one, else the number.",
                    },
                ] }),
            ),
            (
                "tags",
                json!({ "type": "array", "items": { "type": "string" } }),
            ),
            (
                "blob",
                json!({ "type": "string", "contentEncoding": "base64" }),
            ),
            (
                "labels",
                json!({ "type": "object", "additionalProperties": { "type": "string" } }),
            ),
        ];
        for (name, want) in cases {
            assert_eq!(p[name], want, "{name}");
        }
        assert_eq!(
            p["byNumber"],
            json!({
                "type": "object",
                "additionalProperties": { "$ref": "#/components/schemas/testing.v1.Nested" },
                "propertyNames": { "pattern": "^-?[0-9]+$" },
            })
        );
        assert_eq!(p["bigs"]["items"]["format"], "int64");
        assert_eq!(
            p["colors"]["items"]["anyOf"][0]["$ref"],
            "#/components/schemas/testing.v1.Color"
        );
        assert_eq!(p["at"]["format"], "date-time");
        assert!(p["ttl"]["pattern"].as_str().unwrap().ends_with("s$"));
        assert_eq!(p["mask"]["type"], "string");
        assert_eq!(p["maybe"]["type"], json!(["string", "integer", "null"]));
        assert_eq!(p["extra"]["type"], "object");
        assert_eq!(p["note"]["type"], "string");
        let word = p["word"]["description"].as_str().unwrap();
        assert!(
            word.contains("oneof `choice`") && word.contains("`number`"),
            "{word}"
        );
        assert!(
            p["note"].get("description").is_none(),
            "optional is no oneof"
        );
        assert_eq!(all["testing.v1.Thing"]["additionalProperties"], false);
    }

    #[test]
    fn enums_by_name_and_recursion_by_ref() {
        let all = thing(false);
        let color = &all["testing.v1.Color"];
        // Names, as replies write them, one JSON type; the numbers requests
        // may use beside, in an extension.
        assert_eq!(color["type"], "string");
        assert_eq!(color["enum"], json!(["COLOR_UNSPECIFIED", "RED", "GREEN"]));
        assert_eq!(
            color[ENUM_NUMBERS],
            json!({ "COLOR_UNSPECIFIED": 0, "RED": 1, "GREEN": 2 })
        );
        let text = enum_schema(
            &fixture().get_enum_by_name("testing.v1.Color").unwrap(),
            Form::Text,
        );
        assert_eq!(
            text["enum"],
            json!(["COLOR_UNSPECIFIED", "RED", "GREEN", "0", "1", "2"])
        );
        assert!(all["testing.v1.Color"]["description"]
            .as_str()
            .unwrap()
            .contains("- `RED`: Red."));
        let nested = &all["testing.v1.Nested"];
        assert_eq!(
            unwrapped(&nested["properties"])["child"]["$ref"],
            "#/components/schemas/testing.v1.Nested"
        );
        assert_eq!(
            unwrapped(&nested["properties"])["child"]["description"],
            "Deeper still."
        );
        assert_eq!(nested["description"], "Nested fields.");
        let names: Vec<&String> = all.keys().collect();
        assert_eq!(
            names,
            ["testing.v1.Color", "testing.v1.Nested", "testing.v1.Thing"]
        );
    }

    #[test]
    fn proto_field_names_on_request() {
        let all = thing(true);
        let p = all["testing.v1.Thing"]["properties"].as_object().unwrap();
        assert!(p.contains_key("by_number") && !p.contains_key("byNumber"));
    }

    #[test]
    fn null_value_is_null() {
        let pool = fixture();
        let null = pool.get_enum_by_name("google.protobuf.NullValue").unwrap();
        assert_eq!(
            Schemas::new(false).enumeration(&null),
            json!({ "type": "null" })
        );
        let color = pool.get_enum_by_name("testing.v1.Color").unwrap();
        let field = Schemas::new(false).enumeration(&color);
        assert_eq!(
            field["anyOf"][0],
            json!({ "$ref": "#/components/schemas/testing.v1.Color" })
        );
        assert_eq!(field["anyOf"][1]["type"], "integer");
    }
}
