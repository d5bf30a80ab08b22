//! Readiness: of the three components each analysed cluster depends on, and of the store
//! the whole instance serves from.
//!
//! A component is not ready until its first success, and after a failure until its next
//! success. A cluster's components are reported by its analysis loop; the store's health
//! by the API (store reads and the `/ready` probe's store ping) and by the analyses'
//! store writes. Only the store decides whether the instance can serve.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Gauge;
use serde::Serialize;

/// One component whose health decides readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Component {
    /// Where the desired state comes from (Git, a folder).
    DesiredSource,
    /// Where the live state comes from (the Kubernetes API, a dump).
    LiveSource,
    /// Where records and events are kept.
    Store,
}

impl Component {
    /// Every component, in report order.
    pub(crate) const ALL: [Component; 3] = [Self::DesiredSource, Self::LiveSource, Self::Store];

    /// The name used in answers and metric labels.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::DesiredSource => "desired_source",
            Self::LiveSource => "live_source",
            Self::Store => "store",
        }
    }

    /// What the first success of the component is, for "waiting for …".
    fn first_success(self) -> &'static str {
        match self {
            Self::DesiredSource => "read of the desired state",
            Self::LiveSource => "read of the live state",
            Self::Store => "store access",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::DesiredSource => 0,
            Self::LiveSource => 1,
            Self::Store => 2,
        }
    }
}

/// Why a component is not ready, as `/ready` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NotReady {
    /// The component.
    pub(crate) component: Component,
    /// What went wrong, or that it has not succeeded yet.
    pub(crate) reason: String,
    /// When it became not ready.
    pub(crate) since: DateTime<Utc>,
}

#[derive(Debug, Clone)]
enum State {
    Ready,
    NotReady {
        reason: String,
        since: DateTime<Utc>,
    },
}

/// The readiness of one cluster's components, shared by its analysis loop and the API.
#[derive(Debug)]
pub(crate) struct Readiness {
    states: Mutex<[State; 3]>,
    gauge: Gauge<u64>,
    /// `cluster="<name>"`, on each gauge series.
    cluster: KeyValue,
}

impl Readiness {
    /// Every component not ready yet; `gauge` mirrors the states as 1 (ready) or 0, with
    /// the label `cluster`.
    pub(crate) fn new((gauge, cluster): (Gauge<u64>, KeyValue), now: DateTime<Utc>) -> Self {
        let waiting = |component: Component| State::NotReady {
            reason: format!(
                "waiting for the first successful {}",
                component.first_success()
            ),
            since: now,
        };
        let readiness = Self {
            states: Mutex::new(Component::ALL.map(waiting)),
            gauge,
            cluster,
        };
        for component in Component::ALL {
            readiness.publish(component, false);
        }
        readiness
    }

    /// Every component not ready again, as when created: this instance has just become
    /// the cluster's leader, and what it knew from before is stale.
    pub(crate) fn restart(&self, now: DateTime<Utc>) {
        for component in Component::ALL {
            self.failed(
                component,
                format!(
                    "waiting for the first successful {}",
                    component.first_success()
                ),
                now,
            );
        }
    }

    /// Records a success of `component`.
    pub(crate) fn succeeded(&self, component: Component) {
        self.states()[component.index()] = State::Ready;
        self.publish(component, true);
    }

    /// Records a failure of `component`, keeping the time of the first failure in a row.
    pub(crate) fn failed(
        &self,
        component: Component,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) {
        let reason = reason.into();
        {
            let mut states = self.states();
            let since = match &states[component.index()] {
                State::NotReady { since, .. } => *since,
                State::Ready => now,
            };
            states[component.index()] = State::NotReady { reason, since };
        }
        self.publish(component, false);
    }

    /// The components that are not ready, in [`Component::ALL`] order; empty when all are.
    pub(crate) fn not_ready(&self) -> Vec<NotReady> {
        let states = self.states();
        Component::ALL
            .into_iter()
            .filter_map(|component| match &states[component.index()] {
                State::Ready => None,
                State::NotReady { reason, since } => Some(NotReady {
                    component,
                    reason: reason.clone(),
                    since: *since,
                }),
            })
            .collect()
    }

    fn states(&self) -> std::sync::MutexGuard<'_, [State; 3]> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, component: Component, ready: bool) {
        self.gauge.record(
            u64::from(ready),
            &[
                KeyValue::new("component", component.as_str()),
                self.cluster.clone(),
            ],
        );
    }
}

/// Whether the store answers: the one thing `/ready` answers 503 for, since without it
/// the instance can serve nothing.
#[derive(Debug)]
pub(crate) struct StoreHealth {
    state: Mutex<State>,
    gauge: Gauge<u64>,
}

impl StoreHealth {
    /// Not ready until the first store access succeeds; `gauge` mirrors the state as
    /// `driftguard_component_ready{component="store"}`.
    pub(crate) fn new(gauge: Gauge<u64>, now: DateTime<Utc>) -> Self {
        let health = Self {
            state: Mutex::new(State::NotReady {
                reason: format!(
                    "waiting for the first successful {}",
                    Component::Store.first_success()
                ),
                since: now,
            }),
            gauge,
        };
        health.publish(false);
        health
    }

    /// Records a successful store access.
    pub(crate) fn succeeded(&self) {
        *self.state() = State::Ready;
        self.publish(true);
    }

    /// Records a failed store access, keeping the time of the first failure in a row.
    pub(crate) fn failed(&self, reason: impl Into<String>, now: DateTime<Utc>) {
        {
            let mut state = self.state();
            let since = match &*state {
                State::NotReady { since, .. } => *since,
                State::Ready => now,
            };
            *state = State::NotReady {
                reason: reason.into(),
                since,
            };
        }
        self.publish(false);
    }

    /// Why the store is not ready; `None` when it is.
    pub(crate) fn not_ready(&self) -> Option<NotReady> {
        match &*self.state() {
            State::Ready => None,
            State::NotReady { reason, since } => Some(NotReady {
                component: Component::Store,
                reason: reason.clone(),
                since: *since,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, ready: bool) {
        self.gauge.record(
            u64::from(ready),
            &[KeyValue::new("component", Component::Store.as_str())],
        );
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::metrics::Metrics;

    fn readiness() -> Readiness {
        let metrics = Metrics::new().expect("metrics");
        Readiness::new(
            metrics.cluster("default").component_ready_gauge(),
            Utc::now(),
        )
    }

    #[test]
    fn nothing_is_ready_before_its_first_success() {
        let readiness = readiness();
        let components: Vec<Component> =
            readiness.not_ready().iter().map(|n| n.component).collect();
        assert_eq!(components, Component::ALL);
        readiness.succeeded(Component::Store);
        readiness.succeeded(Component::LiveSource);
        readiness.succeeded(Component::DesiredSource);
        assert!(readiness.not_ready().is_empty());
    }

    #[test]
    fn a_failure_lasts_until_the_next_success_and_keeps_its_start() {
        let readiness = readiness();
        for component in Component::ALL {
            readiness.succeeded(component);
        }
        let first = Utc::now();
        readiness.failed(Component::LiveSource, "timed out", first);
        readiness.failed(
            Component::LiveSource,
            "refused",
            first + Duration::seconds(30),
        );
        let not_ready = readiness.not_ready();
        assert_eq!(not_ready.len(), 1);
        assert_eq!(not_ready[0].component, Component::LiveSource);
        assert_eq!(not_ready[0].reason, "refused");
        assert_eq!(not_ready[0].since, first);
        readiness.succeeded(Component::LiveSource);
        assert!(readiness.not_ready().is_empty());
    }
}
