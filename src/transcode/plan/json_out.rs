//! Protobuf wire bytes → JSON text, driven by the plan: a message's records
//! are read once, checked, and kept on a shared stack as *runs* (records of
//! one field in a row: where they start and end, and the last of them;
//! [`super::json_out_runs`]), put in field order (a stable sort, skipped
//! when the wire already is);
//! then each field is written from its runs, their records read again from
//! the bytes: the last one for a singular scalar, all of them merged for a
//! message, every item (packed runs or not) for a list, the last entry per
//! key for a map, the last member for a oneof. Unknown fields are skipped.
//! A list of a million items is one run, not a million entries.
//!
//! The options are `json::to_vec`'s: fields at their default left out
//! unless `emit_unpopulated` (unset messages and oneofs never written),
//! proto names instead of lowerCamelCase, enum numbers instead of names.

use std::ops::Range;

use super::compile::{Arena, Field, Message, MessagePlan, Scalar, Shape, Type};
use super::fault::{At, Fault};
use super::json_out_runs::Run;
use super::wire::{unzigzag32, unzigzag64, Reader, Record, WireType};
use super::wire_check;
use super::write;
use crate::transcode::{JsonOptions, TranscodeError};

/// Messages nested deeper than this are refused (prost's own bound).
pub(super) const MAX_DEPTH: usize = 100;

/// One transcoding of a reply.
pub(super) struct Decoder<'p, 'b> {
    pub(super) arena: &'p Arena,
    pub(super) options: &'p JsonOptions,
    pub(super) runs: Vec<Run<'b>>,
    pub(super) depth: usize,
}

impl MessagePlan {
    /// Transcodes `wire`, the protobuf encoding of this plan's message,
    /// into its JSON, appended to `out`; as
    /// [`crate::transcode::json::to_vec`] writes it with the same
    /// `options`, with the same refusals (a Timestamp or Duration out of
    /// range, an Any of a type the pool lacks).
    pub fn wire_to_json(
        &self,
        wire: &[u8],
        options: &JsonOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), TranscodeError> {
        let start = out.len();
        let mut decoder = Decoder {
            arena: &self.arena,
            options,
            // The records of a message's fields: a reply of the common
            // sizes without growing the stack.
            runs: Vec::with_capacity(16),
            depth: 0,
        };
        decoder.message(self.root, wire, out).map_err(|fault| {
            out.truncate(start);
            fault.into_reply()
        })
    }
}

impl<'b> Decoder<'_, 'b> {
    /// A message of type `index` as JSON (a well-known type in its own form).
    pub(super) fn message(
        &mut self,
        index: u32,
        bytes: &'b [u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        if self.depth >= MAX_DEPTH {
            return Err(Fault::new(format!(
                "messages nested deeper than {MAX_DEPTH}"
            )));
        }
        self.depth += 1;
        let result = match self.arena.messages[index as usize].well_known {
            Some(well_known) => self.well_known(well_known, index, bytes, out),
            None => {
                out.push(b'{');
                self.members(index, bytes, true, out)
                    .map(|_| out.push(b'}'))
            }
        };
        self.depth -= 1;
        result
    }

    /// A message's fields, as members of an object already open (`first`:
    /// nothing written in it yet); whether it is still empty.
    pub(super) fn members(
        &mut self,
        index: u32,
        bytes: &'b [u8],
        mut first: bool,
        out: &mut Vec<u8>,
    ) -> Result<bool, Fault> {
        let arena = self.arena;
        let message = &arena.messages[index as usize];
        let range = self.scan(index, bytes)?;
        let mut at = range.start;
        for (i, field) in message.fields.iter().enumerate() {
            let start = at;
            while at < range.end && usize::from(self.runs[at].field) == i {
                at += 1;
            }
            let mut group = start..at;
            if let (Some(oneof), false) = (field.oneof, group.is_empty()) {
                let winner = self.oneof_winner(message, group.clone(), range.clone(), oneof);
                self.check_overridden(field, bytes, group.start..winner.start)?;
                group = winner;
            }
            let name = if self.options.proto_field_names {
                &field.proto_key
            } else {
                &field.json_key
            };
            let written = if group.is_empty() {
                !field.presence && self.options.emit_unpopulated
            } else {
                field.presence
                    || self.options.emit_unpopulated
                    || !self.is_default(field, bytes, &group)
            };
            if !written {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(name);
            self.field(field, bytes, group, out)
                .in_field(&field.json_name)?;
        }
        self.runs.truncate(range.start);
        Ok(first)
    }

    /// Of a oneof member's runs, those after the last record of another
    /// member of the same oneof (none if another came last). A run is
    /// never cut: another member's record ends it.
    fn oneof_winner(
        &self,
        message: &Message,
        group: Range<usize>,
        all: Range<usize>,
        oneof: u16,
    ) -> Range<usize> {
        let mine = self.runs[group.start].field;
        let others_last = self.runs[all]
            .iter()
            .filter(|r| r.field != mine)
            .filter(|r| message.fields[usize::from(r.field)].oneof == Some(oneof))
            .map(|r| r.pos)
            .max();
        let Some(other) = others_last else {
            return group;
        };
        let from = group
            .clone()
            .find(|&g| self.runs[g].pos > other)
            .unwrap_or(group.end);
        from..group.end
    }

    /// A oneof member's records that a later member overrides: never
    /// written, yet decoded (and refused when broken) all the same.
    fn check_overridden(
        &self,
        field: &Field,
        bytes: &'b [u8],
        overridden: Range<usize>,
    ) -> Result<(), Fault> {
        let Type::Message(m) = field.ty else {
            // Strings are checked as they are read; numbers cannot be broken.
            return Ok(());
        };
        for record in self.runs[overridden]
            .iter()
            .flat_map(|run| run.records(bytes))
        {
            wire_check::message(self.arena, m, record.bytes, self.depth)
                .in_field(&field.json_name)?;
        }
        Ok(())
    }

    /// Whether a field without presence holds its default (and so is left
    /// out): for a list, whether its records are all empty packed runs
    /// (`[]`, as prost-reflect decodes them).
    fn is_default(&self, field: &Field, bytes: &'b [u8], group: &Range<usize>) -> bool {
        match field.shape {
            Shape::Single => {}
            Shape::List if field.ty.packable() => {
                return self.runs[group.clone()].iter().all(|run| {
                    run.records(bytes)
                        .all(|r| r.wire_type == WireType::Len && r.bytes.is_empty())
                });
            }
            _ => return false,
        }
        let record = self.runs[group.end - 1].last;
        match field.ty {
            Type::Message(_) => false,
            Type::Scalar(Scalar::Double) => f64::from_bits(record.bits) == 0.0,
            Type::Scalar(Scalar::Float) => f32::from_bits(record.bits as u32) == 0.0,
            Type::Scalar(Scalar::String | Scalar::Bytes) => record.bytes.is_empty(),
            Type::Scalar(Scalar::Int32 | Scalar::Sint32 | Scalar::Uint32) => {
                record.bits as u32 == 0
            }
            Type::Enum(_) => record.bits as u32 == 0,
            Type::Scalar(_) => record.bits == 0,
        }
    }

    /// A field's value from its runs in `bytes` (none: its default).
    fn field(
        &mut self,
        field: &Field,
        bytes: &'b [u8],
        group: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        match field.shape {
            Shape::Map { key, value } => self.map(key, value, bytes, group, out),
            Shape::List => {
                out.push(b'[');
                let mut first = true;
                for g in group {
                    let run = self.runs[g];
                    for record in run.records(bytes) {
                        self.items(field.ty, record, &mut first, out)?;
                    }
                }
                out.push(b']');
                Ok(())
            }
            Shape::Single if group.is_empty() => self.default(field.ty, out),
            Shape::Single => match field.ty {
                Type::Message(m) => self.merged(m, bytes, group, out),
                ty => {
                    let record = self.runs[group.end - 1].last;
                    self.value(ty, record.bits, record.bytes, out)
                }
            },
        }
    }

    /// A singular message from all the records of its runs in `bytes`,
    /// merged (their bytes concatenated, as protobuf merges them).
    pub(super) fn merged(
        &mut self,
        index: u32,
        bytes: &'b [u8],
        group: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        if group.len() == 1 && self.runs[group.start].single() {
            let bytes = self.runs[group.start].last.bytes;
            return self.message(index, bytes, out);
        }
        let records = || {
            self.runs[group.clone()]
                .iter()
                .flat_map(|run| run.records(bytes))
        };
        // Each record must be whole on its own, as prost decodes them: one
        // cut short must not be completed by the next once joined.
        for record in records() {
            let mut reader = Reader::new(record.bytes);
            while reader.next().map_err(Fault::new)?.is_some() {}
        }
        let joined: Vec<u8> = records().flat_map(|r| r.bytes.iter().copied()).collect();
        self.joined(index, &joined, out)
    }

    /// A message of type `index` from records already checked and joined
    /// into bytes of their own.
    pub(super) fn joined(&self, index: u32, joined: &[u8], out: &mut Vec<u8>) -> Result<(), Fault> {
        let mut inner = Decoder {
            arena: self.arena,
            options: self.options,
            runs: Vec::new(),
            depth: self.depth,
        };
        inner.message(index, joined, out)
    }

    /// A list's items from one record: a packed run or one item.
    fn items(
        &mut self,
        ty: Type,
        record: Record<'b>,
        first: &mut bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        if record.wire_type != WireType::Len || !ty.packable() {
            if !std::mem::take(first) {
                out.push(b',');
            }
            return self.value(ty, record.bits, record.bytes, out);
        }
        let width = match ty.wire_type() {
            WireType::Fixed32 => 4,
            WireType::Fixed64 => 8,
            _ => 0,
        };
        let mut reader = Reader::new(record.bytes);
        while !reader.at_end() {
            let bits = match width {
                0 => reader.varint(),
                width => reader.fixed(width),
            }
            .map_err(Fault::new)?;
            if !std::mem::take(first) {
                out.push(b',');
            }
            self.value(ty, bits, &[], out)?;
        }
        Ok(())
    }

    /// One value of `ty`: `bits` for numbers, `bytes` for the rest.
    pub(super) fn value(
        &mut self,
        ty: Type,
        bits: u64,
        bytes: &'b [u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        match ty {
            Type::Message(m) => self.message(m, bytes, out),
            Type::Enum(e) => {
                let e = &self.arena.enums[e as usize];
                let number = bits as i32;
                if e.null_value {
                    out.extend_from_slice(b"null");
                } else if let (false, Some(name)) =
                    (self.options.enum_numbers, e.quoted_name(number))
                {
                    out.extend_from_slice(name);
                } else {
                    write::i64(out, number.into());
                }
                Ok(())
            }
            Type::Scalar(scalar) => scalar_value(scalar, bits, bytes, out),
        }
    }

    /// The JSON of `ty`'s default value (an unpopulated field, a map entry
    /// without its value).
    pub(super) fn default(&mut self, ty: Type, out: &mut Vec<u8>) -> Result<(), Fault> {
        self.value(ty, 0, &[], out)
    }
}

/// A scalar's JSON (64-bit integers quoted).
pub(super) fn scalar_value(
    scalar: Scalar,
    bits: u64,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Fault> {
    match scalar {
        Scalar::Double => write::f64(out, f64::from_bits(bits)),
        Scalar::Float => write::f32(out, f32::from_bits(bits as u32)),
        Scalar::Int32 | Scalar::Sfixed32 => write::i64(out, (bits as u32 as i32).into()),
        Scalar::Sint32 => write::i64(out, unzigzag32(bits).into()),
        Scalar::Uint32 | Scalar::Fixed32 => write::u64(out, bits as u32 as u64),
        Scalar::Int64 | Scalar::Sfixed64 => write::quoted_i64(out, bits as i64),
        Scalar::Sint64 => write::quoted_i64(out, unzigzag64(bits)),
        Scalar::Uint64 | Scalar::Fixed64 => write::quoted_u64(out, bits),
        Scalar::Bool => out.extend_from_slice(if bits != 0 { b"true" } else { b"false" }),
        Scalar::String => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Fault::new("invalid string value: data is not UTF-8 encoded"))?;
            write::string(out, text);
        }
        Scalar::Bytes => write::base64(out, bytes),
    }
    Ok(())
}
