//! The protobuf wire format at its lowest: varints, keys, fixed-width
//! numbers, and a reader that walks a message's fields one by one (keys
//! checked, values sliced out, groups skipped), refusing truncated input.

/// How a value is laid out on the wire (the low three bits of its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WireType {
    Varint = 0,
    Fixed64 = 1,
    Len = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

impl WireType {
    fn of(bits: u64) -> Option<WireType> {
        Some(match bits {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            _ => return None,
        })
    }
}

/// The key of field `number` with `wire_type`, as varint bytes.
pub(super) fn tag(number: u32, wire_type: WireType) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    varint(&mut out, (u64::from(number) << 3) | wire_type as u64);
    out
}

#[inline]
pub(super) fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(super) fn zigzag32(value: i32) -> u64 {
    u64::from(((value << 1) ^ (value >> 31)) as u32)
}

pub(super) fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

pub(super) fn unzigzag32(value: u64) -> i32 {
    let value = value as u32;
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

pub(super) fn unzigzag64(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Starts a length-delimited value: one byte reserved for its length,
/// which [`end_len`] fills in. Returns where the value starts.
///
/// One byte is right for most submessages (under 128 bytes); a longer one
/// moves its bytes up by the extra length bytes, a copy of what was just
/// written, cheaper than a second pass computing sizes first.
#[inline]
pub(super) fn begin_len(out: &mut Vec<u8>) -> usize {
    out.push(0);
    out.len()
}

/// Ends the value [`begin_len`] started at `start`.
#[inline]
pub(super) fn end_len(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    if len < 0x80 {
        out[start - 1] = len as u8;
        return;
    }
    let mut prefix = [0u8; 10];
    let mut n = 0;
    let mut value = len as u64;
    while value >= 0x80 {
        prefix[n] = (value as u8) | 0x80;
        value >>= 7;
        n += 1;
    }
    prefix[n] = value as u8;
    n += 1;
    let extra = n - 1;
    out.resize(out.len() + extra, 0);
    out.copy_within(start..start + len, start + extra);
    out[start - 1..start - 1 + n].copy_from_slice(&prefix[..n]);
}

/// Why the wire bytes cannot be read.
pub(super) type WireError = &'static str;

/// One field as it sits on the wire.
#[derive(Debug, Clone, Copy)]
pub(super) struct Record<'a> {
    pub(super) number: u32,
    pub(super) wire_type: WireType,
    /// A varint's value, or a fixed value's bits.
    pub(super) bits: u64,
    /// A length-delimited value's bytes (empty for the others).
    pub(super) bytes: &'a [u8],
}

/// Walks the fields of one message's bytes.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Where the next record starts, as an offset into the bytes.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(super) fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = *self.bytes.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err("varint overflows 64 bits");
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err("varint overflows 64 bits")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or("truncated field")?;
        let bytes = self.bytes.get(self.pos..end).ok_or("truncated field")?;
        self.pos = end;
        Ok(bytes)
    }

    /// A record's key: its field number (1 to 2^29 - 1, the key a 32-bit
    /// varint, as protobuf and prost read it) and wire type.
    fn key(&mut self) -> Result<(u32, WireType), WireError> {
        let key = u32::try_from(self.varint()?).map_err(|_| "field number out of range")?;
        if key >> 3 == 0 {
            return Err("field number 0");
        }
        let wire_type = WireType::of(u64::from(key & 7)).ok_or("invalid wire type")?;
        Ok((key >> 3, wire_type))
    }

    /// The next record, `None` at the end.
    #[inline]
    pub(super) fn next(&mut self) -> Result<Option<Record<'a>>, WireError> {
        if self.at_end() {
            return Ok(None);
        }
        let (number, wire_type) = self.key()?;
        let mut record = Record {
            number,
            wire_type,
            bits: 0,
            bytes: &[],
        };
        match wire_type {
            WireType::Varint => record.bits = self.varint()?,
            WireType::Fixed64 => {
                let b = self.take(8)?;
                record.bits = u64::from_le_bytes(b.try_into().unwrap_or_default());
            }
            WireType::Fixed32 => {
                let b = self.take(4)?;
                record.bits = u64::from(u32::from_le_bytes(b.try_into().unwrap_or_default()));
            }
            WireType::Len => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length out of range")?;
                record.bytes = self.take(len)?;
            }
            WireType::StartGroup => self.skip_group(number, 0)?,
            WireType::EndGroup => return Err("unexpected end of group"),
        }
        Ok(Some(record))
    }

    /// Skips a group's fields up to its end key.
    fn skip_group(&mut self, number: u32, depth: usize) -> Result<(), WireError> {
        if depth > 100 {
            return Err("groups nested too deep");
        }
        loop {
            if self.at_end() {
                return Err("truncated group");
            }
            let (inner, wire_type) = self.key()?;
            match wire_type {
                WireType::EndGroup if inner == number => return Ok(()),
                WireType::EndGroup => return Err("mismatched end of group"),
                WireType::StartGroup => self.skip_group(inner, depth + 1)?,
                WireType::Varint => {
                    self.varint()?;
                }
                WireType::Fixed64 => {
                    self.take(8)?;
                }
                WireType::Fixed32 => {
                    self.take(4)?;
                }
                WireType::Len => {
                    let len = usize::try_from(self.varint()?).map_err(|_| "length out of range")?;
                    self.take(len)?;
                }
            }
        }
    }

    /// The next fixed-width value of a packed run (4 or 8 bytes).
    pub(super) fn fixed(&mut self, width: usize) -> Result<u64, WireError> {
        let b = self.take(width)?;
        Ok(if width == 4 {
            u64::from(u32::from_le_bytes(b.try_into().unwrap_or_default()))
        } else {
            u64::from_le_bytes(b.try_into().unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_past_one_byte_move_the_value_up() {
        for len in [0usize, 1, 127, 128, 300, 20_000] {
            let mut out = vec![9];
            let start = begin_len(&mut out);
            out.extend(std::iter::repeat_n(7u8, len));
            end_len(&mut out, start);
            let mut want = vec![9];
            varint(&mut want, len as u64);
            want.extend(std::iter::repeat_n(7u8, len));
            assert_eq!(out, want, "{len}");
        }
    }

    #[test]
    fn a_key_past_32_bits_is_refused() {
        // Field 2^29 - 1 (the largest), a varint: key 0xffff_fff8.
        let largest = [0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01];
        let record = Reader::new(&largest).next().unwrap().unwrap();
        assert_eq!(record.number, (1 << 29) - 1);
        // Field 2^29: key 2^32, which prost refuses (wire_to_json found the
        // plan reading such keys as fields to skip).
        let past = [0x80, 0x80, 0x80, 0x80, 0x10, 0x01];
        assert_eq!(
            Reader::new(&past).next().unwrap_err(),
            "field number out of range"
        );
        // The same inside a group that is skipped.
        let group = [0x0b, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, 0x0c];
        assert_eq!(
            Reader::new(&group).next().unwrap_err(),
            "field number out of range"
        );
        assert_eq!(
            Reader::new(&[0x00, 0x01]).next().unwrap_err(),
            "field number 0"
        );
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0, 1, -1, i32::MAX, i32::MIN] {
            assert_eq!(unzigzag32(zigzag32(v)), v);
        }
        for v in [0, 1, -1, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag64(zigzag64(v)), v);
        }
    }
}
