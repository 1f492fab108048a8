//! The well-known types' wire bytes → their own JSON, with the refusals of
//! `json/checks` and prost-reflect: a Timestamp outside years 1–9999 or
//! with nanos out of 0..1e9, a Duration past ±10,000 years or with nanos
//! of the wrong sign, a FieldMask path that is no lower_snake_case field
//! path (`json/checks`' rule), a `Value` holding a non-finite number, an
//! Any of a type the pool lacks.
//! An Any with neither type nor value is `{}`.

use std::ops::Range;

use super::compile::{Shape, Type, WellKnown};
use super::fault::Fault;
use super::json_out::{scalar_value, Decoder};
use super::wire::Record;
use super::write;
use crate::transcode::json::{camel_path, not_a_field_path};

/// Timestamps: 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;
/// Durations: ±10,000 years.
const DURATION_SECONDS: i64 = 315_576_000_000;
const MAX_NANOS: i64 = 999_999_999;

impl<'b> Decoder<'_, 'b> {
    /// The last record of field `field` (an index into the plan's fields).
    fn last(&self, range: &Range<usize>, field: u16) -> Option<Record<'b>> {
        self.runs[range.clone()]
            .iter()
            .rev()
            .find(|r| r.field == field)
            .map(|r| r.last)
    }

    pub(super) fn well_known(
        &mut self,
        kind: WellKnown,
        index: u32,
        bytes: &'b [u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        let range = self.scan(index, bytes)?;
        let result = match kind {
            WellKnown::Timestamp | WellKnown::Duration => {
                let seconds = self.last(&range, 0).map_or(0, |r| r.bits as i64);
                let nanos = self.last(&range, 1).map_or(0, |r| r.bits as i32);
                time(kind == WellKnown::Timestamp, seconds, nanos, out)
            }
            WellKnown::FieldMask => self.field_mask(bytes, &range, out),
            WellKnown::Struct | WellKnown::ListValue => {
                let message = &self.arena.messages[index as usize];
                let field = &message.fields[0];
                match field.shape {
                    Shape::Map { key, value } => self.map(key, value, bytes, range.clone(), out),
                    _ => self.list_of(field.ty, bytes, range.clone(), out),
                }
            }
            WellKnown::Value => self.value_kind(index, bytes, &range, out),
            WellKnown::Wrapper(scalar) => {
                let (bits, bytes) = self
                    .last(&range, 0)
                    .map_or((0, &[][..]), |r| (r.bits, r.bytes));
                wrapper(scalar, bits, bytes, out)
            }
            WellKnown::Empty => {
                out.extend_from_slice(b"{}");
                Ok(())
            }
            WellKnown::Any => {
                let url = self.last(&range, 0).map_or(&[][..], |r| r.bytes);
                let value = self.last(&range, 1).map_or(&[][..], |r| r.bytes);
                self.any(url, value, out)
            }
        };
        self.runs.truncate(range.start);
        result
    }

    fn list_of(
        &mut self,
        ty: Type,
        bytes: &'b [u8],
        range: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        out.push(b'[');
        let mut i = 0;
        for g in range {
            let run = self.runs[g];
            for record in run.records(bytes) {
                if i > 0 {
                    out.push(b',');
                }
                self.value(ty, record.bits, record.bytes, out)
                    .map_err(|f| f.at_index(i))?;
                i += 1;
            }
        }
        out.push(b']');
        Ok(())
    }

    fn field_mask(
        &self,
        bytes: &'b [u8],
        range: &Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        let mut joined = String::new();
        let records = self.runs[range.clone()]
            .iter()
            .flat_map(|run| run.records(bytes));
        for record in records {
            let path = std::str::from_utf8(record.bytes)
                .map_err(|_| Fault::new("invalid string value: data is not UTF-8 encoded"))?;
            if !joined.is_empty() {
                joined.push(',');
            }
            camel_path(&mut joined, path).ok_or_else(|| Fault::new(not_a_field_path(path)))?;
        }
        write::string(out, &joined);
        Ok(())
    }

    /// A `Value`: its last kind (a Struct or list merged from its records
    /// since another kind came last); none is `null`.
    fn value_kind(
        &mut self,
        index: u32,
        bytes: &'b [u8],
        range: &Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fault> {
        let runs = &self.runs[range.clone()];
        let Some(last) = runs.iter().max_by_key(|r| r.pos).copied() else {
            out.extend_from_slice(b"null");
            return Ok(());
        };
        let others = runs
            .iter()
            .filter(|r| r.field != last.field)
            .map(|r| r.pos)
            .max();
        let mine = range.clone().filter(|&g| {
            let r = &self.runs[g];
            r.field == last.field && others.is_none_or(|other| r.pos > other)
        });
        let group =
            mine.clone().min().unwrap_or(range.start)..mine.max().map_or(range.start, |g| g + 1);
        match (
            last.field,
            self.arena.messages[index as usize].fields[usize::from(last.field)].ty,
        ) {
            (0, _) => out.extend_from_slice(b"null"),
            (1, _) => {
                let number = f64::from_bits(last.last.bits);
                if !number.is_finite() {
                    return Err(Fault::new(
                        "cannot serialize non-finite double in google.protobuf.Value",
                    ));
                }
                write::f64(out, number);
            }
            (_, Type::Message(m)) => self.merged(m, bytes, group, out)?,
            (_, ty) => self.value(ty, last.last.bits, last.last.bytes, out)?,
        }
        Ok(())
    }

    fn any(&mut self, url: &'b [u8], value: &'b [u8], out: &mut Vec<u8>) -> Result<(), Fault> {
        if url.is_empty() && value.is_empty() {
            out.extend_from_slice(b"{}");
            return Ok(());
        }
        let url = std::str::from_utf8(url)
            .map_err(|_| Fault::new("invalid string value: data is not UTF-8 encoded"))?;
        let (_, name) = url.rsplit_once('/').ok_or_else(|| {
            Fault::new(format!(
                "unsupported type url '{url}': missing at least one '/'"
            ))
        })?;
        let inner = *self
            .arena
            .by_name
            .get(name)
            .ok_or_else(|| Fault::new(format!("message '{name}' not found")))?;
        out.extend_from_slice(b"{\"@type\":");
        write::string(out, url);
        if self.arena.messages[inner as usize].well_known.is_some() {
            out.extend_from_slice(b",\"value\":");
            self.message(inner, value, out)?;
        } else {
            self.members(inner, value, false, out)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// A Timestamp (RFC 3339, UTC) or Duration (`"1.5s"`), refused out of range.
fn time(timestamp: bool, seconds: i64, nanos: i32, out: &mut Vec<u8>) -> Result<(), Fault> {
    let n = i64::from(nanos);
    let in_range = if timestamp {
        TIMESTAMP_SECONDS.contains(&seconds) && (0..=MAX_NANOS).contains(&n)
    } else {
        seconds.abs() <= DURATION_SECONDS
            && n.abs() <= MAX_NANOS
            && seconds.signum() * n.signum() >= 0
    };
    if !in_range {
        let name = if timestamp { "Timestamp" } else { "Duration" };
        return Err(Fault::new(format!(
            "{name} {seconds}s {nanos}ns is out of range"
        )));
    }
    // Written straight into the output: the text has nothing to escape,
    // and a String of its own cost an allocation per value.
    out.push(b'"');
    if timestamp {
        // In range: `nanos` is in 0..1e9.
        crate::transcode::rfc3339::timestamp(out, seconds, nanos as u32);
    } else {
        // In range: the signs agree and `nanos` is within ±999,999,999.
        crate::transcode::rfc3339::duration(out, seconds, nanos);
    }
    out.push(b'"');
    Ok(())
}

/// A wrapper's value, as prost-reflect writes it: a float that is not
/// finite is serde_json's `null` here (not the `"NaN"` of a float field).
fn wrapper(
    scalar: super::compile::Scalar,
    bits: u64,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Fault> {
    use super::compile::Scalar;
    let non_finite = match scalar {
        Scalar::Double => !f64::from_bits(bits).is_finite(),
        Scalar::Float => !f32::from_bits(bits as u32).is_finite(),
        _ => false,
    };
    if non_finite {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    scalar_value(scalar, bits, bytes, out)
}
