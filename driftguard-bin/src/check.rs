//! `driftguard check`: one comparison, a report, and an exit code for CI.

use std::collections::HashMap;
use std::process::ExitCode;

use driftguard_core::analysis::{AnalysisOutcome, DetectionSettings, analyze};
use driftguard_sources::{DumpLiveSource, FolderDesiredSource};

use crate::cli::{CheckArgs, OutputFormat};
use crate::fingerprint::key_from_env;
use crate::report;

/// Exit code when every desired resource is in sync.
pub const EXIT_IN_SYNC: u8 = 0;
/// Exit code when any resource drifted or is missing.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code when the check could not run.
pub const EXIT_ERROR: u8 = 2;

/// Runs the check and prints the report; errors go to stderr as one line.
pub fn run(args: &CheckArgs) -> ExitCode {
    match analyse(args) {
        Ok(outcome) => {
            let printed = match args.output {
                OutputFormat::Json => report::print_json(&outcome),
                OutputFormat::Table => report::print_table(&outcome),
            };
            if let Err(error) = printed {
                eprintln!("driftguard: cannot write the report: {error}");
                return ExitCode::from(EXIT_ERROR);
            }
            if outcome.summary.has_drift() {
                ExitCode::from(EXIT_DRIFT)
            } else {
                ExitCode::from(EXIT_IN_SYNC)
            }
        }
        Err(error) => {
            eprintln!("driftguard: error: {error}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn analyse(args: &CheckArgs) -> anyhow::Result<AnalysisOutcome> {
    let key = key_from_env()?;
    let desired = FolderDesiredSource::new(&args.desired, key.clone()).read()?;
    let live = DumpLiveSource::new(&args.live_dir, key).read()?;
    let settings = DetectionSettings {
        namespaces: args.namespaces.clone(),
        ..DetectionSettings::default()
    };
    Ok(analyze(
        desired,
        live,
        &HashMap::new(),
        &settings,
        chrono::Utc::now(),
    )?)
}
