//! The `driftguard` command.

mod check;
mod cli;
mod fingerprint;
mod logging;
mod report;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.verbose);
    match cli.command {
        cli::Command::Check(args) => check::run(&args),
    }
}
