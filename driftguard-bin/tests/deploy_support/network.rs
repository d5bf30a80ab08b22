//! Whom a NetworkPolicy admits, by the rules of `networking.k8s.io/v1`
//! (kubernetes/api networking/v1/types.go): a peer with only a `namespaceSelector`
//! admits every pod of the selected namespaces, one with only a `podSelector` the
//! selected pods of the policy's own namespace, one with both the selected pods of the
//! selected namespaces; a rule without `from` or `ports` admits everyone or every port.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ContainerPort;
use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Labels, by key.
pub type Labels = BTreeMap<String, String>;

/// Labels from `(key, value)` pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Whether `selector` selects an object with `labels` (`matchLabels` and every
/// `matchExpressions` operator: In, NotIn, Exists, DoesNotExist).
pub fn selects(selector: &LabelSelector, labels: &Labels) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => panic!("unknown selector operator {other}"),
        }
    });
    by_label && by_expression
}

/// A pod that opens a connection: its namespace (name and labels) and its own labels.
#[derive(Debug, Clone)]
pub struct Client {
    /// The namespace's name.
    pub namespace: String,
    /// The namespace's labels (Kubernetes sets `kubernetes.io/metadata.name` on every one).
    pub namespace_labels: Labels,
    /// The pod's labels.
    pub pod_labels: Labels,
}

impl Client {
    /// A pod with `pod_labels` in namespace `namespace`, labelled as Kubernetes labels
    /// every namespace.
    pub fn new(namespace: &str, pod_labels: &[(&str, &str)]) -> Self {
        Self {
            namespace: namespace.to_owned(),
            namespace_labels: labels(&[("kubernetes.io/metadata.name", namespace)]),
            pod_labels: labels(pod_labels),
        }
    }
}

fn peer_admits(peer: &NetworkPolicyPeer, policy_namespace: &str, client: &Client) -> bool {
    assert!(peer.ip_block.is_none(), "no ipBlock: {peer:?}");
    match (&peer.namespace_selector, &peer.pod_selector) {
        (Some(namespaces), pods) => {
            selects(namespaces, &client.namespace_labels)
                && pods
                    .as_ref()
                    .is_none_or(|pods| selects(pods, &client.pod_labels))
        }
        (None, Some(pods)) => {
            client.namespace == policy_namespace && selects(pods, &client.pod_labels)
        }
        (None, None) => panic!("an empty peer: {peer:?}"),
    }
}

/// Whether the ingress rules of `policy` (in `policy_namespace`) let `client` reach the
/// selected pod's `port` (one of the pod's container ports).
pub fn admits(
    policy: &NetworkPolicySpec,
    policy_namespace: &str,
    client: &Client,
    port: &ContainerPort,
) -> bool {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    policy.ingress.iter().flatten().any(|rule| {
        let from = match &rule.from {
            None => true,
            Some(peers) => peers
                .iter()
                .any(|peer| peer_admits(peer, policy_namespace, client)),
        };
        let to_port = match &rule.ports {
            None => true,
            Some(ports) => ports.iter().any(|p| {
                p.protocol.as_deref().unwrap_or("TCP") == protocol
                    && match &p.port {
                        None => true,
                        Some(IntOrString::Int(n)) => {
                            (*n..=p.end_port.unwrap_or(*n)).contains(&port.container_port)
                        }
                        Some(IntOrString::String(name)) => port.name.as_deref() == Some(name),
                    }
            }),
        };
        from && to_port
    })
}
