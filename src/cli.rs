//! The `restgate` command line: clap arguments and the commands — `serve`
//! (the gateway), `routes` and `check` (the route table).
//!
//! Every command takes the same inputs ([`InputArgs`]): `.proto` files with
//! include directories, or encoded descriptor sets, or the descriptors the
//! upstreams serve by gRPC server reflection (`--upstream` with neither), or
//! — with none of these — the bundled example (`serve` needs an upstream or
//! `--demo`). Findings go to stderr as `file:line:col: error: message`;
//! the exit code is 0 when valid, 1 when not, 2 for bad usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod serve;

use crate::compile::{CompileOptions, Compiled, GoogleApiCreates, Input, RouteTable};
use crate::config::{ConfigError, LogFormat, ServeConfig, Settings};

pub use self::serve::{prepare, prepare_with_env, Prepared, StartError};

/// restgate: serve gRPC services as a REST/JSON API.
///
/// Methods annotated `(restgate.rest)` = { create: ... } become POSTs on
/// collections (201 Created + Location), { replace: ... } PUTs on items;
/// `(google.api.http)` rules are honoured as written.
#[derive(Debug, Parser)]
#[command(name = "restgate", version, about, long_about)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST routes, transcoding each request into a gRPC call.
    Serve(Box<ServeArgs>),
    /// Print the route table: one line (or JSON object) per REST binding.
    Routes {
        /// Where the services come from.
        #[command(flatten)]
        input: InputArgs,
        /// Or the upstreams whose server reflection serves them.
        #[command(flatten)]
        reflect: ReflectArgs,
        /// How the table is compiled.
        #[command(flatten)]
        compile: CompileArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write the OpenAPI 3.1 document of the REST routes.
    Openapi {
        /// Where the services come from.
        #[command(flatten)]
        input: InputArgs,
        /// Or the upstreams whose server reflection serves them.
        #[command(flatten)]
        reflect: ReflectArgs,
        /// How the table is compiled.
        #[command(flatten)]
        compile: CompileArgs,
        /// Write the document here instead of to stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// The document's info.title [default: restgate].
        #[arg(long)]
        title: Option<String>,
        /// The document's info.version, the API's own [default: 0.0.0].
        #[arg(long)]
        api_version: Option<String>,
        /// How a path variable spanning several segments is written:
        /// `expanded`, one parameter per `*` (`/v1/blogs/{blog}/posts/{post}`,
        /// what client generators can call), or `template`, one parameter
        /// holding the `/`s (`/v1/{name}`) [default: expanded].
        #[arg(long, value_name = "expanded|template")]
        openapi_path_params: Option<crate::openapi::PathParams>,
        /// The document's info.license, the API's licence as an SPDX
        /// identifier (e.g. Apache-2.0) [default: none].
        #[arg(long, value_name = "SPDX")]
        license: Option<String>,
    },
    /// Validate the annotations: exit 0 when valid, 1 with file:line:col
    /// diagnostics when not.
    Check {
        /// Where the services come from.
        #[command(flatten)]
        input: InputArgs,
        /// Or the upstreams whose server reflection serves them.
        #[command(flatten)]
        reflect: ReflectArgs,
        /// How the table is compiled.
        #[command(flatten)]
        compile: CompileArgs,
        /// Also say, per (google.api.http) post and per get on a template
        /// ending in a literal, which operation it is and why (a create or a
        /// plain POST; a list or a get of a singleton).
        #[arg(long, short = 'v')]
        verbose: bool,
    },
}

/// `restgate serve`: every setting of [`Settings`], plus where else to read
/// them from.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The settings given as flags.
    #[command(flatten)]
    pub settings: Settings,
    /// A TOML file with settings (see restgate.example.toml); flags override
    /// it, RESTGATE_* environment variables override both.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Start the bundled example service on a loopback port and serve it.
    #[arg(long, conflicts_with_all = ["upstream", "protos", "descriptor_sets"])]
    pub demo: bool,
}

impl ServeArgs {
    /// `restgate serve --demo`, with defaults: what a bare `restgate` runs.
    pub fn demo() -> ServeArgs {
        ServeArgs {
            settings: Settings::default(),
            config: None,
            demo: true,
        }
    }

    /// The file's settings, with the flags and then the process's
    /// `RESTGATE_*` variables on top.
    fn merged(&self) -> Result<ServeConfig, ConfigError> {
        self.merged_with(std::env::vars())
    }

    /// [`ServeArgs::merged`] with `env` in place of the process's
    /// environment.
    fn merged_with(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ServeConfig, ConfigError> {
        let file = match &self.config {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        let env = Settings::from_env(env)?;
        file.overlay(self.settings.clone()).overlay(env).resolve()
    }
}

/// Output formats of `restgate routes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// A JSON array, one object per binding, for scripts.
    Json,
}

/// Where the services come from. With no flag: the upstreams' reflection
/// (given `--upstream`), else the bundled example.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InputArgs {
    /// A .proto file to compile (no protoc needed); repeatable.
    #[arg(long = "proto", value_name = "FILE", num_args = 1.., conflicts_with = "descriptor_sets")]
    #[serde(default, rename = "proto")]
    pub protos: Vec<PathBuf>,
    /// An import directory for --proto; repeatable. Default: each file's own
    /// directory. google/api/*, google/protobuf/* and
    /// restgate/annotations.proto are built in.
    #[arg(short = 'I', long = "include", value_name = "DIR", requires = "protos")]
    #[serde(default, rename = "include")]
    pub includes: Vec<PathBuf>,
    /// A descriptor set, as written by `protoc --include_imports
    /// --descriptor_set_out` or `buf build -o`; repeatable.
    #[arg(long = "descriptor-set", value_name = "FILE", num_args = 1..)]
    #[serde(default, rename = "descriptor-set")]
    pub descriptor_sets: Vec<PathBuf>,
}

impl InputArgs {
    /// The [`Input`] these flags select.
    pub fn input(&self) -> Input {
        if !self.protos.is_empty() {
            Input::Protos {
                files: self.protos.clone(),
                includes: self.includes.clone(),
            }
        } else if !self.descriptor_sets.is_empty() {
            Input::DescriptorSets(self.descriptor_sets.clone())
        } else {
            Input::Bundled
        }
    }
}

/// `--upstream` of `routes`, `openapi` and `check`.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct ReflectArgs {
    /// Load the services from this upstream's gRPC server reflection (v1, or
    /// v1alpha): `URI` or `SERVICE=URI`, as for `serve`; repeatable, every
    /// upstream's files merged.
    #[arg(
        long = "upstream",
        value_name = "[SERVICE=]URI",
        num_args = 1..,
        conflicts_with_all = ["protos", "descriptor_sets"]
    )]
    pub upstream: Vec<String>,
}

/// The compile settings of `routes`, `openapi` and `check`, as `serve`
/// takes them; `RESTGATE_GOOGLE_API_CREATES` overrides the flag there too.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct CompileArgs {
    /// When a (google.api.http) post is a create (201 + Location): `auto`
    /// when the route table derives the created item's URI, `never` for
    /// none, as with grpc-gateway [default: auto].
    #[arg(long, value_name = "WHEN")]
    pub google_api_creates: Option<GoogleApiCreates>,
}

impl CompileArgs {
    /// The options: the environment's over the flag's, over the default.
    fn options(&self) -> Result<CompileOptions, crate::config::ConfigError> {
        const VAR: &str = "RESTGATE_GOOGLE_API_CREATES";
        let env = match std::env::var(VAR) {
            Ok(value) => Settings::from_env([(VAR.to_owned(), value)])?,
            Err(std::env::VarError::NotPresent) => Settings::default(),
            Err(e) => {
                return Err(ConfigError::Env {
                    name: VAR.to_owned(),
                    message: e.to_string(),
                })
            }
        };
        Ok(CompileOptions {
            google_api_creates: env
                .google_api_creates
                .or(self.google_api_creates)
                .unwrap_or_default(),
        })
    }
}

/// A call's deadline for the commands that have no `--timeout`: the
/// gateway's default.
const DEFAULT_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The descriptors `upstreams` serve by reflection, as an [`Input`]: each
/// upstream has its connect timeout plus `call_timeout` (or its own) to
/// answer.
fn reflected(
    upstreams: &crate::serve::Upstreams,
    call_timeout: std::time::Duration,
) -> Result<Input, String> {
    let specs: Vec<_> = (upstreams.default.iter())
        .chain(upstreams.by_service.values())
        .cloned()
        .collect();
    crate::upstream::reflected_input(&specs, call_timeout).map_err(|e| e.to_string())
}

/// What `routes`, `openapi` and `check` load: the upstreams' reflection
/// when given, else the inputs. `Err`: the exit code, the message printed.
fn command_input(input: &InputArgs, reflect: &ReflectArgs) -> Result<Input, ExitCode> {
    if reflect.upstream.is_empty() {
        return Ok(input.input());
    }
    let upstreams = crate::config::upstreams_of(&reflect.upstream).map_err(|e| {
        eprintln!("restgate: {e}");
        ExitCode::from(2)
    })?;
    reflected(&upstreams, DEFAULT_CALL_TIMEOUT).map_err(|e| {
        eprintln!("restgate: {e}");
        ExitCode::FAILURE
    })
}

/// Runs a command and returns the exit code.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve(args) => serve::serve(&args),
        Command::Routes {
            input,
            reflect,
            compile,
            format,
        } => with_table(&input, &reflect, &compile, |compiled| {
            print_routes(compiled, format)
        }),
        Command::Openapi {
            input,
            reflect,
            compile,
            output,
            title,
            api_version,
            openapi_path_params,
            license,
        } => with_table(&input, &reflect, &compile, |compiled| {
            let defaults = crate::openapi::OpenApiOptions::default();
            let options = crate::openapi::OpenApiOptions {
                title: title.unwrap_or(defaults.title),
                version: api_version.unwrap_or(defaults.version),
                path_params: openapi_path_params.unwrap_or(defaults.path_params),
                license,
                ..defaults
            };
            let document = crate::openapi::document(&compiled.table, &options);
            let mut text = serde_json::to_vec_pretty(&document).map_err(std::io::Error::other)?;
            text.push(b'\n');
            match &output {
                Some(path) => std::fs::write(path, text),
                None => std::io::stdout().lock().write_all(&text),
            }
        }),
        Command::Check {
            input,
            reflect,
            compile,
            verbose,
        } => with_table(&input, &reflect, &compile, |compiled| {
            let routes = compiled.table.routes();
            if verbose {
                let mut out = std::io::stdout().lock();
                for why in routes.iter().filter_map(|r| r.why()) {
                    writeln!(out, "{why}")?;
                }
            }
            let services: std::collections::BTreeSet<_> = routes
                .iter()
                .map(|r| r.rpc.parent_service().full_name().to_owned())
                .collect();
            println!(
                "ok: {} in {}",
                plural(routes.len(), "route"),
                plural(services.len(), "service")
            );
            Ok(())
        }),
    }
}

/// Loads and compiles the input; prints findings; runs `then` on success.
fn with_table(
    input: &InputArgs,
    reflect: &ReflectArgs,
    compile: &CompileArgs,
    then: impl FnOnce(&Compiled) -> std::io::Result<()>,
) -> ExitCode {
    let options = match compile.options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("restgate: {e}");
            return ExitCode::from(2);
        }
    };
    let input = match command_input(input, reflect) {
        Ok(input) => input,
        Err(code) => return code,
    };
    match RouteTable::load_with(&input, &options) {
        Ok(compiled) => {
            for warning in compiled.warnings.iter() {
                eprintln!("{warning}");
            }
            match then(&compiled) {
                Ok(()) => ExitCode::SUCCESS,
                // A closed stdout (`restgate routes | head`) is not a failure of ours.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("restgate: cannot write output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            let diagnostics = err.diagnostics();
            eprintln!("{diagnostics}");
            eprintln!("restgate: {}", plural(diagnostics.error_count(), "error"));
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr through tracing-subscriber, filtered by `RUST_LOG`
/// (default `info`), pretty or one JSON object per line, written by a
/// background thread ([`crate::serve::log_writer`]): hold the guard until
/// the process ends, so that the last lines are written out.
pub fn init_logging(format: LogFormat) -> crate::serve::log_writer::LogFlush {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal, never into a pipe or a log file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, flush) = crate::serve::log_writer::stderr_writer();
    if !ansi {
        // Access lines formatted by hand into the same writer, as the
        // subscriber would have written them (a terminal's coloured ones
        // still go through it).
        crate::serve::access_log::install(format, writer.clone());
    }
    let subscriber = crate::serve::log_writer::subscriber(format, filter, ansi, writer);
    // Also takes the `log` crate's records (as `fmt().try_init()` does).
    let _ = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber);
    flush
}

/// `1 route`, `3 routes`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn print_routes(compiled: &Compiled, format: Format) -> std::io::Result<()> {
    // Every binding, the shadowed ones too: they are what the protos say.
    let routes = compiled.table.bindings();
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let summaries: Vec<_> = routes.iter().map(|r| r.summary()).collect();
            serde_json::to_writer_pretty(&mut out, &summaries)?;
            writeln!(out)
        }
        Format::Table => print_table(&mut out, routes),
    }
}

/// The aligned route table `routes` and the demo print.
/// A shadowed binding's RPC cell says which RPC is served instead.
fn print_table<'r>(
    out: &mut impl Write,
    routes: impl IntoIterator<Item = &'r crate::compile::Route>,
) -> std::io::Result<()> {
    let rows: Vec<[String; 5]> = routes
        .into_iter()
        .map(|r| {
            let rpc = match &r.shadowed_by {
                Some(winner) => format!("{} (shadowed by {winner})", r.rpc_name()),
                None => r.rpc_name(),
            };
            [
                r.method.to_string(),
                r.template.as_str().to_owned(),
                r.kind.to_string(),
                rpc,
                r.body.selector().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    write_table(out, ["METHOD", "PATH", "KIND", "RPC", "BODY"], &rows)
}

/// Writes rows under a header, each column as wide as its widest cell.
pub fn write_table<const N: usize>(
    out: &mut impl Write,
    header: [&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(out, &cells)?;
    }
    Ok(())
}
