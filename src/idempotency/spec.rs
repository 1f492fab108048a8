//! [`StoreSpec`]: which store, as the `--idempotency` flag and the config
//! file spell it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use super::{FileStore, IdempotencyStore, MemoryStore, RedisStore, StoreError};

/// The accepted forms, for error messages.
const FORMS: &str = "expected `memory`, `file:PATH` or `redis://HOST:PORT[/DB]`";

/// Which store: parsed from `memory`, `file:PATH`, `redis://HOST:PORT[/DB]`
/// (the `--idempotency` flag's syntax). [`Display`](fmt::Display) writes the
/// same syntax back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoreSpec {
    /// [`MemoryStore`]: this process only (the default).
    #[default]
    Memory,
    /// [`FileStore`] at this path: survives a restart.
    File(PathBuf),
    /// [`RedisStore`] at this URL: shared by several gateways.
    Redis(String),
}

/// A `--idempotency` value that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseStoreSpecError(String);

impl FromStr for StoreSpec {
    type Err = ParseStoreSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "memory" {
            return Ok(StoreSpec::Memory);
        }
        if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err(ParseStoreSpecError(format!(
                    "idempotency store {s:?} names no file: expected `file:PATH`"
                )));
            }
            return Ok(StoreSpec::File(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("redis://") {
            return parse_redis(s, rest).map(|()| StoreSpec::Redis(s.to_owned()));
        }
        Err(ParseStoreSpecError(format!(
            "unknown idempotency store {s:?}: {FORMS}"
        )))
    }
}

/// Checks `s` = `redis://{rest}`: a host, a port that is one, a database
/// that is a number, then whatever else the Redis client checks.
fn parse_redis(s: &str, rest: &str) -> Result<(), ParseStoreSpecError> {
    let fail = |what: String| {
        Err(ParseStoreSpecError(format!(
            "idempotency store {s:?} {what}: expected `redis://HOST:PORT[/DB]`"
        )))
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, db) = rest.split_once('/').unwrap_or((rest, ""));
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = match host_port.strip_prefix('[') {
        // [IPv6]:PORT
        Some(v6) => match v6.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => return fail("has an unclosed `[`".into()),
        },
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return fail("names no host".into());
    }
    if let Some(port) = port.filter(|p| !p.parse::<u16>().is_ok_and(|p| p > 0)) {
        return fail(format!("has port {port:?}, not a number from 1 to 65535"));
    }
    if !db.is_empty() && db.parse::<u32>().is_err() {
        return fail(format!("has database {db:?}, not a number"));
    }
    // The client checks the rest (e.g. `?protocol=`) without connecting.
    match redis::Client::open(s) {
        Ok(_) => Ok(()),
        Err(e) => fail(format!("is not a Redis URL ({e})")),
    }
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Memory => f.write_str("memory"),
            StoreSpec::File(path) => write!(f, "file:{}", path.display()),
            StoreSpec::Redis(url) => f.write_str(url),
        }
    }
}

impl StoreSpec {
    /// Opens the store: creates or opens the file (its directory must exist;
    /// no other process may hold it), or connects to Redis and `PING`s it, so
    /// a wrong path or address is a startup error, not a failure on the
    /// first keyed request.
    pub async fn open(&self) -> Result<Arc<dyn IdempotencyStore>, StoreError> {
        Ok(match self {
            StoreSpec::Memory => Arc::new(MemoryStore::new()),
            StoreSpec::File(path) => Arc::new(FileStore::open(path.clone()).await?),
            StoreSpec::Redis(url) => Arc::new(RedisStore::connect(url).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        let file = |p: &str| StoreSpec::File(p.into());
        let redis = |u: &str| StoreSpec::Redis(u.into());
        let cases = [
            ("memory", StoreSpec::Memory),
            (
                "file:/var/lib/restgate/keys.redb",
                file("/var/lib/restgate/keys.redb"),
            ),
            ("file:keys.redb", file("keys.redb")),
            ("redis://127.0.0.1:6379", redis("redis://127.0.0.1:6379")),
            (
                "redis://cache.internal:6380/2",
                redis("redis://cache.internal:6380/2"),
            ),
            ("redis://localhost", redis("redis://localhost")),
            (
                "redis://:pw@10.0.0.5:6379/0",
                redis("redis://:pw@10.0.0.5:6379/0"),
            ),
        ];
        for (text, spec) in cases {
            assert_eq!(text.parse::<StoreSpec>().unwrap(), spec, "{text}");
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(StoreSpec::default(), StoreSpec::Memory);
    }

    #[test]
    fn bad_specs_say_what_is_accepted() {
        let unknown = |s: &str| format!("unknown idempotency store {s:?}: {FORMS}");
        let no_host = |s: &str| {
            format!("idempotency store {s:?} names no host: expected `redis://HOST:PORT[/DB]`")
        };
        let cases = [
            ("", unknown("")),
            ("Memory", unknown("Memory")),
            ("redb:/tmp/x", unknown("redb:/tmp/x")),
            ("rediss://h:6379", unknown("rediss://h:6379")),
            (
                "file:",
                "idempotency store \"file:\" names no file: expected `file:PATH`".into(),
            ),
            ("redis://", no_host("redis://")),
            ("redis://:6379", no_host("redis://:6379")),
            ("redis://pw@/0", no_host("redis://pw@/0")),
        ];
        for (text, message) in cases {
            let err = text.parse::<StoreSpec>().unwrap_err();
            assert_eq!(err.to_string(), message, "{text}");
        }
        assert_eq!(
            unknown("x"),
            "unknown idempotency store \"x\": \
             expected `memory`, `file:PATH` or `redis://HOST:PORT[/DB]`"
        );
        let bad_port = |s: &str, p: &str| {
            format!(
                "idempotency store {s:?} has port {p:?}, not a number from 1 to 65535: \
                 expected `redis://HOST:PORT[/DB]`"
            )
        };
        let cases = [
            (
                "redis://h:notaport",
                bad_port("redis://h:notaport", "notaport"),
            ),
            ("redis://h:0", bad_port("redis://h:0", "0")),
            ("redis://h:65536/1", bad_port("redis://h:65536/1", "65536")),
            ("redis://[::1]:x", bad_port("redis://[::1]:x", "x")),
            (
                "redis://h:6379/notadb",
                "idempotency store \"redis://h:6379/notadb\" has database \"notadb\", \
                 not a number: expected `redis://HOST:PORT[/DB]`"
                    .into(),
            ),
            (
                "redis://[::1:6379",
                "idempotency store \"redis://[::1:6379\" has an unclosed `[`: \
                 expected `redis://HOST:PORT[/DB]`"
                    .into(),
            ),
        ];
        for (text, message) in cases {
            let err = text.parse::<StoreSpec>().unwrap_err();
            assert_eq!(err.to_string(), message, "{text}");
        }
        // IPv6 hosts and options the client knows pass.
        for text in ["redis://[::1]:6379/2", "redis://h:6379/0?protocol=resp3"] {
            assert_eq!(text.parse::<StoreSpec>(), Ok(StoreSpec::Redis(text.into())));
        }
        // What the client alone refuses, with its reason.
        let text = "redis://h:6379/?protocol=resp9";
        let message = text.parse::<StoreSpec>().unwrap_err().to_string();
        let prefix = format!("idempotency store {text:?} is not a Redis URL (");
        assert!(message.starts_with(&prefix), "{message}");
        assert!(message.contains("resp9"), "{message}");
        assert!(
            message.ends_with("): expected `redis://HOST:PORT[/DB]`"),
            "{message}"
        );
    }
}
