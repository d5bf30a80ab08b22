//! The `driftguard` command: `check` for CI, `serve` for the service, `config` to check
//! a configuration. Everything else lives in the library crates.

mod check;
mod cli;
mod config;
mod config_command;
mod error_text;
mod fingerprint;
mod logging;
mod report;
mod serve;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: an analysis allocates and frees millions of small JSON nodes, where it is
/// markedly faster than the system allocator (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
