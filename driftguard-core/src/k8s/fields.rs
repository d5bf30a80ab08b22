//! Field facts of the built-in kinds, for when no schema is known: which maps hold keys
//! people choose, which lists pair their items by a key or hold a set, which fields are
//! quantities or int-or-string, which zero values the API server keeps, and which fields
//! of a workload it never fills in.
//!
//! The cluster's OpenAPI schema, a CustomResourceDefinition's, or the bundled schema of
//! the built-in kinds ([`crate::k8s::schema`]) says the same and more; where one is known
//! it takes precedence over these tables.

use crate::k8s::kinds::has_pod_template;

/// A map whose keys people choose (every key matters, none is a default): where it is
/// found, and in which kinds.
struct UserMap {
    /// The map's field name.
    key: &'static str,
    /// The field name of the map that holds it; `None`: anywhere.
    parent: Option<&'static str>,
    /// The kinds it is a user map in; empty: every kind.
    kinds: &'static [&'static str],
    /// How deep it must be (1: a top-level field); `None`: at any depth.
    depth: Option<usize>,
}

/// The user maps: `ObjectMeta` labels and annotations, selectors (`LabelSelector`
/// `matchLabels`, `PodSpec.nodeSelector`, `ServiceSpec.selector`), ConfigMap and Secret
/// data (k8s.io/api core/v1 and meta/v1 types).
const USER_MAPS: &[UserMap] = &[
    UserMap {
        key: "labels",
        parent: Some("metadata"),
        kinds: &[],
        depth: None,
    },
    UserMap {
        key: "annotations",
        parent: Some("metadata"),
        kinds: &[],
        depth: None,
    },
    UserMap {
        key: "nodeSelector",
        parent: None,
        kinds: &[],
        depth: None,
    },
    UserMap {
        key: "matchLabels",
        parent: None,
        kinds: &[],
        depth: None,
    },
    UserMap {
        key: "selector",
        parent: Some("spec"),
        kinds: &["Service"],
        depth: Some(2),
    },
    UserMap {
        key: "data",
        parent: None,
        kinds: &["ConfigMap", "Secret"],
        depth: Some(1),
    },
    UserMap {
        key: "binaryData",
        parent: None,
        kinds: &["ConfigMap", "Secret"],
        depth: Some(1),
    },
];

/// Whether the map found at `key` (under `parent`, at `depth`) of an object of `kind` holds
/// user-chosen keys.
pub fn is_user_map(kind: &str, parent: Option<&str>, key: &str, depth: usize) -> bool {
    USER_MAPS.iter().any(|map| {
        map.key == key
            && map.parent.is_none_or(|p| parent == Some(p))
            && (map.kinds.is_empty() || map.kinds.contains(&kind))
            && map.depth.is_none_or(|d| d == depth)
    })
}

/// Whether a field named `key` may be a user map somewhere: such a map is never taken for
/// a server default, wherever it is found.
pub fn may_be_user_map(key: &str) -> bool {
    USER_MAPS.iter().any(|map| map.key == key)
}

/// Map keys whose scalar values are Kubernetes quantities (`ResourceList` fields of
/// core/v1 and autoscaling's VerticalPodAutoscaler policies).
const QUANTITY_MAPS: &[&str] = &[
    "limits",
    "requests",
    "hard",
    "capacity",
    "allocatable",
    "overhead",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
    "podFixed",
    "minAllowed",
    "maxAllowed",
];

/// Whether the values of the map found at `key` are quantities.
pub fn is_quantity_map(key: &str) -> bool {
    QUANTITY_MAPS.contains(&key)
}

/// Scalar fields whose value is itself a quantity.
const QUANTITY_FIELDS: &[&str] = &[
    "sizeLimit",
    "divisor",
    "averageValue",
    "capacity",
    "maximumVolumeSize",
];

/// Scalar fields that are quantities only inside a map with this key: an HPA metric's
/// `target.value`, where elsewhere `value` is free text (an env var's value).
const QUANTITY_FIELDS_IN: &[(&str, &str)] = &[("target", "value"), ("current", "value")];

/// Whether the scalar at `key` (in the map found at `parent`) is a quantity.
pub fn is_quantity_field(key: &str, parent: Option<&str>) -> bool {
    QUANTITY_FIELDS.contains(&key) || parent.is_some_and(|p| QUANTITY_FIELDS_IN.contains(&(p, key)))
}

/// Fields that Kubernetes accepts as an integer or a string (`intstr.IntOrString`).
const INT_OR_STRING_FIELDS: &[&str] = &[
    "targetPort",
    "port",
    "maxSurge",
    "maxUnavailable",
    "minAvailable",
];

/// Whether the field `key` is an int-or-string.
pub fn is_int_or_string_field(key: &str) -> bool {
    INT_OR_STRING_FIELDS.contains(&key)
}

/// Empty maps that still mean something: `emptyDir: {}` selects the volume type.
const MEANINGFUL_EMPTY_MAPS: &[&str] = &["emptyDir"];

/// Whether an empty map at `key` still means something, so it is not dropped as absent.
pub fn is_meaningful_empty_map(key: &str) -> bool {
    MEANINGFUL_EMPTY_MAPS.contains(&key)
}

/// Fields the API server keeps when they are `false` or `0` (optional pointer fields in the
/// Go types, which it returns whenever they are set): live lacking one that Git sets means
/// it was removed.
const KEPT_ZERO_FIELDS: &[&str] = &[
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "automountServiceAccountToken",
    "shareProcessNamespace",
    "hostUsers",
    "setHostnameAsFQDN",
    "enableServiceLinks",
    "optional",
    "immutable",
    "allowVolumeExpansion",
    "activeDeadlineSeconds",
    "startingDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "terminationGracePeriodSeconds",
];

/// Whether the API server keeps a `false` or `0` at `field` in its answer.
pub fn keeps_zero(field: &str) -> bool {
    KEPT_ZERO_FIELDS.contains(&field)
}

/// How the items of a list pair up: by these fields, with the server's default for a
/// field an item leaves out.
pub type MergeKey = &'static [(&'static str, Option<&'static str>)];

const BY_NAME: MergeKey = &[("name", None)];
const BY_MOUNT_PATH: MergeKey = &[("mountPath", None)];
const BY_DEVICE_PATH: MergeKey = &[("devicePath", None)];
const BY_IP: MergeKey = &[("ip", None)];
const BY_CONTAINER_PORT: MergeKey = &[("containerPort", None), ("protocol", Some("TCP"))];
const BY_PORT: MergeKey = &[("port", None), ("protocol", Some("TCP"))];
const BY_TOPOLOGY: MergeKey = &[("topologyKey", None), ("whenUnsatisfiable", None)];

/// The merge keys of core/v1's keyed lists (`x-kubernetes-list-map-keys` and
/// `patchMergeKey` in k8s.io/api core/v1 types.go), by the list's field name.
const MERGE_KEYS: &[(&str, MergeKey)] = &[
    ("containers", BY_NAME),
    ("initContainers", BY_NAME),
    ("ephemeralContainers", BY_NAME),
    ("env", BY_NAME),
    ("volumes", BY_NAME),
    ("imagePullSecrets", BY_NAME),
    ("resourceClaims", BY_NAME),
    ("secrets", BY_NAME),
    ("volumeMounts", BY_MOUNT_PATH),
    ("volumeDevices", BY_DEVICE_PATH),
    ("hostAliases", BY_IP),
    ("topologySpreadConstraints", BY_TOPOLOGY),
];

/// The merge key of the list at `key`, whose items (the desired ones, or the live ones when
/// Git has none) are `items`: `ports` are keyed by `containerPort` in a container and by
/// `port` in a Service.
pub fn merge_key(key: &str, mut items: impl Iterator<Item = bool>) -> Option<MergeKey> {
    if key == "ports" {
        return Some(if items.all(|has_container_port| has_container_port) {
            BY_CONTAINER_PORT
        } else {
            BY_PORT
        });
    }
    MERGE_KEYS
        .iter()
        .find(|(list, _)| *list == key)
        .map(|(_, fields)| *fields)
}

/// The server's default for a merge key field a list item leaves out (`protocol: TCP`).
pub fn merge_key_default(field: &str) -> Option<&'static str> {
    [BY_CONTAINER_PORT, BY_PORT]
        .iter()
        .flat_map(|fields| fields.iter())
        .find(|(name, _)| *name == field)
        .and_then(|(_, default)| *default)
}

/// Lists that are sets, whose order the server does not keep: Endpoints subsets'
/// addresses and ports (core/v1 `EndpointSubset`).
const SET_LISTS: &[(&str, &str)] = &[
    ("Endpoints", "addresses"),
    ("Endpoints", "notReadyAddresses"),
    ("Endpoints", "ports"),
];

/// Whether the list found at `key` in an object of `kind` is a set.
pub fn is_set_list(kind: &str, key: &str) -> bool {
    SET_LISTS.contains(&(kind, key))
}

/// A container's fields the API server never fills in (core/v1 Container), for regular
/// and init containers alike.
const CONTAINER_FIELDS_NEVER_FILLED_IN: &[&str] = &[
    "command",
    "args",
    "envFrom",
    "workingDir",
    "lifecycle",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "resources",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
];

/// Fields the API server never fills in, by the map they are found in: a value there that
/// Git lacks was put there by somebody. For workloads' pod templates (PodSpec, Container,
/// ContainerPort, VolumeMount, volume sources, SecurityContext of core/v1: none of these
/// has a default in pkg/apis/core/v1/defaults.go).
const NEVER_FILLED_IN_POD_TEMPLATE: &[(&str, &[&str])] = &[
    ("containers", CONTAINER_FIELDS_NEVER_FILLED_IN),
    ("initContainers", CONTAINER_FIELDS_NEVER_FILLED_IN),
    (
        "spec",
        &[
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "shareProcessNamespace",
            "affinity",
            "tolerations",
            "priorityClassName",
            "runtimeClassName",
            "serviceAccountName",
            "automountServiceAccountToken",
            "nodeName",
            "hostname",
            "subdomain",
            "dnsConfig",
            "readinessGates",
            // Jobs and CronJobs (batch/v1 JobSpec, CronJobSpec).
            "activeDeadlineSeconds",
            "ttlSecondsAfterFinished",
            "startingDeadlineSeconds",
            "timeZone",
        ],
    ),
    ("ports", &["hostPort", "hostIP"]),
    (
        "volumeMounts",
        &[
            "subPath",
            "subPathExpr",
            "readOnly",
            "mountPropagation",
            "recursiveReadOnly",
        ],
    ),
    ("configMap", &["items", "optional"]),
    ("secret", &["items", "optional"]),
    ("emptyDir", &["medium", "sizeLimit"]),
    (
        "securityContext",
        &[
            "privileged",
            "allowPrivilegeEscalation",
            "runAsUser",
            "runAsGroup",
            "runAsNonRoot",
            "readOnlyRootFilesystem",
            "capabilities",
            "fsGroup",
            "supplementalGroups",
            "seccompProfile",
            "appArmorProfile",
            "seLinuxOptions",
            "procMount",
        ],
    ),
];

/// The same for Services and Ingresses, by kind and the map the field is found in.
const NEVER_FILLED_IN_BY_KIND: &[(&str, &str, &[&str])] = &[
    (
        "Service",
        "spec",
        &[
            "externalIPs",
            "loadBalancerIP",
            "loadBalancerSourceRanges",
            "externalName",
        ],
    ),
    ("Service", "ports", &["appProtocol"]),
    ("Ingress", "spec", &["defaultBackend"]),
];

/// Whether `key` (in the map found at `parent`) is a field of a workload's pod template, a
/// Service or an Ingress that the API server never fills in: any value there, when Git
/// has none, was put there by somebody (`kubectl edit` adding a command, a probe,
/// resources, `hostNetwork`, a Service's `externalIPs`).
pub fn never_filled_in(kind: &str, key: &str, parent: Option<&str>) -> bool {
    let Some(parent) = parent else {
        return false;
    };
    if let Some((_, _, fields)) = NEVER_FILLED_IN_BY_KIND
        .iter()
        .find(|(k, p, _)| *k == kind && *p == parent)
    {
        return fields.contains(&key);
    }
    if matches!(kind, "Service" | "Ingress") || !has_pod_template(kind) {
        return false;
    }
    NEVER_FILLED_IN_POD_TEMPLATE
        .iter()
        .find(|(p, _)| *p == parent)
        .is_some_and(|(_, fields)| fields.contains(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_maps_depend_on_where_they_are() {
        assert!(is_user_map("Deployment", Some("metadata"), "labels", 2));
        assert!(!is_user_map("Deployment", Some("spec"), "labels", 2));
        assert!(is_user_map("Service", Some("spec"), "selector", 2));
        assert!(!is_user_map("Deployment", Some("spec"), "selector", 2));
        assert!(is_user_map("ConfigMap", None, "data", 1));
        assert!(!is_user_map("Widget", None, "data", 1));
        assert!(may_be_user_map("selector") && may_be_user_map("data"));
    }

    #[test]
    fn ports_are_keyed_by_what_their_items_hold() {
        let fields = |k: MergeKey| k.iter().map(|(f, _)| *f).collect::<Vec<_>>();
        assert_eq!(
            merge_key("ports", [true, true].into_iter()).map(fields),
            Some(vec!["containerPort", "protocol"])
        );
        assert_eq!(
            merge_key("ports", [true, false].into_iter()).map(fields),
            Some(vec!["port", "protocol"])
        );
        assert_eq!(merge_key("args", std::iter::empty()), None);
        assert_eq!(merge_key_default("protocol"), Some("TCP"));
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
        assert!(never_filled_in("Service", "appProtocol", Some("ports")));
        assert!(never_filled_in("Ingress", "defaultBackend", Some("spec")));
    }
}
