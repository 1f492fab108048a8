//! JSON text → protobuf wire bytes in one pass, driven by the plan: each
//! key is looked up among the message's JSON and proto names, its value
//! read and written straight into the output (a submessage's length
//! filled in once it is written, see `wire::end_len`). No message is
//! built in between.
//!
//! The rules are `json::from_slice`'s: unknown fields refused unless the
//! options let them through (then skipped, as unknown enum names are), a
//! field given twice refused (also under both its names), two members of
//! one oneof refused, `null` leaving a field unset (but a
//! `google.protobuf.Value`, which holds it), the nesting bound of
//! `json/depth`. Fields at their default are not written, as prost
//! encodes them; everything is written in the order the body gives it.

use super::compile::{Arena, Field, MessagePlan, Scalar, Shape, Type};
use super::fault::{At, Fault};
use super::lexer::{Lexer, Next};
use super::wire::{begin_len, end_len, varint, WireType};
use crate::transcode::{JsonOptions, TranscodeError};

/// One transcoding of a request body.
pub(super) struct Encoder<'p, 'a> {
    pub(super) arena: &'p Arena,
    pub(super) lex: Lexer<'a>,
    pub(super) deny_unknown: bool,
}

impl MessagePlan {
    /// Transcodes `json`, a body of this plan's message, into its protobuf
    /// encoding, appended to `out`; by the same rules as
    /// [`crate::transcode::json::from_slice`] with the same `options`.
    pub fn json_to_wire(
        &self,
        json: &[u8],
        options: &JsonOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), TranscodeError> {
        let start = out.len();
        let result = (|| {
            let mut encoder = Encoder {
                arena: &self.arena,
                lex: Lexer::new(json)?,
                deny_unknown: options.deny_unknown_fields,
            };
            encoder.message(self.root, out)?;
            encoder.lex.end()
        })();
        result.map_err(|fault| {
            out.truncate(start);
            fault.into_request()
        })
    }

    /// [`MessagePlan::json_to_wire`], written as the value of field
    /// `number` (of this plan's message type) of an outer message: its key,
    /// its length, then the message.
    pub fn json_to_wire_field(
        &self,
        number: u32,
        json: &[u8],
        options: &JsonOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), TranscodeError> {
        let start = out.len();
        varint(out, (u64::from(number) << 3) | WireType::Len as u64);
        let value = begin_len(out);
        self.json_to_wire(json, options, out).inspect_err(|_| {
            out.truncate(start);
        })?;
        end_len(out, value);
        Ok(())
    }
}

/// Which fields (by index) a message's JSON has given so far.
struct Seen {
    small: u64,
    large: Vec<u64>,
}

impl Seen {
    fn new(fields: usize) -> Seen {
        let large = if fields > 64 {
            vec![0; fields.div_ceil(64)]
        } else {
            Vec::new()
        };
        Seen { small: 0, large }
    }

    /// Marks `i`; false if it was already.
    #[inline]
    fn insert(&mut self, i: usize) -> bool {
        let (word, bit) = match self.large.get_mut(i / 64) {
            Some(word) => (word, i % 64),
            None => (&mut self.small, i),
        };
        let was = *word & (1 << bit) != 0;
        *word |= 1 << bit;
        !was
    }
}

impl<'a> Encoder<'_, 'a> {
    /// The next value as a message of type `index` (a well-known type in
    /// its own JSON form).
    pub(super) fn message(&mut self, index: u32, out: &mut Vec<u8>) -> Result<(), Fault> {
        let message = &self.arena.messages[index as usize];
        if let Some(well_known) = message.well_known {
            return self.well_known(well_known, out);
        }
        match self.lex.peek()? {
            Next::Object => self.fields(index, false, out),
            next => Err(Fault::new(format!(
                "invalid type: {next:?}, expected a map"
            ))),
        }
    }

    /// An object's fields (`any_type`: the first `@type` key is the Any's,
    /// already read).
    pub(super) fn fields(
        &mut self,
        index: u32,
        mut any_type: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        let arena = self.arena;
        let message = &arena.messages[index as usize];
        let mut seen = Seen::new(message.fields.len());
        let mut oneofs = Seen::new(message.oneofs.len());
        self.lex.open()?;
        let (mut first, mut hint) = (true, 0);
        while let Some(key) = self.lex.key(first)? {
            first = false;
            let Some(i) = message.field_after(key.as_bytes(), hint) else {
                if any_type && key == "@type" {
                    any_type = false;
                    self.lex.skip()?;
                } else if self.deny_unknown {
                    return Err(Fault::new(format!("unrecognized field name '{key}'")));
                } else {
                    self.lex.skip()?;
                }
                continue;
            };
            hint = i + 1;
            let field = &message.fields[i];
            if !seen.insert(i) {
                let fault = Fault::new(format!("field {} is given twice", field.name));
                return Err(fault.in_field(&key));
            }
            let set = self.field(field, out).in_field(&key)?;
            if let (true, Some(oneof)) = (set, field.oneof) {
                if !oneofs.insert(usize::from(oneof)) {
                    let name = &message.oneofs[usize::from(oneof)];
                    let reason = format!("multiple fields provided for oneof '{name}'");
                    return Err(Fault::new(reason).in_field(&key));
                }
            }
        }
        Ok(())
    }

    /// One field's value; whether it set the field (not null, not an
    /// unknown enum name let through).
    fn field(&mut self, field: &Field, out: &mut Vec<u8>) -> Result<bool, Fault> {
        if self.lex.peek()? == Next::Null {
            self.lex.word(Next::Null)?;
            return Ok(self.null(field, out));
        }
        match field.shape {
            Shape::Single => self.single(field, out),
            Shape::List => self.list(field, out).map(|()| true),
            Shape::Map { key, value } => self.map(field, key, value, out).map(|()| true),
        }
    }

    /// `null` for a field: unset, but for a `Value` (which holds it) and
    /// `NullValue`.
    fn null(&mut self, field: &Field, out: &mut Vec<u8>) -> bool {
        if field.shape != Shape::Single {
            return false;
        }
        match self.null_bytes(field.ty) {
            Some(bytes) => {
                if !bytes.is_empty() {
                    out.extend_from_slice(&field.key);
                    out.extend_from_slice(bytes);
                } else if field.presence {
                    out.extend_from_slice(&field.key);
                    out.push(0);
                }
                true
            }
            None => false,
        }
    }

    /// What `null` is for a value of `ty` (a list item, a map value) when it
    /// is one: a `Value` holding `null_value`, or `NullValue`'s 0.
    fn null_bytes(&self, ty: Type) -> Option<&'static [u8]> {
        match ty {
            Type::Message(m) => (self.arena.messages[m as usize].well_known
                == Some(super::compile::WellKnown::Value))
            .then_some(&[2, 0x08, 0x00]),
            Type::Enum(e) => self.arena.enums[e as usize].null_value.then_some(&[]),
            Type::Scalar(_) => None,
        }
    }

    fn single(&mut self, field: &Field, out: &mut Vec<u8>) -> Result<bool, Fault> {
        match field.ty {
            Type::Message(m) => {
                out.extend_from_slice(&field.key);
                let start = begin_len(out);
                self.message(m, out)?;
                end_len(out, start);
            }
            Type::Enum(e) => match self.enum_value(&self.arena.enums[e as usize])? {
                Some(number) => {
                    if number != 0 || field.presence {
                        out.extend_from_slice(&field.key);
                        varint(out, number as i64 as u64);
                    }
                }
                None => return Ok(false),
            },
            Type::Scalar(scalar) => {
                let value = self.scalar(scalar)?;
                if field.presence || !value.is_default(scalar) {
                    out.extend_from_slice(&field.key);
                    value.put(out);
                }
            }
        }
        Ok(true)
    }

    fn list(&mut self, field: &Field, out: &mut Vec<u8>) -> Result<(), Fault> {
        let next = self.lex.peek()?;
        if next != Next::Array {
            return Err(Fault::new(format!(
                "invalid type: {next:?}, expected a list"
            )));
        }
        self.lex.open()?;
        let packed = field.packed;
        let before = out.len();
        let mut start = 0;
        if packed {
            out.extend_from_slice(&field.key);
            start = begin_len(out);
        }
        let mut i = 0;
        while self.lex.item(i == 0)? {
            self.item(field, packed, out).at_index(i)?;
            i += 1;
        }
        if packed {
            if out.len() == start {
                out.truncate(before);
            } else {
                end_len(out, start);
            }
        }
        Ok(())
    }

    /// One list item: bare inside a packed run, else with the field's key.
    fn item(&mut self, field: &Field, packed: bool, out: &mut Vec<u8>) -> Result<(), Fault> {
        if self.lex.peek()? == Next::Null {
            self.lex.word(Next::Null)?;
            let bytes = self
                .null_bytes(field.ty)
                .ok_or_else(|| Fault::new("invalid type: null"))?;
            if !packed {
                out.extend_from_slice(&field.key);
            }
            out.extend_from_slice(if bytes.is_empty() { &[0] } else { bytes });
            return Ok(());
        }
        match field.ty {
            Type::Message(m) => {
                out.extend_from_slice(&field.key);
                let start = begin_len(out);
                self.message(m, out)?;
                end_len(out, start);
            }
            Type::Enum(e) => {
                if let Some(number) = self.enum_value(&self.arena.enums[e as usize])? {
                    if !packed {
                        out.extend_from_slice(&field.key);
                    }
                    varint(out, number as i64 as u64);
                }
            }
            Type::Scalar(scalar) => {
                let value = self.scalar(scalar)?;
                if !packed {
                    out.extend_from_slice(&field.key);
                }
                value.put(out);
            }
        }
        Ok(())
    }

    fn map(
        &mut self,
        field: &Field,
        key: Scalar,
        value: Type,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        let next = self.lex.peek()?;
        if next != Next::Object {
            return Err(Fault::new(format!(
                "invalid type: {next:?}, expected a map"
            )));
        }
        self.lex.open()?;
        let mut first = true;
        while let Some(text) = self.lex.key(first)? {
            first = false;
            let before = out.len();
            out.extend_from_slice(&field.key);
            let start = begin_len(out);
            map_key(key, &text, out).at_key(&text)?;
            let kept = self.map_value(value, out).at_key(&text)?;
            if kept {
                end_len(out, start);
            } else {
                out.truncate(before);
            }
        }
        Ok(())
    }

    /// A map entry's value, as its field 2; false when dropped (an
    /// unknown enum name let through).
    fn map_value(&mut self, ty: Type, out: &mut Vec<u8>) -> Result<bool, Fault> {
        let key = |wire_type: WireType| (2 << 3) | wire_type as u8;
        if self.lex.peek()? == Next::Null {
            self.lex.word(Next::Null)?;
            let bytes = self
                .null_bytes(ty)
                .ok_or_else(|| Fault::new("invalid type: null"))?;
            out.push(key(ty.wire_type()));
            out.extend_from_slice(if bytes.is_empty() { &[0] } else { bytes });
            return Ok(true);
        }
        out.push(key(ty.wire_type()));
        match ty {
            Type::Message(m) => {
                let start = begin_len(out);
                self.message(m, out)?;
                end_len(out, start);
            }
            Type::Enum(e) => match self.enum_value(&self.arena.enums[e as usize])? {
                Some(number) => varint(out, number as i64 as u64),
                None => return Ok(false),
            },
            Type::Scalar(scalar) => self.scalar(scalar)?.put(out),
        }
        Ok(true)
    }
}

/// A map key, as its entry's field 1 (read as prost-reflect reads keys:
/// Rust's integer parsing, `true` or `false`).
fn map_key(key: Scalar, text: &str, out: &mut Vec<u8>) -> Result<(), Fault> {
    let bad = |e: &dyn std::fmt::Display| Fault::new(e.to_string());
    out.push((1 << 3) | key.wire_type() as u8);
    match key {
        Scalar::String => {
            varint(out, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
        Scalar::Bool => varint(out, u64::from(text.parse::<bool>().map_err(|e| bad(&e))?)),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => {
            let v = text.parse::<i32>().map_err(|e| bad(&e))?;
            match key {
                Scalar::Int32 => varint(out, v as i64 as u64),
                Scalar::Sint32 => varint(out, super::wire::zigzag32(v)),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => {
            let v = text.parse::<i64>().map_err(|e| bad(&e))?;
            match key {
                Scalar::Int64 => varint(out, v as u64),
                Scalar::Sint64 => varint(out, super::wire::zigzag64(v)),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
        Scalar::Uint32 | Scalar::Fixed32 => {
            let v = text.parse::<u32>().map_err(|e| bad(&e))?;
            match key {
                Scalar::Uint32 => varint(out, u64::from(v)),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
        _ => {
            let v = text.parse::<u64>().map_err(|e| bad(&e))?;
            match key {
                Scalar::Uint64 => varint(out, v),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
    }
    Ok(())
}
