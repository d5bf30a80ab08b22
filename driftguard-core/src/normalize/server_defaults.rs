//! The values the API server fills in when a manifest leaves a field out.
//!
//! A field only live has is normally a default and not drift. It still counts as drift
//! when the three-way rule or `managedFields` says somebody put it there; but when its value
//! is exactly what the server would fill in anyway, applying Git would leave it as it is,
//! so it is no drift either. That covers a default that Git once spelled out and later
//! dropped, and the defaults an object created by an imperative command (whose manager
//! is not an applier) owns from its creation.
//!
//! The same knowledge works the other way: a field whose default the server fills in, with
//! a value that is not that default, was set by somebody. When `managedFields` cannot say
//! who (a dump written without them), such a field only live has is still drift, and so
//! is a field of a workload's pod template that the server never fills in at all.
//!
//! Values are compared in canonical form (see [`crate::normalize`]).

use serde_json::{Map, Value, json};

use crate::model::{is_cluster_scoped_kind, is_namespaced_kind};

/// Probe fields and their defaults.
const PROBES: &[&str] = &["livenessProbe", "readinessProbe", "startupProbe"];

/// Maps whose keys people choose; nothing in them is ever a default.
const USER_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "nodeSelector",
    "matchLabels",
    "selector",
    "data",
    "binaryData",
];

/// Whether `value`, found at `key` in the map `siblings` (itself found at `parent`) of an
/// object of `kind`, is what the API server fills in when the field is left out.
/// A map is a default when every field in it is.
pub(crate) fn is_server_default(
    kind: &str,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> bool {
    if USER_MAPS.contains(&key) {
        return false;
    }
    if let Value::Object(map) = value {
        return !map.is_empty()
            && map
                .iter()
                .all(|(k, v)| is_server_default(kind, k, Some(key), v, map));
    }
    scalar_default(kind, key, parent, value, siblings) == Some(true)
}

/// Whether `value` (a scalar or a list) at `key` is something the API server never fills
/// in, for a field whose default it does fill in: somebody set it. Only built-in kinds
/// count (a custom resource's schema may default anything); Pods are left out (admission
/// plugins and webhooks rewrite them), and so are `replicas` (autoscalers own it) and
/// `imagePullPolicy` (its default follows the image the container had when created).
pub(crate) fn differs_from_known_default(
    kind: &str,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> bool {
    if value.is_object()
        || kind == "Pod"
        || !(is_namespaced_kind(kind) || is_cluster_scoped_kind(kind))
        || USER_MAPS.contains(&key)
    {
        return false;
    }
    match key {
        "replicas" => false,
        "imagePullPolicy" => is_str(value, "Never"),
        _ => scalar_default(kind, key, parent, value, siblings) == Some(false),
    }
}

fn is_str(value: &Value, expected: &str) -> bool {
    value.as_str() == Some(expected)
}

fn is_int(value: &Value, expected: i64) -> bool {
    value.as_i64() == Some(expected)
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

/// Kinds whose pod template the API server defaults but never adds to: nothing but
/// defaulting touches a workload's template (admission plugins and webhooks rewrite the
/// Pods made from it, not the template).
const POD_TEMPLATE_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
];

/// Whether `key` (in the map found at `parent`) is a field of a workload's pod template,
/// a Service or an Ingress that the API server never fills in: any value there, when Git
/// has none, was put there by somebody (`kubectl edit` adding a command, a probe,
/// resources, `hostNetwork`, a Service's `externalIPs`).
pub(crate) fn never_filled_in(kind: &str, key: &str, parent: Option<&str>) -> bool {
    match kind {
        "Service" => {
            return match parent {
                Some("spec") => matches!(
                    key,
                    "externalIPs" | "loadBalancerIP" | "loadBalancerSourceRanges" | "externalName"
                ),
                Some("ports") => key == "appProtocol",
                _ => false,
            };
        }
        "Ingress" => return parent == Some("spec") && key == "defaultBackend",
        _ if !POD_TEMPLATE_KINDS.contains(&kind) => return false,
        _ => {}
    }
    match parent {
        Some("containers" | "initContainers") => matches!(
            key,
            "command"
                | "args"
                | "envFrom"
                | "workingDir"
                | "lifecycle"
                | "livenessProbe"
                | "readinessProbe"
                | "startupProbe"
                | "resources"
                | "securityContext"
                | "stdin"
                | "stdinOnce"
                | "tty"
        ),
        Some("spec") => matches!(
            key,
            "hostNetwork"
                | "hostPID"
                | "hostIPC"
                | "shareProcessNamespace"
                | "affinity"
                | "tolerations"
                | "priorityClassName"
                | "runtimeClassName"
                | "serviceAccountName"
                | "automountServiceAccountToken"
                | "nodeName"
                | "hostname"
                | "subdomain"
                | "dnsConfig"
                | "readinessGates"
                // Jobs and CronJobs.
                | "activeDeadlineSeconds"
                | "ttlSecondsAfterFinished"
                | "startingDeadlineSeconds"
                | "timeZone"
        ),
        Some("ports") => matches!(key, "hostPort" | "hostIP"),
        Some("volumeMounts") => matches!(
            key,
            "subPath" | "subPathExpr" | "readOnly" | "mountPropagation" | "recursiveReadOnly"
        ),
        Some("configMap" | "secret") => matches!(key, "items" | "optional"),
        Some("emptyDir") => matches!(key, "medium" | "sizeLimit"),
        Some("securityContext") => matches!(
            key,
            "privileged"
                | "allowPrivilegeEscalation"
                | "runAsUser"
                | "runAsGroup"
                | "runAsNonRoot"
                | "readOnlyRootFilesystem"
                | "capabilities"
                | "fsGroup"
                | "supplementalGroups"
                | "seccompProfile"
                | "appArmorProfile"
                | "seLinuxOptions"
                | "procMount"
        ),
        _ => false,
    }
}

/// `Some(true)` when `value` is what the server fills in at `key`, `Some(false)` when the
/// server fills in something else there, `None` when it fills in nothing known.
fn scalar_default(
    kind: &str,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> Option<bool> {
    let in_probe = parent.is_some_and(|p| PROBES.contains(&p));
    let in_webhook = parent == Some("webhooks");
    let is_default = match key {
        // Pod spec.
        "dnsPolicy" => is_str(value, "ClusterFirst"),
        "restartPolicy" => is_str(value, "Always"),
        "schedulerName" => is_str(value, "default-scheduler"),
        "terminationGracePeriodSeconds" => is_int(value, 30),
        "serviceAccount" => siblings.get("serviceAccountName") == Some(value),
        "enableServiceLinks" => value == &Value::Bool(true),
        // The ServiceAccount admission plugin gives a Pod without pull secrets its
        // account's.
        "imagePullSecrets" if kind == "Pod" && parent == Some("spec") => true,
        // Containers.
        "imagePullPolicy" => is_str(
            value,
            default_pull_policy(siblings.get("image").and_then(Value::as_str)),
        ),
        "terminationMessagePath" => is_str(value, "/dev/termination-log"),
        "terminationMessagePolicy" => is_str(value, "File"),
        "requests" if parent == Some("resources") => siblings.get("limits") == Some(value),
        // Probes.
        "timeoutSeconds" if in_probe => is_int(value, 1),
        "periodSeconds" if in_probe => is_int(value, 10),
        "successThreshold" if in_probe => is_int(value, 1),
        "failureThreshold" if in_probe => is_int(value, 3),
        "scheme" => is_str(value, "HTTP"),
        "timeoutSeconds" if parent == Some("clientIP") => is_int(value, 10800),
        // Ports and references.
        "protocol" => is_str(value, "TCP"),
        "targetPort" => siblings.get("port") == Some(value),
        "defaultMode" => is_int(value, 420),
        "expirationSeconds" if parent == Some("serviceAccountToken") => is_int(value, 3600),
        "apiVersion" if parent == Some("fieldRef") => is_str(value, "v1"),
        "divisor" => is_str(value, "0"),
        // Workload controllers.
        "replicas" | "minReplicas" => is_int(value, 1),
        // Deployments created through extensions/v1beta1 (before 1.16) keep that
        // version's defaults in storage: no deadline, unlimited history, 1/1 surge.
        "progressDeadlineSeconds" => is_int(value, 600) || is_int(value, i64::from(i32::MAX)),
        "revisionHistoryLimit" => is_int(value, 10) || is_int(value, i64::from(i32::MAX)),
        "maxSurge" if kind == "DaemonSet" => is_int(value, 0),
        "maxUnavailable" if kind == "DaemonSet" => is_int(value, 1),
        "maxSurge" | "maxUnavailable" if kind == "Deployment" => {
            is_str(value, "25%") || is_int(value, 1)
        }
        "partition" => is_int(value, 0),
        "type" if matches!(parent, Some("strategy" | "updateStrategy")) => {
            is_str(value, "RollingUpdate")
        }
        "podManagementPolicy" => is_str(value, "OrderedReady"),
        "whenDeleted" | "whenScaled" => is_str(value, "Retain"),
        // Jobs and CronJobs.
        // With a per-index limit, the overall one defaults to the largest int32.
        "backoffLimit" if siblings.contains_key("backoffLimitPerIndex") => {
            is_int(value, i64::from(i32::MAX))
        }
        "backoffLimit" => is_int(value, 6),
        "completionMode" => is_str(value, "NonIndexed"),
        "completions" | "parallelism" => is_int(value, 1),
        "suspend" | "manualSelector" => value == &Value::Bool(false),
        "paused" if kind == "Deployment" => value == &Value::Bool(false),
        "podReplacementPolicy" if siblings.contains_key("podFailurePolicy") => {
            is_str(value, "Failed")
        }
        "podReplacementPolicy" => is_str(value, "TerminatingOrFailed"),
        "concurrencyPolicy" => is_str(value, "Allow"),
        "successfulJobsHistoryLimit" => is_int(value, 3),
        "failedJobsHistoryLimit" => is_int(value, 1),
        // Services: defaults, and what the server allocates once and never changes.
        "type" if kind == "Service" && parent == Some("spec") => is_str(value, "ClusterIP"),
        "sessionAffinity" => is_str(value, "None"),
        "internalTrafficPolicy" | "externalTrafficPolicy" => is_str(value, "Cluster"),
        "allocateLoadBalancerNodePorts" => value == &Value::Bool(true),
        // A headless Service without a selector is dual-stack where the cluster is.
        "ipFamilyPolicy"
            if siblings.get("clusterIP").and_then(Value::as_str) == Some("None")
                && !siblings.contains_key("selector") =>
        {
            is_str(value, "SingleStack") || is_str(value, "RequireDualStack")
        }
        "ipFamilyPolicy" => is_str(value, "SingleStack"),
        "clusterIP" | "clusterIPs" if kind == "Service" => true,
        // Node ports are allocated like the cluster IP, and an update that leaves them out
        // keeps the allocated ones: applying Git changes nothing.
        "nodePort" if kind == "Service" && parent == Some("ports") => true,
        "healthCheckNodePort" if kind == "Service" => true,
        // The families follow the policy: one for single-stack, the cluster's for others.
        "ipFamilies" if kind == "Service" => {
            value.as_array().is_some_and(|a| a.len() == 1)
                || siblings
                    .get("ipFamilyPolicy")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p != "SingleStack")
        }
        // Storage.
        "volumeMode" => is_str(value, "Filesystem"),
        "volumeName" | "storageClassName" if kind == "PersistentVolumeClaim" => true,
        "reclaimPolicy" if kind == "StorageClass" => is_str(value, "Delete"),
        "volumeBindingMode" => is_str(value, "Immediate"),
        "apiVersion" if parent == Some("volumeClaimTemplates") => is_str(value, "v1"),
        "kind" if parent == Some("volumeClaimTemplates") => is_str(value, "PersistentVolumeClaim"),
        "phase" if parent == Some("status") => is_str(value, "Pending"),
        // Other kinds.
        "type" if kind == "Secret" && parent.is_none() => is_str(value, "Opaque"),
        "preemptionPolicy" => is_str(value, "PreemptLowerPriority"),
        "finalizers" if kind == "Namespace" && parent == Some("spec") => {
            *value == json!(["kubernetes"])
        }
        "policyTypes" if kind == "NetworkPolicy" => {
            if siblings.contains_key("egress") {
                *value == json!(["Ingress", "Egress"])
            } else {
                *value == json!(["Ingress"])
            }
        }
        "strategy" if parent == Some("conversion") => is_str(value, "None"),
        // A CA bundle that Git leaves out is injected by a controller (cert-manager's
        // cainjector, the service CA operator) into webhooks and conversion settings.
        "caBundle" => true,
        // Admission webhooks, and the services that webhooks and API services call.
        // A Job's pod failure rule matches a condition that is true.
        "status" if parent == Some("onPodConditions") => is_str(value, "True"),
        "failurePolicy" if in_webhook => is_str(value, "Fail"),
        "matchPolicy" if in_webhook => is_str(value, "Equivalent"),
        "reinvocationPolicy" if in_webhook => is_str(value, "Never"),
        "timeoutSeconds" if in_webhook => is_int(value, 10),
        "scope" if parent == Some("rules") && kind.ends_with("WebhookConfiguration") => {
            is_str(value, "*")
        }
        "port" if parent == Some("service") => is_int(value, 443),
        // An HPA's scaling behavior, filled in around what was set (a behavior nobody
        // set stays absent). Older servers also wrote scale-down's 300 s window, which
        // newer ones leave to the controller manager's flag.
        "policies" if kind == "HorizontalPodAutoscaler" && parent == Some("scaleUp") => {
            *value
                == json!([{"periodSeconds": 15, "type": "Pods", "value": 4},
                    {"periodSeconds": 15, "type": "Percent", "value": 100}])
        }
        "policies" if kind == "HorizontalPodAutoscaler" && parent == Some("scaleDown") => {
            *value == json!([{"periodSeconds": 15, "type": "Percent", "value": 100}])
        }
        "selectPolicy" if kind == "HorizontalPodAutoscaler" => is_str(value, "Max"),
        "stabilizationWindowSeconds" if kind == "HorizontalPodAutoscaler" => match parent {
            Some("scaleUp") => is_int(value, 0),
            Some("scaleDown") => is_int(value, 300),
            _ => return None,
        },
        // An autoscaling/v2 HPA without metrics scales on 80 % CPU.
        "metrics" if kind == "HorizontalPodAutoscaler" => {
            *value
                == json!([{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}])
        }
        // A PersistentVolume made by hand is kept when released.
        "persistentVolumeReclaimPolicy" if kind == "PersistentVolume" => is_str(value, "Retain"),
        // RBAC subjects: users and groups belong to the RBAC API group.
        "apiGroup" if parent == Some("subjects") => match siblings.get("kind") {
            Some(Value::String(k)) if k == "User" || k == "Group" => {
                is_str(value, "rbac.authorization.k8s.io")
            }
            _ => return None,
        },
        // A CustomResourceDefinition's names derive from its kind.
        "singular" | "listKind"
            if kind == "CustomResourceDefinition" && parent == Some("names") =>
        {
            let crd_kind = siblings.get("kind").and_then(Value::as_str)?;
            if key == "singular" {
                value.as_str() == Some(crd_kind.to_lowercase().as_str())
            } else {
                value.as_str() == Some(format!("{crd_kind}List").as_str())
            }
        }
        _ => return None,
    };
    Some(is_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_in(
        kind: &str,
        key: &str,
        parent: Option<&str>,
        value: Value,
        siblings: Value,
    ) -> bool {
        let siblings = siblings.as_object().cloned().unwrap_or_default();
        is_server_default(kind, key, parent, &value, &siblings)
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
        differs_from_known_default(kind, key, parent, &value, &siblings)
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
    fn pod_template_fields_the_server_never_adds() {
        assert!(never_filled_in("Deployment", "command", Some("containers")));
        assert!(never_filled_in("CronJob", "envFrom", Some("containers")));
        assert!(never_filled_in("DaemonSet", "hostNetwork", Some("spec")));
        assert!(never_filled_in(
            "StatefulSet",
            "privileged",
            Some("securityContext")
        ));
        assert!(never_filled_in("Deployment", "hostPort", Some("ports")));
        assert!(!never_filled_in("Pod", "resources", Some("containers")));
        assert!(!never_filled_in(
            "Deployment",
            "terminationMessagePath",
            Some("containers")
        ));
        assert!(!never_filled_in("Service", "hostPort", Some("ports")));
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
