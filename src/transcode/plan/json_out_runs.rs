//! A message's records as the reply writer ([`super::json_out`]) keeps
//! them: read once, checked (wire types, singular strings' UTF-8), and put
//! on the decoder's stack as runs, one per stretch of records of one field,
//! in field order. A field's records are read again from the bytes when it
//! is written, so a list of a million items costs one run, not a million
//! entries.

use std::ops::Range;

use super::compile::{Field, Scalar, Shape, Type};
use super::fault::Fault;
use super::json_out::Decoder;
use super::wire::{Reader, Record, WireType};

/// Records of one field in a row in a message's bytes (unknown fields
/// between them skipped), with the index of their field in the plan.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run<'b> {
    /// The last of them, the one a singular field keeps.
    pub(super) last: Record<'b>,
    /// Where the first record starts, as an offset into the message.
    start: u32,
    /// Where the last record starts: later wins.
    pub(super) pos: u32,
    /// Where the last record ends.
    end: u32,
    pub(super) field: u16,
}

impl<'b> Run<'b> {
    /// Whether it is one record.
    pub(super) fn single(&self) -> bool {
        self.start == self.pos
    }

    /// Its records, read again from `bytes`, its message's.
    pub(super) fn records(&self, bytes: &'b [u8]) -> Records<'b> {
        let range = self.start as usize..self.end as usize;
        Records {
            reader: Reader::new(bytes.get(range).unwrap_or_default()),
            number: self.last.number,
        }
    }
}

/// The records of one [`Run`], unknown fields skipped.
pub(super) struct Records<'b> {
    reader: Reader<'b>,
    number: u32,
}

impl<'b> Iterator for Records<'b> {
    type Item = Record<'b>;

    fn next(&mut self) -> Option<Record<'b>> {
        loop {
            // The scan read these bytes whole: there is no error to meet.
            let record = self.reader.next().ok()??;
            if record.number == self.number {
                return Some(record);
            }
        }
    }
}

/// Whether a record's wire type fits the field.
pub(super) fn fits(field: &Field, wire_type: WireType) -> bool {
    match field.shape {
        Shape::Map { .. } => wire_type == WireType::Len,
        Shape::List if field.ty.packable() => {
            wire_type == WireType::Len || wire_type == field.ty.wire_type()
        }
        _ => wire_type == field.ty.wire_type(),
    }
}

impl<'b> Decoder<'_, 'b> {
    /// Reads a message's records onto the stack as runs, in field order;
    /// returns their range (the caller truncates the stack back to its
    /// start).
    pub(super) fn scan(&mut self, index: u32, bytes: &'b [u8]) -> Result<Range<usize>, Fault> {
        if u32::try_from(bytes.len()).is_err() {
            return Err(Fault::new("message longer than 4 GiB"));
        }
        let message = &self.arena.messages[index as usize];
        let base = self.runs.len();
        let mut reader = Reader::new(bytes);
        let mut sorted = true;
        let mut last = 0u16;
        loop {
            let pos = reader.position() as u32;
            let Some(record) = reader.next().map_err(Fault::new)? else {
                break;
            };
            let Some(i) = message.field_by_number(record.number) else {
                continue;
            };
            let field = &message.fields[i];
            if !fits(field, record.wire_type) {
                let reason = format!("invalid wire type {:?}", record.wire_type);
                return Err(Fault::new(reason).in_field(&field.json_name));
            }
            // Every record of a singular string must be UTF-8, as prost
            // decodes them, not only the last one that is written.
            if field.shape == Shape::Single
                && field.ty == Type::Scalar(Scalar::String)
                && std::str::from_utf8(record.bytes).is_err()
            {
                let reason = "invalid string value: data is not UTF-8 encoded";
                return Err(Fault::new(reason).in_field(&field.json_name));
            }
            let field = i as u16;
            let end = reader.position() as u32;
            let open = self.runs.len() > base;
            match self.runs.last_mut() {
                Some(run) if open && run.field == field => {
                    run.last = record;
                    run.pos = pos;
                    run.end = end;
                }
                _ => {
                    sorted &= field >= last;
                    last = field;
                    self.runs.push(Run {
                        last: record,
                        start: pos,
                        pos,
                        end,
                        field,
                    });
                }
            }
        }
        if !sorted {
            self.runs[base..].sort_by_key(|r| r.field);
        }
        Ok(base..self.runs.len())
    }
}
