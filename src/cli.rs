//! The `restgate` command line: clap arguments and the commands — `serve`
//! (the gateway), `routes` and `check` (the route table).
//!
//! Every command takes the same inputs ([`InputArgs`]): `.proto` files with
//! include directories, or encoded descriptor sets, or — with neither — the
//! bundled example. Findings go to stderr as `file:line:col: error: message`;
//! the exit code is 0 when valid, 1 when not, 2 for bad usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Uri};

use crate::compile::{Compiled, Input, RouteTable};
use crate::idempotency::StoreSpec;
use crate::serve::{runtime, ServeOptions, Shared, Upstreams};
use crate::transcode::JsonOptions;
use crate::upstream::RetryPolicy;

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
    Serve(ServeArgs),
    /// Print the route table: one line (or JSON object) per REST binding.
    Routes {
        /// Where the services come from.
        #[command(flatten)]
        input: InputArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Validate the annotations: exit 0 when valid, 1 with file:line:col
    /// diagnostics when not.
    Check {
        /// Where the services come from.
        #[command(flatten)]
        input: InputArgs,
    },
}

/// `restgate serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Where the services come from.
    #[command(flatten)]
    pub input: InputArgs,
    /// Where calls go: `URI` for every service, or `SERVICE=URI` (full
    /// service name, e.g. examples.v1.UserService=http://127.0.0.1:50051);
    /// repeatable.
    #[arg(long = "upstream", value_name = "[SERVICE=]URI", num_args = 1.., required_unless_present = "demo")]
    pub upstreams: Vec<String>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Start the bundled example service on a loopback port and serve it.
    #[arg(long, conflicts_with_all = ["upstreams", "protos", "descriptor_sets"])]
    pub demo: bool,
    /// Deadline of a call when the request has no Grpc-Timeout header (e.g. 30s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Largest request body accepted; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Drop unknown JSON fields and query parameters instead of answering 400.
    #[arg(long)]
    pub ignore_unknown_fields: bool,
    /// Write fields that hold their default value in replies.
    #[arg(long)]
    pub emit_unpopulated: bool,
    /// Write proto field names (user_id) in replies instead of lowerCamelCase.
    #[arg(long)]
    pub proto_field_names: bool,
    /// Another request header to pass to the service as metadata; repeatable.
    #[arg(long = "forward-header", value_name = "NAME")]
    pub forward_headers: Vec<HeaderName>,
    /// Worker threads, each with its own runtime, listener and upstream
    /// connections. Default: one per CPU.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Where Idempotency-Keys of POST and PATCH requests are kept: `memory`,
    /// `file:PATH` (survives a restart) or `redis://HOST:PORT[/DB]` (shared
    /// by several gateway replicas).
    #[arg(long, value_name = "STORE", default_value = "memory")]
    pub idempotency: StoreSpec,
    /// How long the answer of a keyed request is kept for replay.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = humantime::parse_duration)]
    pub idempotency_ttl: Duration,
    /// Tries in all for an idempotent call (PUT, GET, DELETE) that meets a
    /// transport failure or UNAVAILABLE; 1 never retries. POST and PATCH are
    /// never retried.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub retry_attempts: u32,
}

impl ServeArgs {
    /// `restgate serve --demo`, with defaults: what a bare `restgate` runs.
    pub fn demo() -> ServeArgs {
        ServeArgs::parse_from(["serve", "--demo"])
    }

    fn options(&self) -> ServeOptions {
        ServeOptions {
            timeout: self.timeout,
            max_body_bytes: self.max_body_bytes,
            json: JsonOptions {
                deny_unknown_fields: !self.ignore_unknown_fields,
                emit_unpopulated: self.emit_unpopulated,
                proto_field_names: self.proto_field_names,
            },
            forward_headers: self.forward_headers.clone(),
            retry: RetryPolicy {
                attempts: self.retry_attempts,
                ..RetryPolicy::default()
            },
            idempotency_ttl: self.idempotency_ttl,
        }
    }

    fn upstreams(&self) -> Result<Upstreams, String> {
        let mut upstreams = Upstreams::default();
        for spec in &self.upstreams {
            let (service, uri) = match spec.split_once('=') {
                Some((service, uri)) => (Some(service), uri),
                None => (None, spec.as_str()),
            };
            let uri: Uri = uri.parse().map_err(|e| format!("--upstream {spec}: {e}"))?;
            match service {
                Some(service) => {
                    upstreams.by_service.insert(service.to_owned(), uri);
                }
                None if upstreams.default.is_some() => {
                    return Err(format!("--upstream {spec}: only one upstream may serve every service; name the service with SERVICE=URI"))
                }
                None => upstreams.default = Some(uri),
            }
        }
        Ok(upstreams)
    }
}

/// Parses `ServeArgs` from a `serve ...` argument list (used for `--demo` defaults).
impl ServeArgs {
    fn parse_from<I: IntoIterator<Item = &'static str>>(args: I) -> ServeArgs {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Wrapper::parse_from(args).serve
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

/// Where the services come from. With no flag: the bundled example.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputArgs {
    /// A .proto file to compile (no protoc needed); repeatable.
    #[arg(long = "proto", value_name = "FILE", num_args = 1.., conflicts_with = "descriptor_sets")]
    pub protos: Vec<PathBuf>,
    /// An import directory for --proto; repeatable. Default: each file's own
    /// directory. google/api/*, google/protobuf/* and
    /// restgate/annotations.proto are built in.
    #[arg(short = 'I', long = "include", value_name = "DIR", requires = "protos")]
    pub includes: Vec<PathBuf>,
    /// A descriptor set, as written by `protoc --include_imports
    /// --descriptor_set_out` or `buf build -o`; repeatable.
    #[arg(long = "descriptor-set", value_name = "FILE", num_args = 1..)]
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

/// Runs a command and returns the exit code.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve(args) => serve(&args),
        Command::Routes { input, format } => {
            with_table(&input, |compiled| print_routes(compiled, format))
        }
        Command::Check { input } => with_table(&input, |compiled| {
            let routes = compiled.table.routes();
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
fn with_table(input: &InputArgs, then: impl FnOnce(&Compiled) -> std::io::Result<()>) -> ExitCode {
    match RouteTable::load(&input.input()) {
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

/// `restgate serve`: load, check, bind, print `listening on`, serve until
/// Ctrl-C or SIGTERM, then drain.
fn serve(args: &ServeArgs) -> ExitCode {
    let mut upstreams = match args.upstreams() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("restgate: {e}");
            return ExitCode::from(2);
        }
    };
    if args.demo {
        match crate::serve::start_example_service() {
            Ok(addr) => upstreams.default = format!("http://{addr}").parse().ok(),
            Err(e) => {
                eprintln!("restgate: cannot start the example service: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let compiled = match RouteTable::load(&args.input.input()) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("{}", err.diagnostics());
            eprintln!(
                "restgate: {}",
                plural(err.diagnostics().error_count(), "error")
            );
            return ExitCode::FAILURE;
        }
    };
    for warning in compiled.warnings.iter() {
        eprintln!("{warning}");
    }
    let store = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(args.idempotency.open())
                .map_err(|e| e.to_string())
        }) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("restgate: --idempotency {}: {e}", args.idempotency);
            return ExitCode::FAILURE;
        }
    };
    let shared = match Shared::new(compiled.table, &upstreams, args.options()) {
        Ok(s) => Arc::new(s.with_store(store)),
        Err(e) => {
            eprintln!("restgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let listeners = match runtime::bind(args.listen, workers) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("restgate: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .unwrap_or(args.listen);
    let table = Arc::clone(&shared);
    let running = match runtime::start(shared, listeners) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("restgate: cannot start workers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = format!("http://{addr}");
    if args.demo {
        let mut out = std::io::stdout().lock();
        let _ = print_table(&mut out, table.table.routes());
        let _ = writeln!(out, "\nTry:\n{}\n", crate::serve::demo_commands(&base));
    }
    println!(
        "listening on {base} ({} routes, {workers} workers)",
        table.table.routes().len()
    );
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, workers, "serving");

    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(runtime::stop_signal()),
        Err(e) => eprintln!("restgate: cannot wait for signals: {e}"),
    }
    tracing::info!("stopping: draining requests in flight");
    running.shutdown();
    ExitCode::SUCCESS
}

/// `1 route`, `3 routes`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn print_routes(compiled: &Compiled, format: Format) -> std::io::Result<()> {
    let routes = compiled.table.routes();
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
fn print_table(out: &mut impl Write, routes: &[crate::compile::Route]) -> std::io::Result<()> {
    let rows: Vec<[String; 5]> = routes
        .iter()
        .map(|r| {
            [
                r.method.to_string(),
                r.template.as_str().to_owned(),
                r.kind.to_string(),
                r.rpc_name(),
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
