//! The gateway integration-test harness: the fixture gRPC service and the
//! bundled example on loopback ports, the real `restgate` binary in front of
//! them, and small helpers to compare what comes back.
//!
//! Every test binary uses only part of it, hence the `allow`s.
#![allow(dead_code, unused_imports)]

pub(crate) mod echo_backend;
pub(crate) mod fixture;
pub(crate) mod gateway;
pub(crate) mod openapi_validator;
pub(crate) mod redis;
pub(crate) mod restartable;
pub(crate) mod streams;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};

use serde_json::Value;

pub(crate) use self::fixture::{
    start_example, start_fixture, start_fixture_accepting, start_fixture_with, FixtureHandle,
    RpcStatus,
};
pub(crate) use self::gateway::{send, Gateway, Reply, WAIT};
pub(crate) use self::redis::RedisServer;
pub(crate) use self::restartable::RestartableExample;
pub(crate) use self::streams::{start_streams, start_streams_with_window, StreamsHandle};

/// The `restgate` binary under test, with every `RESTGATE_*` variable of
/// the shell running the tests removed (`RESTGATE_BLESS=1`, for one, is
/// not a setting and would stop it): a test sets the ones it means with
/// `.env`. Every test that runs the binary starts it here.
pub(crate) fn restgate() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_restgate"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RESTGATE_") {
            command.env_remove(name);
        }
    }
    command
}

/// A loopback address nothing listens on: bound, read, then released.
pub(crate) fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// `value` with every JSON number turned into an `f64`, so that `1` and
/// `1.0` (how a `google.protobuf.Struct` number may come back) compare equal.
pub(crate) fn numbers_as_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| value.clone(), Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The paths of a FieldMask in its JSON form (`"a,b.c"`), as a set.
#[track_caller]
pub(crate) fn mask_paths(mask: &Value) -> BTreeSet<String> {
    let text = mask
        .as_str()
        .unwrap_or_else(|| panic!("a FieldMask is a JSON string, got {mask}"));
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The methods of an `Allow` header (`"GET, PUT"`), as a set.
pub(crate) fn allow_set(allow: &str) -> BTreeSet<String> {
    allow
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// A set of strings, for comparisons.
pub(crate) fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
