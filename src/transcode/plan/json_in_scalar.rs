//! JSON scalars → wire values, by the rules `json/strict` adds to
//! prost-reflect's: integers exact (bare or quoted, any number form, never
//! clamped), floats rounded once at their own width, `NaN` and
//! `±Infinity` quoted, bytes as standard or URL-safe base64, enums by name
//! or number.
//!
//! The usual integer (plain decimal digits) is read here directly; any
//! other form goes through the shared number rules (`json::parse_integer`).

use std::borrow::Cow;

use super::compile::{Enum, Scalar};
use super::fault::Fault;
use super::json_in::Encoder;
use super::lexer::Next;
use super::wire::{varint, zigzag32, zigzag64};
use crate::transcode::json::{parse_float, parse_integer};

/// A scalar read from JSON, ready for the wire.
pub(super) enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Str(Cow<'a, str>),
    Bytes(Vec<u8>),
}

impl Value<'_> {
    /// Whether a field without presence leaves it out (its default).
    pub(super) fn is_default(&self, scalar: Scalar) -> bool {
        match (self, scalar) {
            (Value::Fixed64(bits), Scalar::Double) => f64::from_bits(*bits) == 0.0,
            (Value::Fixed32(bits), Scalar::Float) => f32::from_bits(*bits) == 0.0,
            (Value::Varint(v) | Value::Fixed64(v), _) => *v == 0,
            (Value::Fixed32(v), _) => *v == 0,
            (Value::Str(s), _) => s.is_empty(),
            (Value::Bytes(b), _) => b.is_empty(),
        }
    }

    /// The value's bytes (a length prefix for strings and bytes).
    #[inline]
    pub(super) fn put(&self, out: &mut Vec<u8>) {
        match self {
            Value::Varint(v) => varint(out, *v),
            Value::Fixed32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Fixed64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Str(s) => {
                varint(out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Bytes(b) => {
                varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
        }
    }
}

/// An integer kind's inclusive range.
fn range(scalar: Scalar) -> (i128, i128) {
    match scalar {
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => (i32::MIN.into(), i32::MAX.into()),
        Scalar::Uint32 | Scalar::Fixed32 => (0, u32::MAX.into()),
        Scalar::Uint64 | Scalar::Fixed64 => (0, u64::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}

/// `text` as an integer of `scalar`: plain decimals read here, the rest
/// by the shared rules (exponents, fractions of zero, leading zeros).
fn integer(scalar: Scalar, text: &str) -> Result<i128, String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'));
    if plain {
        let value = i128::from(text.parse::<i64>().map_err(|e| e.to_string())?);
        let (min, max) = range(scalar);
        if value >= min && value <= max {
            return Ok(value);
        }
    }
    parse_integer(&scalar.kind(), text)
}

/// An integer's wire value.
fn integer_value(scalar: Scalar, v: i128) -> Value<'static> {
    match scalar {
        Scalar::Int32 | Scalar::Int64 => Value::Varint(v as i64 as u64),
        Scalar::Uint32 | Scalar::Uint64 => Value::Varint(v as u64),
        Scalar::Sint32 => Value::Varint(zigzag32(v as i32)),
        Scalar::Sint64 => Value::Varint(zigzag64(v as i64)),
        Scalar::Fixed32 => Value::Fixed32(v as u32),
        Scalar::Sfixed32 => Value::Fixed32(v as i32 as u32),
        Scalar::Fixed64 => Value::Fixed64(v as u64),
        _ => Value::Fixed64(v as i64 as u64),
    }
}

fn float_value(single: bool, value: f64) -> Value<'static> {
    if single {
        Value::Fixed32((value as f32).to_bits())
    } else {
        Value::Fixed64(value.to_bits())
    }
}

fn type_error(next: Next, expected: &str) -> Fault {
    let found = match next {
        Next::Object => "map",
        Next::Array => "sequence",
        Next::String => "string",
        Next::Number => "number",
        Next::True | Next::False => "boolean",
        Next::Null => "null",
    };
    Fault::new(format!("invalid type: {found}, expected {expected}"))
}

/// prost-reflect's base64: standard or URL-safe alphabet, padding optional.
fn base64(text: &str) -> Result<Vec<u8>, Fault> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::{alphabet, DecodeError, Engine as _};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    let invalid = |e: DecodeError| Fault::new(format!("invalid base64: {e}"));
    match STANDARD.decode(text) {
        Ok(bytes) => Ok(bytes),
        Err(DecodeError::InvalidByte(_, b'-' | b'_')) => URL_SAFE.decode(text).map_err(invalid),
        Err(e) => Err(invalid(e)),
    }
}

impl<'a> Encoder<'_, 'a> {
    /// The next value as a `scalar` field's (not null: the caller's).
    pub(super) fn scalar(&mut self, scalar: Scalar) -> Result<Value<'a>, Fault> {
        let next = self.lex.peek()?;
        match scalar {
            Scalar::Bool => match next {
                Next::True | Next::False => {
                    self.lex.word(next)?;
                    Ok(Value::Varint(u64::from(next == Next::True)))
                }
                _ => Err(type_error(next, "a boolean")),
            },
            Scalar::String => match next {
                Next::String => Ok(Value::Str(self.lex.string()?)),
                _ => Err(type_error(next, "a string")),
            },
            Scalar::Bytes => match next {
                Next::String => Ok(Value::Bytes(base64(&self.lex.string()?)?)),
                _ => Err(type_error(next, "a base64-encoded string")),
            },
            Scalar::Double | Scalar::Float => self.float(scalar == Scalar::Float, next),
            _ => self.integer(scalar, next),
        }
    }

    fn integer(&mut self, scalar: Scalar, next: Next) -> Result<Value<'a>, Fault> {
        let (text, shown) = match next {
            Next::Number => {
                let text = self.lex.number()?;
                (Cow::Borrowed(text), Cow::Borrowed(text))
            }
            Next::String => {
                let text = self.lex.string()?;
                let shown = Cow::Owned(format!("{text:?}"));
                (text, shown)
            }
            _ => return Err(Fault::refused(&self.shown(next)?, "not a number")),
        };
        let value = integer(scalar, &text).map_err(|reason| Fault::refused(&shown, &reason))?;
        Ok(integer_value(scalar, value))
    }

    fn float(&mut self, single: bool, next: Next) -> Result<Value<'a>, Fault> {
        let name = if single { "float" } else { "double" };
        match next {
            Next::Number => {
                // The lexer checked the literal; Rust's parsing rounds exactly.
                let text = self.lex.number()?;
                let value = if single {
                    text.parse::<f32>().map(f64::from)
                } else {
                    text.parse::<f64>()
                }
                .map_err(|e| Fault::refused(text, &e.to_string()))?;
                if value.is_infinite() {
                    return Err(Fault::refused(text, &format!("out of range for {name}")));
                }
                Ok(float_value(single, value))
            }
            Next::String => {
                let text = self.lex.string()?;
                let value = match &*text {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    text => parse_float(text, single)
                        .map_err(|reason| Fault::refused(&format!("{text:?}"), &reason))?,
                };
                Ok(float_value(single, value))
            }
            _ => Err(Fault::refused(&self.shown(next)?, "not a number")),
        }
    }

    /// A value of the wrong kind, as it would be shown in an error.
    fn shown(&mut self, next: Next) -> Result<String, Fault> {
        Ok(match next {
            Next::True => "true".into(),
            Next::False => "false".into(),
            Next::Object => "an object".into(),
            Next::Array => "an array".into(),
            _ => "null".into(),
        })
    }

    /// An enum value (not null: the caller's); `None` for a name the enum
    /// lacks when unknown fields are let through (the field stays unset).
    pub(super) fn enum_value(&mut self, e: &Enum) -> Result<Option<i32>, Fault> {
        let next = self.lex.peek()?;
        match next {
            Next::String => {
                let name = self.lex.string()?;
                if e.null_value && name != "NULL_VALUE" {
                    return match self.deny_unknown {
                        true => Err(Fault::new("expected null")),
                        false => Ok(None),
                    };
                }
                match e.number(&name) {
                    Some(number) => Ok(Some(number)),
                    None if self.deny_unknown => {
                        Err(Fault::new(format!("unrecognized enum value '{name}'")))
                    }
                    None => Ok(None),
                }
            }
            Next::Number if !e.null_value => {
                let text = self.lex.number()?;
                let value =
                    integer(Scalar::Int32, text).map_err(|reason| Fault::refused(text, &reason))?;
                Ok(Some(value as i32))
            }
            _ => Err(type_error(next, "a string or integer")),
        }
    }
}
