//! What the API server, its admission plugins and controllers write into objects beyond
//! plain defaults (the rules that use these tables are in
//! `crate::normalize::server_written`).

/// Labels the Job registry generates from the Job's uid and name
/// (pkg/registry/batch/job/strategy.go, `batch.kubernetes.io/*` from 1.27).
pub const JOB_LABELS: &[&str] = &[
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
];

/// Data keys the token controller writes into a service account token Secret
/// (pkg/controller/serviceaccount/tokens_controller.go).
pub const TOKEN_SECRET_KEYS: &[&str] = &["token", "ca.crt", "namespace"];

/// Where pod specs live in the objects that hold one.
pub const POD_SPEC_PATHS: &[&[&str]] = &[
    &["spec"],
    &["spec", "template", "spec"],
    &["spec", "jobTemplate", "spec", "template", "spec"],
    &["template", "spec"],
];

/// The prefix of the token volume the ServiceAccount admission plugin adds to Pods
/// (plugin/pkg/admission/serviceaccount/admission.go).
pub const TOKEN_VOLUME_PREFIX: &str = "kube-api-access";

/// Taints whose 300-second tolerations the DefaultTolerationSeconds admission plugin adds
/// (plugin/pkg/admission/defaulttolerationseconds/admission.go).
pub const DEFAULT_TOLERATION_KEYS: &[&str] = &[
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
];
