//! Metadata: what the API server and controllers write into `metadata`, the annotations
//! and labels that are not anybody's intent, and the annotations DriftGuard reads.

/// Metadata fields the API server writes and nobody declares.
pub const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "namespace",
];

/// The annotation in which `kubectl apply` keeps the last applied manifest.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Annotations written by controllers; a trailing `*` matches a prefix.
pub const DEFAULT_IGNORED_ANNOTATIONS: &[&str] = &[
    LAST_APPLIED_ANNOTATION,
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "control-plane.alpha.kubernetes.io/leader",
    "endpoints.kubernetes.io/last-change-trigger-time",
    "kubernetes.io/service-account.uid",
    "pv.kubernetes.io/*",
    "volume.kubernetes.io/*",
    "volume.beta.kubernetes.io/*",
    // The DaemonSet registry stamps every DaemonSet with its template generation.
    "deprecated.daemonset.template.generation",
    // Job tracking marker written by the Job controller (1.23 to 1.26).
    "batch.kubernetes.io/job-tracking",
    // An autoscaling/v2 HPA read at autoscaling/v1 carries its v2 status here.
    "autoscaling.alpha.kubernetes.io/conditions",
    "autoscaling.alpha.kubernetes.io/current-metrics",
    // Deployment tools record ownership in annotations that are not in Git.
    "meta.helm.sh/*",
    "argocd.argoproj.io/tracking-id",
    // Controllers of common platforms record status in annotations: GKE's network
    // endpoint groups, MetalLB's address pool, Rancher's endpoints.
    "cloud.google.com/neg",
    "cloud.google.com/neg-status",
    "metallb.universe.tf/ip-allocated-from-pool",
    "metallb.io/ip-allocated-from-pool",
    // Cloud load balancer controllers record what they built on the Service.
    "kubernetes.digitalocean.com/load-balancer-id",
    "loadbalancer.openstack.org/load-balancer-id",
    "service.kubernetes.io/backend-service",
    "service.kubernetes.io/firewall-rule*",
    "service.kubernetes.io/healthcheck",
    "service.kubernetes.io/tcp-forwarding-rule*",
    "service.kubernetes.io/udp-forwarding-rule*",
    "field.cattle.io/publicEndpoints",
    // The GCE ingress controller records the load balancer it built.
    "ingress.kubernetes.io/backends",
    "ingress.kubernetes.io/forwarding-rule",
    "ingress.kubernetes.io/https-forwarding-rule",
    "ingress.kubernetes.io/target-proxy",
    "ingress.kubernetes.io/https-target-proxy",
    "ingress.kubernetes.io/url-map",
    "ingress.kubernetes.io/ssl-cert",
    // The LimitRange admission plugin notes on each Pod which defaults it set.
    "kubernetes.io/limit-ranger",
    // GKE Autopilot's admission records how it adjusted requests.
    "autopilot.gke.io/*",
    // From 1.30 the API server mirrors a Pod's AppArmor fields into these annotations.
    // (Only an object's own annotations are filtered: a pod template's stay compared.)
    "container.apparmor.security.beta.kubernetes.io/*",
];

/// Labels written by the API server or controllers; a trailing `*` matches a prefix.
pub const DEFAULT_IGNORED_LABELS: &[&str] = &[
    "kubernetes.io/metadata.name",
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    // Flux records the Kustomization or HelmRelease that applied an object.
    "kustomize.toolkit.fluxcd.io/*",
    "helm.toolkit.fluxcd.io/*",
    // The API server marks service account token Secrets when they are used, and when
    // it invalidates unused ones.
    "kubernetes.io/legacy-token-last-used",
    "kubernetes.io/legacy-token-invalid-since",
];

/// The label Helm 3 puts on every object it installs, with Helm's value: whether the
/// chart's templates (and so Git's rendered manifests) say so or not.
pub const HELM_MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "Helm");

/// Annotations that make an object a deploy tool's hook (a Helm pre-install Job, a chart
/// test Pod, an Argo CD sync hook): run at deploy time and deleted by the tool, not state
/// the cluster is meant to keep. `helm template` renders them with the rest of a chart.
pub const HOOK_ANNOTATIONS: &[&str] = &["helm.sh/hook", "argocd.argoproj.io/hook"];

/// The annotation GKE Autopilot's admission writes when it sets a workload's container
/// resources (`autopilot.gke.io/resource-adjustment`): resources Git leaves out are then
/// the platform's, not somebody's edit.
pub const AUTOPILOT_RESOURCE_ADJUSTMENT: &str = "autopilot.gke.io/resource-adjustment";
