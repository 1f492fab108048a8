//! Where [`Settings`] come from: a TOML file, the `RESTGATE_*` environment
//! variables (read through the file's names), and [`Settings::overlay`],
//! which lays one source over another. Nothing is checked or defaulted here.

use std::path::Path;

use super::{ConfigError, Settings};
use crate::cli::InputArgs;

/// Prefix of the environment variables that set settings.
pub const ENV_PREFIX: &str = "RESTGATE_";

/// The settings that are lists.
const LISTS: &[&str] = &[
    "proto",
    "include",
    "descriptor-set",
    "upstream",
    "forward-header",
];

impl Settings {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
    }

    /// Reads the `RESTGATE_*` variables among `vars`: `RESTGATE_LISTEN`,
    /// `RESTGATE_MAX_BODY_BYTES`, `RESTGATE_UPSTREAM` (comma-separated or a
    /// TOML array), `RESTGATE_PROTO`... Values are TOML values, or plain text.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_ascii_lowercase().replace('_', "-");
            let env_error = |message: String| ConfigError::Env {
                name: name.clone(),
                message,
            };
            // The value as TOML if it is a TOML value (3, true, ["a", "b"]),
            // else as a string; wrapped in the table it belongs to.
            let value = value
                .parse::<toml::Value>()
                .ok()
                .or_else(|| {
                    format!("v = {value}")
                        .parse::<toml::Table>()
                        .ok()
                        .and_then(|mut t| t.remove("v"))
                })
                .unwrap_or_else(|| toml::Value::String(value.clone()));
            // Lists may be written as one comma-separated string.
            let value = match value {
                toml::Value::String(text) if LISTS.contains(&key.as_str()) => toml::Value::Array(
                    text.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| toml::Value::String(p.to_owned()))
                        .collect(),
                ),
                other => other,
            };
            let mut table = toml::Table::new();
            if matches!(key.as_str(), "proto" | "include" | "descriptor-set") {
                let mut input = toml::Table::new();
                input.insert(key, value);
                table.insert("input".to_owned(), toml::Value::Table(input));
            } else {
                table.insert(key, value);
            }
            let one: Settings = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| env_error(e.message().to_owned()))?;
            settings = settings.overlay(one);
        }
        Ok(settings)
    }

    /// These settings with `over`'s laid on top: whatever `over` sets wins.
    pub fn overlay(self, over: Settings) -> Settings {
        fn list<T>(under: Vec<T>, over: Vec<T>) -> Vec<T> {
            if over.is_empty() {
                under
            } else {
                over
            }
        }
        Settings {
            input: InputArgs {
                protos: list(self.input.protos, over.input.protos),
                includes: list(self.input.includes, over.input.includes),
                descriptor_sets: list(self.input.descriptor_sets, over.input.descriptor_sets),
            },
            google_api_creates: over.google_api_creates.or(self.google_api_creates),
            upstream: list(self.upstream, over.upstream),
            listen: over.listen.or(self.listen),
            workers: over.workers.or(self.workers),
            timeout: over.timeout.or(self.timeout),
            max_body_bytes: over.max_body_bytes.or(self.max_body_bytes),
            max_uri_bytes: over.max_uri_bytes.or(self.max_uri_bytes),
            max_header_bytes: over.max_header_bytes.or(self.max_header_bytes),
            ignore_unknown_fields: over.ignore_unknown_fields.or(self.ignore_unknown_fields),
            emit_unpopulated: over.emit_unpopulated.or(self.emit_unpopulated),
            proto_field_names: over.proto_field_names.or(self.proto_field_names),
            openapi_path_params: over.openapi_path_params.or(self.openapi_path_params),
            forward_header: list(self.forward_header, over.forward_header),
            max_concurrent_requests: over
                .max_concurrent_requests
                .or(self.max_concurrent_requests),
            max_in_flight_bytes: over.max_in_flight_bytes.or(self.max_in_flight_bytes),
            request_timeout: over.request_timeout.or(self.request_timeout),
            header_read_timeout: over.header_read_timeout.or(self.header_read_timeout),
            shutdown_grace: over.shutdown_grace.or(self.shutdown_grace),
            drain_delay: over.drain_delay.or(self.drain_delay),
            access_log: over.access_log.or(self.access_log),
            metrics: over.metrics.or(self.metrics),
            docs: over.docs.or(self.docs),
            compress_responses: over.compress_responses.or(self.compress_responses),
            compress_min_bytes: over.compress_min_bytes.or(self.compress_min_bytes),
            decompress_requests: over.decompress_requests.or(self.decompress_requests),
            watch: over.watch.or(self.watch),
            log_format: over.log_format.or(self.log_format),
            ops_prefix: over.ops_prefix.or(self.ops_prefix),
            cors_origins: list(self.cors_origins, over.cors_origins),
            cors_methods: list(self.cors_methods, over.cors_methods),
            cors_headers: list(self.cors_headers, over.cors_headers),
            cors_max_age: over.cors_max_age.or(self.cors_max_age),
            tls_cert: over.tls_cert.or(self.tls_cert),
            tls_key: over.tls_key.or(self.tls_key),
            upstreams: if over.upstreams.is_empty() {
                self.upstreams
            } else {
                over.upstreams
            },
            idempotency: over.idempotency.or(self.idempotency),
            idempotency_ttl: over.idempotency_ttl.or(self.idempotency_ttl),
            retry_attempts: over.retry_attempts.or(self.retry_attempts),
        }
    }
}
