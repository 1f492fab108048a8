//! Writing JSON text: strings escaped as serde_json escapes them, integers
//! and floats through serde_json's own formatter (itoa and ryu: the
//! shortest text that reads back to the same value, as prost-reflect's
//! replies have it), bytes as standard base64 with padding.

use serde_json::ser::{CompactFormatter, Formatter as _};

/// The escape of each byte below 0x80: 0 none, `u` as `\u00XX`, else the
/// letter after the backslash.
const ESCAPE: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// `text` as a quoted JSON string.
#[inline]
pub(super) fn string(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = if b < 0x80 { ESCAPE[b as usize] } else { 0 };
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

#[inline]
pub(super) fn i64(out: &mut Vec<u8>, value: i64) {
    let _ = CompactFormatter.write_i64(out, value);
}

#[inline]
pub(super) fn u64(out: &mut Vec<u8>, value: u64) {
    let _ = CompactFormatter.write_u64(out, value);
}

/// A 64-bit integer, quoted (proto3 JSON: a double could not hold it).
#[inline]
pub(super) fn quoted_i64(out: &mut Vec<u8>, value: i64) {
    out.push(b'"');
    i64(out, value);
    out.push(b'"');
}

#[inline]
pub(super) fn quoted_u64(out: &mut Vec<u8>, value: u64) {
    out.push(b'"');
    u64(out, value);
    out.push(b'"');
}

/// A double field's value: the shortest exact text, or `"NaN"`,
/// `"Infinity"`, `"-Infinity"`.
pub(super) fn f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        let _ = CompactFormatter.write_f64(out, value);
    } else {
        non_finite(out, value.is_nan(), value > 0.0);
    }
}

/// A float field's value, its shortest text at 32 bits.
pub(super) fn f32(out: &mut Vec<u8>, value: f32) {
    if value.is_finite() {
        let _ = CompactFormatter.write_f32(out, value);
    } else {
        non_finite(out, value.is_nan(), value > 0.0);
    }
}

fn non_finite(out: &mut Vec<u8>, nan: bool, positive: bool) {
    out.extend_from_slice(match (nan, positive) {
        (true, _) => b"\"NaN\"",
        (false, true) => b"\"Infinity\"",
        (false, false) => b"\"-Infinity\"",
    });
}

/// Bytes as a quoted standard base64 string, padded.
pub(super) fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    use base64::Engine as _;
    out.push(b'"');
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_read_back_as_written() {
        for text in ["", "plain", "q\"b\\s", "\u{1}\n\t\u{1f}", "é ☃ 𝄞", "\u{7f}"] {
            let mut out = Vec::new();
            super::string(&mut out, text);
            let back: String = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(back, text);
        }
    }

    #[test]
    fn bytes_are_padded_standard_base64() {
        let mut out = Vec::new();
        super::base64(&mut out, b"\xff\xfe?");
        assert_eq!(out, b"\"//4/\"");
        out.clear();
        super::base64(&mut out, b"ab");
        assert_eq!(out, b"\"YWI=\"");
    }
}
