//! The compiled transcoder (`restgate::transcode::plan`) against
//! prost-reflect's serde path (`restgate::transcode::json`), its oracle, on
//! random messages of the bundled descriptors (the fixture services and
//! the example service), of `tests/fixtures/valid`, and of a corpus with
//! every scalar kind, repeated and packed fields, maps of every key kind,
//! oneofs, optional fields, recursion and every well-known type:
//!
//! - wire → JSON writes the JSON `json::to_vec` writes (compared as JSON
//!   values), unknown fields skipped, two encodings concatenated (merged
//!   messages, last scalar wins, lists appended, the last oneof member)
//!   included, and refuses what it refuses;
//! - JSON → wire of that JSON decodes to the message `json::from_slice`
//!   reads from it (byte for byte where no map or Any leaves the order to
//!   a hash table);
//! - on mutated JSON (wrong types, out-of-range numbers, bad enums and
//!   well-known values, unknown fields, fields given twice, truncated or
//!   corrupted text) it accepts and refuses what `json::from_slice` does,
//!   and what both accept reads the same.
//!
//! Case counts are kept small (the suite runs in seconds in debug); a
//! failure prints the message type and the input.

#[path = "transcode_plan/generate.rs"]
mod generate;
#[path = "transcode_plan/mutate.rs"]
mod mutate;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Syntax,
};
use restgate::compile::Descriptors;
use restgate::transcode::{json, JsonOptions, MessagePlan, PlanCache};

use generate::Rng;

const CORPUS: &str = r#"
syntax = "proto3";
package corpus;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; COLOR_GREEN = 2; }

message Kinds {
  int32 i32 = 1; int64 i64 = 2; uint32 u32 = 3; uint64 u64 = 4; sint32 s32 = 5;
  sint64 s64 = 6; fixed32 f32 = 7; fixed64 f64 = 8; sfixed32 sf32 = 9; sfixed64 sf64 = 10;
  float single = 11; double real = 12; bool flag = 13; string text = 14; bytes blob = 15;
  Color color = 16; Kinds child = 17; optional int32 maybe = 18; optional string maybe_text = 19;
  repeated int32 r_i32 = 21; repeated int64 r_i64 = 22; repeated uint32 r_u32 = 23;
  repeated uint64 r_u64 = 24; repeated sint32 r_s32 = 25; repeated sint64 r_s64 = 26;
  repeated fixed32 r_f32 = 27; repeated fixed64 r_f64 = 28; repeated sfixed32 r_sf32 = 29;
  repeated sfixed64 r_sf64 = 30; repeated float r_single = 31; repeated double r_real = 32;
  repeated bool r_flag = 33; repeated string r_text = 34; repeated bytes r_blob = 35;
  repeated Color r_color = 36; repeated Kinds r_child = 37;
  repeated int32 unpacked = 38 [packed = false];
  map<string, string> m_text = 41; map<int32, Kinds> m_child = 42; map<int64, Color> m_color = 43;
  map<uint32, bytes> m_blob = 44; map<uint64, double> m_real = 45; map<sint32, float> m_single = 46;
  map<sint64, bool> m_flag = 47; map<fixed32, int64> m_f32 = 48; map<fixed64, uint64> m_f64 = 49;
  map<sfixed32, sint64> m_sf32 = 50; map<sfixed64, string> m_sf64 = 51; map<bool, int32> m_bool = 52;
  map<string, google.protobuf.Value> m_value = 53; map<string, google.protobuf.Any> m_any = 54;
  oneof choice { int32 o_i32 = 61; string o_text = 62; Kinds o_child = 63; Color o_color = 64;
                 google.protobuf.NullValue o_null = 65; google.protobuf.Timestamp o_at = 66; }
  google.protobuf.Timestamp at = 71; google.protobuf.Duration ttl = 72; google.protobuf.Any any = 73;
  google.protobuf.FieldMask mask = 74; google.protobuf.Struct data = 75; google.protobuf.Value dynamic = 76;
  google.protobuf.ListValue items = 77; google.protobuf.Empty nothing = 78;
  google.protobuf.DoubleValue w_real = 81; google.protobuf.FloatValue w_single = 82;
  google.protobuf.Int64Value w_i64 = 83; google.protobuf.UInt64Value w_u64 = 84;
  google.protobuf.Int32Value w_i32 = 85; google.protobuf.UInt32Value w_u32 = 86;
  google.protobuf.BoolValue w_flag = 87; google.protobuf.StringValue w_text = 88;
  google.protobuf.BytesValue w_blob = 89;
  repeated google.protobuf.Any r_any = 91; repeated google.protobuf.Value r_value = 92;
  repeated google.protobuf.Timestamp r_at = 93; repeated google.protobuf.Int32Value r_w_i32 = 94;
  google.protobuf.NullValue null = 95; repeated google.protobuf.NullValue r_null = 96;
  int32 field_with_Caps = 97; int32 x9_y = 98;
}

message Tree { string name = 1; repeated Tree children = 2; map<string, Tree> named = 3; }
"#;

/// The pools the roots come from, and one plan cache per pool.
struct Pools {
    roots: Vec<(usize, MessageDescriptor)>,
    caches: Vec<PlanCache>,
}

pub(crate) fn proto3(message: &MessageDescriptor) -> bool {
    message.parent_file().syntax() == Syntax::Proto3
}

fn compile(dir: &Path, includes: &[&Path], files: &[&str]) -> DescriptorPool {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(includes.iter().map(|p| p.to_path_buf()));
    protox::Compiler::new(paths)
        .and_then(|mut compiler| {
            compiler.include_imports(true).open_files(files)?;
            Ok(compiler.descriptor_pool())
        })
        .unwrap_or_else(|e| panic!("compiling {files:?} in {}: {e}", dir.display()))
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus_dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(corpus_dir.path().join("corpus.proto"), CORPUS).expect("write corpus");
        let fixtures = root.join("tests/fixtures/valid");
        let fixture_files: Vec<String> = std::fs::read_dir(&fixtures)
            .expect("tests/fixtures/valid")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".proto"))
            .collect();
        let fixture_files: Vec<&str> = fixture_files.iter().map(String::as_str).collect();
        let pools = [
            Descriptors::bundled().pool().clone(),
            compile(&fixtures, &[&root.join("proto")], &fixture_files),
            compile(corpus_dir.path(), &[], &["corpus.proto"]),
        ];
        let mut roots = Vec::new();
        for (i, pool) in pools.iter().enumerate() {
            roots.extend(
                pool.all_messages()
                    .filter(|m| proto3(m) && !m.is_map_entry())
                    .map(|m| (i, m)),
            );
        }
        let caches = pools.iter().map(|_| PlanCache::new()).collect();
        Pools { roots, caches }
    })
}

/// A root message type (the corpus's `Kinds` a third of the time) and its plan.
fn root(rng: &mut Rng) -> (MessageDescriptor, Arc<MessagePlan>) {
    let pools = pools();
    let (pool, desc) = if rng.chance(33) {
        pools
            .roots
            .iter()
            .find(|(_, m)| m.full_name() == "corpus.Kinds")
            .expect("Kinds")
    } else {
        rng.pick(&pools.roots)
    };
    (desc.clone(), pools.caches[*pool].plan(desc))
}

fn options(rng: &mut Rng) -> JsonOptions {
    JsonOptions {
        deny_unknown_fields: rng.chance(70),
        emit_unpopulated: rng.chance(30),
        proto_field_names: rng.chance(30),
        enum_numbers: rng.chance(30),
    }
}

fn parse(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// `message` as decoding its encoding gives it: fields set to their
/// default dropped, as the wire has them.
fn normal(message: &DynamicMessage) -> DynamicMessage {
    DynamicMessage::decode(message.descriptor(), message.encode_to_vec().as_slice())
        .expect("an encoding decodes")
}

/// The same message: equal once normal, the same bytes (NaN is not equal
/// to itself), or the same JSON (an Any's payload is bytes, in whichever
/// order its writer put the fields).
fn same(a: &DynamicMessage, b: &DynamicMessage) -> bool {
    let (a, b) = (normal(a), normal(b));
    if a == b || a.encode_to_vec() == b.encode_to_vec() {
        return true;
    }
    let options = JsonOptions::default();
    match (json::to_vec(&a, &options), json::to_vec(&b, &options)) {
        (Ok(ja), Ok(jb)) => json_eq(&parse(&ja), &parse(&jb)),
        _ => false,
    }
}

/// Whether `message`'s JSON is that of its encoding.
fn self_consistent(message: &DynamicMessage) -> bool {
    let options = JsonOptions::default();
    match (
        json::to_vec(message, &options),
        json::to_vec(&normal(message), &options),
    ) {
        (Ok(a), Ok(b)) => json_eq(&parse(&a), &parse(&b)),
        _ => false,
    }
}

/// Where two messages' JSON differs, for a failure message.
fn message_diff(a: &DynamicMessage, b: &DynamicMessage) -> String {
    let options = JsonOptions::default();
    match (json::to_vec(a, &options), json::to_vec(b, &options)) {
        (Ok(ja), Ok(jb)) => diff(&parse(&ja), &parse(&jb), ""),
        (ja, jb) => format!("{:?} vs {:?}", ja.map(|_| ()), jb.map(|_| ())),
    }
}

/// JSON values equal, numbers as the same float: prost-reflect writes a
/// float field at 32 bits (`3.4028235e38`) or, in a reply holding an empty
/// Any, at 64 (`3.4028234663852886e38`), the same float either way.
fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number, Object};
    match (a, b) {
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, u)| y.get(k).is_some_and(|v| json_eq(u, v)))
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(u, v)| json_eq(u, v)),
        (Number(x), Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => {
                let single = |v: f64| f64::from(v as f32) == v;
                x as f32 == y as f32 && (single(x) || single(y))
            }
            _ => false,
        },
        _ => a == b,
    }
}

/// Where two JSON values first differ, for a failure message.
fn diff(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> String {
    use serde_json::Value::{Array, Object};
    match (a, b) {
        (Object(x), Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let (u, v) = (x.get(key), y.get(key));
                let same = match (u, v) {
                    (Some(u), Some(v)) => json_eq(u, v),
                    _ => false,
                };
                if !same {
                    return match (u, v) {
                        (Some(u), Some(v)) => diff(u, v, &format!("{path}.{key}")),
                        _ => format!("{path}.{key}: {u:?} vs {v:?}"),
                    };
                }
            }
            String::new()
        }
        (Array(x), Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (u, v))| !json_eq(u, v))
            .map(|(i, (u, v))| diff(u, v, &format!("{path}[{i}]")))
            .unwrap_or_default(),
        _ => format!("{path}: {a} vs {b}"),
    }
}

/// Whether field order on the wire can differ from prost's (a map's hash
/// order, an Any's payload) somewhere under `desc`.
fn order_may_differ(desc: &MessageDescriptor) -> bool {
    fn walk(desc: &MessageDescriptor, seen: &mut Vec<String>) -> bool {
        if desc.full_name() == "google.protobuf.Any" || desc.full_name() == "google.protobuf.Struct"
        {
            return true;
        }
        if seen.iter().any(|s| s == desc.full_name()) {
            return false;
        }
        seen.push(desc.full_name().to_owned());
        desc.fields()
            .any(|f| f.is_map() || matches!(f.kind(), Kind::Message(m) if walk(&m, seen)))
    }
    walk(desc, &mut Vec::new())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn wire_to_json_writes_what_prost_reflect_writes(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let (desc, plan) = root(&mut rng);
        let mut wire = generate::message(&desc, &mut rng, 0).encode_to_vec();
        generate::unknown_fields(&desc, &mut rng, &mut wire);
        if rng.chance(30) {
            wire.extend(generate::message(&desc, &mut rng, 0).encode_to_vec());
        }
        let options = options(&mut rng);
        let decoded = DynamicMessage::decode(desc.clone(), wire.as_slice()).expect("decodes");
        let want = json::to_vec(&decoded, &options);
        let mut got = Vec::new();
        let result = plan.wire_to_json(&wire, &options, &mut got);
        match (want, result) {
            (Ok(want), Ok(())) => {
                let (got, want) = (parse(&got), parse(&want));
                prop_assert!(
                    json_eq(&got, &want),
                    "{} {:?}: plan vs prost-reflect at {}\n from {:?}",
                    desc.full_name(),
                    options,
                    diff(&got, &want, ""),
                    wire
                );
            }
            (Err(_), Err(_)) => {}
            (want, got_result) => prop_assert!(
                false,
                "{}: prost-reflect {:?}, plan {:?} {}",
                desc.full_name(), want.map(String::from_utf8), got_result, String::from_utf8_lossy(&got)
            ),
        }
    }

    #[test]
    fn json_to_wire_reads_what_prost_reflect_reads(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let (desc, plan) = root(&mut rng);
        let message = generate::message(&desc, &mut rng, 0);
        let written = JsonOptions { deny_unknown_fields: true, ..options(&mut rng) };
        let Ok(body) = json::to_vec(&message, &written) else {
            return Ok(()); // prost-reflect has no JSON for it
        };
        let text = String::from_utf8_lossy(&body).into_owned();
        let read = JsonOptions::default();
        let oracle = json::from_slice(desc.clone(), &body, &read);
        let mut wire = Vec::new();
        let got = plan.json_to_wire(&body, &read, &mut wire);
        let oracle = match (oracle, got) {
            (Ok(oracle), Ok(())) => oracle,
            // prost-reflect cannot read back what it wrote (a NaN wrapper
            // written as null): neither can the plan.
            (Err(_), Err(_)) => return Ok(()),
            (oracle, got) => {
                let oracle = oracle.map(|_| "accepted");
                panic!("{}: {text}\n prost-reflect: {oracle:?}\n plan: {got:?}", desc.full_name())
            }
        };
        let decoded = DynamicMessage::decode(desc.clone(), wire.as_slice()).expect("the plan's wire decodes");
        prop_assert!(
            same(&decoded, &oracle),
            "{}: {text}\n plan vs prost-reflect at {}",
            desc.full_name(),
            message_diff(&decoded, &oracle)
        );
        if !order_may_differ(&desc) && !text.contains("NaN") {
            prop_assert_eq!(wire, oracle.encode_to_vec(), "{}: {}", desc.full_name(), text);
        }
    }

    #[test]
    fn json_to_wire_refuses_what_prost_reflect_refuses(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let (desc, plan) = root(&mut rng);
        let message = generate::message(&desc, &mut rng, 0);
        let written = JsonOptions { emit_unpopulated: rng.chance(50), ..JsonOptions::default() };
        let Ok(body) = json::to_value(&message, &written) else {
            return Ok(());
        };
        let (text, twice) = mutate::mutate(&body, &mut rng);
        let options = options(&mut rng);
        let oracle = json::from_slice(desc.clone(), text.as_bytes(), &options);
        let mut wire = Vec::new();
        let got = plan.json_to_wire(text.as_bytes(), &options, &mut wire);
        match (oracle, got) {
            // prost-reflect keeps `null` for a repeated Value as one Value
            // in the list's place, a message its own JSON and encoding
            // disagree on: nothing to compare with.
            (Ok(oracle), Ok(())) if !self_consistent(&oracle) => {}
            // A map key given twice, the last value an enum name let
            // through: json::from_slice keeps the first value or none, by
            // whether it rewrote anything else in the body.
            (Ok(_), Ok(())) if twice && !options.deny_unknown_fields => {}
            (Ok(oracle), Ok(())) => {
                let decoded = DynamicMessage::decode(desc.clone(), wire.as_slice());
                let decoded = decoded.expect("the plan's wire decodes");
                prop_assert!(
                    same(&decoded, &oracle),
                    "{}: {text} ({options:?})\n plan vs prost-reflect at {}",
                    desc.full_name(),
                    message_diff(&decoded, &oracle)
                );
            }
            (Err(_), Err(_)) => {}
            (oracle, got) => prop_assert!(
                false, "{}: {} ({:?})\n prost-reflect: {:?}\n plan: {:?}",
                desc.full_name(), text, options, oracle.map(|_| "accepted"), got
            ),
        }
    }
}
