//! Number text → exact field values, for the JSON body and for path and
//! query values: JSON's number grammar (RFC 8259 §6), read without rounding.
//!
//! An integer field takes any literal whose value is a whole number in the
//! field's range (`1e5` and `100000.0` are 100000); a float field takes the
//! float nearest to the literal, and refuses a finite literal that rounds to
//! infinity. Nothing is clamped.

use prost_reflect::Kind;

/// A JSON number literal, split: ±`int`.`frac` × 10^`exp`.
struct Literal<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    /// Saturated: a literal's exponent past ±10⁹ is out of every range anyway.
    exp: i64,
}

/// Splits `text` if it is exactly a JSON number (no sign `+`, no leading
/// zeros, no whitespace, digits on both sides of `.`).
fn literal(text: &str) -> Option<Literal<'_>> {
    let bytes = text.as_bytes();
    let digits_from = |start: usize| {
        start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
    };
    let negative = bytes.first() == Some(&b'-');
    let start = usize::from(negative);
    let mut at = digits_from(start);
    let int = &text[start..at];
    if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let mut frac = "";
    if bytes.get(at) == Some(&b'.') {
        let end = digits_from(at + 1);
        frac = &text[at + 1..end];
        if frac.is_empty() {
            return None;
        }
        at = end;
    }
    let mut exp = 0i64;
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        let sign = match bytes.get(at) {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        at += usize::from(sign != 0);
        let end = digits_from(at);
        let digits = &text[at..end];
        if digits.is_empty() {
            return None;
        }
        let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX).min(1_000_000_000);
        exp = if sign < 0 { -magnitude } else { magnitude };
        at = end;
    }
    (at == bytes.len()).then_some(Literal {
        negative,
        int,
        frac,
        exp,
    })
}

/// Whether `kind` is one of the ten integer kinds.
pub(crate) fn is_integer(kind: &Kind) -> bool {
    integer_range(kind).is_some()
}

/// The inclusive range and the proto name of an integer kind.
fn integer_range(kind: &Kind) -> Option<(i128, i128, &'static str)> {
    Some(match kind {
        Kind::Int32 => (i32::MIN.into(), i32::MAX.into(), "int32"),
        Kind::Sint32 => (i32::MIN.into(), i32::MAX.into(), "sint32"),
        Kind::Sfixed32 => (i32::MIN.into(), i32::MAX.into(), "sfixed32"),
        Kind::Int64 => (i64::MIN.into(), i64::MAX.into(), "int64"),
        Kind::Sint64 => (i64::MIN.into(), i64::MAX.into(), "sint64"),
        Kind::Sfixed64 => (i64::MIN.into(), i64::MAX.into(), "sfixed64"),
        Kind::Uint32 => (0, u32::MAX.into(), "uint32"),
        Kind::Fixed32 => (0, u32::MAX.into(), "fixed32"),
        Kind::Uint64 => (0, u64::MAX.into(), "uint64"),
        Kind::Fixed64 => (0, u64::MAX.into(), "fixed64"),
        _ => return None,
    })
}

/// The value of `text` for an integer field of `kind`, or why it has none
/// ("out of range for int64").
pub(crate) fn integer(kind: &Kind, text: &str) -> Result<i128, String> {
    let Some((min, max, name)) = integer_range(kind) else {
        return Err(format!("not an integer kind ({kind:?})"));
    };
    let text = without_leading_zeros(text);
    let literal = literal(&text).ok_or_else(|| "not a number".to_owned())?;
    let digits = format!("{}{}", literal.int, literal.frac);
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    let trailing_zeros = digits.len() - digits.trim_end_matches('0').len();
    let frac_len = i64::try_from(literal.frac.len()).unwrap_or(i64::MAX);
    let exp = literal.exp - frac_len + i64::try_from(trailing_zeros).unwrap_or(0);
    if exp < 0 {
        return Err("not an integer".to_owned());
    }
    let out_of_range = || format!("out of range for {name}");
    // u64::MAX has 20 digits: anything longer is out of every range.
    if significant.len() as i64 + exp > 20 {
        return Err(out_of_range());
    }
    let magnitude = significant
        .parse::<i128>()
        .ok()
        .and_then(|m| 10i128.checked_pow(u32::try_from(exp).ok()?)?.checked_mul(m))
        .ok_or_else(out_of_range)?;
    let value = if literal.negative {
        -magnitude
    } else {
        magnitude
    };
    if value < min || value > max {
        return Err(out_of_range());
    }
    Ok(value)
}

/// `text` with the leading zeros of its integer part dropped (`"007"` is 7,
/// `"-00.5"` is -0.5), as protobuf's C++ parser reads a quoted integer. Only
/// quoted values and path or query text can have them: a bare `007` is not
/// JSON and never gets here.
fn without_leading_zeros(text: &str) -> std::borrow::Cow<'_, str> {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let zeros = unsigned.len() - unsigned.trim_start_matches('0').len();
    let keep = match unsigned.as_bytes().get(zeros) {
        Some(b) if b.is_ascii_digit() => zeros,
        _ => zeros.saturating_sub(1),
    };
    if keep == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(format!("{sign}{}", &unsigned[keep..]))
}

/// The value of `text` for a `float` (`single`) or `double` field, exactly
/// rounded, or why it has none. `NaN` and `±Infinity` are the caller's.
pub(crate) fn float(text: &str, single: bool) -> Result<f64, String> {
    if literal(text).is_none() {
        return Err("not a number".to_owned());
    }
    // Rust's float parsing rounds exactly; a finite literal that rounds to
    // infinity is out of range, as protobuf's parsers have it.
    let value = if single {
        text.parse::<f32>().map(f64::from)
    } else {
        text.parse::<f64>()
    }
    .map_err(|e| e.to_string())?;
    if value.is_infinite() {
        let name = if single { "float" } else { "double" };
        return Err(format!("out of range for {name}"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_read_exactly_and_never_clamped() {
        let cases: &[(Kind, &str, Result<i128, &str>)] = &[
            (Kind::Int32, "1e5", Ok(100_000)),
            (Kind::Int32, "100000.000", Ok(100_000)),
            (Kind::Int32, "1.5e1", Ok(15)),
            (Kind::Int32, "-0", Ok(0)),
            (Kind::Int32, "0e999999999999", Ok(0)),
            (Kind::Int32, "2147483647", Ok(2_147_483_647)),
            (Kind::Int32, "2147483648", Err("out of range for int32")),
            (Kind::Sint32, "-2147483649", Err("out of range for sint32")),
            (Kind::Sfixed32, "-2147483648", Ok(-2_147_483_648)),
            (Kind::Int32, "0.5", Err("not an integer")),
            (Kind::Int32, "1e-1", Err("not an integer")),
            (Kind::Int64, "-9223372036854775808", Ok(i64::MIN.into())),
            (
                Kind::Int64,
                "-9223372036854775809",
                Err("out of range for int64"),
            ),
            (
                Kind::Sint64,
                "9223372036854775808",
                Err("out of range for sint64"),
            ),
            (
                Kind::Sfixed64,
                "9.223372036854775807e18",
                Ok(i64::MAX.into()),
            ),
            (Kind::Int64, "1e19", Err("out of range for int64")),
            (
                Kind::Int64,
                "1e1000000000000",
                Err("out of range for int64"),
            ),
            (Kind::Uint32, "4294967295", Ok(u32::MAX.into())),
            (Kind::Uint32, "4294967296", Err("out of range for uint32")),
            (Kind::Fixed32, "-1", Err("out of range for fixed32")),
            (Kind::Uint64, "18446744073709551615", Ok(u64::MAX.into())),
            (
                Kind::Uint64,
                "18446744073709551616",
                Err("out of range for uint64"),
            ),
            (Kind::Fixed64, "-1", Err("out of range for fixed64")),
            // Quoted, as protobuf's C++ parser reads it; a bare 01 is no JSON.
            (Kind::Int32, "01", Ok(1)),
            (Kind::Int64, "-000", Ok(0)),
            (Kind::Int32, "00.5e1", Ok(5)),
            (Kind::Int32, "+1", Err("not a number")),
            (Kind::Int32, " 1", Err("not a number")),
            (Kind::Int32, "1.", Err("not a number")),
            (Kind::Int32, "1e", Err("not a number")),
            (Kind::Int32, "0x10", Err("not a number")),
            (Kind::Int32, "", Err("not a number")),
        ];
        for (kind, text, want) in cases {
            let got = integer(kind, text);
            assert_eq!(got, (*want).map_err(str::to_owned), "{kind:?} {text:?}");
        }
    }

    #[test]
    fn floats_are_rounded_once_to_their_own_width() {
        assert_eq!(float("2.22507e-308", false), Ok(2.22507e-308));
        assert_eq!(float("-2.22507e-308", false), Ok(-2.22507e-308));
        assert_eq!(float("3.4028235e+38", true), Ok(f64::from(f32::MAX)));
        assert_eq!(float("-3.4028235e+38", true), Ok(f64::from(f32::MIN)));
        assert_eq!(float("1.17549e-38", true), Ok(f64::from(1.17549e-38f32)));
        assert_eq!(float("1.7976931348623157e308", false), Ok(f64::MAX));
        let too_large = Err("out of range for float".to_owned());
        assert_eq!(float("3.502823e+38", true), too_large);
        let too_large = Err("out of range for double".to_owned());
        assert_eq!(float("1.89769e+308", false), too_large);
        for bad in ["inf", "NaN", "1.", ".5", "+1", "1e", "0x1p3", " 1"] {
            assert_eq!(float(bad, false), Err("not a number".to_owned()), "{bad:?}");
        }
    }
}
