//! The tables a message plan finds its fields by: JSON and proto names
//! through an open-addressing hash table (a profile of JSON → wire showed a
//! binary search over the names taking 37 % of its time), and field
//! numbers through a dense table when they are small.

use super::compile::{Field, DENSE_NUMBERS};

/// The message's JSON names and then the proto names that differ, sorted,
/// each with its field's index.
pub(super) fn names(fields: &[Field]) -> Vec<(Box<[u8]>, u16)> {
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

/// FNV-1a: short keys, no adversary worth more (a table per message type,
/// filled from the descriptor, not from requests).
#[inline]
pub(super) fn name_hash(key: &[u8]) -> u32 {
    key.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The hash table over `names`: each slot holds an index into `names`, or
/// `u16::MAX` when empty.
pub(super) fn slots(names: &[(Box<[u8]>, u16)]) -> Vec<u16> {
    let len = (names.len() * 2).next_power_of_two().max(2);
    let mut slots = vec![u16::MAX; len];
    for (i, (name, _)) in names.iter().enumerate() {
        let mut slot = name_hash(name) as usize & (len - 1);
        while slots[slot] != u16::MAX {
            slot = (slot + 1) & (len - 1);
        }
        slots[slot] = i as u16;
    }
    slots
}

/// Field index by field number, when every number is below
/// `DENSE_NUMBERS`; empty otherwise.
pub(super) fn by_number(fields: &[Field]) -> Vec<u16> {
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
