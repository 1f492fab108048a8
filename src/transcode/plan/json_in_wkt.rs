//! The well-known types' own JSON → their wire bytes: Timestamps (RFC 3339,
//! checked as `json/strict` and prost-reflect check them), Durations
//! (`"1.5s"`), FieldMasks (`"a,bC"` → `a`, `b_c`), Struct, Value and
//! ListValue (any JSON), the wrappers (their value's JSON), Empty (`{}`)
//! and Any (`{"@type": url, ...}`, its contents by the pool's plan).

use std::str::FromStr as _;

use super::compile::WellKnown;
use super::fault::{At, Fault};
use super::json_in::Encoder;
use super::lexer::Next;
use super::wire::{begin_len, end_len, varint};

/// The `@type` prefix `json/strict` keeps for its empty-Any stand-in: refused.
const EMPTY_ANY: &str = "restgate.invalid.empty-any/";

/// Timestamps: 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;
const DURATION_SECONDS: u64 = 315_576_000_000;

fn expected(next: Next, what: &str) -> Fault {
    Fault::new(format!("invalid type: {next:?}, expected {what}"))
}

/// Seconds (field 1) and nanos (field 2), each left out at zero.
fn seconds_and_nanos(out: &mut Vec<u8>, seconds: i64, nanos: i32) {
    if seconds != 0 {
        out.push(0x08);
        varint(out, seconds as u64);
    }
    if nanos != 0 {
        out.push(0x10);
        varint(out, nanos as i64 as u64);
    }
}

impl<'a> Encoder<'_, 'a> {
    pub(super) fn well_known(&mut self, kind: WellKnown, out: &mut Vec<u8>) -> Result<(), Fault> {
        match kind {
            WellKnown::Timestamp => {
                let text = self.text("an rfc3339 timestamp string")?;
                let shown = format!("{text:?}");
                strict_rfc3339(&text).map_err(|reason| Fault::refused(&shown, reason))?;
                let t = prost_types::Timestamp::from_str(&text)
                    .map_err(|e| Fault::new(e.to_string()))?;
                if !TIMESTAMP_SECONDS.contains(&t.seconds) {
                    return Err(Fault::new("timestamp out of range"));
                }
                seconds_and_nanos(out, t.seconds, t.nanos);
            }
            WellKnown::Duration => {
                let text = self.text("a duration string")?;
                let d = prost_types::Duration::from_str(&text)
                    .map_err(|e| Fault::new(e.to_string()))?;
                if d.seconds.unsigned_abs() > DURATION_SECONDS
                    || d.nanos.unsigned_abs() > 999_999_999
                {
                    return Err(Fault::new("duration out of range"));
                }
                seconds_and_nanos(out, d.seconds, d.nanos);
            }
            WellKnown::FieldMask => {
                let text = self.text("a field mask string")?;
                for path in text.split(',').filter(|p| !p.is_empty()) {
                    let snake = snake_path(path).ok_or_else(|| Fault::new("invalid field mask"))?;
                    out.push(0x0a);
                    varint(out, snake.len() as u64);
                    out.extend_from_slice(snake.as_bytes());
                }
            }
            WellKnown::Struct => self.structure(out)?,
            WellKnown::ListValue => self.list_value(out)?,
            WellKnown::Value => self.value(out)?,
            WellKnown::Empty => match self.lex.peek()? {
                Next::Object => {
                    self.lex.open()?;
                    if self.lex.key(true)?.is_some() {
                        return Err(Fault::new("unexpected value in map"));
                    }
                }
                next => return Err(expected(next, "an empty map")),
            },
            WellKnown::Wrapper(scalar) => {
                let value = self.scalar(scalar)?;
                if !value.is_default(scalar) {
                    out.push((1 << 3) | scalar.wire_type() as u8);
                    value.put(out);
                }
            }
            WellKnown::Any => self.any(out)?,
        }
        Ok(())
    }

    /// The next value, which must be a string.
    fn text(&mut self, what: &str) -> Result<std::borrow::Cow<'a, str>, Fault> {
        match self.lex.peek()? {
            Next::String => self.lex.string(),
            next => Err(expected(next, what)),
        }
    }

    fn structure(&mut self, out: &mut Vec<u8>) -> Result<(), Fault> {
        let next = self.lex.peek()?;
        if next != Next::Object {
            return Err(expected(next, "a map"));
        }
        self.lex.open()?;
        let mut first = true;
        while let Some(key) = self.lex.key(first)? {
            first = false;
            out.push(0x0a);
            let entry = begin_len(out);
            out.push(0x0a);
            varint(out, key.len() as u64);
            out.extend_from_slice(key.as_bytes());
            out.push(0x12);
            let value = begin_len(out);
            self.value(out).at_key(&key)?;
            end_len(out, value);
            end_len(out, entry);
        }
        Ok(())
    }

    fn list_value(&mut self, out: &mut Vec<u8>) -> Result<(), Fault> {
        let next = self.lex.peek()?;
        if next != Next::Array {
            return Err(expected(next, "a list"));
        }
        self.lex.open()?;
        let mut i = 0;
        while self.lex.item(i == 0)? {
            out.push(0x0a);
            let start = begin_len(out);
            self.value(out).at_index(i)?;
            end_len(out, start);
            i += 1;
        }
        Ok(())
    }

    /// A `google.protobuf.Value`: any JSON, its kind a oneof member.
    fn value(&mut self, out: &mut Vec<u8>) -> Result<(), Fault> {
        let next = self.lex.peek()?;
        match next {
            Next::Null => {
                self.lex.word(next)?;
                out.extend_from_slice(&[0x08, 0x00]);
            }
            Next::Number => {
                let text = self.lex.number()?;
                let number: f64 = text.parse().map_err(|_| Fault::new("invalid number"))?;
                if number.is_infinite() {
                    return Err(Fault::new("number out of range"));
                }
                out.push(0x11);
                out.extend_from_slice(&number.to_le_bytes());
            }
            Next::String => {
                let text = self.lex.string()?;
                out.push(0x1a);
                varint(out, text.len() as u64);
                out.extend_from_slice(text.as_bytes());
            }
            Next::True | Next::False => {
                self.lex.word(next)?;
                out.extend_from_slice(&[0x20, u8::from(next == Next::True)]);
            }
            Next::Object => {
                out.push(0x2a);
                let start = begin_len(out);
                self.structure(out)?;
                end_len(out, start);
            }
            Next::Array => {
                out.push(0x32);
                let start = begin_len(out);
                self.list_value(out)?;
                end_len(out, start);
            }
        }
        Ok(())
    }

    /// The type URL of the Any ahead, read without moving on: `None` for
    /// `{}`, the empty Any.
    fn any_type(&mut self) -> Result<Option<String>, Fault> {
        let mark = self.lex.mark();
        self.lex.open()?;
        let mut first = true;
        let found = loop {
            let Some(key) = self.lex.key(first)? else {
                if first {
                    break None;
                }
                return Err(Fault::new("expected '@type' field"));
            };
            first = false;
            if key == "@type" {
                break Some(self.text("a string").in_field("@type")?.into_owned());
            }
            self.lex.skip()?;
        };
        self.lex.reset(mark);
        Ok(found)
    }

    fn any(&mut self, out: &mut Vec<u8>) -> Result<(), Fault> {
        let next = self.lex.peek()?;
        if next != Next::Object {
            return Err(expected(next, "a map"));
        }
        let Some(url) = self.any_type()? else {
            self.lex.skip()?;
            return Ok(());
        };
        if url.starts_with(EMPTY_ANY) {
            return Err(Fault::refused(&format!("{url:?}"), "not a type URL").in_field("@type"));
        }
        let (_, name) = url.rsplit_once('/').ok_or_else(|| {
            Fault::new(format!(
                "unsupported type url '{url}': missing at least one '/'"
            ))
        })?;
        let arena = self.arena;
        let inner = *arena
            .by_name
            .get(name)
            .ok_or_else(|| Fault::new(format!("message '{name}' not found")))?;
        out.push(0x0a);
        varint(out, url.len() as u64);
        out.extend_from_slice(url.as_bytes());
        let before = out.len();
        out.push(0x12);
        let start = begin_len(out);
        match arena.messages[inner as usize].well_known {
            Some(_) => self.any_well_known(inner, out)?,
            None => self.fields(inner, true, out)?,
        }
        if out.len() == start {
            out.truncate(before);
        } else {
            end_len(out, start);
        }
        Ok(())
    }

    /// `{"@type": url, "value": json}`: without `value`, the type's default
    /// (none for a `Value`).
    fn any_well_known(&mut self, inner: u32, out: &mut Vec<u8>) -> Result<(), Fault> {
        self.lex.open()?;
        let (mut first, mut seen_type, mut seen_value) = (true, false, false);
        while let Some(key) = self.lex.key(first)? {
            first = false;
            if key == "@type" && !seen_type {
                seen_type = true;
                self.lex.skip()?;
            } else if key == "value" && !seen_value {
                seen_value = true;
                self.message(inner, out).in_field("value")?;
            } else if self.deny_unknown {
                return Err(Fault::new(format!("unrecognized field name '{key}'")));
            } else {
                self.lex.skip()?;
            }
        }
        let well_known = self.arena.messages[inner as usize].well_known;
        if !seen_value && well_known == Some(WellKnown::Value) {
            return Err(Fault::new("expected 'value' field"));
        }
        Ok(())
    }
}

/// A FieldMask path in JSON (`user.displayName`) as proto names
/// (`user.display_name`); `None` if it holds an underscore.
fn snake_path(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len() + 4);
    for ch in path.chars() {
        if ch == '_' {
            return None;
        }
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    Some(out)
}

/// RFC 3339 as protobuf writes it (upper-case `T` and `Z`), with the
/// fields no calendar has refused (`json/strict`): no leap second, no hour
/// past 23, no more than nanoseconds.
fn strict_rfc3339(text: &str) -> Result<(), &'static str> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let layout = digits(0..4) && at(4, b'-') && digits(5..7) && at(7, b'-') && digits(8..10);
    if !layout {
        return Err("not an RFC 3339 date");
    }
    let time = at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    if !time {
        return Err("not an RFC 3339 time");
    }
    if b[11..13] > b"23"[..] {
        return Err("past hour 23");
    } else if b[14..16] > b"59"[..] {
        return Err("past minute 59");
    } else if b[17..19] > b"59"[..] {
        return Err("past second 59 (protobuf has no leap seconds)");
    }
    let mut i = 19;
    if at(i, b'.') {
        let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err("empty fractional seconds");
        } else if n > 9 {
            return Err("more precise than nanoseconds (9 fractional digits)");
        }
        i += 1 + n;
    }
    let zone = match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digits(i + 1..i + 3) && at(i + 3, b':') && digits(i + 4..i + 6) && i + 6 == b.len()
        }
        _ => false,
    };
    if !zone {
        return Err("not an RFC 3339 offset");
    }
    Ok(())
}
