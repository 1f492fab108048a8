//! The `restgate` command line: clap arguments, and the commands that read
//! the route table (`routes`, `check`).
//!
//! Every command takes the same inputs ([`InputArgs`]): `.proto` files with
//! include directories, or encoded descriptor sets, or — with neither — the
//! bundled example. Findings go to stderr as `file:line:col: error: message`;
//! the exit code is 0 when valid, 1 when not, 2 for bad usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::compile::{Compiled, Input, RouteTable};

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

/// Runs a command that reads the route table, and returns the exit code.
pub fn run(command: Command) -> ExitCode {
    match command {
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
        Format::Table => {
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
            write_table(&mut out, ["METHOD", "PATH", "KIND", "RPC", "BODY"], &rows)
        }
    }
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
