//! Compiling a [`MessagePlan`] from a [`MessageDescriptor`]: every message
//! and enum the root reaches, flattened into one arena and addressed by
//! index, so that recursive types (`Kinds.child: Kinds`, `Value` inside
//! `Struct` inside `Value`) are one entry pointed at, never an endless tree.
//!
//! When an `Any` is reachable, every message of the pool is compiled too:
//! its contents are named only at run time, by their type URL.

use std::collections::HashMap;
use std::sync::Arc;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};

use super::wire::{tag, WireType};

/// A scalar field type: how a value is written on the wire and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    pub(super) fn wire_type(self) -> WireType {
        match self {
            Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => WireType::Fixed64,
            Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => WireType::Fixed32,
            Scalar::String | Scalar::Bytes => WireType::Len,
            _ => WireType::Varint,
        }
    }

    /// prost-reflect's kind of the same name (for the shared number rules).
    pub(super) fn kind(self) -> Kind {
        match self {
            Scalar::Double => Kind::Double,
            Scalar::Float => Kind::Float,
            Scalar::Int32 => Kind::Int32,
            Scalar::Int64 => Kind::Int64,
            Scalar::Uint32 => Kind::Uint32,
            Scalar::Uint64 => Kind::Uint64,
            Scalar::Sint32 => Kind::Sint32,
            Scalar::Sint64 => Kind::Sint64,
            Scalar::Fixed32 => Kind::Fixed32,
            Scalar::Fixed64 => Kind::Fixed64,
            Scalar::Sfixed32 => Kind::Sfixed32,
            Scalar::Sfixed64 => Kind::Sfixed64,
            Scalar::Bool => Kind::Bool,
            Scalar::String => Kind::String,
            Scalar::Bytes => Kind::Bytes,
        }
    }

    fn of(kind: &Kind) -> Option<Scalar> {
        Some(match kind {
            Kind::Double => Scalar::Double,
            Kind::Float => Scalar::Float,
            Kind::Int32 => Scalar::Int32,
            Kind::Int64 => Scalar::Int64,
            Kind::Uint32 => Scalar::Uint32,
            Kind::Uint64 => Scalar::Uint64,
            Kind::Sint32 => Scalar::Sint32,
            Kind::Sint64 => Scalar::Sint64,
            Kind::Fixed32 => Scalar::Fixed32,
            Kind::Fixed64 => Scalar::Fixed64,
            Kind::Sfixed32 => Scalar::Sfixed32,
            Kind::Sfixed64 => Scalar::Sfixed64,
            Kind::Bool => Scalar::Bool,
            Kind::String => Scalar::String,
            Kind::Bytes => Scalar::Bytes,
            Kind::Message(_) | Kind::Enum(_) => return None,
        })
    }
}

/// A field's value type; enums and messages by their arena index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Scalar(Scalar),
    Enum(u32),
    Message(u32),
}

impl Type {
    pub(super) fn wire_type(self) -> WireType {
        match self {
            Type::Scalar(scalar) => scalar.wire_type(),
            Type::Enum(_) => WireType::Varint,
            Type::Message(_) => WireType::Len,
        }
    }

    /// Numbers and enums may be packed in one length-delimited run.
    pub(super) fn packable(self) -> bool {
        !matches!(
            self,
            Type::Message(_) | Type::Scalar(Scalar::String | Scalar::Bytes)
        )
    }
}

/// Singular, repeated, or a map (its entries' key and value types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Single,
    List,
    Map { key: Scalar, value: Type },
}

/// One field of a message.
#[derive(Debug)]
pub(super) struct Field {
    pub(super) number: u32,
    pub(super) name: Box<str>,
    pub(super) json_name: Box<str>,
    /// The value type (for a map: the entry message's, unused).
    pub(super) ty: Type,
    pub(super) shape: Shape,
    /// A list written as one length-delimited run (proto3's default for
    /// numbers and enums); read either way.
    pub(super) packed: bool,
    /// Set even at its default (a message, a oneof member, `optional`):
    /// then a default value is written, and an unset field is never.
    pub(super) presence: bool,
    pub(super) oneof: Option<u16>,
    /// The field's key on the wire, for its natural wire type (length
    /// delimited when packed, a map, a message, a string or bytes).
    pub(super) key: Box<[u8]>,
    /// `"jsonName":` and `"proto_name":`, quoted and escaped, for writing.
    pub(super) json_key: Box<[u8]>,
    pub(super) proto_key: Box<[u8]>,
}

/// The well-known types, whose JSON is their own rather than their fields'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WellKnown {
    Any,
    Timestamp,
    Duration,
    FieldMask,
    Struct,
    Value,
    ListValue,
    Empty,
    /// `google.protobuf.*Value`: the JSON of their one field, `value`.
    Wrapper(Scalar),
}

impl WellKnown {
    fn of(full_name: &str) -> Option<WellKnown> {
        let name = full_name.strip_prefix("google.protobuf.")?;
        Some(match name {
            "Any" => WellKnown::Any,
            "Timestamp" => WellKnown::Timestamp,
            "Duration" => WellKnown::Duration,
            "FieldMask" => WellKnown::FieldMask,
            "Struct" => WellKnown::Struct,
            "Value" => WellKnown::Value,
            "ListValue" => WellKnown::ListValue,
            "Empty" => WellKnown::Empty,
            "DoubleValue" => WellKnown::Wrapper(Scalar::Double),
            "FloatValue" => WellKnown::Wrapper(Scalar::Float),
            "Int64Value" => WellKnown::Wrapper(Scalar::Int64),
            "UInt64Value" => WellKnown::Wrapper(Scalar::Uint64),
            "Int32Value" => WellKnown::Wrapper(Scalar::Int32),
            "UInt32Value" => WellKnown::Wrapper(Scalar::Uint32),
            "BoolValue" => WellKnown::Wrapper(Scalar::Bool),
            "StringValue" => WellKnown::Wrapper(Scalar::String),
            "BytesValue" => WellKnown::Wrapper(Scalar::Bytes),
            _ => return None,
        })
    }
}

/// One message type.
#[derive(Debug)]
pub(super) struct Message {
    pub(super) full_name: Box<str>,
    pub(super) well_known: Option<WellKnown>,
    /// In field-number order.
    pub(super) fields: Vec<Field>,
    /// JSON names, then proto names not already taken, sorted: index into `fields`.
    names: Vec<(Box<[u8]>, u16)>,
    /// Field number → index into `fields` (`u16::MAX`: none), up to the
    /// highest number when that is small; else `fields` is searched.
    by_number: Vec<u16>,
    /// Oneof names, by index.
    pub(super) oneofs: Vec<Box<str>>,
}

/// Dense number lookups up to this many numbers; beyond, a binary search.
const DENSE_NUMBERS: u32 = 512;

impl Message {
    /// The field a JSON key names: its JSON name, else its proto name.
    pub(super) fn field_by_name(&self, key: &[u8]) -> Option<usize> {
        self.names
            .binary_search_by(|(name, _)| (**name).cmp(key))
            .ok()
            .map(|i| usize::from(self.names[i].1))
    }

    /// The field with this number.
    pub(super) fn field_by_number(&self, number: u32) -> Option<usize> {
        if !self.by_number.is_empty() {
            let i = *self.by_number.get(number as usize)?;
            return (i != u16::MAX).then_some(usize::from(i));
        }
        self.fields.binary_search_by_key(&number, |f| f.number).ok()
    }
}

/// One enum type.
#[derive(Debug)]
pub(super) struct Enum {
    /// `google.protobuf.NullValue`: JSON `null`.
    pub(super) null_value: bool,
    /// Names sorted, with their numbers.
    by_name: Vec<(Box<str>, i32)>,
    /// Numbers sorted, each with its first name.
    by_number: Vec<(i32, Box<[u8]>)>,
}

impl Enum {
    pub(super) fn number(&self, name: &str) -> Option<i32> {
        let i = self
            .by_name
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()?;
        Some(self.by_name[i].1)
    }

    /// The value's name, quoted for JSON.
    pub(super) fn quoted_name(&self, number: i32) -> Option<&[u8]> {
        let i = self
            .by_number
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()?;
        Some(&self.by_number[i].1)
    }
}

/// Every type a plan reaches.
#[derive(Debug, Default)]
pub(super) struct Arena {
    pub(super) messages: Vec<Message>,
    pub(super) enums: Vec<Enum>,
    /// Full message name → index (the contents of an `Any`).
    pub(super) by_name: HashMap<Box<str>, u32>,
}

/// A message type compiled for transcoding: its fields and every type they
/// reach, with names, numbers and wire keys resolved once.
#[derive(Debug)]
pub struct MessagePlan {
    pub(super) arena: Arena,
    pub(super) root: u32,
}

impl MessagePlan {
    /// Compiles the plan of `desc`'s messages (see [`super::PlanCache`] to
    /// compile each descriptor once).
    pub fn compile(desc: &MessageDescriptor) -> Arc<MessagePlan> {
        let mut builder = Builder::default();
        let root = builder.message(desc);
        if builder.saw_any {
            for other in desc.parent_pool().all_messages() {
                builder.message(&other);
            }
        }
        Arc::new(MessagePlan {
            arena: builder.finish(),
            root,
        })
    }

    /// The full name of the message this plan reads and writes.
    pub fn message_name(&self) -> &str {
        &self.arena.messages[self.root as usize].full_name
    }
}

#[derive(Default)]
struct Builder {
    arena: Arena,
    enums_by_name: HashMap<String, u32>,
    saw_any: bool,
}

impl Builder {
    fn finish(self) -> Arena {
        self.arena
    }

    /// The index of `desc`, compiling it (and what it reaches) the first time.
    fn message(&mut self, desc: &MessageDescriptor) -> u32 {
        if let Some(&i) = self.arena.by_name.get(desc.full_name()) {
            return i;
        }
        let index = self.arena.messages.len() as u32;
        let well_known = WellKnown::of(desc.full_name());
        self.saw_any |= well_known == Some(WellKnown::Any);
        self.arena.by_name.insert(desc.full_name().into(), index);
        self.arena.messages.push(Message {
            full_name: desc.full_name().into(),
            well_known,
            fields: Vec::new(),
            names: Vec::new(),
            by_number: Vec::new(),
            oneofs: Vec::new(),
        });
        let mut fields: Vec<Field> = desc.fields().map(|f| self.field(&f)).collect();
        fields.sort_by_key(|f| f.number);
        let message = &mut self.arena.messages[index as usize];
        message.names = names(&fields);
        message.by_number = by_number(&fields);
        message.oneofs = desc.oneofs().map(|o| o.name().into()).collect();
        message.fields = fields;
        index
    }

    fn field(&mut self, field: &FieldDescriptor) -> Field {
        let ty = self.ty(&field.kind());
        let shape = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field's kind is its entry message")
            };
            let key = Scalar::of(&entry.map_entry_key_field().kind()).unwrap_or(Scalar::String);
            let value = self.ty(&entry.map_entry_value_field().kind());
            Shape::Map { key, value }
        } else if field.is_list() {
            Shape::List
        } else {
            Shape::Single
        };
        let wire_type = match shape {
            Shape::List if ty.packable() && field.is_packed() => WireType::Len,
            Shape::Map { .. } => WireType::Len,
            _ => ty.wire_type(),
        };
        Field {
            number: field.number(),
            name: field.name().into(),
            json_name: field.json_name().into(),
            ty,
            shape,
            packed: shape == Shape::List && ty.packable() && field.is_packed(),
            presence: shape == Shape::Single && field.supports_presence(),
            oneof: field.containing_oneof().and_then(|o| {
                let mut oneofs = field.parent_message().oneofs();
                oneofs
                    .position(|other| other.name() == o.name())
                    .map(|i| i as u16)
            }),
            key: tag(field.number(), wire_type).into(),
            json_key: quoted_key(field.json_name()),
            proto_key: quoted_key(field.name()),
        }
    }

    fn ty(&mut self, kind: &Kind) -> Type {
        match kind {
            Kind::Message(desc) => Type::Message(self.message(desc)),
            Kind::Enum(desc) => Type::Enum(self.enumeration(desc)),
            scalar => Type::Scalar(Scalar::of(scalar).unwrap_or(Scalar::Bytes)),
        }
    }

    fn enumeration(&mut self, desc: &EnumDescriptor) -> u32 {
        if let Some(&i) = self.enums_by_name.get(desc.full_name()) {
            return i;
        }
        let mut by_name: Vec<(Box<str>, i32)> = desc
            .values()
            .map(|v| (v.name().into(), v.number()))
            .collect();
        by_name.sort();
        let mut by_number: Vec<(i32, Box<[u8]>)> = Vec::new();
        for value in desc.values() {
            if !by_number.iter().any(|(n, _)| *n == value.number()) {
                by_number.push((value.number(), quoted(value.name()).into()));
            }
        }
        by_number.sort_by_key(|(n, _)| *n);
        let index = self.arena.enums.len() as u32;
        self.arena.enums.push(Enum {
            null_value: desc.full_name() == "google.protobuf.NullValue",
            by_name,
            by_number,
        });
        self.enums_by_name
            .insert(desc.full_name().to_owned(), index);
        index
    }
}

fn names(fields: &[Field]) -> Vec<(Box<[u8]>, u16)> {
    let mut names: Vec<(Box<[u8]>, u16)> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        names.push((f.json_name.as_bytes().into(), i as u16));
    }
    for (i, f) in fields.iter().enumerate() {
        if !names.iter().any(|(n, _)| **n == *f.name.as_bytes()) {
            names.push((f.name.as_bytes().into(), i as u16));
        }
    }
    names.sort();
    names
}

fn by_number(fields: &[Field]) -> Vec<u16> {
    let max = fields.iter().map(|f| f.number).max().unwrap_or(0);
    if max >= DENSE_NUMBERS {
        return Vec::new();
    }
    let mut table = vec![u16::MAX; max as usize + 1];
    for (i, f) in fields.iter().enumerate() {
        table[f.number as usize] = i as u16;
    }
    table
}

/// `text` as a JSON string.
fn quoted(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    super::write::string(&mut out, text);
    out
}

/// `"name":`
fn quoted_key(name: &str) -> Box<[u8]> {
    let mut out = quoted(name);
    out.push(b':');
    out.into()
}
