//! The values the API server fills in when a manifest leaves a field out, as data.
//!
//! A field only live has is normally a default and not drift. It still counts as drift
//! when the three-way rule or `managedFields` says somebody put it there; but when its value
//! is exactly what the server would fill in anyway, applying Git would leave it as it is,
//! so it is no drift either. That covers a default that Git once spelled out and later
//! dropped, and the defaults an object created by an imperative command owns from its
//! creation.
//!
//! The same knowledge works the other way: a field whose default the server fills in, with
//! a value that is not that default, was set by somebody. When `managedFields` cannot say
//! who (a dump written without them), such a field only live has is still drift.
//!
//! Each group of entries cites the upstream defaulting code it mirrors (paths in
//! k8s.io/kubernetes unless said otherwise). Entries are tried in order; the first whose
//! field, kinds, parent and condition match decides. Values are compared in canonical form
//! (see [`crate::normalize`]). A schema's `default`, where one is known, is consulted
//! before these tables.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::k8s::fields::may_be_user_map;
use crate::k8s::kinds::is_built_in_kind;

/// What the server fills in at one field.
#[derive(Debug, Clone, Copy)]
pub enum Fill {
    /// This string.
    Str(&'static str),
    /// This integer.
    Int(i64),
    /// This boolean.
    Bool(bool),
    /// This JSON value (a list or a map), written as JSON text.
    Json(&'static str),
    /// Any of these: one version's default, and what an older API version stored.
    AnyOf(&'static [Fill]),
    /// A default that differs between API versions: the current one's, and older
    /// versions' (`admissionregistration.k8s.io/v1beta1`). An object read at an older
    /// version holds that version's default.
    Versioned {
        /// The current versions' default.
        current: &'static Fill,
        /// Older `apiVersion`s and what they fill in.
        older: &'static [(&'static str, Fill)],
        /// Whether an object created through an older version and read at a current one
        /// still holds the older default (the API server stores defaults, it does not
        /// convert them), so that the older value is a default there too.
        stored: bool,
    },
    /// Whatever it holds: the server allocates it (a cluster IP, a node port) or a
    /// controller injects it (a CA bundle), and an update that leaves it out keeps it.
    Anything,
    /// A value that depends on the field's neighbours: `Some(true)` when `value` is the
    /// default, `Some(false)` when another value is, `None` when nothing is known.
    Computed(fn(value: &Value, siblings: &Map<String, Value>) -> Option<bool>),
}

impl Fill {
    /// Whether `value` is this default for an object read at `api_version` (empty when
    /// unknown).
    fn matches(
        &self,
        value: &Value,
        siblings: &Map<String, Value>,
        api_version: &str,
    ) -> Option<bool> {
        Some(match self {
            Self::Str(text) => value.as_str() == Some(*text),
            Self::Int(number) => value.as_i64() == Some(*number),
            Self::Bool(flag) => *value == Value::Bool(*flag),
            Self::Json(text) => serde_json::from_str::<Value>(text).is_ok_and(|d| d == *value),
            Self::AnyOf(fills) => fills
                .iter()
                .any(|fill| fill.matches(value, siblings, api_version) == Some(true)),
            Self::Versioned {
                current,
                older,
                stored,
            } => match older.iter().find(|(version, _)| *version == api_version) {
                Some((_, fill)) => return fill.matches(value, siblings, api_version),
                None => {
                    current.matches(value, siblings, api_version) == Some(true)
                        || (*stored
                            && older.iter().any(|(_, fill)| {
                                fill.matches(value, siblings, api_version) == Some(true)
                            }))
                }
            },
            Self::Anything => true,
            Self::Computed(compute) => return compute(value, siblings),
        })
    }
}

/// Which kinds an entry applies to.
#[derive(Debug, Clone, Copy)]
pub enum Kinds {
    /// Every kind.
    Any,
    /// These kinds.
    Only(&'static [&'static str]),
    /// Kinds whose name ends with this (`WebhookConfiguration`).
    EndingWith(&'static str),
}

/// Where the field is found.
#[derive(Debug, Clone, Copy)]
pub enum Parent {
    /// In any map.
    Any,
    /// At the top of the object.
    Root,
    /// In a map found at one of these fields (a list's items count as found at the list).
    In(&'static [&'static str]),
}

/// A condition on the neighbours of a field.
pub type Condition = fn(&Map<String, Value>) -> bool;

/// One default.
#[derive(Debug, Clone, Copy)]
pub struct ServerDefault {
    /// The field.
    pub field: &'static str,
    /// The kinds it applies to.
    pub kinds: Kinds,
    /// Where the field is found.
    pub parent: Parent,
    /// A condition on the field's neighbours.
    pub when: Option<Condition>,
    /// What the server fills in.
    pub fill: Fill,
}

/// A group of defaults and the upstream code it mirrors.
#[derive(Debug, Clone, Copy)]
pub struct DefaultsGroup {
    /// The upstream defaulting code.
    pub source: &'static str,
    /// Its defaults.
    pub entries: &'static [ServerDefault],
}

const fn at(field: &'static str, fill: Fill) -> ServerDefault {
    ServerDefault {
        field,
        kinds: Kinds::Any,
        parent: Parent::Any,
        when: None,
        fill,
    }
}

const fn within(
    field: &'static str,
    parents: &'static [&'static str],
    fill: Fill,
) -> ServerDefault {
    ServerDefault {
        field,
        kinds: Kinds::Any,
        parent: Parent::In(parents),
        when: None,
        fill,
    }
}

const fn of(
    kinds: &'static [&'static str],
    field: &'static str,
    parent: Parent,
    fill: Fill,
) -> ServerDefault {
    ServerDefault {
        field,
        kinds: Kinds::Only(kinds),
        parent,
        when: None,
        fill,
    }
}

const PROBES: &[&str] = &["livenessProbe", "readinessProbe", "startupProbe"];

/// Matches no value: a field a version does not default.
const NOTHING: Fill = Fill::AnyOf(&[]);

const ADMISSION_V1BETA1: &str = "admissionregistration.k8s.io/v1beta1";

/// A webhook default of v1 and what v1beta1 filled in; webhooks created through v1beta1
/// keep it when read at v1.
const fn webhook_default(current: &'static Fill, older: &'static [(&'static str, Fill)]) -> Fill {
    Fill::Versioned {
        current,
        older,
        stored: true,
    }
}
const INT32_MAX: i64 = i32::MAX as i64;

fn same_as(sibling: &'static str) -> impl Fn(&Value, &Map<String, Value>) -> bool {
    move |value, siblings| siblings.get(sibling) == Some(value)
}

/// `IfNotPresent`, or `Always` for an image without a tag or tagged `latest`.
fn default_pull_policy(image: Option<&str>) -> &'static str {
    let Some(image) = image else {
        return "IfNotPresent";
    };
    // As the API server reads it: `latest` when neither a tag nor a digest is given.
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, "latest")) => "Always",
        None if !image.contains('@') => "Always",
        _ => "IfNotPresent",
    }
}

fn pull_policy(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    let image = siblings.get("image").and_then(Value::as_str);
    Some(value.as_str() == Some(default_pull_policy(image)))
}

fn service_account(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    Some(same_as("serviceAccountName")(value, siblings))
}

fn requests_from_limits(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    Some(same_as("limits")(value, siblings))
}

fn target_port(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    Some(same_as("port")(value, siblings))
}

fn headless_without_selector(siblings: &Map<String, Value>) -> bool {
    siblings.get("clusterIP").and_then(Value::as_str) == Some("None")
        && !siblings.contains_key("selector")
}

fn ip_families(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    // The families follow the policy: one for single-stack, the cluster's for others.
    Some(
        value.as_array().is_some_and(|a| a.len() == 1)
            || siblings
                .get("ipFamilyPolicy")
                .and_then(Value::as_str)
                .is_some_and(|p| p != "SingleStack"),
    )
}

fn policy_types(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    let expected: &[&str] = if siblings.contains_key("egress") {
        &["Ingress", "Egress"]
    } else {
        &["Ingress"]
    };
    Some(value.as_array().is_some_and(|items| {
        items
            .iter()
            .map(Value::as_str)
            .eq(expected.iter().map(|e| Some(*e)))
    }))
}

fn subject_api_group(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    match siblings.get("kind").and_then(Value::as_str) {
        Some("User" | "Group") => Some(value.as_str() == Some("rbac.authorization.k8s.io")),
        _ => None,
    }
}

fn crd_singular(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    let kind = siblings.get("kind").and_then(Value::as_str)?;
    Some(value.as_str() == Some(kind.to_lowercase().as_str()))
}

fn crd_list_kind(value: &Value, siblings: &Map<String, Value>) -> Option<bool> {
    let kind = siblings.get("kind").and_then(Value::as_str)?;
    Some(value.as_str() == Some(format!("{kind}List").as_str()))
}

fn has_backoff_limit_per_index(siblings: &Map<String, Value>) -> bool {
    siblings.contains_key("backoffLimitPerIndex")
}

fn has_pod_failure_policy(siblings: &Map<String, Value>) -> bool {
    siblings.contains_key("podFailurePolicy")
}

/// Every default, by the upstream code that sets it.
pub const DEFAULTS: &[DefaultsGroup] = &[
    DefaultsGroup {
        source: "pkg/apis/core/v1/defaults.go: SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Probe, SetDefaults_HTTPGetAction, SetDefaults_ObjectFieldSelector, SetDefaults_*VolumeSource, SetDefaults_ResourceList (requests from limits)",
        entries: &[
            at("dnsPolicy", Fill::Str("ClusterFirst")),
            at("restartPolicy", Fill::Str("Always")),
            at("schedulerName", Fill::Str("default-scheduler")),
            at("terminationGracePeriodSeconds", Fill::Int(30)),
            at("serviceAccount", Fill::Computed(service_account)),
            at("enableServiceLinks", Fill::Bool(true)),
            at("imagePullPolicy", Fill::Computed(pull_policy)),
            at("terminationMessagePath", Fill::Str("/dev/termination-log")),
            at("terminationMessagePolicy", Fill::Str("File")),
            within(
                "requests",
                &["resources"],
                Fill::Computed(requests_from_limits),
            ),
            within("timeoutSeconds", PROBES, Fill::Int(1)),
            within("periodSeconds", PROBES, Fill::Int(10)),
            within("successThreshold", PROBES, Fill::Int(1)),
            within("failureThreshold", PROBES, Fill::Int(3)),
            at("scheme", Fill::Str("HTTP")),
            within("timeoutSeconds", &["clientIP"], Fill::Int(10800)),
            at("protocol", Fill::Str("TCP")),
            at("targetPort", Fill::Computed(target_port)),
            at("defaultMode", Fill::Int(420)),
            within(
                "expirationSeconds",
                &["serviceAccountToken"],
                Fill::Int(3600),
            ),
            within("apiVersion", &["fieldRef"], Fill::Str("v1")),
            at("divisor", Fill::Str("0")),
            within("apiVersion", &["volumeClaimTemplates"], Fill::Str("v1")),
            within(
                "kind",
                &["volumeClaimTemplates"],
                Fill::Str("PersistentVolumeClaim"),
            ),
            within("phase", &["status"], Fill::Str("Pending")),
            at("volumeMode", Fill::Str("Filesystem")),
            of(&["Secret"], "type", Parent::Root, Fill::Str("Opaque")),
            of(
                &["Namespace"],
                "finalizers",
                Parent::In(&["spec"]),
                Fill::Json(r#"["kubernetes"]"#),
            ),
            of(
                &["PersistentVolume"],
                "persistentVolumeReclaimPolicy",
                Parent::Any,
                Fill::Str("Retain"),
            ),
        ],
    },
    DefaultsGroup {
        // The ServiceAccount admission plugin gives a Pod without pull secrets its
        // account's.
        source: "plugin/pkg/admission/serviceaccount/admission.go (imagePullSecrets of Pods)",
        entries: &[of(
            &["Pod"],
            "imagePullSecrets",
            Parent::In(&["spec"]),
            Fill::Anything,
        )],
    },
    DefaultsGroup {
        source: "pkg/apis/core/v1/defaults.go: SetDefaults_Service, SetDefaults_ServiceSpec; pkg/registry/core/service (allocated cluster IPs and node ports)",
        entries: &[
            of(
                &["Service"],
                "type",
                Parent::In(&["spec"]),
                Fill::Str("ClusterIP"),
            ),
            at("sessionAffinity", Fill::Str("None")),
            at("internalTrafficPolicy", Fill::Str("Cluster")),
            at("externalTrafficPolicy", Fill::Str("Cluster")),
            at("allocateLoadBalancerNodePorts", Fill::Bool(true)),
            // A headless Service without a selector is dual-stack where the cluster is.
            ServerDefault {
                field: "ipFamilyPolicy",
                kinds: Kinds::Any,
                parent: Parent::Any,
                when: Some(headless_without_selector),
                fill: Fill::AnyOf(&[Fill::Str("SingleStack"), Fill::Str("RequireDualStack")]),
            },
            at("ipFamilyPolicy", Fill::Str("SingleStack")),
            of(&["Service"], "clusterIP", Parent::Any, Fill::Anything),
            of(&["Service"], "clusterIPs", Parent::Any, Fill::Anything),
            // An update that leaves allocated node ports out keeps them: applying Git
            // changes nothing.
            of(
                &["Service"],
                "nodePort",
                Parent::In(&["ports"]),
                Fill::Anything,
            ),
            of(
                &["Service"],
                "healthCheckNodePort",
                Parent::Any,
                Fill::Anything,
            ),
            of(
                &["Service"],
                "ipFamilies",
                Parent::Any,
                Fill::Computed(ip_families),
            ),
        ],
    },
    DefaultsGroup {
        source: "pkg/apis/apps/v1/defaults.go: SetDefaults_Deployment, SetDefaults_DaemonSet, SetDefaults_StatefulSet, SetDefaults_ReplicaSet; pkg/apis/extensions/v1beta1/defaults.go (stored by objects created through it before 1.16: unlimited deadline and history and a 1/1 surge for Deployments; `OnDelete` for DaemonSets read at that version)",
        entries: &[
            at("replicas", Fill::Int(1)),
            at(
                "progressDeadlineSeconds",
                Fill::AnyOf(&[Fill::Int(600), Fill::Int(INT32_MAX)]),
            ),
            at(
                "revisionHistoryLimit",
                Fill::AnyOf(&[Fill::Int(10), Fill::Int(INT32_MAX)]),
            ),
            of(&["DaemonSet"], "maxSurge", Parent::Any, Fill::Int(0)),
            of(&["DaemonSet"], "maxUnavailable", Parent::Any, Fill::Int(1)),
            of(
                &["Deployment"],
                "maxSurge",
                Parent::Any,
                Fill::AnyOf(&[Fill::Str("25%"), Fill::Int(1)]),
            ),
            of(
                &["Deployment"],
                "maxUnavailable",
                Parent::Any,
                Fill::AnyOf(&[Fill::Str("25%"), Fill::Int(1)]),
            ),
            at("partition", Fill::Int(0)),
            of(
                &["DaemonSet"],
                "type",
                Parent::In(&["updateStrategy"]),
                Fill::Versioned {
                    current: &Fill::Str("RollingUpdate"),
                    older: &[("extensions/v1beta1", Fill::Str("OnDelete"))],
                    // `OnDelete` read at apps/v1 is also what a person sets to hold
                    // rollouts back, so it counts as a default only at the old version.
                    stored: false,
                },
            ),
            within(
                "type",
                &["strategy", "updateStrategy"],
                Fill::Str("RollingUpdate"),
            ),
            at("podManagementPolicy", Fill::Str("OrderedReady")),
            at("whenDeleted", Fill::Str("Retain")),
            at("whenScaled", Fill::Str("Retain")),
            of(&["Deployment"], "paused", Parent::Any, Fill::Bool(false)),
        ],
    },
    DefaultsGroup {
        source: "pkg/apis/batch/v1/defaults.go: SetDefaults_Job, SetDefaults_CronJob, SetDefaults_PodFailurePolicyOnPodConditionsPattern",
        entries: &[
            // With a per-index limit, the overall one defaults to the largest int32.
            ServerDefault {
                field: "backoffLimit",
                kinds: Kinds::Any,
                parent: Parent::Any,
                when: Some(has_backoff_limit_per_index),
                fill: Fill::Int(INT32_MAX),
            },
            at("backoffLimit", Fill::Int(6)),
            at("completionMode", Fill::Str("NonIndexed")),
            at("completions", Fill::Int(1)),
            at("parallelism", Fill::Int(1)),
            at("suspend", Fill::Bool(false)),
            at("manualSelector", Fill::Bool(false)),
            ServerDefault {
                field: "podReplacementPolicy",
                kinds: Kinds::Any,
                parent: Parent::Any,
                when: Some(has_pod_failure_policy),
                fill: Fill::Str("Failed"),
            },
            at("podReplacementPolicy", Fill::Str("TerminatingOrFailed")),
            at("concurrencyPolicy", Fill::Str("Allow")),
            at("successfulJobsHistoryLimit", Fill::Int(3)),
            at("failedJobsHistoryLimit", Fill::Int(1)),
            within("status", &["onPodConditions"], Fill::Str("True")),
        ],
    },
    DefaultsGroup {
        source: "pkg/apis/autoscaling/v2/defaults.go: SetDefaults_HorizontalPodAutoscaler, GenerateHPAScaleUpRules, GenerateHPAScaleDownRules (older servers also wrote scale-down's 300 s window)",
        entries: &[
            at("minReplicas", Fill::Int(1)),
            of(
                &["HorizontalPodAutoscaler"],
                "policies",
                Parent::In(&["scaleUp"]),
                Fill::Json(
                    r#"[{"periodSeconds":15,"type":"Pods","value":4},{"periodSeconds":15,"type":"Percent","value":100}]"#,
                ),
            ),
            of(
                &["HorizontalPodAutoscaler"],
                "policies",
                Parent::In(&["scaleDown"]),
                Fill::Json(r#"[{"periodSeconds":15,"type":"Percent","value":100}]"#),
            ),
            of(
                &["HorizontalPodAutoscaler"],
                "selectPolicy",
                Parent::Any,
                Fill::Str("Max"),
            ),
            of(
                &["HorizontalPodAutoscaler"],
                "stabilizationWindowSeconds",
                Parent::In(&["scaleUp"]),
                Fill::Int(0),
            ),
            of(
                &["HorizontalPodAutoscaler"],
                "stabilizationWindowSeconds",
                Parent::In(&["scaleDown"]),
                Fill::Int(300),
            ),
            // An autoscaling/v2 HPA without metrics scales on 80 % CPU.
            of(
                &["HorizontalPodAutoscaler"],
                "metrics",
                Parent::Any,
                Fill::Json(
                    r#"[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]"#,
                ),
            ),
        ],
    },
    DefaultsGroup {
        source: "pkg/apis/storage/v1/defaults.go: SetDefaults_StorageClass; pkg/controller/volume/persistentvolume (a claim's bound volume and class)",
        entries: &[
            of(
                &["StorageClass"],
                "reclaimPolicy",
                Parent::Any,
                Fill::Str("Delete"),
            ),
            at("volumeBindingMode", Fill::Str("Immediate")),
            of(
                &["PersistentVolumeClaim"],
                "volumeName",
                Parent::Any,
                Fill::Anything,
            ),
            of(
                &["PersistentVolumeClaim"],
                "storageClassName",
                Parent::Any,
                Fill::Anything,
            ),
        ],
    },
    DefaultsGroup {
        source: "pkg/apis/networking/v1/defaults.go: SetDefaults_NetworkPolicy; pkg/apis/rbac/v1/defaults.go: SetDefaults_Subject; pkg/apis/scheduling/v1/defaults.go: SetDefaults_PriorityClass",
        entries: &[
            of(
                &["NetworkPolicy"],
                "policyTypes",
                Parent::Any,
                Fill::Computed(policy_types),
            ),
            within("apiGroup", &["subjects"], Fill::Computed(subject_api_group)),
            at("preemptionPolicy", Fill::Str("PreemptLowerPriority")),
        ],
    },
    DefaultsGroup {
        source: "pkg/apis/admissionregistration/v1/defaults.go: SetDefaults_ValidatingWebhook, SetDefaults_MutatingWebhook, SetDefaults_Rule, SetDefaults_ServiceReference; pkg/apis/admissionregistration/v1beta1/defaults.go (at v1beta1, and stored by webhooks created through it: Ignore, Exact, 30 s, sideEffects Unknown, admissionReviewVersions [v1beta1]); kube-aggregator's ServiceReference (port 443)",
        entries: &[
            within(
                "failurePolicy",
                &["webhooks"],
                webhook_default(
                    &Fill::Str("Fail"),
                    &[(ADMISSION_V1BETA1, Fill::Str("Ignore"))],
                ),
            ),
            within(
                "matchPolicy",
                &["webhooks"],
                webhook_default(
                    &Fill::Str("Equivalent"),
                    &[(ADMISSION_V1BETA1, Fill::Str("Exact"))],
                ),
            ),
            within("reinvocationPolicy", &["webhooks"], Fill::Str("Never")),
            within(
                "timeoutSeconds",
                &["webhooks"],
                webhook_default(&Fill::Int(10), &[(ADMISSION_V1BETA1, Fill::Int(30))]),
            ),
            // Required in v1, so only v1beta1 fills them in.
            within(
                "sideEffects",
                &["webhooks"],
                webhook_default(&NOTHING, &[(ADMISSION_V1BETA1, Fill::Str("Unknown"))]),
            ),
            within(
                "admissionReviewVersions",
                &["webhooks"],
                webhook_default(
                    &NOTHING,
                    &[(ADMISSION_V1BETA1, Fill::Json(r#"["v1beta1"]"#))],
                ),
            ),
            ServerDefault {
                field: "scope",
                kinds: Kinds::EndingWith("WebhookConfiguration"),
                parent: Parent::In(&["rules"]),
                when: None,
                fill: Fill::Str("*"),
            },
            within("port", &["service"], Fill::Int(443)),
        ],
    },
    DefaultsGroup {
        source: "k8s.io/apiextensions-apiserver pkg/apis/apiextensions/v1/defaults.go: SetDefaults_CustomResourceDefinitionSpec, SetDefaults_CustomResourceConversion",
        entries: &[
            within("strategy", &["conversion"], Fill::Str("None")),
            of(
                &["CustomResourceDefinition"],
                "singular",
                Parent::In(&["names"]),
                Fill::Computed(crd_singular),
            ),
            of(
                &["CustomResourceDefinition"],
                "listKind",
                Parent::In(&["names"]),
                Fill::Computed(crd_list_kind),
            ),
        ],
    },
    DefaultsGroup {
        // A CA bundle that Git leaves out is injected by a controller (cert-manager's
        // cainjector, the service CA operator) into webhooks and conversion settings.
        source: "cert-manager cainjector; OpenShift service-ca-operator (injected caBundle)",
        entries: &[at("caBundle", Fill::Anything)],
    },
];

fn applies(
    entry: &ServerDefault,
    kind: &str,
    key: &str,
    parent: Option<&str>,
    siblings: &Map<String, Value>,
) -> bool {
    entry.field == key
        && match entry.kinds {
            Kinds::Any => true,
            Kinds::Only(kinds) => kinds.contains(&kind),
            Kinds::EndingWith(suffix) => kind.ends_with(suffix),
        }
        && match entry.parent {
            Parent::Any => true,
            Parent::Root => parent.is_none(),
            Parent::In(parents) => parent.is_some_and(|p| parents.contains(&p)),
        }
        && entry.when.is_none_or(|condition| condition(siblings))
}

/// `Some(true)` when `value` is what the server fills in at `key`, `Some(false)` when it
/// fills in something else there, `None` when it fills in nothing known.
fn scalar_default(
    object: ObjectType<'_>,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> Option<bool> {
    by_field()
        .get(key)?
        .iter()
        .find(|entry| applies(entry, object.kind, key, parent, siblings))?
        .fill
        .matches(value, siblings, object.api_version)
}

/// The entries of [`DEFAULTS`] by field name, in table order: the walk asks for every
/// field only live has, and most fields have one or two entries.
fn by_field() -> &'static HashMap<&'static str, Vec<&'static ServerDefault>> {
    static INDEX: OnceLock<HashMap<&'static str, Vec<&'static ServerDefault>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: HashMap<&'static str, Vec<&'static ServerDefault>> = HashMap::new();
        for entry in DEFAULTS.iter().flat_map(|group| group.entries) {
            index.entry(entry.field).or_default().push(entry);
        }
        index
    })
}

/// The type of the object a field belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ObjectType<'a> {
    /// The `apiVersion` it was read at; empty when unknown.
    pub api_version: &'a str,
    /// Its kind.
    pub kind: &'a str,
}

impl<'a> ObjectType<'a> {
    /// A kind read at an unknown version: every version's defaults count.
    pub fn kind(kind: &'a str) -> Self {
        Self {
            api_version: "",
            kind,
        }
    }
}

/// Whether `value`, found at `key` in the map `siblings` (itself found at `parent`) of an
/// object of `kind`, is what the API server fills in when the field is left out.
/// A map is a default when every field in it is.
pub fn is_server_default(
    object: ObjectType<'_>,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> bool {
    if may_be_user_map(key) {
        return false;
    }
    if let Value::Object(map) = value {
        return !map.is_empty()
            && map
                .iter()
                .all(|(k, v)| is_server_default(object, k, Some(key), v, map));
    }
    scalar_default(object, key, parent, value, siblings) == Some(true)
}

/// Whether `value` (a scalar or a list) at `key` is something the API server never fills
/// in, for a field whose default it does fill in: somebody set it. Only built-in kinds
/// count (a custom resource's schema may default anything); Pods are left out (admission
/// plugins and webhooks rewrite them), and so are `replicas` (autoscalers own it) and
/// `imagePullPolicy` (its default follows the image the container had when created).
pub fn differs_from_known_default(
    object: ObjectType<'_>,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> bool {
    let kind = object.kind;
    if value.is_object() || kind == "Pod" || !is_built_in_kind(kind) || may_be_user_map(key) {
        return false;
    }
    match key {
        "replicas" => false,
        "imagePullPolicy" => value.as_str() == Some("Never"),
        _ => scalar_default(object, key, parent, value, siblings) == Some(false),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn default_in(
        kind: &str,
        key: &str,
        parent: Option<&str>,
        value: Value,
        siblings: Value,
    ) -> bool {
        let siblings = siblings.as_object().cloned().unwrap_or_default();
        is_server_default(ObjectType::kind(kind), key, parent, &value, &siblings)
    }

    #[test]
    fn known_defaults() {
        assert!(default_in(
            "Deployment",
            "dnsPolicy",
            Some("spec"),
            json!("ClusterFirst"),
            json!({})
        ));
        assert!(default_in(
            "Deployment",
            "strategy",
            Some("spec"),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            json!({})
        ));
        assert!(default_in(
            "DaemonSet",
            "updateStrategy",
            Some("spec"),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
            json!({})
        ));
        assert!(default_in(
            "Deployment",
            "periodSeconds",
            Some("readinessProbe"),
            json!(10),
            json!({})
        ));
        assert!(default_in(
            "Service",
            "targetPort",
            Some("ports"),
            json!(80),
            json!({"port": 80})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            json!({"image": "nginx"})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            json!({"image": "nginx:latest"})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("IfNotPresent"),
            json!({"image": "registry:5000/nginx:1.27"})
        ));
    }

    #[test]
    fn allocated_node_ports_are_defaults_of_services_only() {
        let port = json!({"port": 80, "protocol": "TCP", "nodePort": 31380});
        assert!(default_in(
            "Service",
            "nodePort",
            Some("ports"),
            json!(31380),
            port.clone()
        ));
        assert!(default_in(
            "Service",
            "healthCheckNodePort",
            Some("spec"),
            json!(32012),
            json!({"type": "LoadBalancer"})
        ));
        // Outside a Service a `nodePort` is somebody's setting.
        assert!(!default_in(
            "Widget",
            "nodePort",
            Some("ports"),
            json!(31380),
            port
        ));
    }

    #[test]
    fn other_values_are_not_defaults() {
        assert!(!default_in(
            "Deployment",
            "periodSeconds",
            Some("readinessProbe"),
            json!(3),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "periodSeconds",
            Some("policies"),
            json!(10),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "strategy",
            Some("spec"),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            json!({"image": "nginx:1.27"})
        ));
        assert!(!default_in(
            "Service",
            "targetPort",
            Some("ports"),
            json!(8080),
            json!({"port": 80})
        ));
        assert!(!default_in(
            "NetworkPolicy",
            "policyTypes",
            Some("spec"),
            json!(["Ingress", "Egress"]),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "nodeSelector",
            Some("spec"),
            json!({"disk": "ssd"}),
            json!({})
        ));
        // A label that shares a default's name and value is still a label.
        assert!(!default_in(
            "Deployment",
            "labels",
            Some("metadata"),
            json!({"protocol": "TCP"}),
            json!({})
        ));
    }

    fn differs(kind: &str, key: &str, parent: Option<&str>, value: Value, siblings: Value) -> bool {
        let siblings = siblings.as_object().cloned().unwrap_or_default();
        differs_from_known_default(ObjectType::kind(kind), key, parent, &value, &siblings)
    }

    #[test]
    fn values_the_server_never_fills_in_were_set_by_somebody() {
        let port = json!({"port": 9080});
        assert!(differs(
            "Service",
            "targetPort",
            Some("ports"),
            json!(9090),
            port.clone()
        ));
        assert!(!differs(
            "Service",
            "targetPort",
            Some("ports"),
            json!(9080),
            port
        ));
        assert!(differs(
            "CronJob",
            "suspend",
            Some("spec"),
            json!(true),
            json!({})
        ));
        assert!(differs(
            "Secret",
            "type",
            None,
            json!("kubernetes.io/tls"),
            json!({})
        ));
        // Autoscalers own replicas; admission rewrites Pods; custom resources have
        // schema defaults of their own.
        assert!(!differs(
            "Deployment",
            "replicas",
            Some("spec"),
            json!(7),
            json!({})
        ));
        assert!(!differs(
            "Pod",
            "terminationGracePeriodSeconds",
            Some("spec"),
            json!(60),
            json!({})
        ));
        assert!(!differs(
            "Rollout",
            "revisionHistoryLimit",
            Some("spec"),
            json!(3),
            json!({})
        ));
        // The pull policy's default follows the image the container was created with.
        let image = json!({"image": "nginx:1.27"});
        assert!(!differs(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            image.clone()
        ));
        assert!(differs(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Never"),
            image
        ));
        // A field without a known default says nothing.
        assert!(!differs(
            "Deployment",
            "minReadySeconds",
            Some("spec"),
            json!(15),
            json!({})
        ));
    }

    #[test]
    fn defaults_that_depend_on_their_neighbours() {
        assert!(default_in(
            "Job",
            "backoffLimit",
            Some("spec"),
            json!(2_147_483_647),
            json!({"backoffLimitPerIndex": 1})
        ));
        assert!(!default_in(
            "Job",
            "backoffLimit",
            Some("spec"),
            json!(6),
            json!({"backoffLimitPerIndex": 1})
        ));
        assert!(default_in(
            "Job",
            "podReplacementPolicy",
            Some("spec"),
            json!("Failed"),
            json!({"podFailurePolicy": {}})
        ));
        let headless = json!({"clusterIP": "None"});
        assert!(default_in(
            "Service",
            "ipFamilyPolicy",
            Some("spec"),
            json!("RequireDualStack"),
            headless
        ));
        assert!(!default_in(
            "Service",
            "ipFamilyPolicy",
            Some("spec"),
            json!("RequireDualStack"),
            json!({"selector": {}})
        ));
        let dual = json!({"ipFamilyPolicy": "PreferDualStack"});
        assert!(default_in(
            "Service",
            "ipFamilies",
            Some("spec"),
            json!(["IPv4", "IPv6"]),
            dual
        ));
        assert!(default_in(
            "RoleBinding",
            "apiGroup",
            Some("subjects"),
            json!("rbac.authorization.k8s.io"),
            json!({"kind": "Group"})
        ));
        assert!(!default_in(
            "RoleBinding",
            "apiGroup",
            Some("subjects"),
            json!("rbac.authorization.k8s.io"),
            json!({"kind": "ServiceAccount"})
        ));
        let names = json!({"kind": "Backup"});
        assert!(default_in(
            "CustomResourceDefinition",
            "singular",
            Some("names"),
            json!("backup"),
            names.clone()
        ));
        assert!(default_in(
            "CustomResourceDefinition",
            "listKind",
            Some("names"),
            json!("BackupList"),
            names
        ));
        assert!(default_in(
            "MutatingWebhookConfiguration",
            "failurePolicy",
            Some("webhooks"),
            json!("Fail"),
            json!({})
        ));
        assert!(default_in(
            "ValidatingWebhookConfiguration",
            "scope",
            Some("rules"),
            json!("*"),
            json!({})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            json!({"image": "nginx:latest@sha256:abc"})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("IfNotPresent"),
            json!({"image": "nginx@sha256:abc"})
        ));
    }
}
