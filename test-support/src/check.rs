//! What a `driftguard check` run printed, read as a user reads it.

use std::process::Output;

use serde_json::Value;

/// The exit code and output of one `driftguard check --output json` run.
#[derive(Debug)]
pub struct CheckRun {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output: the JSON report.
    pub stdout: String,
    /// Standard error: warnings, and the error line when the check fails.
    pub stderr: String,
}

impl From<Output> for CheckRun {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl CheckRun {
    /// The JSON report.
    pub fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// `resource_id` → the record, for every record.
    pub fn records(&self) -> Vec<(String, Value)> {
        self.report()["records"]
            .as_array()
            .expect("the report lists records")
            .iter()
            .map(|r| {
                let id = r["resource_id"]
                    .as_str()
                    .expect("a record names its resource");
                (id.to_owned(), r.clone())
            })
            .collect()
    }

    /// `resource_id` → `drift_types`, for every record.
    pub fn types(&self) -> Vec<(String, Value)> {
        self.records()
            .into_iter()
            .map(|(id, record)| (id, record["drift_types"].clone()))
            .collect()
    }

    /// The ids of the records, in report order.
    pub fn ids(&self) -> Vec<String> {
        self.records().into_iter().map(|(id, _)| id).collect()
    }

    /// The record of `id`.
    pub fn record(&self, id: &str) -> Value {
        self.records()
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no record {id} in {:?}", self.ids()))
    }

    /// The error line, when the check exits 2: the last line of stderr (warnings may
    /// come before it).
    pub fn error(&self) -> &str {
        self.stderr.trim_end().lines().last().unwrap_or_default()
    }
}
