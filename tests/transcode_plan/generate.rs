//! Random messages of any descriptor: every scalar kind at its edges
//! (extremes, `-0.0`, NaN, infinities, escapes and astral characters in
//! strings), repeated fields, maps of every key kind, one member per oneof,
//! nested and recursive messages up to a depth, the well-known types with
//! values in their JSON range, enums outside their names, and unknown
//! fields appended to the wire.

use std::collections::HashMap;

use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};

/// Deterministic randomness from one proptest seed (splitmix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// How deep messages nest inside a generated one.
const MAX_DEPTH: usize = 3;

fn string(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a", "Z", "0", " ", "é", "☃", "𝄞", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1f}",
        "\u{7f}", "\u{2028}", "user", "_", "-",
    ];
    (0..rng.below(6)).map(|_| *rng.pick(PIECES)).collect()
}

fn double(rng: &mut Rng) -> f64 {
    let edges = [
        0.0,
        -0.0,
        1.5,
        -2.25,
        1e300,
        -1e-300,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.1,
        123456789.0,
    ];
    if rng.chance(60) {
        return *rng.pick(&edges);
    }
    let bits = f64::from_bits(rng.next());
    if bits.is_finite() {
        bits
    } else {
        1.0
    }
}

fn float(rng: &mut Rng) -> f32 {
    let edges = [
        0.0,
        -0.0,
        1.5,
        -2.25,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.1,
        3.4028235e38,
    ];
    if rng.chance(60) {
        return *rng.pick(&edges);
    }
    let bits = f32::from_bits(rng.next() as u32);
    if bits.is_finite() {
        bits
    } else {
        1.0
    }
}

fn signed(rng: &mut Rng, min: i64, max: i64) -> i64 {
    match rng.below(5) {
        0 => 0,
        1 => min,
        2 => max,
        3 => -1i64.max(min),
        _ => (rng.next() as i64).clamp(min, max),
    }
}

fn unsigned(rng: &mut Rng, max: u64) -> u64 {
    match rng.below(4) {
        0 => 0,
        1 => max,
        2 => 1,
        _ => rng.next() & max,
    }
}

/// A value of `kind` (not a list or map).
pub(crate) fn value(kind: &Kind, rng: &mut Rng, depth: usize) -> Value {
    match kind {
        Kind::Double => Value::F64(double(rng)),
        Kind::Float => Value::F32(float(rng)),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::I32(signed(rng, i32::MIN.into(), i32::MAX.into()) as i32)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(signed(rng, i64::MIN, i64::MAX)),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(unsigned(rng, u32::MAX.into()) as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(unsigned(rng, u64::MAX)),
        Kind::Bool => Value::Bool(rng.chance(50)),
        Kind::String => Value::String(string(rng)),
        Kind::Bytes => Value::Bytes((0..rng.below(8)).map(|_| rng.next() as u8).collect()),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            if e.full_name() == "google.protobuf.NullValue" || rng.chance(85) {
                Value::EnumNumber(*rng.pick(&values))
            } else {
                Value::EnumNumber(1000 + rng.below(50) as i32)
            }
        }
        Kind::Message(desc) => Value::Message(message(desc, rng, depth + 1)),
    }
}

fn map_key(kind: &Kind, rng: &mut Rng) -> MapKey {
    match value(kind, rng, MAX_DEPTH) {
        Value::Bool(v) => MapKey::Bool(v),
        Value::I32(v) => MapKey::I32(v),
        Value::I64(v) => MapKey::I64(v),
        Value::U32(v) => MapKey::U32(v),
        Value::U64(v) => MapKey::U64(v),
        Value::String(v) => MapKey::String(v),
        other => unreachable!("not a map key kind: {other:?}"),
    }
}

/// Whether a message field may be set at `depth` (deeper ones stay unset,
/// so recursive types end).
fn deep_enough(field: &FieldDescriptor, depth: usize) -> bool {
    matches!(field.kind(), Kind::Message(_)) && depth >= MAX_DEPTH
}

fn field_value(field: &FieldDescriptor, rng: &mut Rng, depth: usize) -> Value {
    let kind = field.kind();
    if field.is_map() {
        let Kind::Message(entry) = &kind else {
            unreachable!()
        };
        let (key, value_kind) = (
            entry.map_entry_key_field().kind(),
            entry.map_entry_value_field().kind(),
        );
        let mut map = HashMap::new();
        for _ in 0..rng.below(4) {
            map.insert(map_key(&key, rng), value(&value_kind, rng, depth));
        }
        Value::Map(map)
    } else if field.is_list() {
        Value::List(
            (0..rng.below(4))
                .map(|_| value(&kind, rng, depth))
                .collect(),
        )
    } else {
        value(&kind, rng, depth)
    }
}

/// A random message of type `desc`.
pub(crate) fn message(desc: &MessageDescriptor, rng: &mut Rng, depth: usize) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    if let Some(()) = well_known(&mut message, rng, depth) {
        return message;
    }
    let mut oneofs_done = Vec::new();
    for field in desc.fields() {
        if deep_enough(&field, depth) || !rng.chance([50, 25, 12, 6][depth.min(3)]) {
            continue;
        }
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            if oneofs_done.contains(&oneof.name().to_owned()) {
                continue;
            }
            oneofs_done.push(oneof.name().to_owned());
        }
        let value = field_value(&field, rng, depth);
        message.set_field(&field, value);
    }
    message
}

/// A Timestamp, Duration, FieldMask, Struct, Value or Any in its JSON
/// range; `None` for other messages (the wrappers and Empty are fields).
fn well_known(message: &mut DynamicMessage, rng: &mut Rng, depth: usize) -> Option<()> {
    let desc = message.descriptor();
    let set = |m: &mut DynamicMessage, name: &str, v: Value| m.set_field_by_name(name, v);
    match desc.full_name() {
        "google.protobuf.Timestamp" => {
            let seconds = -62_135_596_800 + (rng.next() % 315_537_897_600) as i64;
            set(
                message,
                "seconds",
                Value::I64(*rng.pick(&[0, seconds, 1_700_000_000])),
            );
            set(message, "nanos", Value::I32(nanos(rng)));
        }
        "google.protobuf.Duration" => {
            let seconds = (rng.next() % 315_576_000_001) as i64;
            let (seconds, nanos) = (*rng.pick(&[0, 1, seconds]), nanos(rng));
            let sign = if rng.chance(50) { -1 } else { 1 };
            set(message, "seconds", Value::I64(sign * seconds));
            set(message, "nanos", Value::I32(sign as i32 * nanos));
        }
        "google.protobuf.FieldMask" => {
            let paths = ["a", "display_name", "user.display_name", "x1.y_z"];
            let n = rng.below(3);
            let list = (0..n)
                .map(|_| Value::String((*rng.pick(&paths)).to_owned()))
                .collect();
            set(message, "paths", Value::List(list));
        }
        "google.protobuf.Value" => json_value(message, rng, depth),
        "google.protobuf.Any" => any(message, rng, depth),
        _ => return None,
    }
    Some(())
}

fn nanos(rng: &mut Rng) -> i32 {
    let any = (rng.next() % 1_000_000_000) as i32;
    *rng.pick(&[0, 1, 999_999_999, 500_000_000, 123_456_000, any])
}

/// A `google.protobuf.Value` of some kind (never none: its JSON `null`
/// reads back as `null_value`); deep ones are scalars.
fn json_value(message: &mut DynamicMessage, rng: &mut Rng, depth: usize) {
    let desc = message.descriptor();
    let kinds = if depth >= MAX_DEPTH { 4 } else { 6 };
    let (name, value) = match rng.below(kinds) {
        0 => ("null_value", Value::EnumNumber(0)),
        1 => ("number_value", Value::F64(double(rng)).clone()),
        2 => ("string_value", Value::String(string(rng))),
        3 => ("bool_value", Value::Bool(rng.chance(50))),
        4 => (
            "struct_value",
            field_value(&desc.get_field_by_name("struct_value").unwrap(), rng, depth),
        ),
        _ => (
            "list_value",
            field_value(&desc.get_field_by_name("list_value").unwrap(), rng, depth),
        ),
    };
    let value = match value {
        Value::F64(n) if !n.is_finite() => Value::F64(0.5),
        v => v,
    };
    message.set_field_by_name(name, value);
}

/// An Any: empty, or a message of the pool (a well-known type too).
fn any(message: &mut DynamicMessage, rng: &mut Rng, depth: usize) {
    if rng.chance(20) || depth >= MAX_DEPTH {
        return;
    }
    let pool = message.descriptor().parent_pool().clone();
    let candidates: Vec<MessageDescriptor> = pool
        .all_messages()
        .filter(|m| crate::proto3(m) && !m.is_map_entry())
        .collect();
    let inner_desc = rng.pick(&candidates).clone();
    let inner = self::message(&inner_desc, rng, depth + 1);
    use prost::Message as _;
    message.set_field_by_name(
        "type_url",
        Value::String(format!("type.googleapis.com/{}", inner_desc.full_name())),
    );
    message.set_field_by_name("value", Value::Bytes(inner.encode_to_vec().into()));
}

/// Fields the message does not have, appended to its wire bytes (a
/// varint, fixed widths, bytes, a group).
pub(crate) fn unknown_fields(desc: &MessageDescriptor, rng: &mut Rng, out: &mut Vec<u8>) {
    for _ in 0..rng.below(3) {
        let number = 900 + rng.below(100) as u32;
        if desc.get_field(number).is_some() {
            continue;
        }
        let key = |wire: u32, out: &mut Vec<u8>| {
            prost::encoding::encode_varint(u64::from(number << 3 | wire), out)
        };
        match rng.below(5) {
            0 => {
                key(0, out);
                prost::encoding::encode_varint(rng.next(), out);
            }
            1 => {
                key(1, out);
                out.extend_from_slice(&rng.next().to_le_bytes());
            }
            2 => {
                key(5, out);
                out.extend_from_slice(&(rng.next() as u32).to_le_bytes());
            }
            3 => {
                key(2, out);
                out.extend_from_slice(&[3, 1, 2, 3]);
            }
            _ => {
                key(3, out);
                out.extend_from_slice(&[0x08, 0x01]);
                key(4, out);
            }
        }
    }
}
