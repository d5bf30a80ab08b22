//! [`LeaseElection`]: a client for the API server that holds the leases, this instance's
//! identity, and one election task per cluster.

use std::fmt;

use driftguard_core::Leadership;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::kube::{ConfigEnvironment, classify, load_config};
use crate::lease::config::LeaderElectionConfig;
use crate::lease::elector::{Elector, Timings};
use crate::lease::identity::PodEnvironment;

/// Leader election over Kubernetes Leases: which API server holds them, in which
/// namespace, and who this instance is. [`spawn`](Self::spawn) runs the election of one
/// cluster.
#[derive(Clone)]
pub struct LeaseElection {
    client: kube::Client,
    config: LeaderElectionConfig,
    namespace: String,
    identity: String,
    server: Option<String>,
}

impl fmt::Debug for LeaseElection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseElection")
            .field("namespace", &self.namespace)
            .field("identity", &self.identity)
            .field("server", &self.server)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LeaseElection {
    /// Reads the configuration, finds the API server (`kubeconfig`, else `KUBECONFIG`,
    /// else `~/.kube/config`, else the pod's service account; `context` or the current
    /// one), the namespace and the identity, and builds the client.
    ///
    /// Sends no request, so it succeeds while the API server is down; the election keeps
    /// trying and warns. It does not look at `enabled`: that is the caller's decision.
    pub async fn connect(config: &LeaderElectionConfig) -> Result<Self, Error> {
        Self::connect_in(
            config,
            &ConfigEnvironment::from_process(),
            &PodEnvironment::from_process(),
        )
        .await
    }

    /// [`connect`](Self::connect) with the surroundings given instead of read from the
    /// process.
    pub async fn connect_in(
        config: &LeaderElectionConfig,
        environment: &ConfigEnvironment,
        pod: &PodEnvironment,
    ) -> Result<Self, Error> {
        config.validate()?;
        let origin = environment.resolve(config.kubeconfig.as_deref())?;
        let mut client_config = load_config(&origin, config.context.as_deref()).await?;
        client_config.connect_timeout = Some(config.renew_deadline());
        // Failed calls are retried by the election loop, within its deadlines.
        client_config.default_retry = false;
        let server = driftguard_core::redact::redact_url(
            client_config.cluster_url.to_string().trim_end_matches('/'),
        );
        let client = kube::Client::try_from(client_config)
            .map_err(|e| classify(e, format!("connect to {server}")))?;
        Ok(Self::build(client, config, pod, Some(server)))
    }

    /// An election over a client built by the caller (a custom transport, a test server);
    /// `config.kubeconfig` and `config.context` are not used. The namespace defaults as in
    /// [`connect`](Self::connect), the client's default namespace standing for the
    /// kubeconfig context's.
    pub fn from_client(client: kube::Client, config: &LeaderElectionConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self::build(
            client,
            config,
            &PodEnvironment::from_process(),
            None,
        ))
    }

    fn build(
        client: kube::Client,
        config: &LeaderElectionConfig,
        pod: &PodEnvironment,
        server: Option<String>,
    ) -> Self {
        let namespace = pod.namespace(config.namespace.as_deref(), client.default_namespace());
        let identity = pod.identity(config.identity.as_deref());
        Self {
            client,
            config: config.clone(),
            namespace,
            identity,
            server,
        }
    }

    /// This instance's name in the leases (`holderIdentity`).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The namespace of the leases.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The name of the Lease that elects `cluster`'s leader.
    pub fn lease_name(&self, cluster: &str) -> String {
        self.config.lease_name_for(cluster)
    }

    /// Starts the election of `cluster` in a tokio task (call it inside a tokio runtime)
    /// and returns what it decides: [`Leadership::Leader`] while this instance holds the
    /// lease, [`Leadership::Standby`] naming the holder otherwise. It starts as
    /// `Standby { leader: None }` and changes only when the role or the known leader
    /// changes.
    ///
    /// The task runs until `cancel`; a leader then publishes `Standby` and releases the
    /// lease (empty holder, one-second duration) so that a standby takes over at once.
    /// The channel closes (`changed()` fails) when the task has ended, release included:
    /// wait for that before exiting. Dropping the receivers does not stop the task.
    pub fn spawn(&self, cluster: &str, cancel: CancellationToken) -> watch::Receiver<Leadership> {
        let (sender, receiver) = watch::channel(Leadership::Standby { leader: None });
        let elector = Elector {
            api: Api::<Lease>::namespaced(self.client.clone(), &self.namespace),
            cluster: cluster.to_owned(),
            lease_name: self.lease_name(cluster),
            namespace: self.namespace.clone(),
            identity: self.identity.clone(),
            timings: Timings {
                lease_duration_seconds: self.config.lease_duration_seconds(),
                retry_period: self.config.retry_period(),
                renew_deadline: self.config.renew_deadline(),
            },
            server: self.server.clone(),
        };
        tracing::debug!(
            cluster,
            lease = %format!("{}/{}", elector.namespace, elector.lease_name),
            identity = %elector.identity,
            "starting leader election"
        );
        tokio::spawn(elector.run(sender, cancel));
        receiver
    }
}
