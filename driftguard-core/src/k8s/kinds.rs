//! Kinds: which are cluster-scoped and which namespaced, and which hold a pod template.
//!
//! A schema (the cluster's discovery, a CustomResourceDefinition) says more and wins; these
//! tables decide when nothing else tells.

/// Built-in kinds that are cluster-scoped (the `namespaced: false` resources of
/// kube-apiserver's discovery, `kubectl api-resources --namespaced=false`, Kubernetes 1.34).
/// A desired object of another kind without a namespace lives in its application's
/// destination namespace (`default` by default), as `kubectl apply` would put it.
pub const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "ClusterTrustBundle",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "DeviceClass",
    "FlowSchema",
    "IngressClass",
    "IPAddress",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "ResourceSlice",
    "RuntimeClass",
    "ServiceCIDR",
    "StorageClass",
    "StorageVersionMigration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "VolumeAttributesClass",
];

/// Kinds of widely installed extensions whose CustomResourceDefinitions declare them
/// cluster-scoped. They decide a desired object's id only when neither a definition nor
/// a live object of the kind says otherwise: a `ClusterIssuer` declared in Git and absent
/// from the cluster is `ClusterIssuer::name`, not `ClusterIssuer:default:name`.
pub const KNOWN_CLUSTER_SCOPED_CUSTOM_KINDS: &[&str] = &[
    // cert-manager, Kyverno and policy reports, External Secrets.
    "ClusterIssuer",
    "ClusterPolicy",
    "ClusterCleanupPolicy",
    "ClusterPolicyReport",
    "ClusterSecretStore",
    "ClusterExternalSecret",
    "ClusterGenerator",
    // Gateway API, CSI snapshots, Gatekeeper.
    "GatewayClass",
    "VolumeSnapshotClass",
    "VolumeSnapshotContent",
    "ConstraintTemplate",
    // Tekton, Argo Workflows, KEDA, Knative.
    "ClusterTask",
    "ClusterTriggerBinding",
    "ClusterInterceptor",
    "ClusterWorkflowTemplate",
    "ClusterTriggerAuthentication",
    "ClusterDomainClaim",
    // Calico and Cilium.
    "GlobalNetworkPolicy",
    "GlobalNetworkSet",
    "IPPool",
    "IPReservation",
    "FelixConfiguration",
    "BGPConfiguration",
    "BGPPeer",
    "HostEndpoint",
    "KubeControllersConfiguration",
    "CiliumClusterwideNetworkPolicy",
    "CiliumClusterwideEnvoyConfig",
    "CiliumNode",
    "CiliumIdentity",
    "CiliumLoadBalancerIPPool",
    "CiliumCIDRGroup",
    // Karpenter, Crossplane, Kueue.
    "NodePool",
    "NodeClaim",
    "EC2NodeClass",
    "AKSNodeClass",
    "CompositeResourceDefinition",
    "Composition",
    "DeploymentRuntimeConfig",
    "ClusterQueue",
    "ResourceFlavor",
    "WorkloadPriorityClass",
    // OpenShift.
    "SecurityContextConstraints",
    "ClusterResourceQuota",
];

/// Whether `kind` is a built-in cluster-scoped kind.
pub fn is_cluster_scoped_kind(kind: &str) -> bool {
    CLUSTER_SCOPED_KINDS.contains(&kind)
}

/// Built-in kinds that live in a namespace (`kubectl api-resources --namespaced=true`,
/// Kubernetes 1.34).
const NAMESPACED_KINDS: &[&str] = &[
    "Pod",
    "PodTemplate",
    "ReplicationController",
    "Service",
    "Endpoints",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "LimitRange",
    "ResourceQuota",
    "Event",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "ControllerRevision",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
    "NetworkPolicy",
    "EndpointSlice",
    "Role",
    "RoleBinding",
    "Lease",
    "CSIStorageCapacity",
];

/// Whether `kind` is a built-in namespaced kind.
pub fn is_namespaced_kind(kind: &str) -> bool {
    NAMESPACED_KINDS.contains(&kind)
}

/// Whether `kind` is a well-known cluster-scoped custom kind (see
/// [`KNOWN_CLUSTER_SCOPED_CUSTOM_KINDS`]); a guess for when nothing else tells.
pub fn is_known_cluster_scoped_custom_kind(kind: &str) -> bool {
    KNOWN_CLUSTER_SCOPED_CUSTOM_KINDS.contains(&kind)
}

/// Kinds whose pod template the API server defaults but never adds to: nothing but
/// defaulting touches a workload's template (admission plugins and webhooks rewrite the
/// Pods made from it, not the template). The workload kinds of `apps/v1`, `batch/v1`,
/// `v1` (ReplicationController, PodTemplate).
pub const POD_TEMPLATE_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
];

/// Whether `kind` is one of [`POD_TEMPLATE_KINDS`].
pub fn has_pod_template(kind: &str) -> bool {
    POD_TEMPLATE_KINDS.contains(&kind)
}

/// Whether `kind` is a built-in kind, cluster-scoped or namespaced.
pub fn is_built_in_kind(kind: &str) -> bool {
    is_cluster_scoped_kind(kind) || is_namespaced_kind(kind)
}

/// A built-in API resource: its plural name (as `kubectl get` and RBAC name it), its API
/// group (`""` for the core group) and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInResource {
    /// The plural resource name, e.g. `deployments`.
    pub plural: &'static str,
    /// The API group; `""` is the core group.
    pub group: &'static str,
    /// The kind, e.g. `Deployment`.
    pub kind: &'static str,
}

const fn resource(
    plural: &'static str,
    group: &'static str,
    kind: &'static str,
) -> BuiltInResource {
    BuiltInResource {
        plural,
        group,
        kind,
    }
}

/// The built-in resources DriftGuard reads and compares, by plural name (`kubectl
/// api-resources`, Kubernetes 1.34; the plural names are the REST paths of
/// `api/openapi-spec/v3` in kubernetes/kubernetes). Configuration names resource types by
/// these plurals; a live dump is checked against them by kind.
pub const BUILT_IN_RESOURCES: &[BuiltInResource] = &[
    resource("configmaps", "", "ConfigMap"),
    resource("endpoints", "", "Endpoints"),
    resource("limitranges", "", "LimitRange"),
    resource("namespaces", "", "Namespace"),
    resource("persistentvolumeclaims", "", "PersistentVolumeClaim"),
    resource("persistentvolumes", "", "PersistentVolume"),
    resource("pods", "", "Pod"),
    resource("podtemplates", "", "PodTemplate"),
    resource("replicationcontrollers", "", "ReplicationController"),
    resource("resourcequotas", "", "ResourceQuota"),
    resource("secrets", "", "Secret"),
    resource("serviceaccounts", "", "ServiceAccount"),
    resource("services", "", "Service"),
    resource("controllerrevisions", "apps", "ControllerRevision"),
    resource("daemonsets", "apps", "DaemonSet"),
    resource("deployments", "apps", "Deployment"),
    resource("replicasets", "apps", "ReplicaSet"),
    resource("statefulsets", "apps", "StatefulSet"),
    resource(
        "horizontalpodautoscalers",
        "autoscaling",
        "HorizontalPodAutoscaler",
    ),
    resource("cronjobs", "batch", "CronJob"),
    resource("jobs", "batch", "Job"),
    resource("leases", "coordination.k8s.io", "Lease"),
    resource("endpointslices", "discovery.k8s.io", "EndpointSlice"),
    resource("ingressclasses", "networking.k8s.io", "IngressClass"),
    resource("ingresses", "networking.k8s.io", "Ingress"),
    resource("networkpolicies", "networking.k8s.io", "NetworkPolicy"),
    resource("poddisruptionbudgets", "policy", "PodDisruptionBudget"),
    resource(
        "clusterrolebindings",
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
    ),
    resource("clusterroles", "rbac.authorization.k8s.io", "ClusterRole"),
    resource("rolebindings", "rbac.authorization.k8s.io", "RoleBinding"),
    resource("roles", "rbac.authorization.k8s.io", "Role"),
    resource("priorityclasses", "scheduling.k8s.io", "PriorityClass"),
    resource(
        "csistoragecapacities",
        "storage.k8s.io",
        "CSIStorageCapacity",
    ),
    resource("storageclasses", "storage.k8s.io", "StorageClass"),
    resource(
        "customresourcedefinitions",
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
    ),
    resource(
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    resource(
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
];

/// The built-in resource with this plural name, e.g. `deployments`.
pub fn built_in_resource(plural: &str) -> Option<&'static BuiltInResource> {
    BUILT_IN_RESOURCES.iter().find(|r| r.plural == plural)
}
