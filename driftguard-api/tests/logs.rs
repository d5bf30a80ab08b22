//! One JSON log line per drift event and per resolution, with the documented fields and
//! markers.
//!
//! A test binary of its own, so that its subscriber can be the global one and sees every
//! line the service logs, whatever thread it runs on.

#![allow(clippy::unwrap_used, missing_docs, dead_code)]

#[path = "service/fakes.rs"]
mod fakes;
#[path = "service/fixtures.rs"]
mod fixtures;
#[path = "service/harness.rs"]
mod harness;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::fixtures::REVISION;
use crate::harness::Harness;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON log line"))
            .collect()
    }
}

fn with_marker<'a>(lines: &'a [Value], marker: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(marker))
        })
        .collect()
}

#[tokio::test]
async fn drift_and_resolution_are_logged_once_each_with_their_fields() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    service.ports.live.inner.set(fixtures::live_in_sync());
    service.analyze().await;
    service.ports.desired.inner.fail();
    service.analyze().await;
    service.stop().await.unwrap();

    let lines = captured.lines();
    let drift = with_marker(&lines, "🚨");
    assert_eq!(drift.len(), 2, "one line per drift event: {drift:#?}");
    let web = drift
        .iter()
        .find(|l| l["fields"]["resource_id"] == "Deployment:shop:web")
        .expect("the web drift line");
    assert_eq!(web["level"], "WARN");
    assert_eq!(web["fields"]["drift_types"], "Scaling,VersionChange");
    assert_eq!(web["fields"]["severity"], "High");
    assert_eq!(web["fields"]["git_revision"], REVISION);
    assert_eq!(web["fields"]["event"], "drift_detected");

    let resolved = with_marker(&lines, "✅");
    assert_eq!(resolved.len(), 2, "one line per resolution: {resolved:#?}");
    let web = resolved
        .iter()
        .find(|l| l["fields"]["resource_id"] == "Deployment:shop:web")
        .expect("the web resolution line");
    assert_eq!(web["fields"]["drift_types"], "Scaling,VersionChange");
    assert_eq!(web["fields"]["severity"], "High");
    assert_eq!(web["fields"]["git_revision"], REVISION);
    assert_eq!(
        web["fields"]["resolution"],
        "the live state was reverted to match Git"
    );

    let analyses = with_marker(&lines, "🔄");
    let finished: Vec<_> = analyses
        .iter()
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .unwrap()
                .contains("finished")
        })
        .collect();
    assert_eq!(finished.len(), 2, "two successful analyses: {analyses:#?}");
    assert_eq!(finished[0]["fields"]["drifted"], 2);
    assert_eq!(finished[0]["fields"]["resources"], 3);

    let errors = with_marker(&lines, "❌");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["level"], "ERROR");
    assert_eq!(errors[0]["fields"]["component"], "desired_source");
}
