//! The `driftguard` binary: parses the command line and runs it (see the library,
//! `src/lib.rs`).

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc: an analysis allocates and frees millions of small JSON nodes, where it is
/// markedly faster than the system allocator (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    driftguard_bin::run(&driftguard_bin::cli::Cli::parse())
}
