//! Checks that wire bytes the reply writer reads but does not write decode
//! all the same, as prost-reflect decodes them: a oneof's message member
//! overridden by a later member, a map entry's key or value given twice.
//! prost-reflect refuses a reply in which any record is broken, written or
//! not, so the plan must too: record framing, wire types of known fields,
//! UTF-8 of strings, packed runs read whole, nested messages and map
//! entries, at most [`MAX_DEPTH`] levels. Only wire rules: a Timestamp's
//! range or an Any's type are JSON rules, checked when a value is written.

use super::compile::{Arena, Field, Scalar, Shape, Type};
use super::fault::Fault;
use super::json_out::MAX_DEPTH;
use super::json_out_runs::fits;
use super::wire::{Reader, Record, WireType};

const NOT_UTF8: &str = "invalid string value: data is not UTF-8 encoded";

/// Whether `bytes`, a message of type `index` at nesting `depth`, decode.
pub(super) fn message(arena: &Arena, index: u32, bytes: &[u8], depth: usize) -> Result<(), Fault> {
    if depth >= MAX_DEPTH {
        return Err(Fault::new(format!(
            "messages nested deeper than {MAX_DEPTH}"
        )));
    }
    let message = &arena.messages[index as usize];
    let mut reader = Reader::new(bytes);
    while let Some(record) = reader.next().map_err(Fault::new)? {
        let Some(i) = message.field_by_number(record.number) else {
            continue;
        };
        let field = &message.fields[i];
        field_record(arena, field, record, depth)
            .map_err(|fault| fault.in_field(&field.json_name))?;
    }
    Ok(())
}

/// One record of a known field.
fn field_record(
    arena: &Arena,
    field: &Field,
    record: Record<'_>,
    depth: usize,
) -> Result<(), Fault> {
    if !fits(field, record.wire_type) {
        return Err(Fault::new(format!(
            "invalid wire type {:?}",
            record.wire_type
        )));
    }
    match field.shape {
        Shape::Map { key, value } => map_entry(arena, key, value, record.bytes, depth),
        Shape::List if record.wire_type == WireType::Len && field.ty.packable() => {
            packed(field.ty, record.bytes)
        }
        Shape::List | Shape::Single => value(arena, field.ty, record, depth),
    }
}

/// One value record of `ty` (its wire type already checked).
fn value(arena: &Arena, ty: Type, record: Record<'_>, depth: usize) -> Result<(), Fault> {
    match ty {
        Type::Message(m) => message(arena, m, record.bytes, depth + 1),
        Type::Scalar(Scalar::String) => std::str::from_utf8(record.bytes)
            .map(drop)
            .map_err(|_| Fault::new(NOT_UTF8)),
        _ => Ok(()),
    }
}

/// A packed run of numbers, read whole.
fn packed(ty: Type, bytes: &[u8]) -> Result<(), Fault> {
    let mut reader = Reader::new(bytes);
    while !reader.at_end() {
        match ty.wire_type() {
            WireType::Fixed32 => reader.fixed(4),
            WireType::Fixed64 => reader.fixed(8),
            _ => reader.varint(),
        }
        .map_err(Fault::new)?;
    }
    Ok(())
}

/// Every record of one map entry: its key (field 1) and value (field 2)
/// records, however many times each comes.
pub(super) fn map_entry(
    arena: &Arena,
    key: Scalar,
    value_type: Type,
    bytes: &[u8],
    depth: usize,
) -> Result<(), Fault> {
    let mut reader = Reader::new(bytes);
    while let Some(record) = reader.next().map_err(Fault::new)? {
        let ty = match record.number {
            1 => Type::Scalar(key),
            2 => value_type,
            _ => continue,
        };
        if record.wire_type != ty.wire_type() {
            return Err(Fault::new(format!(
                "invalid wire type {:?} in a map entry",
                record.wire_type
            )));
        }
        value(arena, ty, record, depth)?;
    }
    Ok(())
}
