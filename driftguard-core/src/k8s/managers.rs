//! Field managers: the names `metadata.managedFields` records, and what their writes mean.
//!
//! Appliers put Git's manifests into the cluster; controllers (the control plane, and any
//! operator) write fields as part of normal operation; hand-edit tools are how people
//! change objects by hand. A manager no list names is taken for an operator. Every list
//! can be extended in configuration.
//!
//! An entry is a manager name, `name/Operation` (`Apply` or `Update`) to match one
//! operation only, or a prefix ending in `*`. When a manager matches several lists,
//! appliers come first, then controllers, then hand-edit tools.
//!
//! The names are those the tools send: kubectl sets `--field-manager` to `kubectl-<verb>`
//! (kubernetes/kubectl `pkg/cmd/*`, e.g. `kubectl-client-side-apply` in
//! `pkg/cmd/apply/apply.go`); a client that names no manager gets the product token of
//! its User-Agent (kubernetes/apiserver `pkg/endpoints/handlers/rest.go`,
//! `prefixFromUserAgent`), so Go programs that set none show as `Go-http-client` and a
//! web console proxying the browser's requests as `Mozilla`.

/// Field managers that apply manifests. `kubectl/Apply` is `kubectl apply --server-side`;
/// plain `kubectl` updates come from imperative commands such as `kubectl scale`.
pub const DEFAULT_APPLIERS: &[&str] = &[
    "kubectl-client-side-apply",
    "kubectl-create",
    "kubectl/Apply",
    "before-first-apply",
    "helm",
    "argocd-controller",
    "argocd-application-controller",
    "kustomize-controller",
    "helm-controller",
    "driftguard",
];

/// Field managers of the control plane, which write fields as part of normal operation.
pub const DEFAULT_CONTROLLERS: &[&str] = &[
    "kube-controller-manager",
    "kube-scheduler",
    "kube-apiserver",
    "kubelet",
    "cloud-controller-manager",
    "digitalocean-cloud-controller-manager",
    "clusterrole-aggregation-controller",
    // k3s and RKE2 run the controller manager inside their own binary, under its name.
    "k3s",
    "rke2",
    // OpenShift's controllers that label and annotate every namespace.
    "cluster-policy-controller",
    "pod-security-admission-label-synchronization-controller",
];

/// Field managers of the tools people edit objects with by hand.
pub const DEFAULT_HAND_EDITORS: &[&str] = &[
    // Every kubectl verb but the appliers above: edit, patch, set, label, annotate,
    // rollout, scale, replace, expose, taint, autoscale, ….
    "kubectl-*",
    // Imperative kubectl commands that send no manager of their own (`kubectl scale`).
    "kubectl/Update",
    // Dashboards and consoles.
    "k9s",
    "Lens",
    "OpenLens",
    "headlamp",
    "Headlamp",
    "dashboard",
    "kubernetes-dashboard",
    "Mozilla",
    // Default client names: a script or program that did not say who it is.
    "Go-http-client",
    "OpenAPI-Generator",
    "node-fetch",
    "python-requests",
    "curl",
];
