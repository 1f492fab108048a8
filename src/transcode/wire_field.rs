//! One field read straight from a message's protobuf encoding, with no
//! decoding of the rest: what the compiled reply path needs for `ETag`.

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

/// The value of the last record of field `number` (protobuf: the last one
/// wins) when it is length-delimited and UTF-8; `None` when there is none
/// or the encoding is broken (groups included: no singular string field is
/// read from a message that has them).
pub(super) fn last_string(mut wire: &[u8], number: u32) -> Option<&str> {
    let mut last = None;
    while !wire.is_empty() {
        let (key, rest) = varint(wire)?;
        let (field, wire_type) = (key >> 3, key & 7);
        let rest = match wire_type {
            0 => varint(rest)?.1,
            1 => rest.get(8..)?,
            5 => rest.get(4..)?,
            2 => {
                let (len, rest) = varint(rest)?;
                let len = usize::try_from(len).ok()?;
                let value = rest.get(..len)?;
                if field == u64::from(number) {
                    last = Some(value);
                }
                &rest[len..]
            }
            _ => return None,
        };
        wire = rest;
    }
    std::str::from_utf8(last?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
