//! The Kubernetes source reading the cluster's OpenAPI v3 documents: from kmock 0.8 behind
//! DriftGuard's wrapper (which publishes a seeded CRD's schema as kube-apiserver does, and
//! follows CRD changes made through the API), and from a scripted server for what kmock
//! does not do (failures, an oversized document).
//!
//! Downloads are counted with the wrapper's request log, `GET /_kmock/requests`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use driftguard_core::secret::FingerprintKey;
use driftguard_sources::Error;
use driftguard_sources::kube::{KubeLiveSource, KubeSourceConfig, OpenApiDocument};
use driftguard_test_support::http::get_json;
use driftguard_test_support::kube::{KmockServer, Reply, ScriptedApiServer, write_kubeconfig};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const CRONTABS: &str = "crontabs.stable.example.com";
const CRONTAB_DOCUMENT: &str = "/openapi/v3/apis/stable.example.com/v1";
const CRONTAB_DEFINITION: &str = "com.example.stable.v1.CronTab";

/// The CronTab CRD's schema: a list map, an int-or-string field and a default.
fn crontab_schema(replicas_default: i64) -> Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "cronSpec": {"type": "string"},
            "replicas": {"type": "integer", "default": replicas_default},
            "port": {"x-kubernetes-int-or-string": true,
                     "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "ports": {"type": "array",
                      "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["name", "protocol"],
                      "items": {"type": "object", "required": ["name"], "properties": {
                          "name": {"type": "string"},
                          "protocol": {"type": "string", "default": "TCP"},
                          "containerPort": {"type": "integer"}}}}}}}})
}

fn crd(name: &str, group: &str, kind: &str, plural: &str, version: &str, schema: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": name},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind},
                    "versions": [{"name": version, "served": true, "storage": true,
                                  "schema": {"openAPIV3Schema": schema}}]}})
}

/// The CronTab CRD and one CronTab; the CRD declares the type, as in a cluster.
fn seed() -> Value {
    json!({"objects": [
        {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
         "metadata": {"name": "nightly-report", "namespace": "shop"},
         "spec": {"cronSpec": "0 3 * * *", "port": "http"}},
        crd(CRONTABS, "stable.example.com", "CronTab", "crontabs", "v1", crontab_schema(1)),
    ]})
}

async fn connect(kubeconfig: std::path::PathBuf) -> KubeLiveSource {
    KubeLiveSource::connect(
        KubeSourceConfig {
            kubeconfig: Some(kubeconfig),
            ..KubeSourceConfig::default()
        },
        FingerprintKey::derive("openapi tests"),
    )
    .await
    .expect("connect")
}

fn address(server: &KmockServer) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], server.port()))
}

/// How many GETs of `path` (any query) the server has served.
fn gets(server: &KmockServer, path: &str) -> usize {
    let (status, log) = get_json(address(server), "/_kmock/requests");
    assert_eq!(status, 200, "{log}");
    log["requests"]
        .as_array()
        .expect("a request log")
        .iter()
        .filter(|request| request["method"] == "GET" && request["path"] == path)
        .count()
}

fn group_versions(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn schema_of<'a>(document: &'a OpenApiDocument, definition: &str) -> &'a Value {
    &document.document["components"]["schemas"][definition]
}

/// A client of our own, to change CRDs as a person with kubectl would.
fn admin_crds(server: &KmockServer) -> Api<CustomResourceDefinition> {
    let config = kube::Config::new(server.url().parse().expect("kmock URL"));
    Api::all(kube::Client::try_from(config).expect("a client for kmock"))
}

#[tokio::test]
async fn the_index_lists_the_crd_group_version_and_its_document_carries_the_crd_schema() {
    let server = KmockServer::start(&seed());
    let (status, index) = get_json(address(&server), "/openapi/v3");
    assert_eq!(status, 200, "{index}");
    let url = index["paths"]["apis/stable.example.com/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("the CRD's group version is listed: {index}"));
    assert!(
        url.starts_with("/openapi/v3/apis/stable.example.com/v1?hash="),
        "{url}"
    );
    for built_in in ["api/v1", "apis/apps/v1", "apis/apiextensions.k8s.io/v1"] {
        assert!(index["paths"][built_in].is_object(), "{built_in}: {index}");
    }

    let source = connect(server.kubeconfig().to_owned()).await;
    let documents = source
        .openapi_v3(&group_versions(&[
            "stable.example.com/v1",
            "v1",
            "apps/v1",
            "nowhere.example.com/v1",
            "v1",
        ]))
        .await
        .expect("the documents");
    // In the order asked, each once; what the index does not list is left out.
    let read: Vec<&str> = documents.iter().map(|d| d.group_version.as_str()).collect();
    assert_eq!(read, ["stable.example.com/v1", "v1", "apps/v1"]);
    let crontabs = &documents[0];
    assert_eq!(
        crontabs.hash.as_deref(),
        url.split_once("?hash=").map(|(_, hash)| hash)
    );
    assert!(
        crontabs.document["openapi"]
            .as_str()
            .unwrap()
            .starts_with("3.")
    );

    // The CRD's schema, published as kube-apiserver publishes it.
    let crontab = schema_of(crontabs, CRONTAB_DEFINITION);
    assert_eq!(
        crontab["x-kubernetes-group-version-kind"],
        json!([{"group": "stable.example.com", "version": "v1", "kind": "CronTab"}])
    );
    for added in ["apiVersion", "kind", "metadata"] {
        assert!(
            crontab["properties"][added].is_object(),
            "{added}: {crontab}"
        );
    }
    let spec = &crontab["properties"]["spec"]["properties"];
    assert_eq!(spec["ports"]["x-kubernetes-list-type"], "map");
    assert_eq!(
        spec["ports"]["x-kubernetes-list-map-keys"],
        json!(["name", "protocol"])
    );
    assert_eq!(
        spec["ports"]["items"]["properties"]["protocol"]["default"],
        "TCP"
    );
    assert_eq!(spec["port"]["x-kubernetes-int-or-string"], true);
    assert_eq!(spec["replicas"]["default"], 1);
    assert_eq!(
        schema_of(crontabs, "com.example.stable.v1.CronTabList")["x-kubernetes-group-version-kind"]
            [0]["kind"],
        "CronTabList"
    );

    // Built-in group versions: a valid document without schemas (DriftGuard bundles them).
    for built_in in &documents[1..] {
        assert!(built_in.hash.is_some());
        assert_eq!(built_in.document["components"]["schemas"], json!({}));
    }
}

#[tokio::test]
async fn an_unchanged_hash_downloads_nothing_and_a_changed_crd_is_read_again() {
    let server = KmockServer::start(&seed());
    let source = connect(server.kubeconfig().to_owned()).await;
    let asked = group_versions(&["stable.example.com/v1"]);

    let first = source.openapi_v3(&asked).await.expect("first read");
    assert_eq!(gets(&server, "/openapi/v3"), 1);
    assert_eq!(gets(&server, CRONTAB_DOCUMENT), 1);

    let second = source.openapi_v3(&asked).await.expect("second read");
    assert_eq!(
        gets(&server, "/openapi/v3"),
        2,
        "the index is read every time"
    );
    assert_eq!(
        gets(&server, CRONTAB_DOCUMENT),
        1,
        "an unchanged hash downloads nothing"
    );
    assert_eq!(second[0].hash, first[0].hash);
    assert!(Arc::ptr_eq(&second[0].document, &first[0].document));

    // Replaced through the API (PUT), as `kubectl replace` does: a new field.
    let crds = admin_crds(&server);
    let stored = crds.get(CRONTABS).await.expect("the CRD");
    let mut replacement = serde_json::to_value(&stored).unwrap();
    replacement["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["suspend"] = json!({"type": "boolean", "default": false});
    let replacement: CustomResourceDefinition = serde_json::from_value(replacement).unwrap();
    crds.replace(CRONTABS, &PostParams::default(), &replacement)
        .await
        .expect("replace the CRD");

    let third = source.openapi_v3(&asked).await.expect("third read");
    assert_ne!(third[0].hash, second[0].hash, "a new schema, a new hash");
    assert_eq!(gets(&server, CRONTAB_DOCUMENT), 2);
    let spec = &schema_of(&third[0], CRONTAB_DEFINITION)["properties"]["spec"]["properties"];
    assert_eq!(spec["suspend"]["default"], false);

    // Patched through the API: another default.
    let mut versions = serde_json::to_value(&replacement.spec.versions).unwrap();
    versions[0]["schema"]["openAPIV3Schema"] = crontab_schema(3);
    crds.patch(
        CRONTABS,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"versions": versions}})),
    )
    .await
    .expect("patch the CRD");

    let fourth = source.openapi_v3(&asked).await.expect("fourth read");
    assert_ne!(fourth[0].hash, third[0].hash);
    assert_eq!(gets(&server, CRONTAB_DOCUMENT), 3);
    let spec = &schema_of(&fourth[0], CRONTAB_DEFINITION)["properties"]["spec"]["properties"];
    assert_eq!(spec["replicas"]["default"], 3);
    assert!(spec["suspend"].is_null(), "the patch replaced the schema");

    // Nothing changed since: nothing is downloaded.
    source.openapi_v3(&asked).await.expect("fifth read");
    assert_eq!(gets(&server, CRONTAB_DOCUMENT), 3);
}

#[tokio::test]
async fn a_crd_created_through_the_api_adds_its_group_version() {
    let server = KmockServer::start(&seed());
    let source = connect(server.kubeconfig().to_owned()).await;
    let asked = group_versions(&["acme.io/v1beta1"]);
    assert!(
        source.openapi_v3(&asked).await.expect("a read").is_empty(),
        "not served yet"
    );

    let widgets = crd(
        "widgets.acme.io",
        "acme.io",
        "Widget",
        "widgets",
        "v1beta1",
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "size": {"type": "string", "default": "small"}}}}}),
    );
    admin_crds(&server)
        .create(
            &PostParams::default(),
            &serde_json::from_value(widgets).unwrap(),
        )
        .await
        .expect("create the CRD");

    let documents = source.openapi_v3(&asked).await.expect("a read");
    assert_eq!(documents.len(), 1);
    let widget = schema_of(&documents[0], "io.acme.v1beta1.Widget");
    assert_eq!(
        widget["properties"]["spec"]["properties"]["size"]["default"],
        "small"
    );
    assert_eq!(
        widget["x-kubernetes-group-version-kind"][0]["kind"],
        "Widget"
    );
}

#[tokio::test]
async fn a_document_given_in_the_seed_is_served_as_given() {
    let given = json!({"openapi": "3.0.0", "info": {"title": "given", "version": "1"}, "paths": {},
        "components": {"schemas": {"com.example.stable.v1.CronTab": {
            "type": "object",
            "x-kubernetes-group-version-kind":
                [{"group": "stable.example.com", "version": "v1", "kind": "CronTab"}]}}}});
    let mut seed = seed();
    seed["openapi"] = json!({"apis/stable.example.com/v1": given.clone()});
    let server = KmockServer::start(&seed);
    let source = connect(server.kubeconfig().to_owned()).await;
    let documents = source
        .openapi_v3(&group_versions(&["stable.example.com/v1"]))
        .await
        .expect("a read");
    assert_eq!(*documents[0].document, given);
}

#[tokio::test]
async fn a_server_without_openapi_v3_gives_an_empty_list() {
    let mut seed = seed();
    seed["openapi"] = json!(false);
    let server = KmockServer::start(&seed);
    let (status, _) = get_json(address(&server), "/openapi/v3");
    assert_eq!(status, 404);
    let source = connect(server.kubeconfig().to_owned()).await;
    let documents = source
        .openapi_v3(&group_versions(&["stable.example.com/v1", "v1"]))
        .await
        .expect("404 is not an error");
    assert!(documents.is_empty());
}

/// A scripted server: `/openapi/v3` lists `apis/big.example.com/v1`, whose document is
/// `document`; `/openapi/v3` answers `index` instead when given.
fn scripted(index: Option<Reply>, document: Reply) -> ScriptedApiServer {
    ScriptedApiServer::start(move |request| match request.path.as_str() {
        "/openapi/v3" => index.clone().unwrap_or_else(|| {
            Reply::Json(
                200,
                json!({"paths": {"apis/big.example.com/v1":
                    {"serverRelativeURL": "/openapi/v3/apis/big.example.com/v1?hash=AB12"}}}),
            )
        }),
        "/openapi/v3/apis/big.example.com/v1" => document.clone(),
        path => Reply::status(404, "NotFound", &format!("no {path}")),
    })
}

async fn connect_scripted(server: &ScriptedApiServer, dir: &tempfile::TempDir) -> KubeLiveSource {
    connect(write_kubeconfig(
        dir.path(),
        "kubeconfig",
        &[("scripted", &server.url())],
    ))
    .await
}

#[tokio::test]
async fn a_failing_or_unreachable_server_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let asked = group_versions(&["big.example.com/v1"]);

    let failing = scripted(
        Some(Reply::status(500, "InternalError", "etcd is gone")),
        Reply::Json(200, json!({})),
    );
    let error = connect_scripted(&failing, &dir)
        .await
        .openapi_v3(&asked)
        .await
        .expect_err("a failing index is an error");
    assert!(
        matches!(error, Error::KubeStatus { code: 500, .. }),
        "{error}"
    );

    let broken = scripted(None, Reply::status(503, "ServiceUnavailable", "try later"));
    let error = connect_scripted(&broken, &dir)
        .await
        .openapi_v3(&asked)
        .await
        .expect_err("a failing document is an error");
    assert!(
        matches!(error, Error::KubeStatus { code: 503, .. }),
        "{error}"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = connect(write_kubeconfig(
        dir.path(),
        "down",
        &[("down", &format!("http://127.0.0.1:{port}"))],
    ))
    .await;
    let error = down
        .openapi_v3(&asked)
        .await
        .expect_err("a server that is down is an error");
    assert!(matches!(error, Error::KubeUnreachable { .. }), "{error}");
}

#[tokio::test]
async fn a_document_over_64_mib_is_refused() {
    let huge = format!(
        "{{\"openapi\": \"3.0.0\", \"padding\": \"{}\"}}",
        "x".repeat(64 * 1024 * 1024)
    );
    let server = scripted(None, Reply::Raw(200, Arc::new(huge)));
    let dir = tempfile::tempdir().unwrap();
    let error = connect_scripted(&server, &dir)
        .await
        .openapi_v3(&group_versions(&["big.example.com/v1"]))
        .await
        .expect_err("too large");
    assert!(
        matches!(error, Error::KubeInvalidResponse { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("64 MiB") && message.contains("big.example.com/v1"),
        "{message}"
    );
}
