//! The `driftguard` command: `check` for CI, `serve` for the service, `config` to check
//! a configuration. Everything else lives in the library crates.
//!
//! [`run`] carries out a parsed command line; the binary (`src/main.rs`) only parses the
//! arguments and calls it. [`check::run_to`] runs `check` with its report, warnings and
//! error written to any [`std::io::Write`], so that it can also run in-process.

pub mod check;
pub mod cli;
mod config;
mod config_command;
mod error_text;
mod fingerprint;
pub mod logging;
mod report;
mod retention;
mod serve;
mod topology;
mod wiring;

use std::process::ExitCode;

/// Runs the command `cli` names, with logging set up for it, and returns its exit code.
pub fn run(cli: &cli::Cli) -> ExitCode {
    match &cli.command {
        cli::Command::Check(args) => {
            logging::init_for_command(cli.verbose);
            check::run(args)
        }
        cli::Command::Serve(args) => serve::run(args, cli.verbose),
        cli::Command::Config(command) => {
            logging::init_for_command(cli.verbose);
            config_command::run(command)
        }
    }
}
