//! Map fields, wire → JSON: each entry's key (field 1) and value (field 2),
//! either missing being its default, written as an object member; when a
//! key comes twice, the last entry wins (as protobuf decodes maps), found
//! after writing so that maps without repeated keys (all of them, from a
//! protobuf encoder) cost no lookup table: only where each key sits, 8
//! bytes an entry. Within one entry the last key and value record win (a
//! message value given twice is the two merged), and the records written
//! over are checked all the same ([`super::wire_check`]).

use std::ops::Range;

use super::compile::{Scalar, Type};
use super::fault::Fault;
use super::json_out::Decoder;
use super::wire::{unzigzag32, unzigzag64, Reader, Record};
use super::wire_check;
use super::write;

/// Where one member's key sits in the output, from the object's start
/// (its value runs up to the next member's comma).
#[derive(Debug, Clone, Copy)]
struct Key {
    start: u32,
    len: u32,
}

impl<'b> Decoder<'_, 'b> {
    /// A map from the entry records of its runs in `bytes`.
    pub(super) fn map(
        &mut self,
        key: Scalar,
        value: Type,
        bytes: &'b [u8],
        group: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        out.push(b'{');
        let base = out.len();
        let mut keys = Vec::new();
        for g in group {
            let run = self.runs[g];
            for record in run.records(bytes) {
                if !keys.is_empty() {
                    out.push(b',');
                }
                let key_start = out.len();
                let key_end = self.member(key, value, record.bytes, out)?;
                let (Ok(start), Ok(len)) = (
                    u32::try_from(key_start - base),
                    u32::try_from(key_end - key_start),
                ) else {
                    return Err(Fault::new("map longer than 4 GiB as JSON"));
                };
                keys.push(Key { start, len });
            }
        }
        keep_last(&mut keys, base, out);
        out.push(b'}');
        Ok(())
    }

    /// One entry, its record's `bytes`, as `key:value`; returns where its
    /// key ends in `out`.
    fn member(
        &mut self,
        key: Scalar,
        value: Type,
        bytes: &'b [u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, Fault> {
        let found = entry(bytes, key, value)?;
        if found.repeated {
            // Records written over still decode (prost-reflect
            // refuses them otherwise).
            wire_check::map_entry(self.arena, key, value, bytes, self.depth)?;
        }
        let key_start = out.len();
        map_key(key, found.key, out)?;
        let key_end = out.len();
        out.push(b':');
        let written = match (found.value, value) {
            (Some(_), Type::Message(m)) if found.values > 1 => {
                // A message value given twice is the two merged.
                self.joined(m, &joined_values(bytes), out)
            }
            (Some(r), _) => self.value(value, r.bits, r.bytes, out),
            (None, _) => self.default(value, out),
        };
        if let Err(fault) = written {
            let shown = String::from_utf8_lossy(&out[key_start..key_end]).into_owned();
            return Err(fault.at_key(shown.trim_matches('"')));
        }
        Ok(key_end)
    }
}

/// What one map entry holds on the wire.
struct Found<'b> {
    /// The last key record (`None`: the default key).
    key: Option<Record<'b>>,
    /// The last value record (`None`: the default value).
    value: Option<Record<'b>>,
    /// How many value records came.
    values: usize,
    /// Whether the key or the value came more than once.
    repeated: bool,
}

/// A map entry's key and value records.
fn entry(bytes: &[u8], key: Scalar, value: Type) -> Result<Found<'_>, Fault> {
    let mut found = Found {
        key: None,
        value: None,
        values: 0,
        repeated: false,
    };
    let mut reader = Reader::new(bytes);
    while let Some(record) = reader.next().map_err(Fault::new)? {
        let (slot, wire_type) = match record.number {
            1 => (&mut found.key, key.wire_type()),
            2 => {
                found.values += 1;
                (&mut found.value, value.wire_type())
            }
            _ => continue,
        };
        if record.wire_type != wire_type {
            return Err(Fault::new(format!(
                "invalid wire type {:?} in a map entry",
                record.wire_type
            )));
        }
        found.repeated |= slot.replace(record).is_some();
    }
    Ok(found)
}

/// The bytes of every value record of an entry (already read once), joined.
fn joined_values(bytes: &[u8]) -> Vec<u8> {
    let mut joined = Vec::new();
    let mut reader = Reader::new(bytes);
    while let Ok(Some(record)) = reader.next() {
        if record.number == 2 {
            joined.extend_from_slice(record.bytes);
        }
    }
    joined
}

/// A map key as a JSON string.
fn map_key(key: Scalar, record: Option<Record<'_>>, out: &mut Vec<u8>) -> Result<(), Fault> {
    let (bits, bytes) = record.map_or((0, &[][..]), |r| (r.bits, r.bytes));
    if key == Scalar::String {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Fault::new("invalid string value: data is not UTF-8 encoded"))?;
        write::string(out, text);
        return Ok(());
    }
    out.push(b'"');
    match key {
        Scalar::Bool => out.extend_from_slice(if bits != 0 { b"true" } else { b"false" }),
        Scalar::Int32 | Scalar::Sfixed32 => write::i64(out, (bits as u32 as i32).into()),
        Scalar::Sint32 => write::i64(out, unzigzag32(bits).into()),
        Scalar::Uint32 | Scalar::Fixed32 => write::u64(out, bits as u32 as u64),
        Scalar::Sint64 => write::i64(out, unzigzag64(bits)),
        Scalar::Uint64 | Scalar::Fixed64 => write::u64(out, bits),
        _ => write::i64(out, bits as i64),
    }
    out.push(b'"');
    Ok(())
}

/// Drops the members whose key comes again later, keeping the order of the
/// rest; `keys` are the members' keys in the order written from `base`.
fn keep_last(keys: &mut [Key], base: usize, out: &mut Vec<u8>) {
    let text = |k: &Key| &out[base + k.start as usize..][..k.len as usize];
    // The starts of the members dropped, in order.
    let mut dropped: Vec<u32> = Vec::new();
    if keys.len() <= 32 {
        for (i, k) in keys.iter().enumerate() {
            if keys[i + 1..].iter().any(|later| text(later) == text(k)) {
                dropped.push(k.start);
            }
        }
    } else {
        keys.sort_unstable_by(|a, b| text(a).cmp(text(b)).then(a.start.cmp(&b.start)));
        for pair in keys.windows(2) {
            if text(&pair[0]) == text(&pair[1]) {
                dropped.push(pair[0].start);
            }
        }
        if dropped.is_empty() {
            return;
        }
        keys.sort_unstable_by_key(|k| k.start);
        dropped.sort_unstable();
    }
    if dropped.is_empty() {
        return;
    }
    let written = out.split_off(base);
    let mut dropped = dropped.into_iter().peekable();
    let mut any = false;
    for (i, k) in keys.iter().enumerate() {
        if dropped.next_if_eq(&k.start).is_some() {
            continue;
        }
        // Up to the comma before the next member.
        let end = keys
            .get(i + 1)
            .map_or(written.len(), |n| n.start as usize - 1);
        if std::mem::replace(&mut any, true) {
            out.push(b',');
        }
        out.extend_from_slice(&written[k.start as usize..end]);
    }
}
