//! Query parameters and path segments: decoding and validation into store filters.
//!
//! Every API v1 endpoint declares the parameters it accepts; anything else, a parameter
//! given twice, or a value out of range is a 400 that names the parameter. An empty value
//! (`namespace=`) counts as not given, so forms can send every field.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use driftguard_core::ports::{EventFilter, RecordFilter};
use driftguard_core::{DriftStatus, ResourceId};
use percent_encoding::percent_decode_str;

use super::cursor;
use super::reply::{ApiError, echo};

/// Records or events an answer holds when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` accepted.
pub(crate) const MAX_LIMIT: usize = 1000;
/// The longest namespace name Kubernetes allows.
const MAX_NAMESPACE_LEN: usize = 63;

/// Parameters of the record lists.
pub(crate) const LIST_PARAMS: &[&str] = &[
    "cluster",
    "namespace",
    "application",
    "drift_detected",
    "drift_status",
    "limit",
    "offset",
];
/// Parameters of the active and resolved lists, whose status is fixed.
pub(crate) const STATUS_LIST_PARAMS: &[&str] =
    &["cluster", "namespace", "application", "limit", "offset"];
/// Parameters of a resource's event history.
pub(crate) const EVENT_PARAMS: &[&str] = &["cluster", "since", "until", "limit", "cursor"];
/// Parameters of one record and of the statistics.
pub(crate) const CLUSTER_PARAMS: &[&str] = &["cluster"];

/// Decoded query parameters, each given at most once, all of them accepted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Params {
    values: HashMap<String, String>,
}

fn decode(text: &str, what: &str) -> Result<String, ApiError> {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| {
            ApiError::bad_request(format!(
                "{what} `{}` is not valid percent-encoded UTF-8",
                echo(text)
            ))
        })
}

impl Params {
    /// Parses `raw` (the query string without `?`), accepting only `allowed` names.
    pub(crate) fn parse(raw: &str, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut values = HashMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name, "the query parameter name")?;
            let value = decode(
                value,
                &format!("the value of query parameter `{}`", echo(&name)),
            )?;
            if !allowed.contains(&name.as_str()) {
                let accepted = if allowed.is_empty() {
                    "this endpoint takes no query parameters".to_owned()
                } else {
                    format!("accepted: {}", allowed.join(", "))
                };
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{}` ({accepted})",
                    echo(&name)
                )));
            }
            if values.contains_key(&name) {
                return Err(ApiError::bad_request(format!(
                    "query parameter `{name}` is given more than once"
                )));
            }
            values.insert(name, value);
        }
        values.retain(|_, v| !v.is_empty());
        Ok(Self { values })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    fn namespace(&self) -> Result<Option<String>, ApiError> {
        let Some(namespace) = self.get("namespace") else {
            return Ok(None);
        };
        let valid = namespace.len() <= MAX_NAMESPACE_LEN
            && namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !namespace.starts_with('-')
            && !namespace.ends_with('-');
        if valid {
            Ok(Some(namespace.to_owned()))
        } else {
            Err(ApiError::bad_parameter(
                "namespace",
                "a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)",
                namespace,
            ))
        }
    }

    fn application(&self) -> Result<Option<String>, ApiError> {
        let Some(name) = self.get("application") else {
            return Ok(None);
        };
        let valid = name.len() <= MAX_NAMESPACE_LEN
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            });
        if valid {
            Ok(Some(name.to_owned()))
        } else {
            Err(ApiError::bad_parameter(
                "application",
                "an application name (lowercase letters, digits, '-', '_' and '.', at most 63)",
                name,
            ))
        }
    }

    /// `cluster`: a cluster name as `cluster.name` accepts it.
    pub(crate) fn cluster(&self) -> Result<Option<String>, ApiError> {
        let Some(name) = self.get("cluster") else {
            return Ok(None);
        };
        let valid = name.len() <= driftguard_core::config::MAX_CLUSTER_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if valid {
            Ok(Some(name.to_owned()))
        } else {
            Err(ApiError::bad_parameter(
                "cluster",
                "a cluster name (letters, digits, '-', '_' and '.', at most 63)",
                name,
            ))
        }
    }

    fn drift_detected(&self) -> Result<Option<bool>, ApiError> {
        match self.get("drift_detected") {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_parameter(
                "drift_detected",
                "`true` or `false`",
                other,
            )),
        }
    }

    fn drift_status(&self) -> Result<Option<DriftStatus>, ApiError> {
        match self.get("drift_status") {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                ApiError::bad_parameter("drift_status", "`none`, `active` or `resolved`", text)
            }),
        }
    }

    fn limit(&self) -> Result<usize, ApiError> {
        let Some(text) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            _ => Err(ApiError::bad_parameter(
                "limit",
                &format!("a whole number from 1 to {MAX_LIMIT}"),
                text,
            )),
        }
    }

    fn offset(&self) -> Result<usize, ApiError> {
        let Some(text) = self.get("offset") else {
            return Ok(0);
        };
        text.parse::<usize>()
            .map_err(|_| ApiError::bad_parameter("offset", "a whole number from 0", text))
    }

    fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::bad_parameter(name, "an RFC 3339 time such as 2025-01-31T12:00:00Z", text)
            })
    }

    /// The record filter of a list; `status` fixes the lifecycle state (the active and
    /// resolved lists), otherwise `drift_status` may choose it.
    pub(crate) fn record_filter(
        &self,
        status: Option<DriftStatus>,
    ) -> Result<RecordFilter, ApiError> {
        Ok(RecordFilter {
            cluster: self.cluster()?,
            namespace: self.namespace()?,
            application: self.application()?,
            drift_detected: self.drift_detected()?,
            drift_status: match status {
                Some(status) => Some(status),
                None => self.drift_status()?,
            },
            limit: Some(self.limit()?),
            offset: self.offset()?,
        })
    }

    /// The event filter of one resource's history in `cluster`: `since` and `until`
    /// filter, `cursor` starts after the last event of an earlier page.
    pub(crate) fn event_filter(
        &self,
        cluster: String,
        id: ResourceId,
    ) -> Result<EventFilter, ApiError> {
        let since = self.time("since")?;
        let until = self.time("until")?;
        if let (Some(since), Some(until)) = (since, until)
            && since > until
        {
            return Err(ApiError::bad_request(
                "invalid query parameters `since` and `until`: `since` is after `until`",
            ));
        }
        Ok(EventFilter {
            cluster: Some(cluster),
            resource_id: Some(id),
            since,
            until,
            after: self.get("cursor").map(cursor::decode).transpose()?,
            limit: Some(self.limit()?),
        })
    }

    /// The 400 for a `cursor` that decoded but that the store refused: a cursor of
    /// another store, or a forged one.
    pub(crate) fn refused_cursor(&self) -> ApiError {
        ApiError::bad_parameter(
            "cursor",
            cursor::EXPECTED,
            self.get("cursor").unwrap_or_default(),
        )
    }
}

/// The resource id in a path segment, percent-decoded: `Deployment:shop:web`
/// (or `Deployment%3Ashop%3Aweb`), `ClusterRole::reader` for cluster-scoped objects.
pub(crate) fn resource_id(segment: &str) -> Result<ResourceId, ApiError> {
    let text = percent_decode_str(segment).decode_utf8().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid resource_id `{}`: not valid percent-encoded UTF-8",
            echo(segment)
        ))
    })?;
    text.parse::<ResourceId>().map_err(|error| {
        let reason = match error {
            driftguard_core::Error::InvalidResourceId { reason, .. } => reason,
            other => other.to_string(),
        };
        ApiError::bad_request(format!("invalid resource_id `{}`: {reason}", echo(&text)))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn error(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.status().as_u16(), 400);
        error.message().to_owned()
    }

    #[test]
    fn list_parameters_become_a_filter() {
        let params = Params::parse(
            "namespace=shop&drift_detected=true&drift_status=active&limit=5&offset=10",
            LIST_PARAMS,
        )
        .unwrap();
        let filter = params.record_filter(None).unwrap();
        assert_eq!(filter.namespace.as_deref(), Some("shop"));
        assert_eq!(filter.drift_detected, Some(true));
        assert_eq!(filter.drift_status, Some(DriftStatus::Active));
        assert_eq!(filter.limit, Some(5));
        assert_eq!(filter.offset, 10);
    }

    #[test]
    fn missing_and_empty_parameters_take_defaults() {
        let params = Params::parse("namespace=&limit=", LIST_PARAMS).unwrap();
        let filter = params.record_filter(Some(DriftStatus::Resolved)).unwrap();
        assert_eq!(filter.namespace, None);
        assert_eq!(filter.limit, Some(DEFAULT_LIMIT));
        assert_eq!(filter.offset, 0);
        assert_eq!(filter.drift_status, Some(DriftStatus::Resolved));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (query, parameter) in [
            ("drift_detected=maybe", "drift_detected"),
            ("limit=-1", "limit"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("offset=-3", "offset"),
            ("drift_status=gone", "drift_status"),
            ("namespace=Shop", "namespace"),
            ("namespace=-shop", "namespace"),
            ("application=Shop", "application"),
            ("application=a%20b", "application"),
        ] {
            let params = Params::parse(query, LIST_PARAMS).unwrap();
            let message = error(params.record_filter(None));
            assert!(
                message.contains(&format!("`{parameter}`")),
                "{query}: {message}"
            );
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let message = error(Params::parse("namespce=shop", LIST_PARAMS));
        assert!(message.contains("`namespce`"), "{message}");
        assert!(
            message.contains("namespace, application, drift_detected"),
            "{message}"
        );
        let message = error(Params::parse("drift_status=active", STATUS_LIST_PARAMS));
        assert!(message.contains("`drift_status`"), "{message}");
        let message = error(Params::parse("limit=1&limit=2", LIST_PARAMS));
        assert!(
            message.contains("`limit` is given more than once"),
            "{message}"
        );
        let message = error(Params::parse("x=1", &[]));
        assert!(message.contains("takes no query parameters"), "{message}");
    }

    #[test]
    fn values_are_percent_decoded() {
        let params =
            Params::parse("since=2025-01-31T12%3A00%3A00%2B01%3A00", EVENT_PARAMS).unwrap();
        let filter = params
            .event_filter(
                "default".to_owned(),
                ResourceId::namespaced("Deployment", "shop", "web"),
            )
            .unwrap();
        assert_eq!(
            filter.since.map(|t| t.to_rfc3339()),
            Some("2025-01-31T11:00:00+00:00".to_owned())
        );
        let message = error(Params::parse("namespace=%FF", LIST_PARAMS));
        assert!(message.contains("namespace"), "{message}");
    }

    #[test]
    fn event_times_must_be_rfc3339_and_ordered() {
        let params = Params::parse("since=yesterday", EVENT_PARAMS).unwrap();
        let id = ResourceId::namespaced("Deployment", "shop", "web");
        assert!(error(params.event_filter("default".to_owned(), id.clone())).contains("`since`"));
        let params = Params::parse(
            "since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z",
            EVENT_PARAMS,
        )
        .unwrap();
        assert!(
            error(params.event_filter("default".to_owned(), id))
                .contains("`since` is after `until`")
        );
    }

    #[test]
    fn a_cursor_starts_after_its_position_and_keeps_the_filters() {
        let position = driftguard_core::ports::EventPosition {
            at: DateTime::parse_from_rfc3339("2025-01-31T12:00:00.5Z")
                .unwrap()
                .with_timezone(&Utc),
            key: vec![0, 0, 0, 0, 0, 0, 0, 42],
        };
        let id = ResourceId::namespaced("Deployment", "shop", "web");
        let query = format!(
            "since=2025-01-31T00:00:00Z&limit=1&cursor={}",
            cursor::encode(&position)
        );
        let filter = Params::parse(&query, EVENT_PARAMS)
            .unwrap()
            .event_filter("default".to_owned(), id.clone())
            .unwrap();
        assert_eq!(filter.after, Some(position));
        assert_eq!(filter.limit, Some(1));
        assert!(filter.since.is_some());
        let params = Params::parse("cursor=bm90LWEtY3Vyc29y", EVENT_PARAMS).unwrap();
        assert!(error(params.event_filter("default".to_owned(), id)).contains("`cursor`"));
        assert!(
            params
                .refused_cursor()
                .message()
                .contains("bm90LWEtY3Vyc29y")
        );
    }

    #[test]
    fn resource_ids_are_decoded_and_checked() {
        assert_eq!(
            resource_id("Deployment%3Ashop%3Aweb").unwrap(),
            ResourceId::namespaced("Deployment", "shop", "web")
        );
        assert_eq!(
            resource_id("ClusterRole::reader").unwrap(),
            ResourceId::cluster_scoped("ClusterRole", "reader")
        );
        for bad in ["web", "Deployment:web", "%FF:a:b", ":shop:web"] {
            let message = error(resource_id(bad));
            assert!(
                message.starts_with("invalid resource_id"),
                "{bad}: {message}"
            );
        }
    }
}
