//! What the API server and its controllers write into objects of particular kinds, beyond
//! plain defaults. Nobody declares these values in Git, and they are not all fields that
//! Git leaves out: some are keys of user maps or items of keyed lists, which would
//! otherwise read as hand edits. Both sides lose them, so they never count as drift.
//!
//! - Job: the `batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name`,
//!   `controller-uid` and `job-name` labels the Job registry adds to the pod template (and
//!   the generated selector), and the Job's own labels when they are just a copy of the
//!   template's, which is what the API server fills in when a Job has none.
//! - Secret of type `kubernetes.io/service-account-token`: the `token`, `ca.crt` and
//!   `namespace` keys the token controller fills in.
//! - ServiceAccount: the `<name>-token-xxxxx` Secret (and OpenShift's
//!   `<name>-dockercfg-xxxxx` pull secret) that older token controllers append.
//! - ConfigMap `binaryData`: line breaks inside base64, which the API server's decoder skips.
//! - Pod: what admission adds to every Pod: the `kube-api-access-xxxxx` projected volume
//!   with the service account token and its mounts, and the `not-ready` and `unreachable`
//!   tolerations of 300 seconds.
//! - Any pod spec (a Pod's, a workload's template, a CronJob's job template) with
//!   `hostNetwork: true`: each container port's `hostPort` equal to its `containerPort`,
//!   which the API server fills in there. Without `hostNetwork` a `hostPort` is always
//!   somebody's choice: it opens the port on every node the pod runs on.

use serde_json::{Map, Value};

use crate::k8s::written::{
    DEFAULT_TOLERATION_KEYS, JOB_LABELS, POD_SPEC_PATHS, TOKEN_SECRET_KEYS, TOKEN_VOLUME_PREFIX,
};

/// Removes what the server writes into an object of `kind` (a top-level map).
pub(crate) fn remove(kind: &str, object: &mut Map<String, Value>) {
    match kind {
        "Job" => job_labels(object),
        "Secret" => token_secret_data(object),
        "ServiceAccount" => generated_secret_refs(object),
        "ConfigMap" => binary_data_line_breaks(object),
        "Pod" => pod_admission(object),
        _ => {}
    }
    host_network_ports(object);
}

fn host_network_ports(object: &mut Map<String, Value>) {
    for path in POD_SPEC_PATHS {
        let Some(spec) = map_at(object, path) else {
            continue;
        };
        if spec.get("hostNetwork") != Some(&Value::Bool(true)) {
            continue;
        }
        for field in ["containers", "initContainers"] {
            let Some(Value::Array(containers)) = spec.get_mut(field) else {
                continue;
            };
            for container in containers {
                let Some(Value::Array(ports)) = container.get_mut("ports") else {
                    continue;
                };
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    let copied = matches!(
                        (port.get("hostPort"), port.get("containerPort")),
                        (Some(host), Some(container))
                            if host.as_f64().is_some() && host.as_f64() == container.as_f64()
                    );
                    if copied {
                        port.remove("hostPort");
                    }
                }
            }
        }
    }
}

fn map_at<'a>(
    object: &'a mut Map<String, Value>,
    path: &[&str],
) -> Option<&'a mut Map<String, Value>> {
    let (first, rest) = path.split_first()?;
    let mut current = object.get_mut(*first)?.as_object_mut()?;
    for key in rest {
        current = current.get_mut(*key)?.as_object_mut()?;
    }
    Some(current)
}

fn job_labels(object: &mut Map<String, Value>) {
    let strip =
        |labels: &mut Map<String, Value>| labels.retain(|k, _| !JOB_LABELS.contains(&k.as_str()));
    if let Some(selector) = map_at(object, &["spec", "selector", "matchLabels"]) {
        strip(selector);
    }
    let template = map_at(object, &["spec", "template", "metadata", "labels"]).map(|labels| {
        strip(labels);
        labels.clone()
    });
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(labels) = metadata.get_mut("labels").and_then(Value::as_object_mut) else {
        return;
    };
    strip(labels);
    if template.is_some_and(|template| !template.is_empty() && *labels == template) {
        metadata.remove("labels");
    }
}

fn token_secret_data(object: &mut Map<String, Value>) {
    if object.get("type").and_then(Value::as_str) != Some("kubernetes.io/service-account-token") {
        return;
    }
    if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) {
        data.retain(|k, _| !TOKEN_SECRET_KEYS.contains(&k.as_str()));
    }
}

/// Whether `name` is `<prefix>-` followed by the five lowercase letters or digits that the
/// API server's name generator appends.
fn is_generated_from(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|suffix| {
            suffix.len() == 5
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Whether `name` is `<account>-<infix>-xxxxx`, a name generated for `account`.
fn is_generated_name(name: &str, account: &str, infix: &str) -> bool {
    name.strip_prefix(account)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| is_generated_from(rest, infix))
}

fn generated_secret_refs(object: &mut Map<String, Value>) {
    let Some(account) = object
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    for (field, infix) in [("secrets", "token"), ("imagePullSecrets", "dockercfg")] {
        if let Some(Value::Array(items)) = object.get_mut(field) {
            items.retain(|item| {
                !item
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|name| is_generated_name(name, &account, infix))
            });
        }
    }
}

fn is_default_toleration(item: &Value) -> bool {
    let Some(map) = item.as_object() else {
        return false;
    };
    map.len() == 4
        && map
            .get("key")
            .and_then(Value::as_str)
            .is_some_and(|k| DEFAULT_TOLERATION_KEYS.contains(&k))
        && map.get("operator").and_then(Value::as_str) == Some("Exists")
        && map.get("effect").and_then(Value::as_str) == Some("NoExecute")
        && map.get("tolerationSeconds").and_then(Value::as_i64) == Some(300)
}

fn is_token_volume_name(name: &str) -> bool {
    is_generated_from(name, TOKEN_VOLUME_PREFIX)
}

fn pod_admission(object: &mut Map<String, Value>) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(Value::Array(tolerations)) = spec.get_mut("tolerations") {
        tolerations.retain(|t| !is_default_toleration(t));
    }
    let mut removed = Vec::new();
    if let Some(Value::Array(volumes)) = spec.get_mut("volumes") {
        volumes.retain(|volume| {
            let generated = volume.get("projected").is_some()
                && volume
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(is_token_volume_name);
            if generated && let Some(name) = volume.get("name").and_then(Value::as_str) {
                removed.push(name.to_owned());
            }
            !generated
        });
    }
    if removed.is_empty() {
        return;
    }
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(Value::Array(containers)) = spec.get_mut(field) else {
            continue;
        };
        for container in containers {
            if let Some(Value::Array(mounts)) = container.get_mut("volumeMounts") {
                mounts.retain(|m| {
                    !m.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| removed.iter().any(|r| r == n))
                });
            }
        }
    }
}

fn binary_data_line_breaks(object: &mut Map<String, Value>) {
    let Some(data) = object.get_mut("binaryData").and_then(Value::as_object_mut) else {
        return;
    };
    for value in data.values_mut() {
        if let Value::String(text) = value
            && text.bytes().any(|b| b.is_ascii_whitespace())
        {
            text.retain(|c| !c.is_ascii_whitespace());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cleaned(kind: &str, mut object: Value) -> Value {
        if let Some(map) = object.as_object_mut() {
            remove(kind, map);
        }
        object
    }

    #[test]
    fn host_ports_copied_from_container_ports_go_only_with_host_network() {
        let template = |host_network: bool| {
            json!({"spec": {"template": {"spec": {"hostNetwork": host_network, "containers": [
                {"name": "agent", "ports": [
                    {"containerPort": 9100, "hostPort": 9100},
                    {"containerPort": 9200, "hostPort": 9300}]}]}}}})
        };
        assert_eq!(
            cleaned("DaemonSet", template(true)),
            json!({"spec": {"template": {"spec": {"hostNetwork": true, "containers": [
                {"name": "agent", "ports": [
                    {"containerPort": 9100},
                    {"containerPort": 9200, "hostPort": 9300}]}]}}}})
        );
        assert_eq!(cleaned("DaemonSet", template(false)), template(false));
        let pod = json!({"spec": {"hostNetwork": true, "initContainers": [
            {"name": "init", "ports": [{"containerPort": 53, "hostPort": 53}]}]}});
        assert_eq!(
            cleaned("Pod", pod),
            json!({"spec": {"hostNetwork": true, "initContainers": [
                {"name": "init", "ports": [{"containerPort": 53}]}]}})
        );
    }

    #[test]
    fn job_generated_labels_and_copied_labels_go() {
        let live = json!({
            "metadata": {"labels": {"app": "migrate", "job-name": "m", "controller-uid": "u",
                "batch.kubernetes.io/job-name": "m", "batch.kubernetes.io/controller-uid": "u"}},
            "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
                "template": {"metadata": {"labels": {"app": "migrate", "job-name": "m",
                    "controller-uid": "u", "batch.kubernetes.io/job-name": "m",
                    "batch.kubernetes.io/controller-uid": "u"}}}}
        });
        assert_eq!(
            cleaned("Job", live),
            json!({"metadata": {}, "spec": {"selector": {"matchLabels": {}},
                "template": {"metadata": {"labels": {"app": "migrate"}}}}})
        );
        // Labels of the Job's own that differ from the template's stay.
        let own = json!({"metadata": {"labels": {"team": "data"}},
            "spec": {"template": {"metadata": {"labels": {"app": "migrate"}}}}});
        assert_eq!(cleaned("Job", own.clone()), own);
    }

    #[test]
    fn token_secret_keeps_only_declared_data() {
        let live = json!({"type": "kubernetes.io/service-account-token",
            "data": {"token": "t", "ca.crt": "c", "namespace": "n", "extra": "e"}});
        assert_eq!(cleaned("Secret", live)["data"], json!({"extra": "e"}));
        let opaque = json!({"type": "Opaque", "data": {"token": "t"}});
        assert_eq!(cleaned("Secret", opaque.clone()), opaque);
    }

    #[test]
    fn generated_token_references_of_a_service_account_go() {
        let live = json!({"metadata": {"name": "ci"},
            "secrets": [{"name": "ci-token"}, {"name": "ci-token-q7w4z"}, {"name": "other-token-q7w4z"}],
            "imagePullSecrets": [{"name": "ci-dockercfg-8xk2p"}, {"name": "registry"}]});
        let cleaned = cleaned("ServiceAccount", live);
        assert_eq!(
            cleaned["secrets"],
            json!([{"name": "ci-token"}, {"name": "other-token-q7w4z"}])
        );
        assert_eq!(cleaned["imagePullSecrets"], json!([{"name": "registry"}]));
    }

    #[test]
    fn pod_admission_additions_go() {
        let token = json!({"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420,
            "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}});
        let live = json!({"spec": {
            "containers": [{"name": "app", "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "kube-api-access-x7k2p", "readOnly": true,
                 "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                 "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                 "effect": "NoExecute", "tolerationSeconds": 300}],
            "volumes": [{"name": "data", "emptyDir": {}}, token]}});
        assert_eq!(
            cleaned("Pod", live),
            json!({"spec": {
                "containers": [{"name": "app", "volumeMounts": [
                    {"name": "data", "mountPath": "/data"}]}],
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db",
                    "effect": "NoSchedule"}],
                "volumes": [{"name": "data", "emptyDir": {}}]}})
        );
        // A toleration of another duration is somebody's choice.
        let own = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable",
            "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]}});
        assert_eq!(cleaned("Pod", own.clone()), own);
    }

    #[test]
    fn binary_data_line_breaks_go() {
        let desired = json!({"binaryData": {"icon": "AAEC\nAwQF\n"}});
        assert_eq!(
            cleaned("ConfigMap", desired)["binaryData"]["icon"],
            json!("AAECAwQF")
        );
    }
}
