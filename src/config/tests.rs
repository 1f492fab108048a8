//! Settings from the file, the environment and flags, merged and resolved.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::compile::GoogleApiCreates;
use crate::idempotency::StoreSpec;

fn env(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn environment_uses_the_file_names() {
    let s = env(&[
        ("RESTGATE_LISTEN", "127.0.0.1:9000"),
        ("RESTGATE_MAX_BODY_BYTES", "1024"),
        ("RESTGATE_TIMEOUT", "500ms"),
        ("RESTGATE_IGNORE_UNKNOWN_FIELDS", "true"),
        ("RESTGATE_UPSTREAM", "a.B=http://x:1, http://y:2"),
        ("RESTGATE_PROTO", "a.proto"),
        ("RESTGATE_IDEMPOTENCY", "redis://127.0.0.1:6379"),
        ("RESTGATE_TLS_CERT", "/etc/restgate/cert.pem"),
        ("RESTGATE_GOOGLE_API_CREATES", "never"),
        ("PATH", "/bin"),
    ])
    .unwrap();
    assert_eq!(s.listen, Some("127.0.0.1:9000".parse().unwrap()));
    assert_eq!(s.max_body_bytes, Some(1024));
    assert_eq!(s.timeout, Some(Duration::from_millis(500)));
    assert_eq!(s.ignore_unknown_fields, Some(true));
    assert_eq!(s.upstream, ["a.B=http://x:1", "http://y:2"]);
    assert_eq!(s.input.protos, [PathBuf::from("a.proto")]);
    assert_eq!(s.tls_cert, Some(PathBuf::from("/etc/restgate/cert.pem")));
    assert_eq!(s.google_api_creates, Some(GoogleApiCreates::Never));
    assert_eq!(
        s.idempotency,
        Some(StoreSpec::Redis("redis://127.0.0.1:6379".into()))
    );
}

#[test]
fn unknown_and_bad_environment_values_name_the_variable() {
    let e = env(&[("RESTGATE_LISTN", "x")]).unwrap_err().to_string();
    assert!(
        e.starts_with("environment variable RESTGATE_LISTN: unknown field `listn`"),
        "{e}"
    );
    let e = env(&[("RESTGATE_MAX_BODY_BYTES", "lots")])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("environment variable RESTGATE_MAX_BODY_BYTES: invalid type"),
        "{e}"
    );
}

#[test]
fn later_sources_win() {
    let file: Settings =
        toml::from_str("listen = \"127.0.0.1:1\"\ntimeout = \"5s\"\nupstream = [\"http://a:1\"]")
            .unwrap();
    let flags = Settings {
        timeout: Some(Duration::from_secs(7)),
        ..Settings::default()
    };
    let vars = env(&[("RESTGATE_LISTEN", "127.0.0.1:3")]).unwrap();
    let merged = file.overlay(flags).overlay(vars).resolve().unwrap();
    assert_eq!(merged.listen, "127.0.0.1:3".parse().unwrap());
    assert_eq!(merged.options.timeout, Duration::from_secs(7));
    assert_eq!(
        merged.upstreams.default,
        Some("http://a:1".parse().unwrap())
    );
    assert_eq!(merged.options.max_body_bytes, 4 * 1024 * 1024);
}

#[test]
fn the_example_file_holds_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("restgate.example.toml");
    let example = Settings::from_file(&path).unwrap().resolve().unwrap();
    let defaults = Settings::default().resolve().unwrap();
    assert_eq!(example.listen, defaults.listen);
    assert_eq!(
        format!("{:?}", example.options),
        format!("{:?}", defaults.options)
    );
    assert_eq!(example.idempotency, defaults.idempotency);
    assert_eq!(example.header_read_timeout, defaults.header_read_timeout);
    assert_eq!(example.shutdown_grace, defaults.shutdown_grace);
    assert_eq!(example.drain_delay, defaults.drain_delay);
    assert_eq!(example.log_format, defaults.log_format);
    assert_eq!(example.watch, defaults.watch);
    assert_eq!(example.tls, defaults.tls);
    assert_eq!(example.compile, defaults.compile);
}

#[test]
fn file_errors_name_the_key() {
    let e = toml::from_str::<Settings>("listn = 1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `listn`"), "{e}");
    let e = toml::from_str::<Settings>("timeout = \"soon\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("timeout"), "{e}");
    let e = toml::from_str::<Settings>("idempotency = \"mongo://x\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("idempotency"), "{e}");
    let e = toml::from_str::<Settings>("google-api-creates = \"always\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("google-api-creates"), "{e}");
    assert!(e.contains("expected `auto` or `never`"), "{e}");
    let e = Settings {
        retry_attempts: Some(0),
        ..Settings::default()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert_eq!(e, "retry-attempts: must be 1 to 10, not 0");
    let e = Settings {
        tls_cert: Some("cert.pem".into()),
        ..Settings::default()
    }
    .resolve()
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("tls-key: "), "{e}");
    let e = env(&[("RESTGATE_MAX_URI_BYTES", "70000")])
        .unwrap()
        .resolve()
        .unwrap_err()
        .to_string();
    assert_eq!(e, "max-uri-bytes: must be 1 to 65534, not 70000");
    let e = toml::from_str::<Settings>("max-header-bytes = 0")
        .unwrap()
        .resolve()
        .unwrap_err()
        .to_string();
    assert_eq!(e, "max-header-bytes: must be at least 1");
}
