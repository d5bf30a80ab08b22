//! The Kubernetes live source against kmock 0.8, a Kubernetes API emulator, over real HTTP
//! on 127.0.0.1: discovery, lists, gets, namespace filtering, Secret fingerprinting, and
//! the watch cache seeing creates, changes and deletes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use driftguard_core::secret::FingerprintKey;
use driftguard_core::{LiveChange, LiveChangeKind, LiveSource, ResourceId};
use driftguard_sources::kube::{KubeLiveSource, KubeSourceConfig, TypeWarningReason};
use driftguard_test_support::kube::{KmockServer, TEST_TOKEN};
use driftguard_test_support::logs::CapturedLogs;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// The Secret values seeded into the emulator; none may ever leave the adapter.
const DB_PASSWORD: &str = "hunter2-db-password";
const STRIPE_KEY: &str = "sk_live_51Hs3cr3tStr1peKey";
const BOOTSTRAP_TOKEN: &str = "abcdef.0123456789abcdef";
const NEW_SECRET: &str = "freshly-created-s3cret";

/// `text` in base64, as Secret `data` holds it.
fn b64(text: &str) -> String {
    match serde_json::to_value(k8s_openapi::ByteString(text.as_bytes().to_vec())) {
        Ok(Value::String(encoded)) => encoded,
        other => panic!("ByteString did not serialise to a string: {other:?}"),
    }
}

fn deployment(namespace: &str, name: &str, image: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 2,
            "labels": {"app": name},
            "annotations": {"deployment.kubernetes.io/revision": "2"},
            "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}}}
            ]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image,
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}},
        "status": {"replicas": replicas, "readyReplicas": replicas}
    })
}

fn service(namespace: &str, name: &str, port: u16) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "selector": {"app": name},
            "ports": [{"name": "http", "port": port, "targetPort": 8080, "protocol": "TCP"}]}
    })
}

fn config_map(namespace: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": namespace}, "data": data})
}

fn secret(namespace: &str, name: &str, key: &str, value: &str) -> Value {
    // kubectl apply keeps the whole manifest, plaintext included, in this annotation.
    let applied = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace}, "stringData": {key: value}});
    json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
           "metadata": {"name": name, "namespace": namespace,
               "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied.to_string()}},
           "data": {key: b64(value)}})
}

fn seed() -> Value {
    json!({
        "resources": {"stable.example.com/v1/crontabs":
            {"kind": "CronTab", "namespaced": true, "verbs": ["get", "list", "watch"]}},
        "objects": [
            deployment("shop", "web", "nginx:1.25.3", 3),
            deployment("shop", "worker", "shop/worker:2.4.1", 2),
            deployment("billing", "api", "billing/api:7.0.0", 2),
            deployment("kube-system", "coredns", "registry.k8s.io/coredns/coredns:v1.11.1", 2),
            service("shop", "web", 80),
            service("billing", "api", 443),
            service("kube-system", "kube-dns", 53),
            config_map("shop", "web-config", json!({"LOG_LEVEL": "info", "FEATURE_X": "on"})),
            config_map("billing", "api-config", json!({"CURRENCY": "EUR"})),
            config_map("kube-system", "coredns", json!({"Corefile": ".:53 { forward . /etc/resolv.conf }"})),
            config_map("kube-public", "cluster-info", json!({"kubeconfig": "apiVersion: v1"})),
            secret("shop", "db-credentials", "password", DB_PASSWORD),
            secret("billing", "stripe", "api-key", STRIPE_KEY),
            secret("kube-system", "bootstrap-token-abcdef", "token", BOOTSTRAP_TOKEN),
            {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
             "metadata": {"name": "nightly-report", "namespace": "shop"},
             "spec": {"cronSpec": "0 3 * * *", "image": "shop/report:1.0"}}
        ]
    })
}

fn key() -> FingerprintKey {
    FingerprintKey::derive("kmock tests")
}

fn config(server: &KmockServer) -> KubeSourceConfig {
    KubeSourceConfig {
        kubeconfig: Some(server.kubeconfig().to_owned()),
        ..KubeSourceConfig::default()
    }
}

async fn connect(config: KubeSourceConfig) -> KubeLiveSource {
    KubeLiveSource::connect(config, key())
        .await
        .expect("connect to kmock")
}

fn ids(snapshot: &driftguard_core::LiveSnapshot) -> Vec<String> {
    snapshot
        .resources
        .iter()
        .map(|r| r.id.to_string())
        .collect()
}

/// A client of our own, to change objects in the emulator as a person with kubectl would.
fn admin_client(server: &KmockServer) -> kube::Client {
    let config = kube::Config::new(server.url().parse().expect("kmock URL"));
    kube::Client::try_from(config).expect("a client for kmock")
}

/// Waits for the next change notification; a generous guard against a hang, not a
/// measurement.
async fn next_change(changes: &mut driftguard_core::LiveChangeStream) -> LiveChange {
    tokio::time::timeout(Duration::from_secs(60), changes.next())
        .await
        .expect("a live change within a minute")
        .expect("the change stream is open")
}

#[tokio::test]
async fn reads_all_namespaces_except_system_ones_with_kind_and_api_version_filled_in() {
    let server = KmockServer::start(&seed());
    let source = connect(config(&server)).await;
    let snapshot = source.read().await.expect("a snapshot");
    assert_eq!(
        ids(&snapshot),
        [
            "ConfigMap:billing:api-config",
            "ConfigMap:shop:web-config",
            "Deployment:billing:api",
            "Deployment:shop:web",
            "Deployment:shop:worker",
            "Secret:billing:stripe",
            "Secret:shop:db-credentials",
            "Service:billing:api",
            "Service:shop:web",
        ]
    );
    // The emulator answers lists like kube-apiserver: items without kind and apiVersion.
    let web = snapshot
        .resources
        .iter()
        .find(|r| r.id.to_string() == "Deployment:shop:web")
        .unwrap();
    assert_eq!(web.api_version, "apps/v1");
    assert_eq!(web.object.to_value()["kind"], "Deployment");
    assert_eq!(web.object.to_value()["apiVersion"], "apps/v1");
    assert_eq!(
        web.object.to_value()["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25.3"
    );
    // Field ownership stays: the detector needs it to name the hand edit's manager.
    assert_eq!(
        web.object.to_value()["metadata"]["managedFields"][1]["manager"],
        "kubectl-edit"
    );
    assert!(web.object.to_value()["metadata"]["resourceVersion"].is_string());
    assert_eq!(
        &*web.origin.as_ref().unwrap().location,
        "/apis/apps/v1/namespaces/shop/deployments/web"
    );
    assert!(source.warnings().is_empty(), "{:?}", source.warnings());
    // System namespaces and unread kinds are outside what the snapshot can speak for.
    assert!(snapshot.covers(&ResourceId::namespaced("Deployment", "payments", "x")));
    assert!(!snapshot.covers(&ResourceId::namespaced(
        "Deployment",
        "kube-system",
        "coredns"
    )));
    assert!(!snapshot.covers(&ResourceId::namespaced("Ingress", "shop", "web")));
    assert_eq!(
        source.origin().to_string(),
        format!("kubeconfig {}", server.kubeconfig().display())
    );
}

#[tokio::test]
async fn system_namespaces_are_read_when_exclusion_is_off_or_they_are_named() {
    let server = KmockServer::start(&seed());
    let everything = connect(KubeSourceConfig {
        exclude_system_namespaces: false,
        ..config(&server)
    })
    .await;
    let snapshot = everything.read().await.unwrap();
    let all = ids(&snapshot);
    assert!(all.contains(&"Deployment:kube-system:coredns".to_owned()));
    assert!(all.contains(&"ConfigMap:kube-public:cluster-info".to_owned()));
    assert_eq!(all.len(), 14);

    let named = connect(KubeSourceConfig {
        namespaces: vec!["kube-system".to_owned(), "billing".to_owned()],
        ..config(&server)
    })
    .await;
    assert_eq!(
        ids(&named.read().await.unwrap()),
        [
            "ConfigMap:billing:api-config",
            "ConfigMap:kube-system:coredns",
            "Deployment:billing:api",
            "Deployment:kube-system:coredns",
            "Secret:billing:stripe",
            "Secret:kube-system:bootstrap-token-abcdef",
            "Service:billing:api",
            "Service:kube-system:kube-dns",
        ]
    );
}

#[tokio::test]
async fn discovery_resolves_plurals_group_forms_and_custom_resources() {
    let server = KmockServer::start(&seed());
    let source = connect(KubeSourceConfig {
        resource_types: [
            "deployments",
            "v1/configmaps",
            "stable.example.com/v1/crontabs",
            "statefulsets",
            "ingresses.networking.k8s.io",
            "clusterroles",
            "nosuchthings",
            "example.org/v1/widgets",
        ]
        .map(str::to_owned)
        .to_vec(),
        ..config(&server)
    })
    .await;
    let types = source.resolve_types().await.expect("discovery");
    let found: Vec<(String, String, String, bool)> = types
        .iter()
        .map(|t| {
            (
                t.requested.clone(),
                t.api_version.clone(),
                t.kind.clone(),
                t.namespaced,
            )
        })
        .collect();
    let expected: Vec<(String, String, String, bool)> = [
        ("deployments", "apps/v1", "Deployment", true),
        ("v1/configmaps", "v1", "ConfigMap", true),
        (
            "stable.example.com/v1/crontabs",
            "stable.example.com/v1",
            "CronTab",
            true,
        ),
        ("statefulsets", "apps/v1", "StatefulSet", true),
        (
            "ingresses.networking.k8s.io",
            "networking.k8s.io/v1",
            "Ingress",
            true,
        ),
        (
            "clusterroles",
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            false,
        ),
    ]
    .iter()
    .map(|(r, a, k, n)| ((*r).to_owned(), (*a).to_owned(), (*k).to_owned(), *n))
    .collect();
    assert_eq!(found, expected);
    let warnings = source.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|w| w.reason == TypeWarningReason::NotServed)
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.resource_type == "nosuchthings" && w.message.contains("no API group"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.resource_type == "example.org/v1/widgets")
    );

    // The custom resource is read like any other; the missing types do not fail the read.
    let snapshot = source
        .read()
        .await
        .expect("a snapshot despite two missing types");
    let crontab = snapshot
        .resources
        .iter()
        .find(|r| r.id.to_string() == "CronTab:shop:nightly-report")
        .expect("the custom resource");
    assert_eq!(crontab.api_version, "stable.example.com/v1");
    assert_eq!(crontab.object.to_value()["spec"]["cronSpec"], "0 3 * * *");
}

#[tokio::test]
async fn capabilities_list_every_group_version_and_its_kinds_for_helm() {
    use driftguard_sources::CapabilitiesSource as _;
    let server = KmockServer::start(&seed());
    let source = connect(config(&server)).await;
    let capabilities = source.capabilities().await.expect("discovery answers");
    for expected in [
        "v1",
        "v1/ConfigMap",
        "apps/v1",
        "apps/v1/Deployment",
        "stable.example.com/v1",
        "stable.example.com/v1/CronTab",
    ] {
        assert!(
            capabilities.api_versions.iter().any(|v| v == expected),
            "{expected} in {:?}",
            capabilities.api_versions
        );
    }
    assert!(
        !capabilities
            .api_versions
            .iter()
            .any(|v| v.contains("/status")),
        "no subresources"
    );
    // Read again within five minutes: the same answer, from the cache.
    drop(server);
    assert_eq!(source.capabilities().await.expect("cached"), capabilities);
}

#[tokio::test]
async fn single_objects_are_fetched_and_missing_ones_are_none() {
    let server = KmockServer::start(&seed());
    let source = connect(config(&server)).await;
    let web = source
        .object(&ResourceId::namespaced("Deployment", "shop", "web"))
        .await
        .unwrap()
        .expect("shop/web exists");
    assert_eq!(web.object.to_value()["kind"], "Deployment");
    assert_eq!(web.object.to_value()["spec"]["replicas"], 3);
    let missing = source
        .object(&ResourceId::namespaced("Deployment", "shop", "nope"))
        .await
        .unwrap();
    assert!(missing.is_none());
    // Objects outside the read namespaces or types are not part of the live state.
    let system = source
        .object(&ResourceId::namespaced(
            "Deployment",
            "kube-system",
            "coredns",
        ))
        .await
        .unwrap();
    assert!(system.is_none());
    let other_kind = source
        .object(&ResourceId::namespaced("Pod", "shop", "web-0"))
        .await
        .unwrap();
    assert!(other_kind.is_none());
    let secret = source
        .object(&ResourceId::namespaced("Secret", "shop", "db-credentials"))
        .await
        .unwrap()
        .expect("the secret");
    assert_eq!(
        secret.object.to_value()["data"]["password"],
        key().fingerprint(DB_PASSWORD.as_bytes())
    );
}

#[tokio::test]
async fn secret_values_never_leave_the_adapter() {
    let logs = CapturedLogs::default();
    let _guard = logs.capture(tracing::Level::TRACE);
    let server = KmockServer::start(&seed());
    let source = connect(KubeSourceConfig {
        exclude_system_namespaces: false,
        ..config(&server)
    })
    .await;
    let snapshot = source.read().await.unwrap();
    let single = source
        .object(&ResourceId::namespaced("Secret", "billing", "stripe"))
        .await
        .unwrap()
        .unwrap();
    source.start_watch().await.unwrap();
    source.wait_until_synced().await;
    let cached = source.snapshot().await.unwrap();
    let mut changes = source.changes().expect("watch mode announces changes");
    let secrets: Api<Secret> = Api::namespaced(admin_client(&server), "shop");
    let created: Secret =
        serde_json::from_value(secret("shop", "fresh", "token", NEW_SECRET)).unwrap();
    secrets
        .create(&PostParams::default(), &created)
        .await
        .unwrap();
    let change = next_change(&mut changes).await;
    assert_eq!(change.id.to_string(), "Secret:shop:fresh");
    let from_cache = source.object(&change.id).await.unwrap().unwrap();

    let mut everything =
        format!("{snapshot:?}\n{single:?}\n{cached:?}\n{from_cache:?}\n{source:?}\n");
    for resource in snapshot.resources.iter().chain(&cached.resources) {
        everything.push_str(&resource.object.to_string());
    }
    let logged = logs.text();
    assert!(!logged.is_empty(), "the log capture saw nothing");
    everything.push_str(&logged);
    for plaintext in [DB_PASSWORD, STRIPE_KEY, BOOTSTRAP_TOKEN, NEW_SECRET] {
        assert!(!everything.contains(plaintext), "{plaintext} leaked");
        assert!(
            !everything.contains(&b64(plaintext)),
            "{plaintext} leaked in base64"
        );
    }
    assert!(
        !everything.contains(TEST_TOKEN),
        "the kubeconfig token leaked"
    );
    // The values are still compared: as keyed fingerprints, in data and in last-applied.
    let db = cached
        .resources
        .iter()
        .find(|r| r.id.to_string() == "Secret:shop:db-credentials")
        .unwrap();
    let fingerprint = key().fingerprint(DB_PASSWORD.as_bytes());
    let db = db.object.to_value();
    assert_eq!(db["data"]["password"], fingerprint);
    let applied = db["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap();
    assert!(applied.contains(&fingerprint), "{applied}");
    assert_eq!(
        from_cache.object.to_value()["data"]["token"],
        key().fingerprint(NEW_SECRET.as_bytes())
    );
}

#[tokio::test]
async fn the_watch_sees_a_create_a_change_and_a_delete() {
    let server = KmockServer::start(&seed());
    let source = connect(KubeSourceConfig {
        resource_types: vec!["configmaps".to_owned(), "deployments".to_owned()],
        ..config(&server)
    })
    .await;
    assert!(
        source.changes().is_none(),
        "no notifications before watch mode"
    );
    source.start_watch().await.expect("watch mode starts");
    source.wait_until_synced().await;
    assert!(source.is_synced());
    let mut changes = source.changes().expect("watch mode announces changes");
    let before = source.snapshot().await.unwrap();
    assert_eq!(
        ids(&before),
        ids(&source.read().await.unwrap()),
        "the watch cache holds what a list returns"
    );

    let config_maps: Api<ConfigMap> = Api::namespaced(admin_client(&server), "shop");
    let new: ConfigMap = serde_json::from_value(config_map(
        "shop",
        "feature-flags",
        json!({"CHECKOUT_V2": "false"}),
    ))
    .unwrap();
    config_maps
        .create(&PostParams::default(), &new)
        .await
        .unwrap();
    let id = ResourceId::namespaced("ConfigMap", "shop", "feature-flags");
    assert_eq!(
        next_change(&mut changes).await,
        LiveChange {
            id: id.clone(),
            kind: LiveChangeKind::Applied
        }
    );
    let cached = source.object(&id).await.unwrap().expect("in the cache");
    assert_eq!(cached.object.to_value()["data"]["CHECKOUT_V2"], "false");
    assert_eq!(cached.object.to_value()["kind"], "ConfigMap");

    config_maps
        .patch(
            "feature-flags",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"CHECKOUT_V2": "true"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut changes).await,
        LiveChange {
            id: id.clone(),
            kind: LiveChangeKind::Applied
        }
    );
    let changed = source.object(&id).await.unwrap().unwrap();
    assert_eq!(changed.object.to_value()["data"]["CHECKOUT_V2"], "true");
    let snapshot = source.snapshot().await.unwrap();
    let in_snapshot = snapshot.resources.iter().find(|r| r.id == id).unwrap();
    assert_eq!(in_snapshot.object.to_value()["data"]["CHECKOUT_V2"], "true");

    // A change in a system namespace is not announced: the next notification is the
    // delete, which comes after it on the same watch.
    let system: Api<ConfigMap> = Api::namespaced(admin_client(&server), "kube-system");
    let ignored: ConfigMap =
        serde_json::from_value(config_map("kube-system", "leader", json!({"holder": "a"})))
            .unwrap();
    system
        .create(&PostParams::default(), &ignored)
        .await
        .unwrap();
    config_maps
        .delete("feature-flags", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut changes).await,
        LiveChange {
            id: id.clone(),
            kind: LiveChangeKind::Deleted
        }
    );
    assert!(source.object(&id).await.unwrap().is_none());
    let after = source.snapshot().await.unwrap();
    assert_eq!(ids(&after), ids(&before));
}
