//! Which drift events an analysis adds to the event counters.
//!
//! - `drift_detected`: one count per drift type of the event;
//! - `drift_changed`: one count per drift type that the record did not have before the
//!   change (a drift that merely changes value, or loses a type, adds nothing);
//! - `drift_resolved`: one resolution count per drift type that was resolved.
//!
//! The severity label of a type is the highest severity among the record's drifts of that
//! type, so a Scaling drift next to a VersionChange is counted as Medium, not High.

use std::collections::HashMap;

use driftguard_core::{DriftEvent, DriftRecord, DriftType, EventKind, ResourceId, Severity};

use crate::active::{ActiveDrift, ActiveEntry};
use crate::metrics::CountedDrift;

/// The counts one analysis adds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EventCounts {
    /// Increments of `driftguard_drift_events_total`.
    pub(crate) drift: Vec<CountedDrift>,
    /// Increments of `driftguard_drift_resolutions_total`.
    pub(crate) resolved: Vec<CountedDrift>,
}

/// The counts of `events`, given the records the analysis stored and the active drift
/// before the analysis.
pub(crate) fn count_events(
    records: &[DriftRecord],
    events: &[DriftEvent],
    before: &ActiveDrift,
) -> EventCounts {
    let by_id: HashMap<&ResourceId, &DriftRecord> =
        records.iter().map(|r| (&r.resource_id, r)).collect();
    let mut counts = EventCounts::default();
    for event in events {
        let namespace = event.resource_id.namespace().unwrap_or_default();
        let now = by_id
            .get(&event.resource_id)
            .map(|r| ActiveDrift::entry_of(r));
        let previous = before.get(&event.resource_id);
        let counted = |drift_type: DriftType, entry: Option<&ActiveEntry>| CountedDrift {
            drift_type: drift_type.as_str(),
            severity: severity_label(
                entry
                    .and_then(|e| e.types.get(&drift_type).copied())
                    .or(event.severity),
            ),
            namespace: namespace.to_owned(),
            application: event.application.clone(),
        };
        match event.kind {
            EventKind::DriftDetected => counts
                .drift
                .extend(event.drift_types.iter().map(|t| counted(*t, now.as_ref()))),
            EventKind::DriftChanged => counts.drift.extend(
                event
                    .drift_types
                    .iter()
                    .filter(|t| previous.is_none_or(|p| !p.types.contains_key(t)))
                    .map(|t| counted(*t, now.as_ref())),
            ),
            EventKind::DriftResolved => counts
                .resolved
                .extend(event.drift_types.iter().map(|t| counted(*t, previous))),
        }
    }
    counts
}

fn severity_label(severity: Option<Severity>) -> &'static str {
    severity.map_or("unknown", Severity::as_str)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use driftguard_core::DriftStatus;

    use super::*;
    use crate::active::tests::record;

    fn event(record: &DriftRecord, kind: EventKind, types: &[DriftType]) -> DriftEvent {
        DriftEvent {
            cluster: "default".to_owned(),
            resource_id: record.resource_id.clone(),
            application: record.application.clone(),
            kind,
            at: Utc::now(),
            drift_types: types.to_vec(),
            severity: record.severity,
            git_revision: None,
            message: String::new(),
            key: String::new(),
        }
    }

    fn counted(drift_type: &'static str, severity: &'static str, namespace: &str) -> CountedDrift {
        CountedDrift {
            drift_type,
            severity,
            namespace: namespace.to_owned(),
            application: "default".to_owned(),
        }
    }

    fn web() -> ResourceId {
        ResourceId::namespaced("Deployment", "shop", "web")
    }

    #[test]
    fn a_detection_counts_each_type_with_its_own_severity() {
        let now = record(
            &web(),
            DriftStatus::Active,
            &[
                (DriftType::Scaling, Severity::Medium),
                (DriftType::VersionChange, Severity::High),
            ],
        );
        let events = [event(
            &now,
            EventKind::DriftDetected,
            &[DriftType::Scaling, DriftType::VersionChange],
        )];
        let counts = count_events(std::slice::from_ref(&now), &events, &ActiveDrift::default());
        assert_eq!(
            counts.drift,
            [
                counted("Scaling", "Medium", "shop"),
                counted("VersionChange", "High", "shop")
            ]
        );
        assert!(counts.resolved.is_empty());
    }

    #[test]
    fn a_change_counts_only_the_types_that_are_new() {
        let before = ActiveDrift::from_records(&[record(
            &web(),
            DriftStatus::Active,
            &[(DriftType::Scaling, Severity::Medium)],
        )]);
        let now = record(
            &web(),
            DriftStatus::Active,
            &[
                (DriftType::Scaling, Severity::Medium),
                (DriftType::VersionChange, Severity::High),
            ],
        );
        let events = [event(
            &now,
            EventKind::DriftChanged,
            &[DriftType::Scaling, DriftType::VersionChange],
        )];
        let counts = count_events(std::slice::from_ref(&now), &events, &before);
        assert_eq!(counts.drift, [counted("VersionChange", "High", "shop")]);

        // A change that only alters values adds nothing.
        let events = [event(&now, EventKind::DriftChanged, &[DriftType::Scaling])];
        assert!(
            count_events(std::slice::from_ref(&now), &events, &before)
                .drift
                .is_empty()
        );
    }

    #[test]
    fn a_resolution_counts_the_resolved_types_with_their_former_severity() {
        let before = ActiveDrift::from_records(&[record(
            &web(),
            DriftStatus::Active,
            &[
                (DriftType::Scaling, Severity::Medium),
                (DriftType::VersionChange, Severity::High),
            ],
        )]);
        let mut resolved = record(&web(), DriftStatus::Resolved, &[]);
        resolved.severity = Some(Severity::High);
        let events = [event(
            &resolved,
            EventKind::DriftResolved,
            &[DriftType::Scaling, DriftType::VersionChange],
        )];
        let counts = count_events(std::slice::from_ref(&resolved), &events, &before);
        assert!(counts.drift.is_empty());
        assert_eq!(
            counts.resolved,
            [
                counted("Scaling", "Medium", "shop"),
                counted("VersionChange", "High", "shop")
            ]
        );
    }

    #[test]
    fn cluster_scoped_resources_count_under_the_empty_namespace() {
        let role = ResourceId::cluster_scoped("ClusterRole", "reader");
        let now = record(
            &role,
            DriftStatus::Active,
            &[(DriftType::Other, Severity::Medium)],
        );
        let events = [event(&now, EventKind::DriftDetected, &[DriftType::Other])];
        let counts = count_events(std::slice::from_ref(&now), &events, &ActiveDrift::default());
        assert_eq!(counts.drift, [counted("Other", "Medium", "")]);
    }
}
