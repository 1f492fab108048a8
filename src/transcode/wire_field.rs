//! One field read straight from a message's protobuf encoding, with no
//! decoding of the rest: what the compiled paths need for `ETag`, for a
//! create's `Location` and for the URI-against-body id check.

use prost_reflect::{DynamicMessage, FieldDescriptor};

/// A varint at the start of `wire`, and the bytes after it.
fn varint(wire: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in wire.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &wire[i + 1..]));
        }
    }
    None
}

/// One record of an encoding: its field number, the whole record (key and
/// value) and, when length-delimited, its value.
struct Record<'w> {
    number: u64,
    whole: &'w [u8],
    delimited: Option<&'w [u8]>,
}

/// The record at the start of `wire`, and the bytes after it; `None` when
/// the encoding is broken (groups included: no singular field is read from
/// a message that has them).
fn record(wire: &[u8]) -> Option<(Record<'_>, &[u8])> {
    let (key, rest) = varint(wire)?;
    let (number, wire_type) = (key >> 3, key & 7);
    let (delimited, rest) = match wire_type {
        0 => (None, varint(rest)?.1),
        1 => (None, rest.get(8..)?),
        5 => (None, rest.get(4..)?),
        2 => {
            let (len, rest) = varint(rest)?;
            let len = usize::try_from(len).ok()?;
            (Some(rest.get(..len)?), &rest[len..])
        }
        _ => return None,
    };
    let whole = &wire[..wire.len() - rest.len()];
    Some((
        Record {
            number,
            whole,
            delimited,
        },
        rest,
    ))
}

/// The value of the last record of field `number` (protobuf: the last one
/// wins) when it is length-delimited and UTF-8; `None` when there is none
/// or the encoding is broken.
pub(super) fn last_string(mut wire: &[u8], number: u32) -> Option<&str> {
    let mut last = None;
    while !wire.is_empty() {
        let (record, rest) = record(wire)?;
        if record.number == u64::from(number) {
            last = record.delimited;
        }
        wire = rest;
    }
    std::str::from_utf8(last?).ok()
}

/// The last record (key and value) of the field at the end of `numbers`
/// (field numbers from the outer message in), looked for in every record
/// of the messages on the way, which protobuf merges in order; `None` when
/// there is none or the encoding is broken.
fn last_record<N>(mut wire: &[u8], mut numbers: N) -> Option<&[u8]>
where
    N: ExactSizeIterator<Item = u32> + Clone,
{
    let first = numbers.next()?;
    let inner = numbers;
    let mut last = None;
    while !wire.is_empty() {
        let (record, rest) = record(wire)?;
        if record.number == u64::from(first) {
            if inner.len() == 0 {
                last = Some(record.whole);
            } else if let Some(found) = record.delimited.and_then(|m| last_record(m, inner.clone()))
            {
                last = Some(found);
            }
        }
        wire = rest;
    }
    last
}

/// The text of the singular scalar field at the end of `chain` (as
/// [`super::scalar::to_text`] writes it) in the encoding `wire` of the
/// chain's outer message; `None` when it is not set (at its default, for a
/// field without presence) or the encoding is broken. Only that one record
/// is decoded.
pub(super) fn field_text(wire: &[u8], chain: &[FieldDescriptor]) -> Option<String> {
    let leaf = chain.last()?;
    let record = last_record(wire, chain.iter().map(FieldDescriptor::number))?;
    if let Some(text) = common_text(record, leaf) {
        return text;
    }
    let holder = DynamicMessage::decode(leaf.parent_message().clone(), record).ok()?;
    if !holder.has_field(leaf) {
        return None;
    }
    super::scalar::to_text(&holder.get_field(leaf))
}

/// [`field_text`] of `record` (the leaf's last record) for the kinds ids
/// are made of — a string, a 32- or 64-bit integer in a varint — without
/// decoding a message around it (which cost about 1 µs per create's
/// `Location` under load); `None` for any other kind or wire type, which
/// the caller decodes.
fn common_text(record: &[u8], leaf: &FieldDescriptor) -> Option<Option<String>> {
    use prost_reflect::Kind;
    let (key, value) = varint(record)?;
    let wire_type = key & 7;
    let presence = leaf.supports_presence();
    let text = match (leaf.kind(), wire_type) {
        (Kind::String, 2) => {
            let (len, rest) = varint(value)?;
            let text = std::str::from_utf8(rest.get(..usize::try_from(len).ok()?)?);
            // Broken UTF-8 does not decode: no text.
            let text = text.ok().filter(|t| presence || !t.is_empty());
            return Some(text.map(str::to_owned));
        }
        (Kind::Int64, 0) => (varint(value)?.0 as i64).to_string(),
        (Kind::Int32, 0) => (varint(value)?.0 as i32).to_string(),
        (Kind::Uint64, 0) => varint(value)?.0.to_string(),
        (Kind::Uint32, 0) => (varint(value)?.0 as u32).to_string(),
        _ => return None,
    };
    Some((presence || text != "0").then_some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path's text against the decoded message's, for every
    /// field of a message with each kind it reads (and others it leaves to
    /// the decoder), set, at its default, broken and absent.
    #[test]
    fn common_kinds_read_as_the_decoded_message_has_them() {
        use prost_reflect::{DescriptorPool, Kind};
        let pool = DescriptorPool::decode(crate::pb::DESCRIPTOR_SET).unwrap();
        let mut checked = 0;
        for message in pool.all_messages() {
            for field in message.fields() {
                if field.is_list() || field.is_map() {
                    continue;
                }
                let key = |wire_type: u64| {
                    let mut out = Vec::new();
                    prost::encoding::encode_varint(
                        u64::from(field.number()) << 3 | wire_type,
                        &mut out,
                    );
                    out
                };
                let varint = |v: u64| {
                    let mut out = key(0);
                    prost::encoding::encode_varint(v, &mut out);
                    out
                };
                let delimited = |v: &[u8]| {
                    let mut out = key(2);
                    prost::encoding::encode_varint(v.len() as u64, &mut out);
                    out.extend_from_slice(v);
                    out
                };
                let records = [
                    varint(0),
                    varint(1),
                    varint(u64::MAX),
                    varint(1 << 31),
                    varint(u64::from(u32::MAX) + 7),
                    delimited(b""),
                    delimited(b"acct-9"),
                    delimited(b"\xff\xfe"),
                    key(0),
                ];
                for record in &records {
                    let Some(fast) = common_text(record, &field) else {
                        continue;
                    };
                    assert!(matches!(
                        field.kind(),
                        Kind::String | Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64
                    ));
                    let decoded = DynamicMessage::decode(message.clone(), &record[..])
                        .ok()
                        .filter(|m| m.has_field(&field))
                        .and_then(|m| crate::transcode::scalar::to_text(&m.get_field(&field)));
                    assert_eq!(fast, decoded, "{} {record:?}", field.full_name());
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} records read the fast way");
    }

    #[test]
    fn the_last_record_wins() {
        // 1: "a", 2: varint 150, 1: "bc", 3: fixed64, 4: fixed32.
        let wire = [
            0x0a, 1, b'a', 0x10, 0x96, 0x01, 0x0a, 2, b'b', b'c', 0x19, 0, 0, 0, 0, 0, 0, 0, 0,
            0x25, 0, 0, 0, 0,
        ];
        assert_eq!(last_string(&wire, 1), Some("bc"));
        assert_eq!(last_string(&wire, 5), None);
        assert_eq!(last_string(&wire[..8], 1), None, "cut short");
        assert_eq!(last_string(&[0x0b, 0x0c], 1), None, "a group");
    }

    #[test]
    fn a_nested_field_is_read_across_every_record_of_its_parents() {
        // 2: {1: "a"}, 1: "x", 2: {3: 7}, 2: {1: "b"}, 2: {3: 8}.
        let wire = [
            0x12, 3, 0x0a, 1, b'a', 0x0a, 1, b'x', 0x12, 2, 0x18, 7, 0x12, 3, 0x0a, 1, b'b', 0x12,
            2, 0x18, 8,
        ];
        assert_eq!(
            last_record(&wire, [2, 1].into_iter()),
            Some(&[0x0a, 1, b'b'][..])
        );
        assert_eq!(last_record(&wire, [2, 3].into_iter()), Some(&[0x18, 8][..]));
        assert_eq!(
            last_record(&wire, [1].into_iter()),
            Some(&[0x0a, 1, b'x'][..])
        );
        assert_eq!(last_record(&wire, [2, 4].into_iter()), None);
        assert_eq!(
            last_record(&wire[..4], [2, 1].into_iter()),
            None,
            "cut short"
        );
    }
}
