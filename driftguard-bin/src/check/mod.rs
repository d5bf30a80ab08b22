//! `driftguard check`: one comparison, a report, and an exit code for CI.
//!
//! The flags are an overlay on the configuration `serve` reads (the `overlay` module): they build
//! the same `Settings`, checked by the same rules and wired by the same code.

mod overlay;
mod read;

pub use read::DesiredObjects;

use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use driftguard_core::Severity;
use driftguard_core::analysis::AnalysisOutcome;
use tracing::Dispatch;
use tracing::dispatcher::{self, DefaultGuard};

use crate::cli::{CheckArgs, FailOn, OutputFormat};
use crate::report::{self, TableOptions};

/// Exit code when every desired resource is in sync (or drifted below `--fail-on`).
pub const EXIT_IN_SYNC: u8 = 0;
/// Exit code when any resource drifted at or above `--fail-on`, or is missing.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code when the check could not run, or could not observe what it was to compare.
pub const EXIT_ERROR: u8 = 2;

/// Runs the check with the process's stdin, stdout and stderr (see [`run_to`]).
pub fn run(args: &CheckArgs) -> ExitCode {
    // Standard output flushes at every line break; a report of many thousand records
    // would cost a system call per line.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    ExitCode::from(run_with(
        args,
        &mut std::io::stdin().lock(),
        &mut out,
        &mut std::io::stderr(),
    ))
}

thread_local! {
    /// On a thread of [`run_to`]'s runtime: its caller's subscriber, the default there
    /// for as long as the thread runs.
    static CALLER_LOGS: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
}

/// Runs the check with nothing on stdin (see [`run_with`]).
pub fn run_to(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    run_with(args, &mut std::io::empty(), out, err)
}

/// Runs the check: `--desired -` reads `stdin`; the report goes to `out`; warnings, and
/// an error as one line, go to `err`. Returns the exit code: [`EXIT_IN_SYNC`],
/// [`EXIT_DRIFT`] or [`EXIT_ERROR`].
///
/// It logs through `tracing` to the subscriber that is current where it is called, from
/// its runtime's threads too (so that a scoped subscriber also sees what the sources log
/// while they read files), and installs none.
pub fn run_with(
    args: &CheckArgs,
    stdin: &mut dyn std::io::Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let caller_logs = dispatcher::get_default(Dispatch::clone);
    let checked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(move || {
            let guard = dispatcher::set_default(&caller_logs);
            CALLER_LOGS.with(|logs| *logs.borrow_mut() = Some(guard));
        })
        .on_thread_stop(|| CALLER_LOGS.with(|logs| drop(logs.borrow_mut().take())))
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(read::analyse(args, stdin, err)));
    let checked = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let _ = writeln!(
                err,
                "driftguard: error: {}",
                crate::error_text::one_line(&error)
            );
            return EXIT_ERROR;
        }
    };
    let outcome = &checked.outcome;
    let printed = match args.output {
        OutputFormat::Json => report::print_json(outcome, out),
        OutputFormat::Table => report::print_table(
            outcome,
            &TableOptions {
                only_drifted: args.only_drifted,
            },
            out,
        ),
        OutputFormat::Diff => report::print_diff(outcome, &checked.desired_objects, out),
    }
    .and_then(|()| out.flush());
    if let Err(error) = printed {
        let _ = writeln!(err, "driftguard: cannot write the report: {error}");
        return EXIT_ERROR;
    }
    let not_observed = outcome.not_observed.len();
    if not_observed > 0 && !args.allow_unobserved {
        let _ = writeln!(
            err,
            "driftguard: error: {not_observed} desired resource{} could not be observed ({}); nothing says whether {} in sync: give the live side what it lacks (--resource-type, --namespace, RBAC), or pass --allow-unobserved to accept it",
            if not_observed == 1 { "" } else { "s" },
            first_reasons(outcome),
            if not_observed == 1 {
                "it is"
            } else {
                "they are"
            },
        );
        return EXIT_ERROR;
    }
    let code = if fails(outcome, args.fail_on) {
        EXIT_DRIFT
    } else {
        EXIT_IN_SYNC
    };
    // Freeing an analysis of many resources takes a while and nothing waits for it: the
    // process may well exit first.
    let _ = std::thread::Builder::new()
        .name("free-analysis".to_owned())
        .spawn(move || drop(checked));
    code
}

/// The first not-observed resources with why, for the one-line error.
fn first_reasons(outcome: &AnalysisOutcome) -> String {
    const SHOWN: usize = 3;
    let mut shown: Vec<String> = outcome
        .not_observed
        .iter()
        .take(SHOWN)
        .map(|n| format!("{}: {}", n.resource_id, n.explanation()))
        .collect();
    if outcome.not_observed.len() > SHOWN {
        shown.push(format!("and {} more", outcome.not_observed.len() - SHOWN));
    }
    crate::report::printable(&shown.join("; "))
}

/// The lowest severity `fail_on` fails on.
fn threshold(fail_on: FailOn) -> Severity {
    match fail_on {
        FailOn::High => Severity::High,
        FailOn::Medium => Severity::Medium,
        FailOn::Low => Severity::Low,
    }
}

/// Whether any resource drifted (or is missing) at or above the threshold.
fn fails(outcome: &AnalysisOutcome, fail_on: FailOn) -> bool {
    let threshold = threshold(fail_on);
    outcome
        .records
        .iter()
        .filter(|r| r.drift_detected)
        .any(|r| r.severity.is_some_and(|s| s >= threshold))
}
