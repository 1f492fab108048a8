//! The settings of `restgate serve`, from three places: a TOML file
//! (`--config`), the command-line flags, and `RESTGATE_*` environment
//! variables — each overriding the one before (SPEC §7: flags override the
//! file, the environment overrides both).
//!
//! One [`Settings`] type is all three: clap reads the flags into it, serde
//! reads the file into it, and the environment is read into it through the
//! same serde names (`RESTGATE_MAX_BODY_BYTES` is the file's
//! `max-body-bytes`). Nothing is given a default until the three are merged
//! ([`Settings::resolve`]), so "not set" never hides behind a default.
//! Unknown keys and bad values are errors naming the key.
//! `restgate.example.toml` documents every setting with its default.
//!
//! - `settings`: the [`Settings`] type itself, every key with its flag.
//! - `sources`: reading it from the file and the environment, and laying
//!   one source over another.
//! - `resolve`: defaults filled in and values checked, giving [`ServeConfig`].
//! - `upstreams`: the `[upstreams.NAME]` tables and `[SERVICE=]URI` entries
//!   turned into the gateway's upstreams.
//! - `error`: [`ConfigError`], naming the key of every problem.

mod error;
mod resolve;
mod settings;
mod sources;
mod upstreams;

pub use error::ConfigError;
pub use resolve::{ListenerTlsFiles, ServeConfig};
pub use settings::{LogFormat, Settings};
pub use sources::ENV_PREFIX;
pub(crate) use upstreams::upstreams_of;
pub use upstreams::{TlsTable, UpstreamTable};

#[cfg(test)]
mod tests;
