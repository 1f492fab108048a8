//! Invalid (and nearly valid) request JSON made from a valid body: a value
//! swapped for one from a zoo of edge cases (wrong types, integers out of
//! range or in other number forms, bad enums, bad Timestamps and
//! Durations, base64 of both alphabets), an unknown field, a field given
//! twice, a truncated or corrupted text.

use serde_json::{json, Value};

use super::generate::Rng;

/// Values that probe every rule of proto3 JSON somewhere.
fn zoo(rng: &mut Rng) -> Value {
    let values = [
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e5),
        json!(-0),
        json!(0.0),
        json!(2147483647),
        json!(2147483648i64),
        json!(-2147483649i64),
        json!(4294967296i64),
        json!(9223372036854775807i64),
        json!(9223372036854775808u64),
        json!(18446744073709551615u64),
        json!(f64::MAX),
        json!(3.4028235e38),
        json!(3.5e38),
        json!(1e-50),
        json!("1"),
        json!("-1"),
        json!("1e5"),
        json!("1.0"),
        json!("007"),
        json!("-0"),
        json!(" 1"),
        json!("18446744073709551616"),
        json!("NaN"),
        json!("Infinity"),
        json!("-Infinity"),
        json!("nan"),
        json!("abc"),
        json!(""),
        json!("AAEC"),
        json!("_-8="),
        json!("YW Jj"),
        json!(true),
        json!(false),
        json!(null),
        json!({}),
        json!([]),
        json!([1, null]),
        json!({"a": 1}),
        json!([{}]),
        json!("2024-01-02T03:04:05Z"),
        json!("2024-01-02T03:04:05.123456789Z"),
        json!("2024-01-02T03:04:60Z"),
        json!("2024-01-02T24:00:00Z"),
        json!("2024-01-02t03:04:05z"),
        json!("0001-01-01T00:00:00Z"),
        json!("0000-12-31T23:59:59Z"),
        json!("9999-12-31T23:59:59.999999999Z"),
        json!("2024-01-02T03:04:05.1234567891Z"),
        json!("2024-01-02T03:04:05+01:00"),
        json!("1.5s"),
        json!("-1.5s"),
        json!("1s5"),
        json!("315576000001s"),
        json!("0.000000001s"),
        json!("a,bC.dE"),
        json!("a_b"),
        json!("ROLE_WRITER"),
        json!("COLOR_RED"),
        json!("NULL_VALUE"),
        json!("NOT_A_VALUE"),
        json!(1000),
        json!({"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1s"}),
        json!({"@type": "type.googleapis.com/google.protobuf.Value"}),
        json!({"@type": "type.googleapis.com/nowhere.Missing"}),
        json!({"@type": "no-slash"}),
        json!({"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}),
    ];
    rng.pick(&values).clone()
}

/// Every node of `value`, as paths of object keys and array indexes.
fn paths(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                here.push(Step::Key(k.clone()));
                paths(v, here, out);
                here.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                here.push(Step::Index(i));
                paths(v, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn node<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// The placeholder key that becomes a repeated key after rendering: it
/// sorts last, so the original value comes first (a map's last value wins
/// in both readers; which of two `json::from_slice` keeps depends on
/// whether it rewrote anything else in the body, so the first is valid).
const DUP: &str = "\u{10ffff}dup";

/// `json` changed in one random way, as text; whether a key is given twice.
pub(crate) fn mutate(json: &Value, rng: &mut Rng) -> (String, bool) {
    let mut value = json.clone();
    let mut all = Vec::new();
    paths(&value, &mut Vec::new(), &mut all);
    let objects: Vec<Vec<Step>> = all
        .iter()
        .filter(|p| node(&mut value.clone(), p).is_object())
        .cloned()
        .collect();
    let kinds = if objects.is_empty() {
        [0, 1, 4, 5]
    } else {
        [0, 2, 3, 4]
    };
    let kind = if rng.chance(25) { 5 } else { *rng.pick(&kinds) };
    match kind {
        0 | 1 => {
            let path = rng.pick(&all).clone();
            *node(&mut value, &path) = zoo(rng);
        }
        2 => {
            let path = rng.pick(&objects).clone();
            let name = *rng.pick(&["zzzUnknown", "@type", "value", "user_id", "userId"]);
            node(&mut value, &path)[name] = zoo(rng);
        }
        3 => {
            let path = rng.pick(&objects).clone();
            let object = node(&mut value, &path);
            // Not an Any's own keys given twice: json::from_slice reads
            // those differently by whether it rewrote anything else in the
            // body (the first `value` as sent, the last once rewritten).
            let any = object.get("@type").is_some();
            let keys: Vec<String> = object
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| !(any && (*k == "@type" || *k == "value")))
                .cloned()
                .collect();
            if let Some(key) = keys.first().map(|_| rng.pick(&keys).clone()) {
                let again = if rng.chance(50) {
                    object[key.as_str()].clone()
                } else {
                    zoo(rng)
                };
                object[DUP] = again;
                let text = serde_json::to_string(&value).unwrap();
                let placeholder = serde_json::to_string(DUP).unwrap();
                let text = text.replace(&placeholder, &serde_json::to_string(&key).unwrap());
                return (text, true);
            }
        }
        4 => {
            let text = serde_json::to_string(&value).unwrap();
            let cut = rng.below(text.len());
            return (text[..boundary(&text, cut)].to_owned(), false);
        }
        _ => {
            let mut text = serde_json::to_string(&value).unwrap();
            let at = boundary(&text, rng.below(text.len() + 1));
            let junk = *rng.pick(&[
                ",", "}", "]", "\"", "\\", " ", "x", "0", "{", "[", ":", "-", ".",
            ]);
            text.insert_str(at, junk);
            return (text, false);
        }
    }
    (serde_json::to_string(&value).unwrap(), false)
}

/// The char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}
