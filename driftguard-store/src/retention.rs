//! The `retention` section of the configuration: how long events and resolved records
//! are kept before [`DriftStore::prune`](driftguard_core::DriftStore::prune) deletes them.
//!
//! ```yaml
//! retention:
//!   events: 90d              # lifecycle events, by the time they happened
//!   resolved_records: 30d    # records in state `resolved`, by their `resolved_at`
//!   interval: 1h             # how often the service prunes (and once at start)
//! ```
//!
//! Durations use the format of every duration in the configuration: a number of seconds
//! or text such as `90d`, `12h`, `2w`. Records that are active or never drifted are
//! never pruned; the events of a pruned record stay until they are older than `events`
//! themselves, so the history and the trend statistics always cover the same window.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use driftguard_core::config::duration;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A day, in the units [`Duration`] counts.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// How long events are kept when `retention.events` is not set: 90 days.
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(90 * DAY.as_secs());
/// How long resolved records are kept when `retention.resolved_records` is not set:
/// 30 days.
pub const DEFAULT_RESOLVED_RECORD_RETENTION: Duration = Duration::from_secs(30 * DAY.as_secs());
/// How often the service prunes when `retention.interval` is not set: hourly.
pub const DEFAULT_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// `retention`: how long the store keeps what no longer describes the cluster now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Events older than this are deleted.
    #[serde(with = "duration")]
    pub events: Duration,
    /// Records resolved longer ago than this are deleted.
    #[serde(with = "duration")]
    pub resolved_records: Duration,
    /// Time between two prunes; the service also prunes once when it starts.
    #[serde(with = "duration")]
    pub interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            events: DEFAULT_EVENT_RETENTION,
            resolved_records: DEFAULT_RESOLVED_RECORD_RETENTION,
            interval: DEFAULT_PRUNE_INTERVAL,
        }
    }
}

/// The instants before which [`DriftStore::prune`](driftguard_core::DriftStore::prune)
/// deletes, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCutoffs {
    /// Events that happened before this are deleted.
    pub events: DateTime<Utc>,
    /// Resolved records whose `resolved_at` is before this are deleted.
    pub resolved_records: DateTime<Utc>,
}

impl RetentionConfig {
    /// Checks what deserialisation cannot: every duration longer than zero (a zero
    /// retention would delete history as it is written).
    pub fn validate(&self) -> Result<(), Error> {
        for (key, value) in [
            ("events", self.events),
            ("resolved_records", self.resolved_records),
            ("interval", self.interval),
        ] {
            if value.is_zero() {
                return Err(Error::Retention(format!(
                    "retention.{key} must be longer than zero"
                )));
            }
        }
        Ok(())
    }

    /// The cutoffs at `now`. A retention longer than the calendar can count back from
    /// `now` keeps everything.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> RetentionCutoffs {
        let back = |keep: Duration| {
            TimeDelta::from_std(keep)
                .ok()
                .and_then(|keep| now.checked_sub_signed(keep))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        RetentionCutoffs {
            events: back(self.events),
            resolved_records: back(self.resolved_records),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn parse(json: serde_json::Value) -> Result<RetentionConfig, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_keep_events_90_days_and_resolved_records_30() {
        let config = parse(serde_json::json!({})).expect("valid");
        assert_eq!(config, RetentionConfig::default());
        assert_eq!(config.events, Duration::from_secs(90 * 86_400));
        assert_eq!(config.resolved_records, Duration::from_secs(30 * 86_400));
        assert_eq!(config.interval, Duration::from_secs(3_600));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn reads_durations_like_every_other_section_and_writes_them_back() {
        let config = parse(serde_json::json!({
            "events": "2w", "resolved_records": "36h", "interval": 600
        }))
        .expect("valid");
        assert_eq!(config.events, Duration::from_secs(14 * 86_400));
        assert_eq!(config.resolved_records, Duration::from_secs(36 * 3_600));
        assert_eq!(config.interval, Duration::from_secs(600));
        let yaml = serde_saphyr::to_string(&config).expect("serialisable");
        let read: RetentionConfig = serde_saphyr::from_str(&yaml).expect("reads back");
        assert_eq!(read, config, "{yaml}");
    }

    #[test]
    fn refuses_unknown_keys_bad_durations_and_zero() {
        for (json, expected) in [
            (serde_json::json!({"event": "90d"}), "unknown field `event`"),
            (
                serde_json::json!({"events": "soon"}),
                "`soon` is not a duration",
            ),
        ] {
            let error = parse(json.clone()).expect_err("invalid");
            assert!(error.contains(expected), "{json}: {error}");
        }
        let zero = parse(serde_json::json!({"resolved_records": 0})).expect("parses");
        let error = zero.validate().expect_err("zero retention");
        assert!(
            error
                .to_string()
                .contains("retention.resolved_records must be longer than zero"),
            "{error}"
        );
    }

    #[test]
    fn cutoffs_count_back_from_now_and_saturate() {
        let now = Utc
            .with_ymd_and_hms(2026, 4, 1, 0, 0, 0)
            .single()
            .expect("valid time");
        let cutoffs = RetentionConfig::default().cutoffs(now);
        assert_eq!(
            cutoffs.events,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("valid")
        );
        assert_eq!(
            cutoffs.resolved_records,
            Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
                .single()
                .expect("valid")
        );
        let forever = RetentionConfig {
            events: Duration::from_secs(u64::MAX / 2),
            ..RetentionConfig::default()
        };
        assert_eq!(forever.cutoffs(now).events, DateTime::<Utc>::MIN_UTC);
    }
}
