//! The manifests of `deploy/`: DriftGuard's own reader parses them, each one is a valid
//! object of its kind (k8s-openapi, or the fields used of the Prometheus Operator's
//! kinds), the ClusterRole and the per-namespace Secret Role grant exactly what the
//! watched types need, the NetworkPolicy admits only the monitoring namespace and the
//! labelled clients, the ConfigMap holds a configuration that `driftguard config validate`
//! accepts, and the pieces fit together (the Deployment mounts what the configuration
//! names, the Service, ServiceMonitor and NetworkPolicy find the pod). The components
//! `deploy/ha` and `deploy/hub`, built as docs/operations.md shows them, give what a user
//! relies on: two replicas electing a leader with a Lease and nothing more, a
//! PodDisruptionBudget, MongoDB from a Secret, and a hub that reads no cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deploy_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use deploy_support::network::{Client, admits, selects};
use deploy_support::rbac::{DISCOVERY_URLS, needed, non_resource_grants, resource_grants};
use deploy_support::{deploy_dir, read, read_yaml, repo_root};
use driftguard_core::Resource;
use driftguard_core::secret::FingerprintKey;
use driftguard_sources::FolderDesiredSource;
use driftguard_sources::manifest::{ManifestLimits, ManifestReader, manifest_files};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvVar, Namespace, PersistentVolumeClaim, PodSpec, Service,
    ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The Prometheus Operator's ServiceMonitor, limited to the fields deploy/ uses.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceMonitor {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: ServiceMonitorSpec,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceMonitorSpec {
    selector: LabelSelector,
    endpoints: Vec<ScrapeEndpoint>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScrapeEndpoint {
    port: String,
    path: String,
    interval: String,
    honor_labels: bool,
}

/// The Prometheus Operator's PrometheusRule, limited to the fields deploy/ uses.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PrometheusRule {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: PrometheusRuleSpec,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrometheusRuleSpec {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    rules: Vec<AlertingRule>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertingRule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_duration: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

/// The objects of deploy/, read as DriftGuard reads a desired-state folder.
fn deploy_objects() -> Vec<Resource> {
    FolderDesiredSource::new(deploy_dir(), FingerprintKey::derive("deploy manifests"))
        .and_then(|source| source.read())
        .unwrap_or_else(|e| panic!("DriftGuard cannot read deploy/ as desired state: {e}"))
        .resources
}

fn object(objects: &[Resource], id: &str) -> Value {
    objects
        .iter()
        .find(|r| r.id.to_string() == id)
        .unwrap_or_else(|| panic!("deploy/ has no {id}"))
        .object
        .to_value()
}

/// Deserialises `object` into `T` and back: the type accepts it, and nothing is lost on
/// the way (a misspelt or misplaced field would be dropped by the typed form).
fn typed<T: DeserializeOwned + Serialize>(id: &str, object: &Value) -> T {
    let typed: T = serde_json::from_value(object.clone())
        .unwrap_or_else(|e| panic!("{id} is not a valid {}: {e}", std::any::type_name::<T>()));
    let back = serde_json::to_value(&typed).expect("serialise");
    assert_eq!(
        &back,
        object,
        "{id}: fields are lost when read as {}",
        std::any::type_name::<T>()
    );
    typed
}

/// Checks that `object` is a valid `T` (see [`typed`]).
fn valid<T: DeserializeOwned + Serialize>(id: &str, object: &Value) {
    let _checked: T = typed(id, object);
}

/// The Role and RoleBinding that overlays instantiate once per namespace whose Secrets
/// DriftGuard reads.
const SECRET_READER_ROLE: &str = "secret-reader/role.yaml";

/// The objects of `deploy/secret-reader/role.yaml`, as written (without a namespace).
fn secret_reader_objects() -> Vec<Resource> {
    let reader = ManifestReader::new(FingerprintKey::derive("deploy"), ManifestLimits::DESIRED);
    reader
        .read_file(&deploy_dir().join(SECRET_READER_ROLE))
        .unwrap_or_else(|e| panic!("deploy/{SECRET_READER_ROLE}: {e}"))
}

fn kustomization_resources() -> Vec<String> {
    let kustomization = read_yaml(&deploy_dir().join("kustomization.yaml"));
    assert_eq!(
        kustomization["apiVersion"],
        "kustomize.config.k8s.io/v1beta1"
    );
    assert_eq!(kustomization["kind"], "Kustomization");
    let keys: BTreeSet<&str> = kustomization
        .as_object()
        .expect("a mapping")
        .keys()
        .map(String::as_str)
        .collect();
    // Anything that rewrites the objects (prefixes, labels, generators, patches) would
    // make the applied objects differ from the files, which are the desired state.
    assert_eq!(
        keys,
        BTreeSet::from(["apiVersion", "kind", "resources"]),
        "the base kustomization only lists resources"
    );
    kustomization["resources"]
        .as_array()
        .expect("resources is a list")
        .iter()
        .map(|r| r.as_str().expect("a file name").to_owned())
        .collect()
}

#[test]
fn every_manifest_parses_with_driftguards_reader_and_kustomize_lists_exactly_them() {
    let reader = ManifestReader::new(FingerprintKey::derive("deploy"), ManifestLimits::DESIRED);
    let listed: BTreeSet<String> = kustomization_resources().into_iter().collect();
    let mut with_objects = BTreeSet::new();
    let files = manifest_files(&deploy_dir()).expect("list deploy/");
    assert!(files.len() >= listed.len(), "{files:?}");
    for file in &files {
        let relative = file
            .strip_prefix(deploy_dir())
            .expect("under deploy/")
            .to_string_lossy()
            .into_owned();
        if in_component(&relative) {
            // Patches and additions to the base, checked by building the overlays.
            continue;
        }
        let objects = reader
            .read_file(file)
            .unwrap_or_else(|e| panic!("DriftGuard cannot read deploy/{relative}: {e}"));
        if objects.is_empty() {
            // The kustomization, the plain rules, their unit tests and the dashboard are
            // not Kubernetes objects; the reader skips them.
            continue;
        }
        with_objects.insert(relative);
    }
    // secret-reader/ is a kustomization of its own, used per namespace by overlays.
    assert!(
        with_objects.remove(SECRET_READER_ROLE),
        "deploy/{SECRET_READER_ROLE} holds the Role and RoleBinding"
    );
    assert_eq!(
        with_objects, listed,
        "kustomization.yaml must list every file of deploy/ that holds objects, and only those"
    );
    let skipped: BTreeSet<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(deploy_dir())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| !listed.contains(f))
        .collect();
    assert_eq!(
        skipped,
        BTreeSet::from(
            [
                "grafana-dashboard.json",
                "kustomization.yaml",
                "prometheus/driftguard.rules.test.yaml",
                "prometheus/driftguard.rules.yaml",
                "secret-reader/kustomization.yaml",
                SECRET_READER_ROLE,
                "ha/deployment.yaml",
                "ha/kustomization.yaml",
                "ha/leader-election.yaml",
                "ha/poddisruptionbudget.yaml",
                "hub/configmap.yaml",
                "hub/deployment.yaml",
                "hub/kustomization.yaml",
                "hub/poddisruptionbudget.yaml",
            ]
            .map(str::to_owned)
        )
    );
    // Each component is a Kustomize component: a kustomization inside deploy/ cannot build
    // on deploy/ (Kustomize refuses the cycle), so overlays next to it use them.
    for component in COMPONENTS {
        let kustomization = read_yaml(&deploy_dir().join(component).join("kustomization.yaml"));
        assert_eq!(
            kustomization["apiVersion"], "kustomize.config.k8s.io/v1alpha1",
            "deploy/{component}"
        );
        assert_eq!(kustomization["kind"], "Component", "deploy/{component}");
    }
}

#[test]
fn every_object_is_valid_for_its_kind() {
    let objects = deploy_objects();
    let ids: BTreeSet<String> = objects.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(
            [
                "ClusterRole::driftguard-reader",
                "ClusterRoleBinding::driftguard-reader",
                "ConfigMap:driftguard:driftguard-config",
                "Deployment:driftguard:driftguard",
                "Namespace::driftguard",
                "NetworkPolicy:driftguard:driftguard",
                "PersistentVolumeClaim:driftguard:driftguard-data",
                "PrometheusRule:driftguard:driftguard",
                "Service:driftguard:driftguard",
                "ServiceAccount:driftguard:driftguard",
                "ServiceMonitor:driftguard:driftguard",
            ]
            .map(str::to_owned)
        )
    );
    let secret_reader = secret_reader_objects();
    let kinds: BTreeSet<&str> = secret_reader.iter().map(|r| r.id.kind()).collect();
    assert_eq!(kinds, BTreeSet::from(["Role", "RoleBinding"]));
    for resource in objects.iter().chain(&secret_reader) {
        check_kind(
            &resource.id.to_string(),
            &resource.api_version,
            resource.id.kind(),
            &resource.object.to_value(),
        );
    }
}

/// Checks that `object` is a valid object of its kind (see [`typed`]) and carries the
/// `app.kubernetes.io/name` label.
fn check_kind(id: &str, api_version: &str, kind: &str, object: &Value) {
    match (api_version, kind) {
        ("v1", "Namespace") => valid::<Namespace>(id, object),
        ("v1", "ServiceAccount") => valid::<ServiceAccount>(id, object),
        ("v1", "ConfigMap") => valid::<ConfigMap>(id, object),
        ("v1", "PersistentVolumeClaim") => valid::<PersistentVolumeClaim>(id, object),
        ("v1", "Service") => valid::<Service>(id, object),
        ("apps/v1", "Deployment") => valid::<Deployment>(id, object),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
            valid::<ClusterRole>(id, object);
        }
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            valid::<ClusterRoleBinding>(id, object);
        }
        ("rbac.authorization.k8s.io/v1", "Role") => valid::<Role>(id, object),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => valid::<RoleBinding>(id, object),
        ("networking.k8s.io/v1", "NetworkPolicy") => valid::<NetworkPolicy>(id, object),
        ("policy/v1", "PodDisruptionBudget") => valid::<PodDisruptionBudget>(id, object),
        ("monitoring.coreos.com/v1", "ServiceMonitor") => {
            valid::<ServiceMonitor>(id, object);
        }
        ("monitoring.coreos.com/v1", "PrometheusRule") => {
            valid::<PrometheusRule>(id, object);
        }
        (api_version, kind) => panic!("{id}: unexpected {api_version} {kind}"),
    }
    let labels = &object["metadata"]["labels"];
    assert_eq!(
        labels["app.kubernetes.io/name"], "driftguard",
        "{id} carries the app.kubernetes.io/name label"
    );
}

/// The configured `kubernetes.resource_types` of `config`.
fn configured_types(config: &Value) -> Vec<String> {
    config["kubernetes"]["resource_types"]
        .as_array()
        .expect("kubernetes.resource_types is set")
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_cluster_role_reads_exactly_the_watched_types_and_no_secrets() {
    let objects = deploy_objects();
    let config = config_yaml(&objects);
    // The shipped configuration reads every namespace but the system ones, so no Role
    // per namespace could grant Secrets: it does not read them.
    let types = configured_types(&config);
    assert!(
        !types.iter().any(|t| t == "secrets"),
        "the default watches all namespaces; Secrets need a Role per watched namespace: {types:?}"
    );
    assert_eq!(config["kubernetes"]["namespaces"], serde_json::json!([]));
    let role: ClusterRole = typed(
        "ClusterRole::driftguard-reader",
        &object(&objects, "ClusterRole::driftguard-reader"),
    );
    assert!(role.aggregation_rule.is_none());
    let rules = role.rules.as_deref().unwrap_or_default();
    assert_eq!(
        resource_grants("ClusterRole driftguard-reader", rules),
        needed(&types),
        "the ClusterRole grants get, list and watch on exactly the configured types"
    );
    assert!(
        !rules
            .iter()
            .flat_map(|r| r.resources.iter().flatten())
            .any(|r| r == "secrets"),
        "no Secret permission at all in the ClusterRole"
    );
    assert_eq!(
        non_resource_grants("ClusterRole driftguard-reader", rules),
        DISCOVERY_URLS.iter().map(|u| (*u).to_owned()).collect(),
        "discovery, OpenAPI and /version, as the Kubernetes source asks for them"
    );

    // Same rules as the ClusterRole documented in docs/rbac.yaml.
    let documented = FolderDesiredSource::new(
        repo_root().join("docs/rbac.yaml"),
        FingerprintKey::derive("rbac"),
    )
    .and_then(|source| source.read())
    .expect("docs/rbac.yaml parses");
    let documented = documented
        .resources
        .iter()
        .find(|r| r.id.kind() == "ClusterRole")
        .expect("docs/rbac.yaml has a ClusterRole");
    assert_eq!(
        documented.object.to_value()["rules"],
        object(&objects, "ClusterRole::driftguard-reader")["rules"]
    );

    // Bound to DriftGuard's ServiceAccount, which the Deployment runs as.
    let binding: ClusterRoleBinding = typed(
        "ClusterRoleBinding::driftguard-reader",
        &object(&objects, "ClusterRoleBinding::driftguard-reader"),
    );
    assert_eq!(binding.role_ref.kind, "ClusterRole");
    assert_eq!(binding.role_ref.name, "driftguard-reader");
    let subjects = binding.subjects.expect("subjects");
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(subjects[0].name, "driftguard");
    assert_eq!(subjects[0].namespace.as_deref(), Some("driftguard"));
    let deployment = deployment(&objects);
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("driftguard"));
}

/// The documented overlay that reads Secrets, built with the namespaces and types of its
/// configuration: each watched namespace gets a Role granting exactly Secrets, bound to
/// DriftGuard's ServiceAccount, and the ClusterRole still grants no Secret.
#[test]
fn the_documented_secret_reader_grants_secrets_only_in_the_watched_namespaces() {
    let blocks = operations_yaml_blocks("### Reading Secrets");
    let [settings, kustomization, per_namespace] = &blocks[..] else {
        panic!(
            "the section shows the settings, the overlay and one namespace's folder: {blocks:?}"
        );
    };
    let settings: Value = serde_saphyr::from_str(settings).expect("the settings are YAML");
    let namespaces: Vec<String> = settings["kubernetes"]["namespaces"]
        .as_array()
        .expect("kubernetes.namespaces lists the namespaces")
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    assert!(namespaces.len() >= 2, "{namespaces:?}");
    let types = configured_types(&settings);
    assert!(types.iter().any(|t| t == "secrets"), "{types:?}");

    // The overlay's configuration: deploy/'s, with the documented settings.
    let objects = deploy_objects();
    let shipped = config_text(&objects);
    let config = shipped
        .replace(
            "  namespaces: []\n",
            &format!("  namespaces: [{}]\n", namespaces.join(", ")),
        )
        .replace(
            "  resource_types: [deployments, services, configmaps]\n",
            &format!("  resource_types: [{}]\n", types.join(", ")),
        );
    assert_ne!(config, shipped);
    let patch = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: driftguard-config\n  namespace: driftguard\ndata:\n  config.yaml: |\n{}",
        config
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    // The folder shown is the first namespace's; the others differ only in the name.
    let example = format!("\nnamespace: {}\n", namespaces[0]);
    assert!(
        per_namespace.contains(&example),
        "the folder's kustomization sets `namespace: {}`:\n{per_namespace}",
        namespaces[0]
    );
    let mut files = vec![("config.yaml.patch".to_owned(), patch)];
    for namespace in &namespaces {
        let folder = format!("secrets-{namespace}");
        assert!(
            kustomization.contains(&format!("  - {folder}\n")),
            "the overlay lists {folder}:\n{kustomization}"
        );
        let text = per_namespace.replace(&example, &format!("\nnamespace: {namespace}\n"));
        files.push((format!("{folder}/kustomization.yaml"), text));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let built = kustomize_overlay(kustomization, &files);

    // The configuration built reads the documented namespaces and types.
    let config_map = built
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("the ConfigMap");
    let built_config: Value =
        serde_saphyr::from_str(config_map["data"]["config.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(built_config["kubernetes"], {
        let mut expected = config_yaml(&objects)["kubernetes"].clone();
        expected["namespaces"] = settings["kubernetes"]["namespaces"].clone();
        expected["resource_types"] = settings["kubernetes"]["resource_types"].clone();
        expected
    });

    // Secrets through Roles, one per watched namespace; everything else cluster-wide.
    let secrets: BTreeSet<(String, String)> = needed(&types)
        .into_iter()
        .filter(|(_, plural)| plural == "secrets")
        .collect();
    let cluster_wide: BTreeSet<(String, String)> =
        needed(&types).difference(&secrets).cloned().collect();
    let of_kind =
        |kind: &str| -> Vec<&Value> { built.iter().filter(|o| o["kind"] == kind).collect() };
    let cluster_role: ClusterRole = typed("ClusterRole", of_kind("ClusterRole")[0]);
    let cluster_rules = cluster_role.rules.unwrap_or_default();
    let granted = resource_grants("ClusterRole driftguard-reader", &cluster_rules);
    assert!(
        cluster_wide.is_subset(&granted) && granted.is_disjoint(&secrets),
        "ClusterRole: {granted:?}"
    );
    let mut role_namespaces = BTreeSet::new();
    for role in of_kind("Role") {
        let role: Role = typed("Role", role);
        let namespace = role.metadata.namespace.clone().expect("a namespaced Role");
        let what = format!("Role {namespace}/driftguard-secret-reader");
        let rules = role.rules.unwrap_or_default();
        assert_eq!(resource_grants(&what, &rules), secrets, "{what}");
        assert!(non_resource_grants(&what, &rules).is_empty(), "{what}");
        assert!(role_namespaces.insert(namespace));
    }
    let mut binding_namespaces = BTreeSet::new();
    for binding in of_kind("RoleBinding") {
        let binding: RoleBinding = typed("RoleBinding", binding);
        let namespace = binding.metadata.namespace.clone().expect("namespaced");
        assert_eq!(binding.role_ref.kind, "Role");
        assert_eq!(binding.role_ref.name, "driftguard-secret-reader");
        let subjects = binding.subjects.expect("subjects");
        assert_eq!(subjects.len(), 1, "{namespace}");
        assert_eq!(subjects[0].kind, "ServiceAccount");
        assert_eq!(subjects[0].name, "driftguard");
        assert_eq!(
            subjects[0].namespace.as_deref(),
            Some("driftguard"),
            "{namespace}: the binding names DriftGuard's ServiceAccount in its own namespace"
        );
        assert!(binding_namespaces.insert(namespace));
    }
    let watched: BTreeSet<String> = namespaces.into_iter().collect();
    assert_eq!(role_namespaces, watched);
    assert_eq!(binding_namespaces, watched);
}

fn deployment(objects: &[Resource]) -> Deployment {
    typed(
        "Deployment:driftguard:driftguard",
        &object(objects, "Deployment:driftguard:driftguard"),
    )
}

fn config_map(objects: &[Resource]) -> ConfigMap {
    typed(
        "ConfigMap:driftguard:driftguard-config",
        &object(objects, "ConfigMap:driftguard:driftguard-config"),
    )
}

/// The configuration the ConfigMap holds, parsed.
fn config_yaml(objects: &[Resource]) -> Value {
    let text = config_text(objects);
    serde_saphyr::from_str(&text).expect("config.yaml is YAML")
}

fn config_text(objects: &[Resource]) -> String {
    config_map(objects)
        .data
        .and_then(|mut d| d.remove("config.yaml"))
        .expect("the ConfigMap holds config.yaml")
}

/// Runs `driftguard config validate` on `config` with the environment `env` (and nothing
/// else of the test's own): its output.
fn validate_config(config: &str, env: &[(String, String)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, config).unwrap();
    // Validation reads the tokens file, which the Secret provides in the pod; here it is
    // a file of the same shape, named by the environment as a value from a Secret would be.
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(
        &tokens,
        format!(
            "- name: dashboard\n  token_sha256: {}\n  scopes: [read]\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(["config", "validate", "--config"])
        .arg(&file)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(name, value)| (name, value)))
        .env("DRIFTGUARD__SERVER__AUTH__TOKENS_FILE", &tokens)
        .output()
        .expect("run driftguard config validate")
}

#[test]
fn the_configuration_is_valid_for_driftguard() {
    let objects = deploy_objects();
    let output = validate_config(&config_text(&objects), &[]);
    assert!(
        output.status.success(),
        "driftguard config validate refused the ConfigMap's config.yaml:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let config = config_yaml(&objects);
    assert_eq!(config["sources"]["desired"], "git");
    assert_eq!(config["sources"]["live"], "kubernetes");
    assert_eq!(config["database"]["type"], "sqlite");
    assert_eq!(config["logging"]["format"], "json");
    assert_eq!(config["git"]["auth"]["type"], "token");
    assert!(
        config["detection"].get("fingerprint_key").is_none(),
        "no key material in a ConfigMap"
    );
    // The API needs tokens; /metrics stays open for the ServiceMonitor, which sends none.
    assert!(
        config["server"]["auth"]["tokens_file"].is_string(),
        "{config}"
    );
    assert_eq!(config["server"]["auth"]["protect_metrics"], false);
}

/// Where the container mounts each volume, by volume name.
fn mounts(container: &Container) -> BTreeMap<String, (PathBuf, bool)> {
    container
        .volume_mounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                (PathBuf::from(&m.mount_path), m.read_only.unwrap_or(false)),
            )
        })
        .collect()
}

#[test]
fn the_deployment_runs_driftguard_hardened_with_what_its_configuration_names() {
    let objects = deploy_objects();
    let deployment = deployment(&objects);
    let spec = deployment.spec.expect("spec");
    assert_eq!(spec.replicas, Some(1), "SQLite has one writer");
    assert_eq!(
        spec.strategy.and_then(|s| s.type_).as_deref(),
        Some("Recreate"),
        "the old pod releases the database before the new one opens it"
    );
    let pod_labels = spec
        .template
        .metadata
        .and_then(|m| m.labels)
        .expect("pod labels");
    let selector = spec.selector.match_labels.expect("matchLabels");
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    let pod = spec.template.spec.expect("pod spec");

    let pod_security = pod.security_context.as_ref().expect("pod securityContext");
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert!(pod_security.run_as_user.is_some_and(|uid| uid > 0));
    assert_eq!(
        pod_security
            .seccomp_profile
            .as_ref()
            .map(|p| p.type_.as_str()),
        Some("RuntimeDefault")
    );
    assert_eq!(pod.containers.len(), 1);
    let container = &pod.containers[0];
    let security = container
        .security_context
        .as_ref()
        .expect("securityContext");
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.privileged, None);
    let capabilities = security.capabilities.as_ref().expect("capabilities");
    assert_eq!(capabilities.drop.as_deref(), Some(&["ALL".to_owned()][..]));
    assert_eq!(capabilities.add, None);

    let resources = container.resources.as_ref().expect("resources");
    for (what, quantities) in [
        ("requests", &resources.requests),
        ("limits", &resources.limits),
    ] {
        let quantities = quantities.as_ref().unwrap_or_else(|| panic!("no {what}"));
        assert!(quantities.contains_key("cpu"), "{what} has cpu");
        assert!(quantities.contains_key("memory"), "{what} has memory");
    }

    // Probes: liveness on /health, readiness on /ready, on the named HTTP port.
    let port = container
        .ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|p| p.name.as_deref() == Some("http"))
        .expect("a port named http");
    assert_eq!(port.container_port, 8080);
    for (probe, path) in [
        (&container.liveness_probe, "/health"),
        (&container.readiness_probe, "/ready"),
    ] {
        let get = probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .unwrap_or_else(|| panic!("an HTTP probe on {path}"));
        assert_eq!(get.path.as_deref(), Some(path));
        assert_eq!(get.port, IntOrString::String("http".to_owned()));
    }

    // `--config` names the file the ConfigMap volume provides.
    let args = container.args.clone().unwrap_or_default();
    let command: Vec<&str> = args.iter().map(String::as_str).collect();
    let at = command
        .iter()
        .position(|a| *a == "--config")
        .expect("--config is given");
    assert_eq!(command[0], "serve");
    let config_path = Path::new(command[at + 1]);
    let volumes = pod.volumes.clone().unwrap_or_default();
    let mounts = mounts(container);
    let config_volume = volumes
        .iter()
        .find(|v| v.config_map.as_ref().map(|c| c.name.as_str()) == Some("driftguard-config"))
        .expect("a volume of the driftguard-config ConfigMap");
    let (config_dir, read_only) = &mounts[&config_volume.name];
    assert!(read_only);
    assert_eq!(config_path, config_dir.join("config.yaml"));

    // The configuration's paths lie on the right volumes.
    let config = config_yaml(&objects);
    let on_volume = |key: &str, value: &Value, volume: &str| {
        let path = Path::new(value.as_str().unwrap_or_else(|| panic!("{key} is set")));
        let (dir, _) = &mounts[volume];
        assert!(
            path.starts_with(dir),
            "{key} ({}) is not on volume {volume} ({})",
            path.display(),
            dir.display()
        );
    };
    let data = volumes
        .iter()
        .find(|v| v.persistent_volume_claim.is_some())
        .expect("a data volume");
    assert_eq!(
        data.persistent_volume_claim.as_ref().unwrap().claim_name,
        "driftguard-data"
    );
    assert!(!mounts[&data.name].1, "the data volume is writable");
    on_volume("database.path", &config["database"]["path"], &data.name);
    on_volume("git.cache_dir", &config["git"]["cache_dir"], &data.name);
    on_volume(
        "detection.fingerprint_key_file",
        &config["detection"]["fingerprint_key_file"],
        &data.name,
    );
    let secret_volume = |name: &str| {
        volumes
            .iter()
            .find(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some(name))
            .unwrap_or_else(|| panic!("a volume of the Secret {name}"))
    };
    let token = secret_volume("driftguard-git");
    on_volume(
        "git.auth.token_file",
        &config["git"]["auth"]["token_file"],
        &token.name,
    );
    assert!(
        config["git"]["auth"]["token_file"]
            .as_str()
            .unwrap()
            .ends_with("/token"),
        "the Secret's key is `token`"
    );
    // The API tokens: the Secret driftguard-api-tokens, key tokens.yaml, mounted read-only
    // as a folder (a subPath mount would never see an updated Secret).
    let api_tokens = secret_volume("driftguard-api-tokens");
    assert!(
        mounts[&api_tokens.name].1,
        "the tokens are mounted read-only"
    );
    on_volume(
        "server.auth.tokens_file",
        &config["server"]["auth"]["tokens_file"],
        &api_tokens.name,
    );
    assert!(
        config["server"]["auth"]["tokens_file"]
            .as_str()
            .unwrap()
            .ends_with("/tokens.yaml"),
        "the Secret's key is `tokens.yaml`, as `--from-file=tokens.yaml` names it"
    );
    assert!(
        container
            .volume_mounts
            .iter()
            .flatten()
            .all(|m| m.sub_path.is_none()),
        "no subPath mounts"
    );
    // The server listens where the probes and the Service look.
    assert_eq!(config["server"]["port"], 8080);
    assert_eq!(config["server"]["host"], "0.0.0.0");
    // A writable /tmp, as the root file system is read-only.
    assert!(
        mounts
            .values()
            .any(|(dir, ro)| dir == Path::new("/tmp") && !ro)
    );

    // The claim the data volume uses exists.
    let claim: PersistentVolumeClaim = typed(
        "PersistentVolumeClaim:driftguard:driftguard-data",
        &object(&objects, "PersistentVolumeClaim:driftguard:driftguard-data"),
    );
    let claim_spec = claim.spec.expect("spec");
    assert_eq!(
        claim_spec.access_modes.as_deref(),
        Some(&["ReadWriteOnce".to_owned()][..])
    );
}

#[test]
fn the_service_and_the_service_monitor_reach_the_pod() {
    let objects = deploy_objects();
    let deployment = deployment(&objects);
    let pod_labels = deployment
        .spec
        .unwrap()
        .template
        .metadata
        .and_then(|m| m.labels)
        .unwrap();
    let service: Service = typed(
        "Service:driftguard:driftguard",
        &object(&objects, "Service:driftguard:driftguard"),
    );
    let service_labels = service.metadata.labels.clone().unwrap();
    let spec = service.spec.unwrap();
    let selector = spec.selector.unwrap();
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    let ports = spec.ports.unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].name.as_deref(), Some("http"));
    assert_eq!(ports[0].port, 8080);
    assert_eq!(
        ports[0].target_port,
        Some(IntOrString::String("http".to_owned()))
    );

    let monitor: ServiceMonitor = typed(
        "ServiceMonitor:driftguard:driftguard",
        &object(&objects, "ServiceMonitor:driftguard:driftguard"),
    );
    let wanted = monitor.spec.selector.match_labels.unwrap();
    assert!(wanted.iter().all(|(k, v)| service_labels.get(k) == Some(v)));
    assert_eq!(monitor.spec.endpoints.len(), 1);
    let endpoint = &monitor.spec.endpoints[0];
    assert_eq!(endpoint.port, "http");
    assert_eq!(endpoint.path, "/metrics");
    assert!(
        endpoint.honor_labels,
        "the metrics' own `namespace` label must win over the target's"
    );
}

/// The label a pod carries to reach DriftGuard from outside the monitoring namespace.
const API_CLIENT_LABEL: (&str, &str) = ("driftguard.io/api-client", "true");

#[test]
fn the_network_policy_admits_only_monitoring_and_labelled_clients_on_the_api_port() {
    let objects = deploy_objects();
    let policy: NetworkPolicy = typed(
        "NetworkPolicy:driftguard:driftguard",
        &object(&objects, "NetworkPolicy:driftguard:driftguard"),
    );
    let namespace = policy.metadata.namespace.clone().expect("namespaced");
    let spec = policy.spec.expect("spec");
    assert_eq!(
        spec.policy_types.as_deref(),
        Some(&["Ingress".to_owned()][..]),
        "incoming traffic only: DriftGuard reaches Git and the API server"
    );
    assert!(spec.egress.is_none());

    // It selects DriftGuard's pods, and only them.
    let deployment = deployment(&objects);
    assert_eq!(
        deployment.metadata.namespace.as_deref(),
        Some(namespace.as_str())
    );
    let template = deployment.spec.unwrap().template;
    let pod_labels = template
        .metadata
        .and_then(|m| m.labels)
        .expect("pod labels");
    let pod_selector = spec.pod_selector.as_ref().expect("a podSelector");
    assert!(
        !pod_selector
            .match_labels
            .clone()
            .unwrap_or_default()
            .is_empty(),
        "an empty podSelector would select every pod of the namespace"
    );
    assert!(selects(pod_selector, &pod_labels));
    let container = &template.spec.expect("pod spec").containers[0];
    let ports = container.ports.clone().unwrap_or_default();
    let api = ports
        .iter()
        .find(|p| p.name.as_deref() == Some("http"))
        .expect("the API port");

    let monitoring = Client::new("monitoring", &[("app.kubernetes.io/name", "prometheus")]);
    let labelled = |ns: &str| Client::new(ns, &[API_CLIENT_LABEL]);
    for (client, admitted) in [
        (monitoring.clone(), true),
        (Client::new("monitoring", &[]), true),
        (labelled("shop"), true),
        (labelled("driftguard"), true),
        (labelled("monitoring"), true),
        (Client::new("shop", &[]), false),
        (
            Client::new("shop", &[("driftguard.io/api-client", "false")]),
            false,
        ),
        (
            Client::new("driftguard", &[("app.kubernetes.io/name", "driftguard")]),
            false,
        ),
        (
            Client::new("kube-system", &[("k8s-app", "kube-dns")]),
            false,
        ),
        (Client::new("default", &[]), false),
        (Client::new("monitoring-staging", &[]), false),
    ] {
        assert_eq!(
            admits(&spec, &namespace, &client, api),
            admitted,
            "{client:?} on the API port"
        );
    }
    // On any other port, nobody.
    let other = k8s_openapi::api::core::v1::ContainerPort {
        container_port: 9090,
        name: Some("debug".to_owned()),
        ..Default::default()
    };
    for client in [monitoring, labelled("shop")] {
        assert!(!admits(&spec, &namespace, &client, &other), "{client:?}");
    }

    // The Service sends its port to the same container port.
    let service: Service = typed(
        "Service:driftguard:driftguard",
        &object(&objects, "Service:driftguard:driftguard"),
    );
    let target = service.spec.unwrap().ports.unwrap()[0].target_port.clone();
    assert_eq!(target, Some(IntOrString::String("http".to_owned())));

    // The label is documented where the policy is.
    let operations = read(&repo_root().join("docs/operations.md"));
    assert!(
        operations.contains("driftguard.io/api-client: \"true\""),
        "docs/operations.md documents the client label"
    );
}

#[test]
fn the_image_is_built_multi_stage_and_runs_as_the_deployments_user() {
    let dockerfile = read(&repo_root().join("Dockerfile"));
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "a multi-stage build: {stages:?}");
    assert!(stages[0].contains("rust:"), "{stages:?}");
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    let uid: i64 = user
        .split(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .expect("a numeric user");
    assert!(uid > 0, "non-root");
    let objects = deploy_objects();
    let pod = deployment(&objects).spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.security_context.unwrap().run_as_user, Some(uid));
    assert!(dockerfile.contains("--locked"), "the build uses Cargo.lock");
    let ignore = read(&repo_root().join(".dockerignore"));
    assert!(ignore.lines().any(|l| l.trim() == "target"), "{ignore}");
    let namespace: Namespace = typed(
        "Namespace::driftguard",
        &object(&objects, "Namespace::driftguard"),
    );
    assert_eq!(namespace.metadata.name.as_deref(), Some("driftguard"));
}

/// The `yaml` code blocks of the section of docs/operations.md that `heading` opens.
fn operations_yaml_blocks(heading: &str) -> Vec<String> {
    let text = read(&repo_root().join("docs/operations.md"));
    let section = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("docs/operations.md has no `{heading}`"))
        .1;
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .split("```yaml\n")
        .skip(1)
        .map(|block| {
            block
                .split_once("```")
                .expect("a closed code block")
                .0
                .to_owned()
        })
        .collect()
}

/// The objects `kubectl kustomize` builds from `kustomization` (and `files` next to it or
/// in folders below it),
/// placed where the example places it: `clusters/prod/driftguard/`, three levels below a
/// copy of `deploy/`.
fn kustomize_overlay(kustomization: &str, files: &[(&str, &str)]) -> Vec<Value> {
    let root = tempfile::tempdir().unwrap();
    driftguard_test_support::files::copy_tree(&deploy_dir(), &root.path().join("deploy"));
    let overlay = root.path().join("clusters/prod/driftguard");
    std::fs::create_dir_all(&overlay).unwrap();
    std::fs::write(overlay.join("kustomization.yaml"), kustomization).unwrap();
    for (name, text) in files {
        let path = overlay.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(&overlay)
        .output()
        .expect("kubectl runs (scripts/test.sh installs it when missing)");
    assert!(
        output.status.success(),
        "kubectl kustomize of\n{kustomization}\nfailed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text)
        .expect("kustomize prints YAML")
        .into_iter()
        .filter(|o| !o.is_null())
        .collect()
}

fn kinds(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_documented_overlay_labels_the_operator_objects_or_drops_both() {
    let blocks = operations_yaml_blocks("### An overlay of your own");
    let kustomization = &blocks[0];
    let config_patch = &blocks[1];
    assert!(
        config_patch.contains("name: driftguard-config"),
        "{config_patch}"
    );
    let files = [("config.yaml.patch", config_patch.as_str())];
    let operator_kinds = BTreeSet::from(["PrometheusRule".to_owned(), "ServiceMonitor".to_owned()]);

    // As written: both Prometheus Operator objects, labelled for kube-prometheus-stack.
    let objects = kustomize_overlay(kustomization, &files);
    let built = kinds(&objects);
    assert!(built.is_superset(&operator_kinds), "{built:?}");
    for object in &objects {
        if operator_kinds.contains(object["kind"].as_str().unwrap()) {
            assert_eq!(
                object["metadata"]["labels"]["release"], "kube-prometheus-stack",
                "{object}"
            );
        }
    }

    // The variant for a cluster without the operator: the commented patches in place of
    // the label patch.
    let (head, alternative) = kustomization
        .split_once("  # Without the Prometheus Operator")
        .expect("the overlay shows how to drop the operator's objects");
    let head = head
        .split_once("  # kube-prometheus-stack")
        .expect("the label patch")
        .0;
    let mut without_operator = head.to_owned();
    for line in alternative.lines().skip(1) {
        let line = line
            .strip_prefix("  # ")
            .unwrap_or_else(|| panic!("a commented line: {line:?}"));
        without_operator.push_str("  ");
        without_operator.push_str(line);
        without_operator.push('\n');
    }
    let objects = kustomize_overlay(&without_operator, &files);
    let built = kinds(&objects);
    assert!(
        built.is_disjoint(&operator_kinds),
        "{without_operator}\nstill builds {built:?}"
    );
    let base = kinds(
        &deploy_objects()
            .iter()
            .map(|r| r.object.to_value())
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        built,
        base.difference(&operator_kinds).cloned().collect(),
        "everything else is kept"
    );
}

// ---------------------------------------------------------------------------------------
// The components deploy/ha and deploy/hub, built as docs/operations.md shows them

/// The Kustomize components of deploy/: not part of the base, used by overlays next to it.
const COMPONENTS: [&str; 2] = ["ha", "hub"];

/// Whether `relative` (a path under deploy/) belongs to one of the [`COMPONENTS`].
fn in_component(relative: &str) -> bool {
    COMPONENTS
        .iter()
        .any(|c| Path::new(relative).starts_with(c))
}

const HA_SECTION: &str = "### High availability (deploy/ha)";
const HUB_SECTION: &str = "### A hub for many clusters (deploy/hub)";

/// The Secret and key of the MongoDB connection string, which both components read.
const MONGODB_URI: (&str, &str) = ("driftguard-mongodb", "uri");
/// The Secret and key of the replicas' common fingerprint key.
const FINGERPRINT_KEY: (&str, &str) = ("driftguard-fingerprint", "key");

/// What the Secrets and the downward API give the pod, for the configuration check.
const SECRET_VALUES: [((&str, &str), &str); 2] = [
    (
        MONGODB_URI,
        "mongodb://driftguard:not-a-secret@mongo-0.mongo.db:27017/?replicaSet=rs0",
    ),
    (FINGERPRINT_KEY, "a fingerprint key for the test"),
];
const POD_FIELDS: [(&str, &str); 2] = [
    ("metadata.name", "driftguard-7d9f8b6c5-x2k4q"),
    ("metadata.namespace", "driftguard"),
];

/// The objects of the overlay that the section `heading` of docs/operations.md shows in
/// its first `yaml` block, built with `kubectl kustomize` next to a copy of deploy/; each
/// is a valid object of its kind with DriftGuard's label.
fn documented_overlay(heading: &str, component: &str) -> Vec<Value> {
    let blocks = operations_yaml_blocks(heading);
    let kustomization = blocks
        .first()
        .unwrap_or_else(|| panic!("`{heading}` shows the overlay's kustomization"));
    assert!(
        kustomization.contains("resources:\n  - ../../../deploy\n")
            && kustomization.contains(&format!("components:\n  - ../../../deploy/{component}\n")),
        "the overlay builds on the base with the component:\n{kustomization}"
    );
    let objects = kustomize_overlay(kustomization, &[]);
    for object in &objects {
        let id = built_id(object);
        check_kind(
            &id,
            object["apiVersion"].as_str().unwrap(),
            object["kind"].as_str().unwrap(),
            object,
        );
    }
    objects
}

/// `Kind:namespace:name`, as DriftGuard names resources.
fn built_id(object: &Value) -> String {
    format!(
        "{}:{}:{}",
        object["kind"].as_str().unwrap(),
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap()
    )
}

fn built_ids(objects: &[Value]) -> BTreeSet<String> {
    objects.iter().map(built_id).collect()
}

/// The built object `id`, as `T`.
fn built<T: DeserializeOwned + Serialize>(objects: &[Value], id: &str) -> T {
    let object = objects
        .iter()
        .find(|o| built_id(o) == id)
        .unwrap_or_else(|| panic!("the build has no {id}: {:?}", built_ids(objects)));
    typed(id, object)
}

/// The one Deployment of a build, its namespace, pod labels and pod spec.
fn built_deployment(objects: &[Value]) -> (Deployment, String, BTreeMap<String, String>, PodSpec) {
    let object = objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment");
    let deployment: Deployment = typed("Deployment", object);
    let namespace = deployment.metadata.namespace.clone().expect("namespaced");
    let spec = deployment.spec.clone().expect("spec");
    let labels = spec
        .template
        .metadata
        .and_then(|m| m.labels)
        .expect("pod labels");
    let pod = spec.template.spec.expect("pod spec");
    (deployment, namespace, labels, pod)
}

/// The environment variables of `container`, by name.
fn env_vars(container: &Container) -> BTreeMap<String, EnvVar> {
    let mut vars = BTreeMap::new();
    for var in container.env.iter().flatten() {
        assert!(
            vars.insert(var.name.clone(), var.clone()).is_none(),
            "{} is set twice",
            var.name
        );
    }
    vars
}

/// The literal value of `name`.
fn literal<'a>(env: &'a BTreeMap<String, EnvVar>, name: &str) -> &'a str {
    let var = env
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {env:?}"));
    assert!(var.value_from.is_none(), "{name}: {var:?}");
    var.value.as_deref().unwrap_or_default()
}

/// The `(Secret, key)` that `name` comes from; the Secret must exist (not `optional`).
fn from_secret(env: &BTreeMap<String, EnvVar>, name: &str) -> (String, String) {
    let var = env
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {env:?}"));
    assert!(var.value.is_none(), "{name} holds a literal value");
    let selector = var
        .value_from
        .as_ref()
        .and_then(|from| from.secret_key_ref.as_ref())
        .unwrap_or_else(|| panic!("{name} is not read from a Secret: {var:?}"));
    assert_ne!(
        selector.optional,
        Some(true),
        "{name}: without the Secret the pod must wait, not start without it"
    );
    (selector.name.clone(), selector.key.clone())
}

/// The pod field (downward API) that `name` comes from.
fn from_field<'a>(env: &'a BTreeMap<String, EnvVar>, name: &str) -> &'a str {
    let var = env
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {env:?}"));
    var.value_from
        .as_ref()
        .and_then(|from| from.field_ref.as_ref())
        .map(|field| field.field_path.as_str())
        .unwrap_or_else(|| panic!("{name} is not from the downward API: {var:?}"))
}

/// The container's environment as DriftGuard sees it in the pod: literal values as
/// written, Secrets and pod fields by [`SECRET_VALUES`] and [`POD_FIELDS`].
fn pod_environment(container: &Container) -> Vec<(String, String)> {
    env_vars(container)
        .into_iter()
        .map(|(name, var)| {
            let value = match &var.value_from {
                None => var.value.clone().unwrap_or_default(),
                Some(from) => {
                    if let Some(secret) = &from.secret_key_ref {
                        let key = (secret.name.as_str(), secret.key.as_str());
                        SECRET_VALUES
                            .iter()
                            .find(|(k, _)| *k == key)
                            .unwrap_or_else(|| panic!("{name}: no test value for {key:?}"))
                            .1
                            .to_owned()
                    } else if let Some(field) = &from.field_ref {
                        POD_FIELDS
                            .iter()
                            .find(|(f, _)| *f == field.field_path)
                            .unwrap_or_else(|| panic!("{name}: no test value for {field:?}"))
                            .1
                            .to_owned()
                    } else {
                        panic!("{name}: {from:?}")
                    }
                }
            };
            (name, value)
        })
        .collect()
}

/// The built ConfigMap's `config.yaml`.
fn built_config_text(objects: &[Value]) -> String {
    objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "driftguard-config")
        .and_then(|o| o["data"]["config.yaml"].as_str())
        .expect("the ConfigMap holds config.yaml")
        .to_owned()
}

/// No MongoDB connection string is written anywhere: not in the objects built, nor in
/// any file of deploy/ (it holds credentials, and comes from a Secret the user creates).
fn assert_no_mongodb_uri(objects: &[Value]) {
    let text = serde_json::to_string(objects).unwrap();
    for scheme in ["mongodb://", "mongodb+srv://"] {
        assert!(!text.contains(scheme), "a {scheme} value in the build");
    }
    for entry in walkdir(&deploy_dir()) {
        let content = std::fs::read(&entry).unwrap();
        let content = String::from_utf8_lossy(&content);
        for scheme in ["mongodb://", "mongodb+srv://"] {
            assert!(
                !content.contains(scheme),
                "{} holds a {scheme} value",
                entry.display()
            );
        }
    }
    assert!(
        objects.iter().all(|o| o["kind"] != "Secret"),
        "no Secret ships with DriftGuard"
    );
}

/// Every file below `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// A rollout that starts a new pod before it stops an old one, and replicas on
/// different nodes where the scheduler can.
fn assert_highly_available(
    deployment: &Deployment,
    pod_labels: &BTreeMap<String, String>,
    pod: &PodSpec,
) {
    let spec = deployment.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(2));
    let strategy = spec.strategy.as_ref().expect("a strategy");
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let rolling = strategy.rolling_update.as_ref().expect("rollingUpdate");
    assert_eq!(
        rolling.max_unavailable,
        Some(IntOrString::Int(0)),
        "a rollout keeps every replica until its replacement is ready"
    );
    assert_eq!(rolling.max_surge, Some(IntOrString::Int(1)));
    let anti = pod
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .expect("a pod anti-affinity");
    assert!(
        anti.required_during_scheduling_ignored_during_execution
            .is_none(),
        "preferred, so that two replicas still run on a single node"
    );
    let terms = anti
        .preferred_during_scheduling_ignored_during_execution
        .as_deref()
        .unwrap_or_default();
    assert!(
        terms.iter().any(|t| {
            t.pod_affinity_term.topology_key == "kubernetes.io/hostname"
                && t.pod_affinity_term
                    .label_selector
                    .as_ref()
                    .is_some_and(|s| selects(s, pod_labels))
                && t.pod_affinity_term.namespaces.is_none()
        }),
        "the replicas avoid each other's node: {terms:?}"
    );
}

/// The PodDisruptionBudget of a build keeps one of the Deployment's pods.
fn assert_disruption_budget(
    objects: &[Value],
    namespace: &str,
    pod_labels: &BTreeMap<String, String>,
) {
    let budgets: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "PodDisruptionBudget")
        .collect();
    assert_eq!(budgets.len(), 1, "one PodDisruptionBudget");
    let budget: PodDisruptionBudget = typed("PodDisruptionBudget", budgets[0]);
    assert_eq!(budget.metadata.namespace.as_deref(), Some(namespace));
    let spec = budget.spec.expect("spec");
    assert_eq!(spec.min_available, Some(IntOrString::Int(1)));
    assert_eq!(spec.max_unavailable, None);
    let selector = spec.selector.expect("a selector");
    assert!(
        !selector.match_labels.clone().unwrap_or_default().is_empty(),
        "an empty selector would select every pod of the namespace"
    );
    assert!(
        selects(&selector, pod_labels),
        "it selects DriftGuard's pods"
    );
}

/// The documented HA overlay: the base's objects with two replicas, a Lease Role that
/// grants exactly what leader election needs in DriftGuard's own namespace, a
/// PodDisruptionBudget, MongoDB from a Secret and no claim.
#[test]
fn the_ha_overlay_runs_two_replicas_that_elect_a_leader_with_a_lease() {
    let objects = documented_overlay(HA_SECTION, "ha");
    let base: BTreeSet<String> = deploy_objects().iter().map(|r| r.id.to_string()).collect();
    let mut expected = base;
    assert!(expected.remove("PersistentVolumeClaim:driftguard:driftguard-data"));
    expected.extend(
        [
            "Role:driftguard:driftguard-leader-election",
            "RoleBinding:driftguard:driftguard-leader-election",
            "PodDisruptionBudget:driftguard:driftguard",
        ]
        .map(str::to_owned),
    );
    assert_eq!(built_ids(&objects), expected);

    let (deployment, namespace, pod_labels, pod) = built_deployment(&objects);
    assert_highly_available(&deployment, &pod_labels, &pod);
    assert_disruption_budget(&objects, &namespace, &pod_labels);

    // The election's identity and namespace from the downward API, leader election on,
    // MongoDB and the common fingerprint key from Secrets.
    let container = &pod.containers[0];
    let env = env_vars(container);
    assert_eq!(from_field(&env, "POD_NAME"), "metadata.name");
    assert_eq!(from_field(&env, "POD_NAMESPACE"), "metadata.namespace");
    assert_eq!(
        literal(&env, "DRIFTGUARD__LEADER_ELECTION__ENABLED"),
        "true"
    );
    assert_eq!(literal(&env, "DRIFTGUARD__DATABASE__TYPE"), "mongodb");
    let secret = |(name, key): (&str, &str)| (name.to_owned(), key.to_owned());
    assert_eq!(
        from_secret(&env, "DRIFTGUARD__DATABASE__URI"),
        secret(MONGODB_URI)
    );
    assert_eq!(
        from_secret(&env, "DRIFTGUARD__DETECTION__FINGERPRINT_KEY"),
        secret(FINGERPRINT_KEY)
    );
    // The base's own settings stay.
    assert_eq!(literal(&env, "MIMALLOC_PURGE_DELAY"), "0");
    // The configuration is the base's: the component's settings come from the
    // environment, so they hold whatever config.yaml an overlay gives the ConfigMap.
    assert_eq!(built_config_text(&objects), config_text(&deploy_objects()));

    // No claim: the data volume is an emptyDir, and still holds the Git cache.
    let volumes = pod.volumes.clone().unwrap_or_default();
    assert!(volumes.iter().all(|v| v.persistent_volume_claim.is_none()));
    let data = volumes
        .iter()
        .find(|v| v.name == "data")
        .expect("the data volume");
    assert!(data.empty_dir.is_some(), "{data:?}");
    let mounts = mounts(container);
    let config: Value = serde_saphyr::from_str(&built_config_text(&objects)).unwrap();
    let (data_dir, read_only) = &mounts["data"];
    assert!(!read_only);
    assert!(Path::new(config["git"]["cache_dir"].as_str().unwrap()).starts_with(data_dir));

    // Leases in DriftGuard's own namespace: get, create, update and patch, nothing else.
    let role: Role = built(&objects, "Role:driftguard:driftguard-leader-election");
    assert_eq!(role.metadata.namespace.as_deref(), Some(namespace.as_str()));
    let rules = role.rules.expect("rules");
    assert_eq!(rules.len(), 1, "{rules:?}");
    let rule = &rules[0];
    assert_eq!(
        rule.api_groups.as_deref(),
        Some(&["coordination.k8s.io".to_owned()][..])
    );
    assert_eq!(rule.resources.as_deref(), Some(&["leases".to_owned()][..]));
    let verbs: BTreeSet<&str> = rule.verbs.iter().map(String::as_str).collect();
    assert_eq!(verbs, BTreeSet::from(["create", "get", "patch", "update"]));
    assert_eq!(rule.verbs.len(), verbs.len());
    assert!(rule.resource_names.is_none() && rule.non_resource_urls.is_none());
    let binding: RoleBinding = built(
        &objects,
        "RoleBinding:driftguard:driftguard-leader-election",
    );
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(binding.role_ref.name, "driftguard-leader-election");
    let subjects = binding.subjects.expect("subjects");
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(
        Some(subjects[0].name.as_str()),
        pod.service_account_name.as_deref()
    );
    assert_eq!(subjects[0].namespace.as_deref(), Some(namespace.as_str()));
    // The cluster-wide grant is the base's, unchanged: no write verb anywhere else.
    let cluster_role: ClusterRole = built(&objects, "ClusterRole::driftguard-reader");
    assert_eq!(
        serde_json::to_value(&cluster_role).unwrap(),
        object(&deploy_objects(), "ClusterRole::driftguard-reader").clone()
    );

    assert_no_mongodb_uri(&objects);
}

/// The HA overlay's configuration, with the environment of its pod, passes
/// `driftguard config validate` (SQLite is refused with leader election: the overlay must
/// switch to MongoDB).
#[test]
fn the_ha_overlay_configuration_is_valid_for_driftguard() {
    let objects = documented_overlay(HA_SECTION, "ha");
    let (_, _, _, pod) = built_deployment(&objects);
    let env = pod_environment(&pod.containers[0]);
    let output = validate_config(&built_config_text(&objects), &env);
    assert!(
        output.status.success(),
        "driftguard config validate refused the HA overlay's configuration ({env:?}):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The documented hub overlay: detection off, MongoDB from the same Secret, and nothing
/// that reads a cluster (no ClusterRole, no Role, no token in the pod), in a namespace
/// of its own so that it can run next to a cluster's DriftGuard.
#[test]
fn the_hub_overlay_serves_every_cluster_without_reading_any() {
    let objects = documented_overlay(HUB_SECTION, "hub");
    assert_eq!(
        built_ids(&objects),
        BTreeSet::from(
            [
                "ConfigMap:driftguard-hub:driftguard-config",
                "Deployment:driftguard-hub:driftguard",
                "Namespace::driftguard-hub",
                "NetworkPolicy:driftguard-hub:driftguard",
                "PodDisruptionBudget:driftguard-hub:driftguard",
                "PrometheusRule:driftguard-hub:driftguard",
                "Service:driftguard-hub:driftguard",
                "ServiceAccount:driftguard-hub:driftguard",
                "ServiceMonitor:driftguard-hub:driftguard",
            ]
            .map(str::to_owned)
        ),
        "no ClusterRole, ClusterRoleBinding, Role, RoleBinding or claim"
    );

    let (deployment, namespace, pod_labels, pod) = built_deployment(&objects);
    assert_eq!(namespace, "driftguard-hub");
    assert_highly_available(&deployment, &pod_labels, &pod);
    assert_disruption_budget(&objects, &namespace, &pod_labels);
    assert_eq!(
        pod.automount_service_account_token,
        Some(false),
        "the hub does not talk to the Kubernetes API"
    );
    let container = &pod.containers[0];
    let env = env_vars(container);
    assert_eq!(literal(&env, "DRIFTGUARD__DETECTION__ENABLED"), "false");
    assert_eq!(literal(&env, "DRIFTGUARD__DATABASE__TYPE"), "mongodb");
    assert_eq!(
        from_secret(&env, "DRIFTGUARD__DATABASE__URI"),
        (MONGODB_URI.0.to_owned(), MONGODB_URI.1.to_owned())
    );
    assert!(
        !env.contains_key("DRIFTGUARD__LEADER_ELECTION__ENABLED"),
        "a hub leads nothing"
    );

    // No Git token and no data volume; every mount has its volume.
    let volumes = pod.volumes.clone().unwrap_or_default();
    let secrets: BTreeSet<&str> = volumes
        .iter()
        .filter_map(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_deref()))
        .collect();
    assert_eq!(secrets, BTreeSet::from(["driftguard-api-tokens"]));
    assert!(volumes.iter().all(|v| v.persistent_volume_claim.is_none()));
    let mounts = mounts(container);
    for name in mounts.keys() {
        assert!(
            volumes.iter().any(|v| &v.name == name),
            "volume {name} is mounted but not declared"
        );
    }
    assert!(!mounts.contains_key("data") && !mounts.contains_key("git-token"));

    // The configuration reads neither Git nor a cluster; its tokens file is on the
    // Secret's volume.
    let config: Value = serde_saphyr::from_str(&built_config_text(&objects)).unwrap();
    for section in ["git", "kubernetes", "sources", "applications"] {
        assert!(
            config.get(section).is_none(),
            "the hub has `{section}`: {config}"
        );
    }
    let tokens = Path::new(config["server"]["auth"]["tokens_file"].as_str().unwrap());
    let api_tokens = volumes
        .iter()
        .find(|v| {
            v.secret.as_ref().and_then(|s| s.secret_name.as_deref())
                == Some("driftguard-api-tokens")
        })
        .unwrap();
    assert!(tokens.starts_with(&mounts[&api_tokens.name].0));
    assert_eq!(config["server"]["port"], 8080);

    // The Service, the ServiceMonitor's Service and the NetworkPolicy find the hub's pods
    // in its namespace.
    let service: Service = built(&objects, "Service:driftguard-hub:driftguard");
    let selector = service.spec.unwrap().selector.unwrap();
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    let policy: NetworkPolicy = built(&objects, "NetworkPolicy:driftguard-hub:driftguard");
    assert!(selects(
        &policy.spec.unwrap().pod_selector.unwrap(),
        &pod_labels
    ));

    assert_no_mongodb_uri(&objects);
}

/// The hub's configuration, with the environment of its pod, passes
/// `driftguard config validate`: a hub needs no Git repository and no cluster.
#[test]
fn the_hub_overlay_configuration_is_valid_for_driftguard() {
    let objects = documented_overlay(HUB_SECTION, "hub");
    let (_, _, _, pod) = built_deployment(&objects);
    let env = pod_environment(&pod.containers[0]);
    let output = validate_config(&built_config_text(&objects), &env);
    assert!(
        output.status.success(),
        "driftguard config validate refused the hub's configuration ({env:?}):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
