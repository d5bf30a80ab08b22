//! The stored records an analysis continues from.

use std::collections::HashMap;

use crate::ResourceId;
use crate::record::DriftRecord;

/// The stored records of one cluster, by resource id: what an analysis continues each
/// record's lifecycle from.
///
/// Each record is boxed. An analysis takes the records out as it makes their successors,
/// and a boxed record returns its memory as soon as it is replaced, where a map of
/// records would keep every slot (about 440 bytes each) until the analysis ends.
#[derive(Debug, Clone, Default)]
pub struct StoredRecords {
    by_id: HashMap<ResourceId, Box<DriftRecord>>,
}

impl StoredRecords {
    /// No stored record: the first analysis of a cluster, or a `check`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record of `id`, if one is stored and not yet taken.
    pub fn get(&self, id: &ResourceId) -> Option<&DriftRecord> {
        self.by_id.get(id).map(Box::as_ref)
    }

    /// Takes the record of `id` out, to make its successor from.
    pub(crate) fn take(&mut self, id: &ResourceId) -> Option<DriftRecord> {
        self.by_id.remove(id).map(|record| *record)
    }

    /// The records not taken, in no particular order.
    pub(crate) fn remaining(&self) -> impl Iterator<Item = &DriftRecord> {
        self.by_id.values().map(Box::as_ref)
    }

    /// How many records are held.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Extend<DriftRecord> for StoredRecords {
    /// Keys each record by its `resource_id`; of two with one id, the later is kept.
    fn extend<I: IntoIterator<Item = DriftRecord>>(&mut self, records: I) {
        let records = records.into_iter();
        self.by_id.reserve(records.size_hint().0);
        for record in records {
            self.by_id
                .insert(record.resource_id.clone(), Box::new(record));
        }
    }
}

impl FromIterator<DriftRecord> for StoredRecords {
    /// Keys each record by its `resource_id`; of two with one id, the later is kept.
    fn from_iter<I: IntoIterator<Item = DriftRecord>>(records: I) -> Self {
        let mut stored = Self::new();
        stored.extend(records);
        stored
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(id: &str) -> DriftRecord {
        let (kind, rest) = id.split_once(':').expect("Kind:namespace:name");
        let (namespace, name) = rest.split_once(':').expect("Kind:namespace:name");
        serde_json::from_value(json!({
            "resource_id": id, "api_version": "v1", "kind": kind,
            "namespace": namespace, "name": name, "drift_detected": false,
            "drift_status": "none", "drift_types": [], "drifts": [], "desired_hash": "00",
            "last_checked": "2026-01-01T00:00:00Z", "detection_count": 0
        }))
        .expect("a record")
    }

    #[test]
    fn a_taken_record_is_gone_and_the_others_remain() {
        let mut stored: StoredRecords = ["ConfigMap:shop:a", "ConfigMap:shop:b"]
            .into_iter()
            .map(record)
            .collect();
        let a: ResourceId = "ConfigMap:shop:a".parse().expect("an id");
        assert_eq!(stored.len(), 2);
        assert_eq!(
            stored.get(&a).map(|r| r.resource_id.clone()),
            Some(a.clone())
        );
        assert_eq!(stored.take(&a).map(|r| r.resource_id), Some(a.clone()));
        assert!(stored.get(&a).is_none() && stored.take(&a).is_none());
        let left: Vec<String> = stored
            .remaining()
            .map(|r| r.resource_id.to_string())
            .collect();
        assert_eq!(left, ["ConfigMap:shop:b"]);
    }
}
