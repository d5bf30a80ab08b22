//! The Kubernetes live source against a scripted API server over real HTTP on 127.0.0.1,
//! for what an emulator does not do: paged lists, expired continue tokens, `410 Gone` on a
//! watch, a forbidden type, server errors, silence and a server that is down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use driftguard_core::secret::FingerprintKey;
use driftguard_core::{LiveChange, LiveChangeKind, LiveSource, PortErrorKind, ResourceId};
use driftguard_sources::kube::{KubeLiveSource, KubeSourceConfig, TypeWarning, TypeWarningReason};
use driftguard_test_support::kube::{
    ApiRequest, Reply, ScriptedApiServer, TEST_TOKEN, write_kubeconfig,
};
use futures::StreamExt;
use serde_json::{Value, json};

const SYSTEM_SELECTOR: &str = "metadata.namespace!=kube-system,metadata.namespace!=kube-public,metadata.namespace!=kube-node-lease";

fn key() -> FingerprintKey {
    FingerprintKey::derive("scripted tests")
}

/// Discovery answers of a small cluster: core v1 (ConfigMaps, Secrets, Services) and
/// apps/v1 (Deployments).
fn discovery(request: &ApiRequest) -> Option<Reply> {
    let resource = |name: &str, kind: &str| {
        json!({"name": name, "singularName": "", "namespaced": true, "kind": kind,
               "verbs": ["get", "list", "watch"]})
    };
    let body = match request.path.as_str() {
        "/api/v1" => json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
            "resources": [resource("configmaps", "ConfigMap"), resource("secrets", "Secret"),
                          resource("services", "Service"),
                          {"name": "configmaps/status", "singularName": "", "namespaced": true,
                           "kind": "ConfigMap", "verbs": ["get"]}]}),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]}),
        "/apis/apps/v1" => json!({"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "apps/v1", "resources": [resource("deployments", "Deployment")]}),
        _ => return None,
    };
    Some(Reply::Json(200, body))
}

fn not_found(request: &ApiRequest) -> Reply {
    Reply::status(
        404,
        "NotFound",
        &format!("the server could not find {}", request.path),
    )
}

/// A list item as kube-apiserver sends it: no kind, no apiVersion.
fn item(namespace: &str, name: &str, version: u32) -> Value {
    json!({"metadata": {"name": name, "namespace": namespace,
                        "resourceVersion": version.to_string()},
           "data": {"version": version.to_string()}})
}

/// The same object as a watch event carries it: with kind and apiVersion.
fn event(kind: &str, namespace: &str, name: &str, version: u32) -> Value {
    let mut object = item(namespace, name, version);
    object["kind"] = json!("ConfigMap");
    object["apiVersion"] = json!("v1");
    json!({"type": kind, "object": object})
}

fn list_requests(server: &ScriptedApiServer, path: &str) -> Vec<ApiRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == path && !r.is_watch())
        .collect()
}

fn config_maps_only() -> KubeSourceConfig {
    KubeSourceConfig {
        resource_types: vec!["configmaps".to_owned()],
        ..KubeSourceConfig::default()
    }
}

/// A source connected through a kubeconfig that points at `server`.
async fn connect(
    server: &ScriptedApiServer,
    dir: &tempfile::TempDir,
    config: KubeSourceConfig,
) -> KubeLiveSource {
    let kubeconfig = write_kubeconfig(dir.path(), "kubeconfig", &[("scripted", &server.url())]);
    KubeLiveSource::connect(
        KubeSourceConfig {
            kubeconfig: Some(kubeconfig),
            ..config
        },
        key(),
    )
    .await
    .expect("connect")
}

fn names(snapshot: &driftguard_core::LiveSnapshot) -> Vec<String> {
    snapshot
        .resources
        .iter()
        .map(|r| r.id.to_string())
        .collect()
}

#[tokio::test]
async fn lists_are_paged_with_limit_and_continue() {
    let server = ScriptedApiServer::start(|request| {
        if let Some(reply) = discovery(request) {
            return reply;
        }
        if request.path != "/api/v1/configmaps" {
            return not_found(request);
        }
        match request.param("continue") {
            None => Reply::list(
                "v1",
                "ConfigMap",
                vec![item("billing", "a", 1), item("billing", "b", 2)],
                "30",
                Some("page-2"),
            ),
            // A server that ignores the field selector cannot bring kube-system in.
            Some("page-2") => Reply::list(
                "v1",
                "ConfigMap",
                vec![item("kube-system", "coredns", 3), item("shop", "c", 4)],
                "30",
                Some("page-3"),
            ),
            Some("page-3") => Reply::list(
                "v1",
                "ConfigMap",
                vec![item("shop", "d", 5), item("shop", "e", 6)],
                "30",
                None,
            ),
            Some(_) => Reply::status(410, "Expired", "unknown continue token"),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = connect(
        &server,
        &dir,
        KubeSourceConfig {
            page_size: 2,
            ..config_maps_only()
        },
    )
    .await;
    let snapshot = source.snapshot().await.expect("a paged snapshot");
    assert_eq!(
        names(&snapshot),
        [
            "ConfigMap:billing:a",
            "ConfigMap:billing:b",
            "ConfigMap:shop:c",
            "ConfigMap:shop:d",
            "ConfigMap:shop:e"
        ]
    );
    let lists = list_requests(&server, "/api/v1/configmaps");
    let tokens: Vec<Option<&str>> = lists.iter().map(|r| r.param("continue")).collect();
    assert_eq!(tokens, [None, Some("page-2"), Some("page-3")]);
    for list in &lists {
        assert_eq!(list.param("limit"), Some("2"));
        assert_eq!(list.param("fieldSelector"), Some(SYSTEM_SELECTOR));
        assert_eq!(
            list.authorization.as_deref(),
            Some(format!("Bearer {TEST_TOKEN}").as_str()),
            "the kubeconfig's credentials are used"
        );
    }
}

#[tokio::test]
async fn an_expired_continue_token_starts_the_list_over() {
    let first_pages = Arc::new(AtomicUsize::new(0));
    let server = ScriptedApiServer::start({
        let first_pages = Arc::clone(&first_pages);
        move |request| {
            if let Some(reply) = discovery(request) {
                return reply;
            }
            match (request.path.as_str(), request.param("continue")) {
                ("/api/v1/configmaps", None) => {
                    if first_pages.fetch_add(1, Ordering::SeqCst) == 0 {
                        Reply::list(
                            "v1",
                            "ConfigMap",
                            vec![item("shop", "a", 1)],
                            "7",
                            Some("old"),
                        )
                    } else {
                        Reply::list(
                            "v1",
                            "ConfigMap",
                            vec![item("shop", "a", 1), item("shop", "b", 9)],
                            "9",
                            None,
                        )
                    }
                }
                ("/api/v1/configmaps", Some(_)) => Reply::status(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result.",
                ),
                _ => not_found(request),
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = connect(&server, &dir, config_maps_only()).await;
    let snapshot = source.read().await.expect("the list started over");
    assert_eq!(names(&snapshot), ["ConfigMap:shop:a", "ConfigMap:shop:b"]);
    let tokens: Vec<Option<String>> = list_requests(&server, "/api/v1/configmaps")
        .iter()
        .map(|r| r.param("continue").map(str::to_owned))
        .collect();
    assert_eq!(tokens, [None, Some("old".to_owned()), None]);
}

#[tokio::test]
async fn a_continue_token_that_keeps_expiring_is_an_error_not_a_short_snapshot() {
    let server = ScriptedApiServer::start(|request| {
        if let Some(reply) = discovery(request) {
            return reply;
        }
        match (request.path.as_str(), request.param("continue")) {
            ("/api/v1/configmaps", None) => Reply::list(
                "v1",
                "ConfigMap",
                vec![item("shop", "a", 1)],
                "7",
                Some("old"),
            ),
            ("/api/v1/configmaps", Some(_)) => Reply::status(410, "Expired", "too old"),
            _ => not_found(request),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = connect(&server, &dir, config_maps_only()).await;
    let error = source
        .snapshot()
        .await
        .expect_err("no snapshot from part of a list");
    assert_eq!(error.kind, PortErrorKind::Unavailable);
    assert!(error.message.contains("410"), "{}", error.message);
}

#[tokio::test]
async fn forbidden_and_unserved_types_are_warnings_and_the_rest_is_read() {
    let server = ScriptedApiServer::start(|request| {
        if let Some(reply) = discovery(request) {
            return reply;
        }
        match request.path.as_str() {
            "/api/v1/namespaces/shop/configmaps" => {
                Reply::list("v1", "ConfigMap", vec![item("shop", "web", 1)], "5", None)
            }
            "/api/v1/namespaces/billing/configmaps" => Reply::list(
                "v1",
                "ConfigMap",
                vec![item("billing", "api", 2)],
                "5",
                None,
            ),
            "/api/v1/namespaces/shop/secrets" => Reply::list(
                "v1",
                "Secret",
                vec![json!({"metadata": {"name": "db", "namespace": "shop"},
                            "data": {"password": "aHVudGVyMg=="}})],
                "5",
                None,
            ),
            "/api/v1/namespaces/billing/secrets" => Reply::status(
                403,
                "Forbidden",
                "secrets is forbidden: User \"system:serviceaccount:driftguard:driftguard\" \
                 cannot list resource \"secrets\" in API group \"\" in the namespace \"billing\"",
            ),
            "/apis/apps/v1/namespaces/shop/deployments"
            | "/apis/apps/v1/namespaces/billing/deployments" => Reply::status(
                403,
                "Forbidden",
                "deployments.apps is forbidden: User \"system:serviceaccount:driftguard:driftguard\" \
                 cannot list resource \"deployments\"",
            ),
            _ => not_found(request),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = connect(
        &server,
        &dir,
        KubeSourceConfig {
            namespaces: vec!["shop".to_owned(), "billing".to_owned()],
            resource_types: [
                "configmaps",
                "secrets",
                "deployments",
                "stable.example.com/v1/crontabs",
            ]
            .map(str::to_owned)
            .to_vec(),
            ..KubeSourceConfig::default()
        },
    )
    .await;
    let snapshot = source.snapshot().await.expect("the readable types");
    assert_eq!(
        names(&snapshot),
        [
            "ConfigMap:billing:api",
            "ConfigMap:shop:web",
            "Secret:shop:db"
        ]
    );
    let mut warnings = source.warnings();
    warnings
        .sort_by(|a, b| (&a.resource_type, &a.namespace).cmp(&(&b.resource_type, &b.namespace)));
    let summary: Vec<(&str, Option<&str>, TypeWarningReason)> = warnings
        .iter()
        .map(|w| (w.resource_type.as_str(), w.namespace.as_deref(), w.reason))
        .collect();
    assert_eq!(
        summary,
        [
            ("deployments", Some("billing"), TypeWarningReason::Forbidden),
            ("deployments", Some("shop"), TypeWarningReason::Forbidden),
            ("secrets", Some("billing"), TypeWarningReason::Forbidden),
            (
                "stable.example.com/v1/crontabs",
                None,
                TypeWarningReason::NotServed
            ),
        ]
    );
    // What could not be read is not reported as gone: the snapshot says what it covers.
    let covered = |kind: &str, namespace: &str| {
        snapshot.covers(&ResourceId::namespaced(kind, namespace, "any"))
    };
    assert!(covered("ConfigMap", "billing") && covered("Secret", "shop"));
    assert!(
        !covered("Secret", "billing"),
        "RBAC refused secrets in billing"
    );
    assert!(!covered("Deployment", "shop") && !covered("Deployment", "billing"));
    assert!(
        !covered("CronTab", "shop"),
        "the custom resource is not served"
    );
    assert!(
        !covered("ConfigMap", "payments"),
        "only shop and billing are read"
    );
    let secrets: &TypeWarning = &warnings[2];
    let text = secrets.to_string();
    assert!(
        text.contains("`secrets` in namespace billing is left out") && text.contains("forbidden"),
        "{text}"
    );
}

#[tokio::test]
async fn server_errors_fail_the_snapshot_instead_of_emptying_it() {
    for (path, code, reason) in [
        ("/api/v1/configmaps", 500, "InternalError"),
        ("/api/v1/configmaps", 503, "ServiceUnavailable"),
        ("/api/v1", 503, "ServiceUnavailable"),
        ("/api/v1/configmaps", 429, "TooManyRequests"),
    ] {
        let server = ScriptedApiServer::start(move |request| {
            if request.path == path {
                return Reply::status(code, reason, "etcdserver: request timed out");
            }
            if let Some(reply) = discovery(request) {
                return reply;
            }
            Reply::list("v1", "ConfigMap", vec![item("shop", "a", 1)], "1", None)
        });
        let dir = tempfile::tempdir().unwrap();
        let source = connect(&server, &dir, config_maps_only()).await;
        let error = source
            .snapshot()
            .await
            .expect_err("a failing server is an error");
        assert_eq!(error.kind, PortErrorKind::Unavailable, "{code} on {path}");
        assert!(
            error.message.contains(&code.to_string()) && error.message.contains(reason),
            "{}",
            error.message
        );
        assert!(error.message.contains(&server.url()), "{}", error.message);
        let attempts = server.requests().iter().filter(|r| r.path == path).count();
        let expected = if code == 500 { 1 } else { 3 };
        assert_eq!(
            attempts, expected,
            "{code} asks the client to retry, twice, or not"
        );
    }
}

#[tokio::test]
async fn rejected_credentials_are_an_error_that_does_not_show_them() {
    let server = ScriptedApiServer::start(|_| Reply::status(401, "Unauthorized", "Unauthorized"));
    let dir = tempfile::tempdir().unwrap();
    let source = connect(&server, &dir, config_maps_only()).await;
    let error = source.snapshot().await.expect_err("401 is an error");
    assert_eq!(error.kind, PortErrorKind::Other);
    assert!(error.message.contains("401"), "{}", error.message);
    assert!(!format!("{error:?}").contains(TEST_TOKEN));
}

#[tokio::test]
async fn a_silent_server_times_out_with_a_clear_error() {
    let server = ScriptedApiServer::start(|request| {
        if let Some(reply) = discovery(request) {
            return reply;
        }
        Reply::Silence
    });
    let dir = tempfile::tempdir().unwrap();
    let source = connect(
        &server,
        &dir,
        KubeSourceConfig {
            request_timeout: Duration::from_millis(300),
            ..config_maps_only()
        },
    )
    .await;
    let error = source.snapshot().await.expect_err("silence is an error");
    assert_eq!(error.kind, PortErrorKind::Unavailable);
    assert!(
        error.message.contains("did not answer within 0.3s")
            && error.message.contains("list v1 configmaps"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_an_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(
        dir.path(),
        "kubeconfig",
        &[("down", &format!("http://127.0.0.1:{port}"))],
    );
    let source = KubeLiveSource::connect(
        KubeSourceConfig {
            kubeconfig: Some(kubeconfig),
            ..KubeSourceConfig::default()
        },
        key(),
    )
    .await
    .expect("connecting sends no request");
    let error = source.snapshot().await.expect_err("nobody answers");
    assert_eq!(error.kind, PortErrorKind::Unavailable);
    assert!(error.message.contains("unreachable"), "{}", error.message);
    assert!(!format!("{error:?}").contains(TEST_TOKEN));
    let error = source
        .start_watch()
        .await
        .expect_err("watch mode needs the server too");
    assert!(error.to_string().contains("unreachable"), "{error}");
}

/// Waits for `count` change notifications; a guard against a hang, not a measurement.
async fn changes(
    source: &KubeLiveSource,
    stream: &mut driftguard_core::LiveChangeStream,
    count: usize,
) -> Vec<LiveChange> {
    let mut seen = Vec::new();
    while seen.len() < count {
        let change = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {seen:?} within a minute; warnings {:?}",
                    source.warnings()
                )
            })
            .expect("the change stream is open");
        seen.push(change);
    }
    seen.sort_by(|a, b| a.id.cmp(&b.id));
    seen
}

fn change(name: &str, kind: LiveChangeKind) -> LiveChange {
    LiveChange {
        id: ResourceId::namespaced("ConfigMap", "shop", name),
        kind,
    }
}

/// The two ways a server says "that resource version is gone": an ERROR event inside the
/// watch stream (what kube-apiserver does), or a 410 answer to the watch request itself.
fn gone_as_event() -> Reply {
    Reply::Events {
        events: vec![json!({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "reason": "Expired", "code": 410,
            "message": "too old resource version: 10 (25)"}})],
        keep_open: false,
    }
}

fn gone_as_answer() -> Reply {
    Reply::status(410, "Gone", "too old resource version: 10 (25)")
}

#[tokio::test]
async fn the_watch_lists_again_after_410_gone_and_announces_the_differences() {
    relist_after_gone(gone_as_event).await;
}

#[tokio::test]
async fn the_watch_lists_again_when_the_watch_request_itself_is_answered_410() {
    relist_after_gone(gone_as_answer).await;
}

async fn relist_after_gone(gone: fn() -> Reply) {
    let lists = Arc::new(AtomicUsize::new(0));
    let watches = Arc::new(AtomicUsize::new(0));
    let server = ScriptedApiServer::start({
        let lists = Arc::clone(&lists);
        let watches = Arc::clone(&watches);
        move |request| {
            if let Some(reply) = discovery(request) {
                return reply;
            }
            if request.path != "/api/v1/configmaps" {
                return not_found(request);
            }
            if request.is_watch() {
                return if watches.fetch_add(1, Ordering::SeqCst) == 0 {
                    gone()
                } else {
                    Reply::Events {
                        events: Vec::new(),
                        keep_open: true,
                    }
                };
            }
            if lists.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::list(
                    "v1",
                    "ConfigMap",
                    vec![
                        item("shop", "kept", 3),
                        item("shop", "changed", 4),
                        item("shop", "removed", 5),
                    ],
                    "10",
                    None,
                )
            } else {
                Reply::list(
                    "v1",
                    "ConfigMap",
                    vec![
                        item("shop", "kept", 3),
                        item("shop", "changed", 21),
                        item("shop", "added", 22),
                    ],
                    "25",
                    None,
                )
            }
        }
    });
    let client = kube::Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
    let source = KubeLiveSource::from_client(client, config_maps_only(), key()).unwrap();
    source.start_watch().await.unwrap();
    let mut stream = source.changes().expect("watch mode announces changes");
    let seen = changes(&source, &mut stream, 3).await;
    assert_eq!(
        seen,
        [
            change("added", LiveChangeKind::Applied),
            change("changed", LiveChangeKind::Applied),
            change("removed", LiveChangeKind::Deleted),
        ]
    );
    source.wait_until_synced().await;
    assert_eq!(list_requests(&server, "/api/v1/configmaps").len(), 2);
    let snapshot = source.snapshot().await.unwrap();
    assert_eq!(
        names(&snapshot),
        [
            "ConfigMap:shop:added",
            "ConfigMap:shop:changed",
            "ConfigMap:shop:kept"
        ]
    );
    let changed = snapshot
        .resources
        .iter()
        .find(|r| r.id.name() == "changed")
        .unwrap();
    assert_eq!(changed.object.to_value()["data"]["version"], "21");
    assert_eq!(
        list_requests(&server, "/api/v1/configmaps").len(),
        2,
        "a synced watch answers snapshots from its cache"
    );
    let first_watch = server
        .requests()
        .into_iter()
        .find(|r| r.is_watch())
        .unwrap();
    assert_eq!(first_watch.param("resourceVersion"), Some("10"));
}

#[tokio::test]
async fn the_watch_resumes_where_it_stopped_when_the_stream_ends() {
    let watches = Arc::new(AtomicUsize::new(0));
    let server = ScriptedApiServer::start({
        let watches = Arc::clone(&watches);
        move |request| {
            if let Some(reply) = discovery(request) {
                return reply;
            }
            if request.path != "/api/v1/configmaps" {
                return not_found(request);
            }
            if !request.is_watch() {
                return Reply::list("v1", "ConfigMap", vec![item("shop", "a", 5)], "10", None);
            }
            match watches.fetch_add(1, Ordering::SeqCst) {
                // The server ends the watch (its timeout) after one event.
                0 => Reply::Events {
                    events: vec![event("ADDED", "shop", "b", 11)],
                    keep_open: false,
                },
                _ => Reply::Events {
                    events: vec![
                        event("MODIFIED", "shop", "a", 12),
                        event("DELETED", "shop", "b", 13),
                    ],
                    keep_open: true,
                },
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = connect(&server, &dir, config_maps_only()).await;
    source.start_watch().await.unwrap();
    let mut stream = source.changes().unwrap();
    let first = changes(&source, &mut stream, 1).await;
    assert_eq!(first, [change("b", LiveChangeKind::Applied)]);
    let next = changes(&source, &mut stream, 2).await;
    assert_eq!(
        next,
        [
            change("a", LiveChangeKind::Applied),
            change("b", LiveChangeKind::Deleted)
        ]
    );
    let a = source
        .object(&ResourceId::namespaced("ConfigMap", "shop", "a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.object.to_value()["data"]["version"], "12");
    let lists = list_requests(&server, "/api/v1/configmaps");
    assert_eq!(lists.len(), 1, "resuming needs no new list");
    let watch_versions: Vec<Option<String>> = server
        .requests()
        .iter()
        .filter(|r| r.is_watch())
        .map(|r| r.param("resourceVersion").map(str::to_owned))
        .collect();
    assert_eq!(
        watch_versions,
        [Some("10".to_owned()), Some("11".to_owned())]
    );
    assert_eq!(
        server
            .requests()
            .iter()
            .find(|r| r.is_watch())
            .and_then(|r| r.param("fieldSelector").map(str::to_owned))
            .as_deref(),
        Some(SYSTEM_SELECTOR)
    );
}
