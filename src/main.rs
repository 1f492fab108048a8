//! The `restgate` binary: parse the command line, run the command.

use std::process::ExitCode;

use clap::Parser;
use restgate::cli::{self, Args};

/// jemalloc, with background threads that hand memory freed for a second
/// back to the system (`.cargo/config.toml`): with the system allocator the
/// gateway kept the ~240 MB that 10,000 connections had taken after they
/// closed (benches/conn_memory.sh, BENCHMARKS.md).
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    // A bare `restgate` is the demo: the example service behind the gateway.
    let command = args
        .command
        .unwrap_or_else(|| cli::Command::Serve(Box::new(cli::ServeArgs::demo())));
    cli::run(command)
}
