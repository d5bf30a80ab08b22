//! The walk over pairs of objects.

use super::*;
use crate::managed::ManagedFields;
use crate::normalize::CanonicalOptions;
use crate::scalar::scalars_equal;
use serde_json::json;

fn diffs(kind: &str, desired: Value, live: Value) -> Vec<String> {
    let policy = ManagerPolicy::default();
    let context = WalkContext {
        kind,
        last_applied: &LastApplied::none(),
        policy: &policy,
        resources_set_by_admission: false,
        api_version: "",
        schema: SchemaCursor::UNKNOWN,
        ownership_recorded: false,
    };
    diff_objects(&desired, &live, &Owners::none(), &context)
        .into_iter()
        .map(|d| d.path.to_string())
        .collect()
}

#[test]
fn fields_only_in_live_are_defaults() {
    assert!(
        diffs(
            "Deployment",
            json!({"spec": {"replicas": 2}}),
            json!({"spec": {"replicas": 2, "revisionHistoryLimit": 10}})
        )
        .is_empty()
    );
}

#[test]
fn keyed_lists_match_by_key_not_position() {
    let desired = json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]});
    let live = json!({"containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "z"}]});
    assert_eq!(diffs("Pod", desired, live), ["containers[name=a].image"]);
}

#[test]
fn live_only_keyed_items_are_drift() {
    let desired = json!({"env": [{"name": "A", "value": "1"}]});
    let live = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
    assert_eq!(diffs("Pod", desired, live), ["env[name=B]"]);
}

#[test]
fn items_with_the_same_key_pair_in_order() {
    let desired = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
        {"name": "A", "value": "3"}]});
    let live = desired.clone();
    assert!(diffs("Pod", desired.clone(), live).is_empty());
    let live = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
        {"name": "A", "value": "4"}]});
    assert_eq!(diffs("Pod", desired.clone(), live), ["env[name=A].value"]);
    let live = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
    assert_eq!(diffs("Pod", desired, live), ["env[name=A]"]);
}

#[test]
fn port_protocol_defaults_to_tcp() {
    let desired = json!({"ports": [{"containerPort": 80}]});
    let live = json!({"ports": [{"containerPort": 80, "protocol": "TCP"}]});
    assert!(diffs("Pod", desired, live).is_empty());
}

#[test]
fn positional_lists_compare_elements_by_the_same_rules() {
    let desired = json!({"items": [{"a": 1}]});
    let live = json!({"items": [{"a": 1, "defaulted": true}]});
    assert!(diffs("X", desired, live).is_empty());
    let desired = json!({"args": ["a", "b"]});
    let live = json!({"args": ["a"]});
    assert_eq!(diffs("X", desired, live), ["args"]);
}

#[test]
fn items_added_to_or_removed_from_positional_lists_are_differences_of_their_own() {
    let secret = json!({"secretRef": {"name": "creds"}});
    let config = json!({"configMapRef": {"name": "settings"}});
    let desired = json!({"envFrom": [secret.clone()]});
    let live = json!({"envFrom": [secret.clone(), config.clone()]});
    assert_eq!(diffs("Pod", desired.clone(), live.clone()), ["envFrom[1]"]);
    assert_eq!(diffs("Pod", live, desired), ["envFrom[1]"]);
    let desired = json!({"envFrom": [secret.clone(), config.clone()]});
    let live = json!({"envFrom": [config.clone()]});
    assert_eq!(diffs("Pod", desired, live), ["envFrom[0]"]);
    // An item that only live has a field in is not the same item.
    let edited = json!({"envFrom": [{"secretRef": {"name": "creds", "optional": true},
        "prefix": "HACKED_"}, config.clone()]});
    assert_eq!(
        diffs("Pod", json!({"envFrom": [secret.clone()]}), edited),
        ["envFrom"]
    );
    // Items changed as well as added: the whole list.
    let desired = json!({"envFrom": [secret]});
    let live = json!({"envFrom": [config, {"prefix": "X_", "configMapRef": {"name": "more"}}]});
    assert_eq!(diffs("Pod", desired, live), ["envFrom"]);
}

#[test]
fn user_map_keys_only_in_live_are_drift() {
    let desired = json!({"metadata": {"labels": {"app": "web"}}});
    let live = json!({"metadata": {"labels": {"app": "web", "hand": "edit"}}});
    assert_eq!(diffs("X", desired, live), ["metadata.labels.hand"]);
}

#[test]
fn three_way_removed_field_is_drift() {
    let policy = ManagerPolicy::default();
    let applied = json!({"spec": {"minReadySeconds": 10}});
    let applied = LastApplied::canonical(&applied);
    let context = WalkContext {
        kind: "Deployment",
        last_applied: &applied,
        policy: &policy,
        resources_set_by_admission: false,
        api_version: "",
        schema: SchemaCursor::UNKNOWN,
        ownership_recorded: false,
    };
    let found = diff_objects(
        &json!({"spec": {"replicas": 1}}),
        &json!({"spec": {"replicas": 1, "minReadySeconds": 10, "revisionHistoryLimit": 10}}),
        &Owners::none(),
        &context,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path.to_string(), "spec.minReadySeconds");
    assert_eq!(found[0].desired, None);
    assert_eq!(found[0].live, Some(json!(10)));
}

#[test]
fn three_way_follows_keyed_items_with_defaulted_keys() {
    let policy = ManagerPolicy::default();
    let applied = json!({"containers": [{"name": "c", "args": ["--old"],
        "ports": [{"containerPort": 80, "hostPort": 8080}]}]});
    let applied = LastApplied::canonical(&applied);
    let context = WalkContext {
        kind: "Pod",
        last_applied: &applied,
        policy: &policy,
        resources_set_by_admission: false,
        api_version: "",
        schema: SchemaCursor::UNKNOWN,
        ownership_recorded: false,
    };
    let found = diff_objects(
        &json!({"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}),
        &json!({"containers": [{"name": "c", "args": ["--old"], "imagePullPolicy": "Always",
            "ports": [{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}]}]}),
        &Owners::none(),
        &context,
    );
    let mut found = paths(&found);
    found.sort();
    assert_eq!(
        found,
        [
            "containers[name=c].args",
            "containers[name=c].ports[containerPort=80,protocol=TCP].hostPort"
        ]
    );
}

#[test]
fn unreadable_last_applied_counts_as_none() {
    let options = CanonicalOptions::default();
    assert!(
        LastApplied::from_text("{not json", &options, SchemaCursor::UNKNOWN)
            .get()
            .is_none()
    );
    let applied = LastApplied::from_text(
        r#"{"kind":"X","spec":{"a":"0.5","b":null}}"#,
        &options,
        SchemaCursor::UNKNOWN,
    );
    assert_eq!(
        applied.get(),
        Some(&json!({"kind": "X", "spec": {"a": "0.5"}}))
    );
}

#[test]
fn hand_edited_live_only_field_is_drift_with_manager() {
    let policy = ManagerPolicy::default();
    let fields = json!([
        {"manager": "kubectl-edit", "operation": "Update",
         "fieldsV1": {"f:spec": {"f:paused": {}}}}
    ]);
    let managed = ManagedFields::from_value(&fields);
    let context = WalkContext {
        kind: "Deployment",
        last_applied: &LastApplied::none(),
        policy: &policy,
        resources_set_by_admission: false,
        api_version: "",
        schema: SchemaCursor::UNKNOWN,
        ownership_recorded: false,
    };
    let found = diff_objects(
        &json!({"spec": {"replicas": 1}}),
        &json!({"spec": {"replicas": 1, "paused": true, "revisionHistoryLimit": 10}}),
        &managed.root(),
        &context,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path.to_string(), "spec.paused");
    assert_eq!(found[0].hand_editor.as_deref(), Some("kubectl-edit"));
}

fn walk(kind: &str, desired: Value, live: Value, managed: Value) -> Vec<FieldDiff> {
    let policy = ManagerPolicy::default();
    let managed = ManagedFields::from_value(&managed);
    let context = WalkContext {
        kind,
        last_applied: &LastApplied::none(),
        policy: &policy,
        resources_set_by_admission: false,
        api_version: "",
        schema: SchemaCursor::UNKNOWN,
        ownership_recorded: !managed.entries().is_empty(),
    };
    diff_objects(&desired, &live, &managed.root(), &context)
}

fn paths(found: &[FieldDiff]) -> Vec<String> {
    found.iter().map(|d| d.path.to_string()).collect()
}

#[test]
fn user_maps_and_keyed_lists_git_lacks_entirely_are_drift() {
    let desired = json!({"metadata": {"name": "a"},
        "spec": {"containers": [{"name": "c", "image": "x"}]}});
    let live = json!({"metadata": {"name": "a", "annotations": {"owner": "alice"}},
        "spec": {"containers": [{"name": "c", "image": "x", "imagePullPolicy": "Always",
            "env": [{"name": "DEBUG", "value": "1"}]}]}});
    assert_eq!(
        paths(&walk("Pod", desired, live, json!(null))),
        [
            "metadata.annotations.owner",
            "spec.containers[name=c].env[name=DEBUG]"
        ]
    );
}

#[test]
fn lists_of_plain_values_under_a_merge_key_name_are_not_keyed() {
    // A custom resource whose schema defaults `volumes` to a list of names.
    let desired = json!({"spec": {"size": 1}});
    let live = json!({"spec": {"size": 1, "volumes": ["data", "logs"]}});
    assert!(walk("Widget", desired, live, json!(null)).is_empty());
}

#[test]
fn what_controllers_alone_own_is_theirs() {
    let desired = json!({"secrets": [{"name": "ci-token"}]});
    let live = json!({"secrets": [{"name": "ci-token"}, {"name": "ci-extra"}]});
    let managed = json!([
        {"manager": "kubectl-client-side-apply", "operation": "Update",
         "fieldsV1": {"f:secrets": {".": {}, "k:{\"name\":\"ci-token\"}": {}}}},
        {"manager": "kube-controller-manager", "operation": "Update",
         "fieldsV1": {"f:secrets": {"k:{\"name\":\"ci-extra\"}": {}}}}
    ]);
    assert!(walk("ServiceAccount", desired.clone(), live.clone(), managed).is_empty());
    // Without ownership information an item Git lacks was put there by somebody.
    assert_eq!(
        paths(&walk("ServiceAccount", desired, live, json!(null))),
        ["secrets[name=ci-extra]"]
    );
}

#[test]
fn server_side_applier_fields_git_dropped_are_drift() {
    let managed = json!([{"manager": "kubectl", "operation": "Apply",
        "fieldsV1": {"f:spec": {"f:replicas": {}, "f:minReadySeconds": {}}}}]);
    let found = walk(
        "Deployment",
        json!({"spec": {"replicas": 2}}),
        json!({"spec": {"replicas": 2, "minReadySeconds": 15, "revisionHistoryLimit": 10}}),
        managed,
    );
    assert_eq!(paths(&found), ["spec.minReadySeconds"]);
    // `kubectl` without Apply is an imperative command, such as `kubectl scale`.
    let scaled = json!([{"manager": "kubectl", "operation": "Update", "subresource": "scale",
        "fieldsV1": {"f:spec": {"f:replicas": {}}}}]);
    let found = walk(
        "Deployment",
        json!({"spec": {"paused": false}}),
        json!({"spec": {"replicas": 4}}),
        scaled,
    );
    assert_eq!(paths(&found), ["spec.replicas"]);
    assert_eq!(found[0].hand_editor.as_deref(), Some("kubectl"));
}

#[test]
fn hand_edits_inside_a_map_git_lacks_name_the_edited_field() {
    let managed = json!([
        {"manager": "kubectl-client-side-apply", "operation": "Update",
         "fieldsV1": {"f:spec": {"f:strategy": {"f:type": {}, "f:rollingUpdate": {
             ".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}}}}},
        {"manager": "kubectl-edit", "operation": "Update",
         "fieldsV1": {"f:spec": {"f:strategy": {"f:rollingUpdate": {"f:maxUnavailable": {}}}}}}
    ]);
    let found = walk(
        "Deployment",
        json!({"spec": {"replicas": 2}}),
        json!({"spec": {"replicas": 2, "strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}}),
        managed,
    );
    assert_eq!(
        paths(&found),
        ["spec.strategy.rollingUpdate.maxUnavailable"]
    );
    assert_eq!(found[0].hand_editor.as_deref(), Some("kubectl-edit"));
}

#[test]
fn defaults_stay_defaults_whoever_owns_them() {
    // An object created by an imperative command owns its defaults from creation.
    let managed = json!([{"manager": "kubectl-expose", "operation": "Update",
        "fieldsV1": {"f:spec": {"f:sessionAffinity": {}, "f:type": {}, "f:selector": {}}}}]);
    let found = walk(
        "Service",
        json!({"spec": {"selector": {"app": "a"}}}),
        json!({"spec": {"selector": {"app": "a"}, "sessionAffinity": "None", "type": "ClusterIP"}}),
        managed.clone(),
    );
    assert!(found.is_empty(), "{found:?}");
    let found = walk(
        "Service",
        json!({"spec": {"selector": {"app": "a"}}}),
        json!({"spec": {"selector": {"app": "a"}, "sessionAffinity": "ClientIP", "type": "ClusterIP"}}),
        managed,
    );
    assert_eq!(paths(&found), ["spec.sessionAffinity"]);
}

#[test]
fn zero_values_the_server_omits_are_not_missing() {
    let found = walk(
        "Deployment",
        json!({"spec": {"paused": false, "minReadySeconds": 0, "replicas": 2}}),
        json!({"spec": {"replicas": 2}}),
        json!(null),
    );
    assert!(found.is_empty(), "{found:?}");
    let found = walk(
        "Deployment",
        json!({"spec": {"paused": true}}),
        json!({"spec": {}}),
        json!(null),
    );
    assert_eq!(paths(&found), ["spec.paused"]);
    // Optional fields come back whenever they are set, `false` and `0` included.
    let found = walk(
        "Deployment",
        json!({"securityContext": {"allowPrivilegeEscalation": false, "runAsUser": 0,
            "readOnlyRootFilesystem": true}}),
        json!({"securityContext": {"readOnlyRootFilesystem": true}}),
        json!(null),
    );
    assert_eq!(
        paths(&found),
        [
            "securityContext.allowPrivilegeEscalation",
            "securityContext.runAsUser"
        ]
    );
}

#[test]
fn finalizers_git_lacks_are_controllers_bookkeeping() {
    let managed = json!([{"manager": "aws-load-balancer-controller", "operation": "Update",
        "fieldsV1": {"f:metadata": {"f:finalizers": {".": {},
            "v:\"ingress.k8s.aws/resources\"": {}}}}}]);
    let desired = json!({"metadata": {"name": "web"}});
    let live = json!({"metadata": {"name": "web",
        "finalizers": ["ingress.k8s.aws/resources"]}});
    assert!(walk("Ingress", desired, live.clone(), managed.clone()).is_empty());
    // Those Git declares must be there, in any order.
    let desired = json!({"metadata": {"name": "web",
        "finalizers": ["example.com/cleanup", "ingress.k8s.aws/resources"]}});
    let reordered = json!({"metadata": {"name": "web",
        "finalizers": ["ingress.k8s.aws/resources", "example.com/cleanup"]}});
    assert!(walk("Ingress", desired.clone(), reordered, json!(null)).is_empty());
    assert_eq!(
        paths(&walk("Ingress", desired, live, managed)),
        ["metadata.finalizers"]
    );
}

#[test]
fn fields_the_server_never_fills_in_are_drift_unless_controllers_own_them() {
    let desired = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.27"}]}}}});
    let live = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.27", "command": ["sleep", "1d"],
         "terminationMessagePath": "/dev/termination-log"}]}}}});
    let found = walk("Deployment", desired.clone(), live.clone(), json!([]));
    assert_eq!(
        paths(&found),
        ["spec.template.spec.containers[name=web].command"]
    );
    let by_controller = json!([{"manager": "kube-controller-manager", "operation": "Update",
        "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {"f:command": {}}}}}}}}]);
    assert!(walk("Deployment", desired, live, by_controller).is_empty());

    let desired = json!({"spec": {"ports": [{"port": 80}]}});
    let live = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}});
    assert_eq!(
        paths(&walk("Service", desired, live, json!([]))),
        ["spec.ports[port=80,protocol=TCP].targetPort"]
    );
}

#[test]
fn sets_ignore_order() {
    let desired = json!({"subsets": [{"addresses": [{"ip": "1"}, {"ip": "2"}]}]});
    let live = json!({"subsets": [{"addresses": [{"ip": "2"}, {"ip": "1"}]}]});
    assert!(diffs("Endpoints", desired.clone(), live).is_empty());
    let live = json!({"subsets": [{"addresses": [{"ip": "2"}, {"ip": "3"}]}]});
    assert_eq!(diffs("Endpoints", desired, live), ["subsets[0].addresses"]);
}

#[test]
fn numbers_equal_their_string_form() {
    assert!(scalars_equal(&json!(8080), &json!("8080")));
    assert!(scalars_equal(&json!(1), &json!(1.0)));
    assert!(!scalars_equal(&json!(""), &json!(0)));
    assert!(!scalars_equal(&json!("a"), &json!("b")));
}
