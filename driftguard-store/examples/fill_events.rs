//! Adds a long event history to the records of a SQLite store, for load tests of the
//! statistics: `COUNT` events spread over the stored records, each resource alternately
//! detected and resolved, over the last 60 days (inside the default retention), saved
//! in time order through the store in batches of 10,000.
//!
//! ```text
//! cargo run --release -p driftguard-store --example fill_events -- DATABASE [COUNT]
//! ```
//!
//! `scripts/load/statistics.sh` runs it; COUNT defaults to 1,000,000.

use std::process::ExitCode;

use chrono::{Duration, Utc};
use driftguard_core::ports::{DriftStore, RecordFilter};
use driftguard_core::{DriftEvent, DriftType, EventKind, Severity};
use driftguard_store::SqliteStore;

/// Events per `save`.
const BATCH: usize = 10_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), count) = (args.next(), args.next()) else {
        eprintln!("usage: fill_events DATABASE [COUNT]");
        return ExitCode::from(2);
    };
    let count: usize = match count.as_deref().map(str::parse).unwrap_or(Ok(1_000_000)) {
        Ok(count) => count,
        Err(error) => {
            eprintln!("COUNT: {error}");
            return ExitCode::from(2);
        }
    };
    match fill(&path, count).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fill_events: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn fill(path: &str, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(path)?;
    let records = store.list(&RecordFilter::default()).await?;
    if records.is_empty() {
        return Err("the store holds no records to add events to".into());
    }
    let start = Utc::now() - Duration::days(60);
    // One round over every resource per step, steps spread evenly over 60 days.
    let rounds = count.div_ceil(records.len()).max(1);
    let step = Duration::days(60) / i32::try_from(rounds)?;
    let began = std::time::Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..count {
        let round = i / records.len();
        let record = &records[i % records.len()];
        let resolved = round % 2 == 1;
        batch.push(DriftEvent {
            cluster: "default".to_owned(),
            resource_id: record.resource_id.clone(),
            application: record.application.clone(),
            kind: if resolved {
                EventKind::DriftResolved
            } else {
                EventKind::DriftDetected
            },
            at: start
                + step * i32::try_from(round)?
                + Duration::milliseconds(i64::try_from(i % records.len())?),
            drift_types: vec![DriftType::Scaling],
            severity: Some(Severity::Medium),
            git_revision: Some(format!("{round:040x}")),
            message: format!(
                "{} {}",
                record.resource_id,
                if resolved { "resolved" } else { "drifted" }
            ),
            key: String::new(),
        });
        if batch.len() == BATCH {
            store.save(&[], &batch).await?;
            batch.clear();
        }
    }
    store.save(&[], &batch).await?;
    println!(
        "added {count} events to {} records in {:.1} s",
        records.len(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}
