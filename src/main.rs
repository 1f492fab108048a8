//! The `restgate` binary: parse the command line, run the command.

use std::process::ExitCode;

use clap::Parser;
use restgate::cli::{self, Args};

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Some(command) => cli::run(command),
        None => cli::run(cli::Command::Routes {
            input: cli::InputArgs::default(),
            format: cli::Format::Table,
        }),
    }
}
