//! Benchmarks of the Kubernetes live source over real HTTP on 127.0.0.1.
//!
//! - `kube_read`: one full read of 10,000 ConfigMaps (about 1.5 KB of JSON each, with
//!   field ownership and a last-applied annotation) from a scripted API server, paged by
//!   500 and in one answer: discovery, the lists, parsing, conversion and fingerprinting.
//! - `kube_watch/create_to_change_notification`: from a create sent to kmock to the change
//!   notification of the watch cache, the adapter's share of DriftGuard's "live edit to
//!   active record" latency (kmock, a Python emulator, dominates it);
//! - `kube_watch/cached_snapshot_10000_configmaps`: a snapshot answered from the watch
//!   cache, and (printed, not timed) the cache's memory per object.
//!
//! Run: `cargo bench -p driftguard-sources --bench kube` (needs the test environment of
//! `scripts/test.sh` for kmock). Figures are recorded in docs/performance.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{LiveSource, ResourceId};
use driftguard_sources::kube::{KubeLiveSource, KubeSourceConfig};
use driftguard_test_support::kube::{ApiRequest, KmockServer, Reply, ScriptedApiServer};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

const OBJECTS: usize = 10_000;

/// A ConfigMap as a real cluster returns it in a list: no kind/apiVersion, server metadata,
/// field ownership and the last-applied copy.
fn config_map(index: usize) -> Value {
    let name = format!("app-config-{index:05}");
    let namespace = format!("team-{}", index % 20);
    let data = json!({"LOG_LEVEL": "info", "FEATURE_FLAGS": "checkout-v2,search-v3",
                      "application.properties": format!("server.port=8080\nreplica={index}\n")});
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "shop"}},
        "data": data});
    json!({
        "metadata": {
            "name": name, "namespace": namespace,
            "uid": format!("5f0c9a5e-0000-4000-8000-{index:012}"),
            "resourceVersion": (1000 + index).to_string(),
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"app": "shop", "team": format!("team-{}", index % 20)},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied.to_string()},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                "apiVersion": "v1", "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:LOG_LEVEL": {}, "f:FEATURE_FLAGS": {},
                                        "f:application.properties": {}},
                             "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:team": {}}}}}]
        },
        "data": data
    })
}

fn discovery() -> Arc<String> {
    Arc::new(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
               "resources": [{"name": "configmaps", "singularName": "configmap",
                              "namespaced": true, "kind": "ConfigMap",
                              "verbs": ["get", "list", "watch"]}]})
        .to_string(),
    )
}

/// A server with `OBJECTS` ConfigMaps, answering lists in pages of `page_size`; every
/// answer is serialised once, up front, so the server costs little during the benchmark.
fn paged_server(page_size: usize) -> ScriptedApiServer {
    let items: Vec<Value> = (0..OBJECTS).map(config_map).collect();
    let pages: Vec<Arc<String>> = items
        .chunks(page_size)
        .enumerate()
        .map(|(n, chunk)| {
            let mut metadata = json!({"resourceVersion": "99999"});
            if (n + 1) * page_size < OBJECTS {
                metadata["continue"] = json!(format!("page-{}", n + 1));
            }
            Arc::new(
                json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": metadata,
                       "items": chunk})
                .to_string(),
            )
        })
        .collect();
    let discovery = discovery();
    ScriptedApiServer::start(move |request: &ApiRequest| match request.path.as_str() {
        "/api/v1" => Reply::Raw(200, Arc::clone(&discovery)),
        "/api/v1/configmaps" if request.is_watch() => Reply::Events {
            events: Vec::new(),
            keep_open: true,
        },
        "/api/v1/configmaps" => {
            let page = request
                .param("continue")
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            Reply::Raw(200, Arc::clone(&pages[page]))
        }
        _ => Reply::status(404, "NotFound", "not served"),
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn source_for(url: &str, config: KubeSourceConfig) -> KubeLiveSource {
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    KubeLiveSource::from_client(client, config, FingerprintKey::derive("bench")).unwrap()
}

fn read(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("kube_read");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(OBJECTS as u64));
    for page_size in [500usize, OBJECTS] {
        let server = paged_server(page_size);
        let source = runtime.block_on(async {
            source_for(
                &server.url(),
                KubeSourceConfig {
                    resource_types: vec!["configmaps".to_owned()],
                    page_size: page_size as u32,
                    ..KubeSourceConfig::default()
                },
            )
        });
        group.bench_with_input(
            BenchmarkId::new("10000_configmaps_page", page_size),
            &page_size,
            |b, _| {
                b.iter(|| {
                    let snapshot = runtime.block_on(source.read()).unwrap();
                    assert_eq!(snapshot.resources.len(), OBJECTS);
                    snapshot
                });
            },
        );
    }
    group.finish();
}

fn watch_latency(c: &mut Criterion) {
    let runtime = runtime();
    let server = KmockServer::start(&json!({"objects": [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "flags", "namespace": "shop"}, "data": {"round": "0"}}]}));
    let (source, mut changes, config_maps) = runtime.block_on(async {
        let source = KubeLiveSource::connect(
            KubeSourceConfig {
                kubeconfig: Some(server.kubeconfig().to_owned()),
                resource_types: vec!["configmaps".to_owned()],
                namespaces: vec!["shop".to_owned()],
                ..KubeSourceConfig::default()
            },
            FingerprintKey::derive("bench"),
        )
        .await
        .unwrap();
        source.start_watch().await.unwrap();
        source.wait_until_synced().await;
        let changes = source.changes().unwrap();
        let client =
            kube::Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        let config_maps: Api<ConfigMap> = Api::namespaced(client, "shop");
        (source, changes, config_maps)
    });
    let mut round = 0u64;
    let mut group = c.benchmark_group("kube_watch");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(20));
    // A new object per iteration: kmock keeps every version of an object, and patching one
    // object hundreds of times makes kmock itself slower with each patch.
    // Split of each iteration: the create's round trip (kmock), and the time from its answer
    // to the notification (the watch stream, kube's watcher and the cache).
    let mut answered = Duration::ZERO;
    let mut after_answer = Duration::ZERO;
    group.bench_function("create_to_change_notification", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                round += 1;
                let name = format!("flags-{round}");
                let object: ConfigMap = serde_json::from_value(json!({
                    "metadata": {"name": name, "namespace": "shop"},
                    "data": {"round": round.to_string()}}))
                .unwrap();
                let (to_answer, to_change) = runtime.block_on(async {
                    let start = Instant::now();
                    config_maps
                        .create(&PostParams::default(), &object)
                        .await
                        .unwrap();
                    let to_answer = start.elapsed();
                    loop {
                        let change = changes.next().await.unwrap();
                        if change.id.name() == name {
                            break;
                        }
                    }
                    (to_answer, start.elapsed())
                });
                total += to_change;
                answered += to_answer;
                after_answer += to_change.saturating_sub(to_answer);
            }
            total
        });
    });
    eprintln!(
        "kube_watch/create_to_change_notification: {round} creates, mean {:?} until kmock \
         answered the create, then mean {:?} until the change notification",
        answered / round.max(1) as u32,
        after_answer / round.max(1) as u32
    );
    group.finish();
    let id = ResourceId::namespaced("ConfigMap", "shop", format!("flags-{round}"));
    let cached = runtime.block_on(source.object(&id)).unwrap().unwrap();
    assert_eq!(cached.object.to_value()["data"]["round"], round.to_string());
}

/// Resident memory of this process, in KiB (Linux).
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The watch cache of `OBJECTS` ConfigMaps: a snapshot answered from it (timed), and how
/// much memory it takes (printed once; an upper bound, since resident memory also keeps
/// what the transfer allocated and freed).
fn watch_cache(c: &mut Criterion) {
    let runtime = runtime();
    let server = paged_server(500);
    let json_bytes: usize = (0..OBJECTS).map(|i| config_map(i).to_string().len()).sum();
    let before = resident_kib();
    let source = runtime.block_on(async {
        let source = source_for(
            &server.url(),
            KubeSourceConfig {
                resource_types: vec!["configmaps".to_owned()],
                ..KubeSourceConfig::default()
            },
        );
        source.start_watch().await.unwrap();
        source.wait_until_synced().await;
        source
    });
    let after = resident_kib();
    let cached = runtime.block_on(source.snapshot()).unwrap();
    assert_eq!(cached.resources.len(), OBJECTS);
    drop(cached);
    if let (Some(before), Some(after)) = (before, after) {
        eprintln!(
            "kube_watch/memory: {OBJECTS} ConfigMaps cached, resident memory +{} KiB = {} bytes \
             per object (their list JSON: {} bytes per object)",
            after.saturating_sub(before),
            after.saturating_sub(before) * 1024 / OBJECTS as u64,
            json_bytes / OBJECTS
        );
    }
    let mut group = c.benchmark_group("kube_watch");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(OBJECTS as u64));
    group.bench_function("cached_snapshot_10000_configmaps", |b| {
        b.iter(|| {
            let snapshot = runtime.block_on(source.snapshot()).unwrap();
            assert_eq!(snapshot.resources.len(), OBJECTS);
            snapshot
        });
    });
    group.finish();
}

criterion_group!(benches, read, watch_latency, watch_cache);
criterion_main!(benches);
