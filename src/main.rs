//! The `restgate` binary: parse the command line, run the command.

use std::process::ExitCode;

use clap::Parser;
use restgate::cli::{self, Args};

fn main() -> ExitCode {
    let args = Args::parse();
    // A bare `restgate` is the demo: the example service behind the gateway.
    let command = args
        .command
        .unwrap_or_else(|| cli::Command::Serve(Box::new(cli::ServeArgs::demo())));
    cli::run(command)
}
