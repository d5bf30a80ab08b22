//! What is drifting now: the active records, kept by the analysis loop to count new drift
//! types and to compute the drift score without reading every record after each analysis.

use std::collections::{BTreeMap, HashMap};

use driftguard_core::{DriftRecord, DriftStatus, DriftType, ResourceId, Severity};

/// Weight of one active record in the drift score, by its severity.
///
/// The score of a namespace is the sum of these weights over its active records, so one
/// High drift outweighs three Medium ones and ten Low ones.
pub(crate) fn score_weight(severity: Option<Severity>) -> f64 {
    match severity {
        Some(Severity::High) => 10.0,
        Some(Severity::Medium) => 3.0,
        Some(Severity::Low) => 1.0,
        None => 0.0,
    }
}

/// One active record, reduced to what metrics need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActiveEntry {
    /// The namespace, `""` for cluster-scoped resources.
    pub(crate) namespace: String,
    /// The record's severity.
    pub(crate) severity: Option<Severity>,
    /// Each drift type with the highest severity among its drifts.
    pub(crate) types: BTreeMap<DriftType, Severity>,
}

impl ActiveEntry {
    fn of(record: &DriftRecord) -> Self {
        let mut types: BTreeMap<DriftType, Severity> = BTreeMap::new();
        for drift in &record.drifts {
            let severity = types.entry(drift.drift_type).or_insert(drift.severity);
            *severity = (*severity).max(drift.severity);
        }
        for drift_type in &record.drift_types {
            if let Some(severity) = record.severity {
                types.entry(*drift_type).or_insert(severity);
            }
        }
        Self {
            namespace: record.namespace.clone().unwrap_or_default(),
            severity: record.severity,
            types,
        }
    }
}

/// Active records counted for the `driftguard_active_drifts` and
/// `driftguard_active_drift_types` gauges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ActiveCounts {
    /// Active records by namespace (`""` for cluster-scoped) and record severity.
    pub(crate) by_severity: BTreeMap<(String, &'static str), u64>,
    /// Active records by namespace, drift type and the highest severity among the
    /// record's drifts of that type; a record counts once for each of its types.
    pub(crate) by_type: BTreeMap<(String, &'static str, &'static str), u64>,
}

/// The active records by resource id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ActiveDrift {
    entries: HashMap<ResourceId, ActiveEntry>,
}

impl ActiveDrift {
    /// The active ones among `records` (a store listing of active records).
    pub(crate) fn from_records(records: &[DriftRecord]) -> Self {
        let mut active = Self::default();
        active.apply(records);
        active
    }

    /// Takes in the records an analysis stored: active ones are added or replaced, the
    /// others removed. Records the analysis did not touch stay as they are.
    pub(crate) fn apply(&mut self, records: &[DriftRecord]) {
        for record in records {
            if record.drift_status == DriftStatus::Active {
                self.entries
                    .insert(record.resource_id.clone(), ActiveEntry::of(record));
            } else {
                self.entries.remove(&record.resource_id);
            }
        }
    }

    /// The entry of one resource, when it is active.
    pub(crate) fn get(&self, id: &ResourceId) -> Option<&ActiveEntry> {
        self.entries.get(id)
    }

    /// The drift score of every namespace with active drift.
    pub(crate) fn scores(&self) -> BTreeMap<String, f64> {
        let mut scores: BTreeMap<String, f64> = BTreeMap::new();
        for entry in self.entries.values() {
            *scores.entry(entry.namespace.clone()).or_default() += score_weight(entry.severity);
        }
        scores
    }

    /// The active records counted by namespace and severity, and by namespace, drift type
    /// and that type's severity, for the active drift gauges.
    pub(crate) fn counts(&self) -> ActiveCounts {
        let mut counts = ActiveCounts::default();
        for entry in self.entries.values() {
            if let Some(severity) = entry.severity {
                *counts
                    .by_severity
                    .entry((entry.namespace.clone(), severity.as_str()))
                    .or_default() += 1;
            }
            for (drift_type, severity) in &entry.types {
                *counts
                    .by_type
                    .entry((
                        entry.namespace.clone(),
                        drift_type.as_str(),
                        severity.as_str(),
                    ))
                    .or_default() += 1;
            }
        }
        counts
    }

    /// The entry `record` would have if it were active, for counting its drift types.
    pub(crate) fn entry_of(record: &DriftRecord) -> ActiveEntry {
        ActiveEntry::of(record)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Utc;
    use driftguard_core::{DriftDetail, DriftRecord, DriftStatus, DriftType, ResourceId, Severity};

    use super::*;

    /// A record of `id` in `status` with one drift per `(type, severity)`.
    pub(crate) fn record(
        id: &ResourceId,
        status: DriftStatus,
        drifts: &[(DriftType, Severity)],
    ) -> DriftRecord {
        let drifts: Vec<DriftDetail> = drifts
            .iter()
            .map(|(drift_type, severity)| DriftDetail {
                path: format!("spec.{}", drift_type.as_str()),
                drift_type: *drift_type,
                severity: *severity,
                desired: None,
                live: None,
                manager: None,
                hand_edit: false,
                unowned: false,
            })
            .collect();
        let mut types: Vec<DriftType> = drifts.iter().map(|d| d.drift_type).collect();
        types.sort_unstable();
        types.dedup();
        DriftRecord {
            cluster: "default".to_owned(),
            resource_id: id.clone(),
            api_version: "v1".to_owned(),
            kind: id.kind().to_owned(),
            namespace: id.namespace().map(str::to_owned),
            name: id.name().to_owned(),
            application: "default".to_owned(),
            drift_detected: !drifts.is_empty(),
            drift_status: status,
            severity: drifts.iter().map(|d| d.severity).max(),
            drift_types: types,
            drifts,
            desired_hash: "d".to_owned(),
            live_hash: Some("l".to_owned()),
            last_known_good_hash: None,
            git_revision: None,
            first_detected: None,
            last_detected: None,
            resolved_at: None,
            last_checked: Utc::now(),
            resolution_message: None,
            detection_count: 1,
        }
    }

    #[test]
    fn the_score_weighs_each_active_record_by_its_severity() {
        let web = ResourceId::namespaced("Deployment", "shop", "web");
        let api = ResourceId::namespaced("Deployment", "shop", "api");
        let labels = ResourceId::namespaced("Service", "shop", "front");
        let role = ResourceId::cluster_scoped("ClusterRole", "reader");
        let active = ActiveDrift::from_records(&[
            record(
                &web,
                DriftStatus::Active,
                &[
                    (DriftType::Scaling, Severity::Medium),
                    (DriftType::VersionChange, Severity::High),
                ],
            ),
            record(
                &api,
                DriftStatus::Active,
                &[(DriftType::Scaling, Severity::Medium)],
            ),
            record(
                &labels,
                DriftStatus::Active,
                &[(DriftType::LabelChange, Severity::Low)],
            ),
            record(
                &role,
                DriftStatus::Active,
                &[(DriftType::Other, Severity::Medium)],
            ),
        ]);
        let scores = active.scores();
        assert_eq!(scores.get("shop"), Some(&14.0));
        assert_eq!(scores.get(""), Some(&3.0));
        assert_eq!(scores.len(), 2);
    }

    #[test]
    fn counts_are_by_record_severity_and_by_type_with_its_own_severity() {
        let web = ResourceId::namespaced("Deployment", "shop", "web");
        let api = ResourceId::namespaced("Deployment", "shop", "api");
        let settings = ResourceId::namespaced("ConfigMap", "billing", "settings");
        let role = ResourceId::cluster_scoped("ClusterRole", "reader");
        let mut active = ActiveDrift::from_records(&[
            record(
                &web,
                DriftStatus::Active,
                &[
                    (DriftType::Scaling, Severity::Medium),
                    (DriftType::VersionChange, Severity::High),
                ],
            ),
            record(
                &api,
                DriftStatus::Active,
                &[(DriftType::Scaling, Severity::Medium)],
            ),
            record(
                &settings,
                DriftStatus::Active,
                &[(DriftType::ConfigurationChange, Severity::Medium)],
            ),
            record(
                &role,
                DriftStatus::Active,
                &[(DriftType::Other, Severity::Medium)],
            ),
        ]);
        let counts = active.counts();
        let by_severity: Vec<((&str, &str), u64)> = counts
            .by_severity
            .iter()
            .map(|((ns, s), n)| ((ns.as_str(), *s), *n))
            .collect();
        assert_eq!(
            by_severity,
            [
                (("", "Medium"), 1),
                (("billing", "Medium"), 1),
                (("shop", "High"), 1),
                (("shop", "Medium"), 1),
            ]
        );
        let by_type: Vec<((&str, &str, &str), u64)> = counts
            .by_type
            .iter()
            .map(|((ns, t, s), n)| ((ns.as_str(), *t, *s), *n))
            .collect();
        assert_eq!(
            by_type,
            [
                (("", "Other", "Medium"), 1),
                (("billing", "ConfigurationChange", "Medium"), 1),
                (("shop", "Scaling", "Medium"), 2),
                (("shop", "VersionChange", "High"), 1),
            ]
        );
        // Resolved records no longer count.
        active.apply(&[
            record(&web, DriftStatus::Resolved, &[]),
            record(&api, DriftStatus::Resolved, &[]),
            record(&settings, DriftStatus::Resolved, &[]),
            record(&role, DriftStatus::Resolved, &[]),
        ]);
        assert_eq!(active.counts(), ActiveCounts::default());
    }

    #[test]
    fn records_leave_the_view_when_no_longer_active() {
        let web = ResourceId::namespaced("Deployment", "shop", "web");
        let mut active = ActiveDrift::from_records(&[record(
            &web,
            DriftStatus::Active,
            &[(DriftType::Scaling, Severity::Medium)],
        )]);
        assert!(active.get(&web).is_some());
        active.apply(&[record(&web, DriftStatus::Resolved, &[])]);
        assert!(active.get(&web).is_none());
        assert!(active.scores().is_empty());
        // Records not active when listed are not taken in.
        let none = ActiveDrift::from_records(&[record(&web, DriftStatus::None, &[])]);
        assert_eq!(none, ActiveDrift::default());
    }

    #[test]
    fn each_type_keeps_the_highest_severity_of_its_drifts() {
        let web = ResourceId::namespaced("Deployment", "shop", "web");
        let entry = ActiveDrift::entry_of(&record(
            &web,
            DriftStatus::Active,
            &[
                (DriftType::ConfigurationChange, Severity::Low),
                (DriftType::ConfigurationChange, Severity::High),
                (DriftType::Scaling, Severity::Medium),
            ],
        ));
        assert_eq!(
            entry.types.get(&DriftType::ConfigurationChange),
            Some(&Severity::High)
        );
        assert_eq!(
            entry.types.get(&DriftType::Scaling),
            Some(&Severity::Medium)
        );
        assert_eq!(entry.namespace, "shop");
    }
}
