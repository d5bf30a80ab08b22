//! Query parameters and path segments: decoding and validation into store filters.
//!
//! Every API v1 endpoint declares the parameters it accepts; anything else, a parameter
//! given twice, or a value out of range is a 400 that names the parameter. An empty value
//! (`namespace=`) counts as not given, so forms can send every field.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use driftguard_core::ports::{EventFilter, RecordFilter, RecordSort, SortKey, TimelineQuery};
use driftguard_core::{DriftStatus, DriftType, ResourceId, Severity};
use percent_encoding::percent_decode_str;

use super::cursor;
use super::reply::{ApiError, echo};

/// Records or events an answer holds when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` accepted.
pub(crate) const MAX_LIMIT: usize = 1000;
/// The longest namespace name Kubernetes allows.
const MAX_NAMESPACE_LEN: usize = 63;

/// The longest `q` accepted, in characters.
pub(crate) const MAX_TEXT_LEN: usize = 200;
/// The most buckets a timeline answers.
pub(crate) const MAX_TIMELINE_BUCKETS: usize = 720;

/// Parameters of the record lists.
pub(crate) const LIST_PARAMS: &[&str] = &[
    "cluster",
    "namespace",
    "application",
    "drift_detected",
    "drift_status",
    "limit",
    "offset",
    "severity",
    "type",
    "q",
    "sort",
];
/// Parameters of the active and resolved lists, whose status is fixed.
pub(crate) const STATUS_LIST_PARAMS: &[&str] = &[
    "cluster",
    "namespace",
    "application",
    "limit",
    "offset",
    "severity",
    "type",
    "q",
    "sort",
];
/// Parameters of the statistics timeline.
pub(crate) const TIMELINE_PARAMS: &[&str] = &["cluster", "window", "step"];
/// The windows of a timeline, by name, with their length in seconds.
const TIMELINE_WINDOWS: &[(&str, i64)] = &[
    ("1h", 3600),
    ("24h", 24 * 3600),
    ("7d", 7 * 86_400),
    ("30d", 30 * 86_400),
];
/// The window of a timeline without `window`.
const DEFAULT_WINDOW: &str = "24h";
/// The steps of a timeline, by name, with their length in seconds.
const TIMELINE_STEPS: &[(&str, i64)] = &[
    ("5m", 300),
    ("15m", 900),
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("1d", 86_400),
];
/// The step of a timeline without `step`.
const DEFAULT_STEP: &str = "1h";
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

    /// `severity`: `High`, `Medium` or `Low` in any case, or several separated by commas.
    fn severities(&self) -> Result<Vec<Severity>, ApiError> {
        let all = [Severity::High, Severity::Medium, Severity::Low];
        self.list("severity", "`High`, `Medium` or `Low`", |item| {
            all.into_iter()
                .find(|s| s.as_str().eq_ignore_ascii_case(item))
        })
    }

    /// `type`: a drift type (in any case), or several separated by commas.
    fn drift_types(&self) -> Result<Vec<DriftType>, ApiError> {
        let known: Vec<&str> = DriftType::ALL.iter().map(|t| t.as_str()).collect();
        let expected = format!("a drift type ({})", known.join(", "));
        self.list("type", &expected, |item| item.parse::<DriftType>().ok())
    }

    /// The values of a comma-separated parameter `name`, each read by `item` (`None`: not
    /// one of the `expected` values), without repeats, in the order given.
    fn list<T: PartialEq>(
        &self,
        name: &str,
        expected: &str,
        item: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(Vec::new());
        };
        let mut values = Vec::new();
        for part in text.split(',') {
            let value = item(part.trim()).ok_or_else(|| {
                ApiError::bad_parameter(
                    name,
                    &format!("{expected}, or several separated by commas"),
                    part,
                )
            })?;
            if !values.contains(&value) {
                values.push(value);
            }
        }
        Ok(values)
    }

    /// `q`: text the resource id or a drift's path holds, at most [`MAX_TEXT_LEN`]
    /// characters.
    fn text(&self) -> Result<Option<String>, ApiError> {
        let Some(text) = self.get("q") else {
            return Ok(None);
        };
        if text.chars().count() > MAX_TEXT_LEN {
            return Err(ApiError::bad_parameter(
                "q",
                &format!("at most {MAX_TEXT_LEN} characters"),
                text,
            ));
        }
        Ok(Some(text.to_owned()))
    }

    /// `sort`: a sort key, optionally after `-` for descending.
    fn sort(&self) -> Result<RecordSort, ApiError> {
        let Some(text) = self.get("sort") else {
            return Ok(RecordSort::default());
        };
        text.parse().map_err(|_| {
            let keys: Vec<&str> = SortKey::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::bad_parameter(
                "sort",
                &format!(
                    "one of {}, optionally after `-` for descending",
                    keys.join(", ")
                ),
                text,
            )
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
            severities: self.severities()?,
            drift_types: self.drift_types()?,
            text: self.text()?,
            sort: self.sort()?,
            limit: Some(self.limit()?),
            offset: self.offset()?,
        })
    }

    /// The timeline asked for, up to the bucket holding `now`: `window` and `step` by
    /// name (24h and 1h by default), `cluster`. A step longer than the window, or more
    /// than [`MAX_TIMELINE_BUCKETS`] buckets, is a 400 naming `step`.
    pub(crate) fn timeline(&self, now: DateTime<Utc>) -> Result<TimelineParams, ApiError> {
        let pick = |name: &str, choices: &[(&'static str, i64)], default: &str| {
            let text = self.get(name).unwrap_or(default);
            choices
                .iter()
                .find(|(choice, _)| *choice == text)
                .copied()
                .ok_or_else(|| {
                    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                    ApiError::bad_parameter(name, &format!("one of {}", names.join(", ")), text)
                })
        };
        let (window, window_seconds) = pick("window", TIMELINE_WINDOWS, DEFAULT_WINDOW)?;
        let (step, step_seconds) = pick("step", TIMELINE_STEPS, DEFAULT_STEP)?;
        let cluster = self.cluster()?;
        if step_seconds > window_seconds {
            return Err(ApiError::bad_request(format!(
                "invalid query parameter `step`: a {step} step is longer than the {window} window"
            )));
        }
        let buckets = usize::try_from(window_seconds / step_seconds).unwrap_or(usize::MAX);
        if buckets > MAX_TIMELINE_BUCKETS {
            return Err(ApiError::bad_request(format!(
                "invalid query parameter `step`: a {step} step over {window} makes {buckets} \
                 buckets, more than {MAX_TIMELINE_BUCKETS}; choose a longer step or a shorter \
                 window"
            )));
        }
        Ok(TimelineParams {
            window,
            step,
            query: TimelineQuery::ending_with(
                now,
                TimeDelta::seconds(window_seconds),
                TimeDelta::seconds(step_seconds),
                cluster,
            ),
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

/// A timeline request: its window and step as named, and the buckets they make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimelineParams {
    /// `window`, e.g. `24h`.
    pub(crate) window: &'static str,
    /// `step`, e.g. `1h`.
    pub(crate) step: &'static str,
    /// The buckets and the cluster.
    pub(crate) query: TimelineQuery,
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
    fn severity_type_text_and_sort_become_a_filter() {
        let params = Params::parse(
            "severity=high,Medium,HIGH&type=scaling,VersionChange&q=IMAGE%5B0%5D&sort=-last_detected",
            STATUS_LIST_PARAMS,
        )
        .unwrap();
        let filter = params.record_filter(Some(DriftStatus::Active)).unwrap();
        assert_eq!(filter.severities, [Severity::High, Severity::Medium]);
        assert_eq!(
            filter.drift_types,
            [DriftType::Scaling, DriftType::VersionChange]
        );
        assert_eq!(filter.text.as_deref(), Some("IMAGE[0]"));
        assert_eq!(filter.sort.to_string(), "-last_detected");
        let defaults = Params::parse("severity=&type=&q=&sort=", LIST_PARAMS)
            .unwrap()
            .record_filter(None)
            .unwrap();
        assert!(defaults.severities.is_empty() && defaults.drift_types.is_empty());
        assert_eq!(
            (defaults.text, defaults.sort),
            (None, RecordSort::default())
        );
        let longest = "x".repeat(MAX_TEXT_LEN);
        let params = Params::parse(&format!("q={longest}"), LIST_PARAMS).unwrap();
        assert_eq!(params.record_filter(None).unwrap().text, Some(longest));
    }

    #[test]
    fn bad_severities_types_texts_and_sorts_name_their_parameter() {
        for (query, parameter, names) in [
            ("severity=Critical", "severity", "`High`, `Medium` or `Low`"),
            ("severity=High,", "severity", "got ``"),
            (
                "type=Scaling,Nope",
                "type",
                "AnnotationChange, ConfigMapChange",
            ),
            ("type=Nope", "type", "VolumeChange), or several"),
            ("sort=kind", "sort", "resource_id, severity, first_detected"),
            ("sort=--severity", "sort", "after `-` for descending"),
            ("sort=Severity", "sort", "got `Severity`"),
        ] {
            let params = Params::parse(query, LIST_PARAMS).unwrap();
            let message = error(params.record_filter(None));
            assert!(
                message.contains(&format!("`{parameter}`")) && message.contains(names),
                "{query}: {message}"
            );
        }
        let too_long = format!("q={}", "é".repeat(MAX_TEXT_LEN + 1));
        let message = error(
            Params::parse(&too_long, LIST_PARAMS)
                .unwrap()
                .record_filter(None),
        );
        assert!(
            message.contains("`q`: expected at most 200 characters"),
            "{message}"
        );
    }

    #[test]
    fn a_timeline_ends_with_the_bucket_of_now() {
        let now = DateTime::parse_from_rfc3339("2026-03-04T10:17:31Z")
            .unwrap()
            .with_timezone(&Utc);
        let asked = Params::parse("", TIMELINE_PARAMS)
            .unwrap()
            .timeline(now)
            .unwrap();
        assert_eq!((asked.window, asked.step), ("24h", "1h"));
        assert_eq!(asked.query.buckets, 24);
        assert_eq!(asked.query.from.to_rfc3339(), "2026-03-03T11:00:00+00:00");
        assert_eq!(asked.query.to().to_rfc3339(), "2026-03-04T11:00:00+00:00");
        assert_eq!(asked.query.cluster, None);
        let asked = Params::parse("window=30d&step=1h&cluster=east", TIMELINE_PARAMS)
            .unwrap()
            .timeline(now)
            .unwrap();
        assert_eq!(asked.query.buckets, 720);
        assert_eq!(asked.query.cluster.as_deref(), Some("east"));
        let asked = Params::parse("window=1h&step=15m", TIMELINE_PARAMS)
            .unwrap()
            .timeline(now)
            .unwrap();
        assert_eq!(asked.query.from.to_rfc3339(), "2026-03-04T09:30:00+00:00");
        assert_eq!(asked.query.buckets, 4);
    }

    #[test]
    fn bad_timelines_name_their_parameter() {
        for (query, named) in [
            ("window=2h", "`window`: expected one of 1h, 24h, 7d, 30d"),
            ("step=1m", "`step`: expected one of 5m, 15m, 1h, 6h, 1d"),
            (
                "window=1h&step=6h",
                "`step`: a 6h step is longer than the 1h window",
            ),
            (
                "window=7d&step=5m",
                "`step`: a 5m step over 7d makes 2016 buckets",
            ),
            ("window=30d&step=15m", "makes 2880 buckets, more than 720"),
            ("cluster=a%20b", "`cluster`"),
        ] {
            let params = Params::parse(query, TIMELINE_PARAMS).unwrap();
            let message = error(params.timeline(Utc::now()));
            assert!(message.contains(named), "{query}: {message}");
        }
        assert!(error(Params::parse("since=x", TIMELINE_PARAMS)).contains("`since`"));
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
