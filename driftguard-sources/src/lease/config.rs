//! The `leader_election` section of the configuration file, and the lease name of a
//! cluster.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// How long a lease lasts when configuration says nothing (client-go's default).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// The shortest lease accepted: `leaseDurationSeconds` counts whole seconds.
pub const MIN_LEASE_DURATION: Duration = Duration::from_secs(1);

/// The shortest pause between two attempts to acquire or renew the lease.
pub const MIN_RETRY_PERIOD: Duration = Duration::from_millis(100);

/// What every default lease name starts with.
pub const LEASE_NAME_PREFIX: &str = "driftguard-";

/// The longest name Kubernetes accepts for a Lease (a DNS-1123 subdomain).
const MAX_LEASE_NAME_LEN: usize = 253;

/// `leader_election`: whether replicas of one cluster's DriftGuard elect a leader over a
/// Kubernetes `Lease` (`coordination.k8s.io/v1`), and where that lease lives.
///
/// Only the leader analyses the cluster and writes its records; the other replicas serve
/// the API from the store. Unknown keys are refused, so a typo is an error that names it.
///
/// ```yaml
/// leader_election:
///   enabled: true
///   lease_duration: 15s
///   namespace: driftguard        # default: the pod's namespace
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeaderElectionConfig {
    /// Elect a leader among the replicas. Off (the default), every instance analyses.
    pub enabled: bool,
    /// The Lease's name. `None` (the default) names one lease per cluster,
    /// `driftguard-<cluster>` (see [`cluster_lease_name`]). When set, every cluster this
    /// instance analyses uses this one lease, so its holder leads all of them: set it only
    /// for an instance that analyses one cluster.
    pub lease_name: Option<String>,
    /// How long a leader's lease lasts without renewal: a standby takes the lease over
    /// once it has seen it unchanged this long. The leader renews every fifth of it (at
    /// least every 100 ms) and steps down when it could not renew for two thirds of it,
    /// before any standby may take over. At least `1s`; default `15s`. Stored in the
    /// lease rounded up to whole seconds.
    #[serde(with = "driftguard_core::config::duration")]
    pub lease_duration: Duration,
    /// The namespace of the Lease. `None`: the `POD_NAMESPACE` variable, then the pod's
    /// service account namespace
    /// (`/var/run/secrets/kubernetes.io/serviceaccount/namespace`), then the namespace of
    /// the kubeconfig context, then `default`.
    pub namespace: Option<String>,
    /// This instance's name in the lease (`holderIdentity`); it must differ between
    /// replicas. `None`: the `POD_NAME` variable, or else the host name, followed by
    /// `-<process id>` so that two processes on one host differ.
    pub identity: Option<String>,
    /// The kubeconfig of the API server that holds the leases. `None` follows kubectl's
    /// order: the `KUBECONFIG` variable, then `~/.kube/config`, then the pod's service
    /// account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use; `None` for its `current-context`.
    pub context: Option<String>,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            lease_name: None,
            lease_duration: DEFAULT_LEASE_DURATION,
            namespace: None,
            identity: None,
            kubeconfig: None,
            context: None,
        }
    }
}

/// A configuration error naming the key under `leader_election.`.
fn invalid(setting: &str, reason: impl std::fmt::Display) -> Error {
    Error::ApplicationConfig {
        reason: format!("leader_election.{setting}: {reason}"),
    }
}

impl LeaderElectionConfig {
    /// Checks every setting, naming the first bad one (`leader_election.<key>: …`).
    pub fn validate(&self) -> Result<(), Error> {
        if self.lease_duration < MIN_LEASE_DURATION {
            return Err(invalid(
                "lease_duration",
                format!(
                    "{:?} is too short; the lease lasts at least 1s (leaseDurationSeconds counts \
                     whole seconds)",
                    self.lease_duration
                ),
            ));
        }
        if i32::try_from(self.lease_duration.as_secs()).is_err() {
            return Err(invalid(
                "lease_duration",
                "is too long for a Lease's leaseDurationSeconds",
            ));
        }
        if let Some(name) = &self.lease_name
            && let Err(reason) = check_subdomain(name)
        {
            return Err(invalid(
                "lease_name",
                format!("`{name}` is not a Lease name: {reason}"),
            ));
        }
        if let Some(namespace) = &self.namespace
            && !is_dns_label(namespace)
        {
            return Err(invalid(
                "namespace",
                format!(
                    "`{namespace}` is not a namespace name (lowercase letters, digits and `-`, \
                     at most 63 characters)"
                ),
            ));
        }
        if let Some(identity) = &self.identity {
            check_identity(identity).map_err(|reason| invalid("identity", reason))?;
        }
        if self.context.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(
                "context",
                "is empty; leave it out to use the kubeconfig's current context",
            ));
        }
        Ok(())
    }

    /// The Lease that elects `cluster`'s leader: `lease_name`, or else
    /// [`cluster_lease_name`].
    pub fn lease_name_for(&self, cluster: &str) -> String {
        self.lease_name
            .clone()
            .unwrap_or_else(|| cluster_lease_name(cluster))
    }

    /// The pause between two attempts to acquire or renew: a fifth of the lease, at
    /// least [`MIN_RETRY_PERIOD`].
    pub fn retry_period(&self) -> Duration {
        (self.lease_duration / 5).max(MIN_RETRY_PERIOD)
    }

    /// How long a leader may go without a successful renewal before it steps down: two
    /// thirds of the lease, so it stops before any standby may take over.
    pub fn renew_deadline(&self) -> Duration {
        self.lease_duration * 2 / 3
    }

    /// `leaseDurationSeconds`: the lease duration rounded up to whole seconds, so that
    /// standbys wait at least as long as configured.
    pub fn lease_duration_seconds(&self) -> i32 {
        let seconds = self
            .lease_duration
            .as_secs()
            .saturating_add(u64::from(self.lease_duration.subsec_nanos() > 0));
        i32::try_from(seconds).unwrap_or(i32::MAX)
    }
}

/// The default Lease name of a cluster: `driftguard-` followed by the cluster name mapped
/// onto what a Lease name (a DNS-1123 subdomain) allows.
///
/// Cluster names may hold uppercase letters, `_` and `.`; Lease names may not hold the
/// first two, and their dot-separated parts must start and end with a letter or digit.
/// The mapping, always the same for the same name: letters are lowercased; `_` (and any
/// other character a Lease name refuses) becomes `-`; a `.` that does not sit between two
/// letters or digits becomes `-`; trailing `-` are dropped. So `Prod_EU.1` leads over
/// `driftguard-prod-eu.1`. Names that differ only in case, `_` against `-`, or trailing
/// `_` share a lease: give such clusters distinct names.
pub fn cluster_lease_name(cluster: &str) -> String {
    let lowered: Vec<char> = cluster
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.') => c,
            _ => '-',
        })
        .collect();
    let alphanumeric = |i: Option<&char>| i.is_some_and(char::is_ascii_alphanumeric);
    let mut mapped = String::with_capacity(LEASE_NAME_PREFIX.len() + lowered.len());
    mapped.push_str(LEASE_NAME_PREFIX);
    for (i, c) in lowered.iter().enumerate() {
        let between = i > 0 && alphanumeric(lowered.get(i - 1)) && alphanumeric(lowered.get(i + 1));
        mapped.push(if *c == '.' && !between { '-' } else { *c });
    }
    let trimmed = mapped.trim_end_matches('-');
    trimmed.chars().take(MAX_LEASE_NAME_LEN).collect()
}

/// A DNS-1123 label: what a namespace name must be.
pub(crate) fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Whether `name` is a DNS-1123 subdomain (what a Lease name must be), and why not.
pub(crate) fn check_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_LEASE_NAME_LEN {
        return Err(format!("it must have 1 to {MAX_LEASE_NAME_LEN} characters"));
    }
    for part in name.split('.') {
        let ok = !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !part.starts_with('-')
            && !part.ends_with('-');
        if !ok {
            return Err(
                "use lowercase letters, digits, `-` and `.`, each dot-separated part starting \
                 and ending with a letter or digit"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// Whether `identity` can name this instance in a lease.
pub(crate) fn check_identity(identity: &str) -> Result<(), String> {
    if identity.trim().is_empty() {
        return Err(
            "is empty; leave it out to use the pod name (or host name) and process id".to_owned(),
        );
    }
    if identity.len() > MAX_LEASE_NAME_LEN {
        return Err(format!("is longer than {MAX_LEASE_NAME_LEN} characters"));
    }
    if identity.chars().any(char::is_control) {
        return Err("holds control characters".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_are_off_valid_and_client_go_timed() {
        let config = LeaderElectionConfig::default();
        assert!(!config.enabled);
        config.validate().unwrap();
        assert_eq!(config.lease_duration, Duration::from_secs(15));
        assert_eq!(config.retry_period(), Duration::from_secs(3));
        assert_eq!(config.renew_deadline(), Duration::from_secs(10));
        assert_eq!(config.lease_duration_seconds(), 15);
        assert_eq!(config.lease_name_for("prod"), "driftguard-prod");
    }

    #[test]
    fn short_leases_keep_a_floor_on_the_retry_period_and_round_up() {
        let config = LeaderElectionConfig {
            lease_duration: Duration::from_millis(1500),
            ..Default::default()
        };
        assert_eq!(config.retry_period(), Duration::from_millis(300));
        assert_eq!(config.renew_deadline(), Duration::from_millis(1000));
        assert_eq!(config.lease_duration_seconds(), 2);
        let one = LeaderElectionConfig {
            lease_duration: Duration::from_secs(1),
            ..Default::default()
        };
        assert_eq!(one.retry_period(), Duration::from_millis(200));
        let tiny = LeaderElectionConfig {
            lease_duration: Duration::from_millis(400),
            ..Default::default()
        };
        assert_eq!(tiny.retry_period(), MIN_RETRY_PERIOD);
    }

    #[test]
    fn the_section_reads_from_yaml_and_refuses_unknown_keys() {
        let config: LeaderElectionConfig = serde_saphyr::from_str(
            "enabled: true\nlease_duration: 2s\nnamespace: ops\nidentity: a\nlease_name: my-lease\n",
        )
        .unwrap();
        assert!(config.enabled);
        assert_eq!(config.lease_duration, Duration::from_secs(2));
        assert_eq!(config.namespace.as_deref(), Some("ops"));
        assert_eq!(config.lease_name_for("any"), "my-lease");
        config.validate().unwrap();
        let seconds: LeaderElectionConfig = serde_saphyr::from_str("lease_duration: 20\n").unwrap();
        assert_eq!(seconds.lease_duration, Duration::from_secs(20));
        let typo = serde_saphyr::from_str::<LeaderElectionConfig>("lease_duraton: 2s\n");
        assert!(typo.unwrap_err().to_string().contains("lease_duraton"));
    }

    #[test]
    fn bad_settings_are_named() {
        let cases: Vec<(LeaderElectionConfig, &str)> = vec![
            (
                LeaderElectionConfig {
                    lease_duration: Duration::from_millis(999),
                    ..Default::default()
                },
                "leader_election.lease_duration",
            ),
            (
                LeaderElectionConfig {
                    lease_duration: Duration::from_secs(u64::from(u32::MAX)),
                    ..Default::default()
                },
                "leader_election.lease_duration",
            ),
            (
                LeaderElectionConfig {
                    lease_name: Some("Driftguard_Lease".to_owned()),
                    ..Default::default()
                },
                "leader_election.lease_name",
            ),
            (
                LeaderElectionConfig {
                    namespace: Some("Ops".to_owned()),
                    ..Default::default()
                },
                "leader_election.namespace",
            ),
            (
                LeaderElectionConfig {
                    identity: Some("  ".to_owned()),
                    ..Default::default()
                },
                "leader_election.identity",
            ),
            (
                LeaderElectionConfig {
                    context: Some(String::new()),
                    ..Default::default()
                },
                "leader_election.context",
            ),
        ];
        for (config, setting) in cases {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.starts_with(setting), "{setting}: {error}");
        }
    }

    #[test]
    fn cluster_names_map_onto_valid_lease_names() {
        for (cluster, lease) in [
            ("default", "driftguard-default"),
            ("Prod_EU", "driftguard-prod-eu"),
            ("prod-eu.1", "driftguard-prod-eu.1"),
            ("eu.west.2", "driftguard-eu.west.2"),
            ("a._b", "driftguard-a--b"),
            ("a..b", "driftguard-a--b"),
            (".x.", "driftguard--x"),
            ("x_", "driftguard-x"),
            ("_", "driftguard"),
        ] {
            let mapped = cluster_lease_name(cluster);
            assert_eq!(mapped, lease, "{cluster}");
            check_subdomain(&mapped).unwrap_or_else(|e| panic!("{mapped}: {e}"));
        }
        let longest = "A_.".repeat(21);
        check_subdomain(&cluster_lease_name(&longest)).unwrap();
    }
}
