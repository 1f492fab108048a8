//! RFC 3339 date-times in UTC, written as bytes: a protobuf `Timestamp`'s
//! JSON text (the reply path) and the access log's time; and a `Duration`'s
//! JSON text (`"1.5s"`), whose fraction is written the same way.
//!
//! These paths once went through `core::fmt` (prost-types' and
//! tracing-subscriber's `Display`), which cost about 1 µs per value under
//! load (BENCHMARKS.md, "Access log and timestamps written by hand"). The
//! text is fixed-width digits, so it is written digit by digit into the
//! output. prost-types' `Display` of `Timestamp` and `Duration` stays the
//! oracle: the tests compare them on random values of the whole range.

/// Days from 0000-03-01 to 1970-01-01: days are counted from a March,
/// so that a leap day ends its year.
const DAYS_TO_EPOCH: i64 = 719_468;

/// The civil date and time of `seconds` since 1970-01-01T00:00:00Z:
/// `(year, month, day, hour, minute, second)` (proleptic Gregorian).
fn civil(seconds: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400) as u32;
    // Days to year, month and day: the 400-year cycle's arithmetic
    // (Howard Hinnant's `civil_from_days`).
    let z = days + DAYS_TO_EPOCH;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
    )
}

/// `value`'s last `W` decimal digits, zero-padded, into `text`.
fn put<const W: usize>(text: &mut [u8], value: u32) {
    let mut rest = value;
    for at in (0..W).rev() {
        text[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
}

/// `value`'s last `W` decimal digits, zero-padded. Written into an array
/// first and appended at once: a push per digit, each checking the
/// vector's capacity, cost several times as much.
fn digits<const W: usize>(out: &mut Vec<u8>, value: u32) {
    let mut text = [0u8; W];
    put::<W>(&mut text, value);
    out.extend_from_slice(&text);
}

/// `YYYY-MM-DDTHH:MM:SS` of `seconds` since the epoch, for years 0..=9999
/// (others as prost-types writes them: `-0001`, `+10000`).
fn date_time(out: &mut Vec<u8>, seconds: i64) {
    let (year, month, day, hour, minute, second) = civil(seconds);
    let year = match u32::try_from(year) {
        Ok(year) if year <= 9999 => year,
        _ => return odd_year_date_time(out, year, [month, day, hour, minute, second]),
    };
    // The whole text in one array, appended at once.
    let mut text = *b"0000-00-00T00:00:00";
    put::<4>(&mut text[0..], year);
    put::<2>(&mut text[5..], month);
    put::<2>(&mut text[8..], day);
    put::<2>(&mut text[11..], hour);
    put::<2>(&mut text[14..], minute);
    put::<2>(&mut text[17..], second);
    out.extend_from_slice(&text);
}

/// [`date_time`] of a year outside 0..=9999, as prost-types writes it.
fn odd_year_date_time(out: &mut Vec<u8>, year: i64, [month, day, hour, minute, second]: [u32; 5]) {
    if year > 9999 {
        out.push(b'+');
        out.extend_from_slice(year.to_string().as_bytes());
    } else {
        out.extend_from_slice(format!("{year:05}").as_bytes());
    }
    for (separator, value) in [
        (b'-', month),
        (b'-', day),
        (b'T', hour),
        (b':', minute),
        (b':', second),
    ] {
        out.push(separator);
        digits::<2>(out, value);
    }
}

/// A protobuf `Timestamp`'s JSON text (without quotes), as
/// `prost_types::Timestamp`'s `Display` writes it: the fraction in 0, 3, 6
/// or 9 digits, as few as its value needs. `nanos` is in `0..1e9` (the
/// caller has checked the range).
pub fn timestamp(out: &mut Vec<u8>, seconds: i64, nanos: u32) {
    date_time(out, seconds);
    fraction(out, nanos);
    out.push(b'Z');
}

/// A protobuf `Duration`'s JSON text (without quotes), as
/// `prost_types::Duration`'s `Display` writes it: `-` when negative, the
/// whole seconds, the fraction as [`timestamp`] writes it, and `s`.
/// `seconds` and `nanos` do not differ in sign and `nanos` is within
/// ±999,999,999 (the caller has checked the range).
pub fn duration(out: &mut Vec<u8>, seconds: i64, nanos: i32) {
    if seconds < 0 || nanos < 0 {
        out.push(b'-');
    }
    // At most 20 digits; written from the last.
    let mut text = [0u8; 20];
    let mut at = text.len();
    let mut rest = seconds.unsigned_abs();
    loop {
        at -= 1;
        text[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&text[at..]);
    fraction(out, nanos.unsigned_abs());
    out.push(b's');
}

/// `.` and `nanos` in 3, 6 or 9 digits, as few as its value needs; nothing
/// when it is 0.
fn fraction(out: &mut Vec<u8>, nanos: u32) {
    if nanos != 0 {
        out.push(b'.');
        if nanos.is_multiple_of(1_000_000) {
            digits::<3>(out, nanos / 1_000_000);
        } else if nanos.is_multiple_of(1_000) {
            digits::<6>(out, nanos / 1_000);
        } else {
            digits::<9>(out, nanos);
        }
    }
}

/// `time` as tracing-subscriber's `SystemTime` timer writes it: always six
/// digits of microseconds (`2026-12-02T04:38:01.123456Z`).
pub fn micros(out: &mut Vec<u8>, time: std::time::SystemTime) {
    let (seconds, nanos) = match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => (since.as_secs() as i64, since.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let (s, n) = (before.as_secs() as i64, before.subsec_nanos());
            if n == 0 {
                (-s, 0)
            } else {
                (-s - 1, 1_000_000_000 - n)
            }
        }
    };
    date_time(out, seconds);
    out.push(b'.');
    digits::<6>(out, nanos / 1_000);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// prost-types' text of a Timestamp.
    fn oracle(seconds: i64, nanos: u32) -> String {
        prost_types::Timestamp {
            seconds,
            nanos: nanos as i32,
        }
        .to_string()
    }

    fn ours(seconds: i64, nanos: u32) -> String {
        let mut out = Vec::new();
        timestamp(&mut out, seconds, nanos);
        String::from_utf8(out).unwrap()
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    const FIRST: i64 = -62_135_596_800;
    const LAST: i64 = 253_402_300_799;

    #[test]
    fn timestamps_read_as_prost_types_writes_them() {
        let edges = [
            FIRST,
            LAST,
            0,
            -1,
            1,
            951_782_400, // 2000-02-29
            951_868_800, // 2000-03-01
            -2_203_891_200,
            4_107_542_400, // 2100-03-01
            1_798_000_000,
        ];
        let fractions = [0, 1, 1_000, 1_000_000, 999_999_999, 120_000_000, 5_000];
        for seconds in edges {
            for nanos in fractions {
                assert_eq!(ours(seconds, nanos), oracle(seconds, nanos));
            }
        }
    }

    /// A fixed-seed xorshift: the same values on every run.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// Nanoseconds of each fraction width in turn (`i % 4`): none, 3, 6 or
    /// 9 digits.
    fn random_nanos(i: u32, next: &mut impl FnMut() -> u64) -> u32 {
        match i % 4 {
            0 => 0,
            1 => (next() % 1000) as u32 * 1_000_000,
            2 => (next() % 1_000_000) as u32 * 1_000,
            _ => (next() % 1_000_000_000) as u32,
        }
    }

    #[test]
    fn random_instants_of_the_whole_range_read_as_prost_types_writes_them() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let span = (LAST - FIRST + 1) as u64;
        for i in 0..200_000 {
            let seconds = FIRST + (next() % span) as i64;
            let nanos = random_nanos(i, &mut next);
            assert_eq!(
                ours(seconds, nanos),
                oracle(seconds, nanos),
                "{seconds}s {nanos}ns"
            );
        }
    }

    #[test]
    fn random_durations_of_the_whole_range_read_as_prost_types_writes_them() {
        let ours = |seconds, nanos| {
            let mut out = Vec::new();
            duration(&mut out, seconds, nanos);
            String::from_utf8(out).unwrap()
        };
        let oracle = |seconds, nanos| prost_types::Duration { seconds, nanos }.to_string();
        // ±10,000 years, the range proto3 JSON allows.
        const MAX: i64 = 315_576_000_000;
        for (seconds, nanos) in [
            (0, 0),
            (MAX, 999_999_999),
            (-MAX, -999_999_999),
            (0, -1),
            (-1, 0),
            (0, 5_000),
        ] {
            assert_eq!(ours(seconds, nanos), oracle(seconds, nanos));
        }
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for i in 0..200_000 {
            let seconds = (next() % (MAX as u64 + 1)) as i64;
            let nanos = random_nanos(i, &mut next) as i32;
            let (seconds, nanos) = if next().is_multiple_of(2) {
                (seconds, nanos)
            } else {
                (-seconds, -nanos)
            };
            assert_eq!(
                ours(seconds, nanos),
                oracle(seconds, nanos),
                "{seconds}s {nanos}ns"
            );
        }
    }

    #[test]
    fn micros_always_writes_six_digits() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_796_186_281, 5_000_000);
        let mut out = Vec::new();
        micros(&mut out, at);
        assert_eq!(out, b"2026-12-02T04:38:01.005000Z");
        out.clear();
        micros(
            &mut out,
            std::time::UNIX_EPOCH - std::time::Duration::from_micros(1),
        );
        assert_eq!(out, b"1969-12-31T23:59:59.999999Z");
    }
}
