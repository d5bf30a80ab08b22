//! One analysis of 10,000 desired/live pairs (Deployments, Services and ConfigMaps, 1%
//! drifted), next to the time it takes merely to parse the same JSON input.
//!
//! `cargo bench -p driftguard-core --bench analysis`
//!
//! The live objects look like what the API server returns: server metadata, status,
//! managedFields, defaults and respelled quantities, so the canonicalisation and the hash
//! fast path do the work they do on a real cluster.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use driftguard_core::analysis::{DetectionSettings, analyze};
use driftguard_core::{DesiredSnapshot, LiveSnapshot, Resource, StoredRecords};
use serde_json::{Value, json};

/// The allocator the `driftguard` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Resources per analysis.
const RESOURCES: usize = 10_000;
/// One in this many pairs is drifted.
const DRIFT_EVERY: usize = 100;

fn desired_deployment(i: usize) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("app-{i}"), "namespace": format!("team-{}", i % 40),
            "labels": {"app": format!("app-{i}"), "tier": "backend"}},
        "spec": {"replicas": 3,
            "selector": {"matchLabels": {"app": format!("app-{i}")}},
            "template": {"metadata": {"labels": {"app": format!("app-{i}")}},
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.4.2",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "env": [{"name": "LOG_LEVEL", "value": "info"},
                            {"name": "DB_HOST", "value": "db.internal"}],
                    "resources": {"requests": {"cpu": 0.25, "memory": "256Mi"},
                                  "limits": {"cpu": 1, "memory": "512Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}}}]}}}
    })
}

fn live_deployment(i: usize, drifted: bool) -> Value {
    let mut live = desired_deployment(i);
    let metadata = &mut live["metadata"];
    metadata["uid"] = json!(format!("6a1f{i:08}-0000-4000-8000-000000000000"));
    metadata["resourceVersion"] = json!(format!("{}", 100_000 + i));
    metadata["generation"] = json!(4);
    metadata["creationTimestamp"] = json!("2026-03-01T10:00:00Z");
    metadata["annotations"] = json!({"deployment.kubernetes.io/revision": "4"});
    metadata["managedFields"] = json!([
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
         "time": "2026-03-01T10:00:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
             "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
         "subresource": "status", "time": "2026-03-01T10:01:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:status": {"f:replicas": {}}}}
    ]);
    let spec = &mut live["spec"];
    spec["revisionHistoryLimit"] = json!(10);
    spec["progressDeadlineSeconds"] = json!(600);
    spec["strategy"] = json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    let pod = &mut spec["template"]["spec"];
    pod["restartPolicy"] = json!("Always");
    pod["dnsPolicy"] = json!("ClusterFirst");
    pod["schedulerName"] = json!("default-scheduler");
    pod["terminationGracePeriodSeconds"] = json!(30);
    pod["securityContext"] = json!({});
    let container = &mut pod["containers"][0];
    container["imagePullPolicy"] = json!("IfNotPresent");
    container["terminationMessagePath"] = json!("/dev/termination-log");
    container["terminationMessagePolicy"] = json!("File");
    container["ports"][0]["protocol"] = json!("TCP");
    container["resources"] = json!({"requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"}});
    container["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": "http",
        "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
        "failureThreshold": 3});
    if drifted {
        container["image"] = json!("registry.example.com/app:1.5.0-hotfix");
        spec["replicas"] = json!(5);
    }
    live["status"] = json!({"observedGeneration": 4, "replicas": 3, "readyReplicas": 3,
        "availableReplicas": 3, "updatedReplicas": 3,
        "conditions": [{"type": "Available", "status": "True",
            "lastUpdateTime": "2026-03-01T10:01:00Z", "reason": "MinimumReplicasAvailable"}]});
    live
}

fn desired_service(i: usize) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("app-{i}"), "namespace": format!("team-{}", i % 40)},
        "spec": {"selector": {"app": format!("app-{i}")},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    })
}

fn live_service(i: usize, drifted: bool) -> Value {
    let mut live = desired_service(i);
    live["metadata"]["uid"] = json!(format!("7b2f{i:08}-0000-4000-8000-000000000000"));
    live["metadata"]["resourceVersion"] = json!(format!("{}", 200_000 + i));
    live["metadata"]["creationTimestamp"] = json!("2026-03-01T10:00:00Z");
    let spec = &mut live["spec"];
    spec["type"] = json!("ClusterIP");
    spec["clusterIP"] = json!(format!("10.96.{}.{}", i / 250, i % 250));
    spec["clusterIPs"] = json!([format!("10.96.{}.{}", i / 250, i % 250)]);
    spec["ipFamilies"] = json!(["IPv4"]);
    spec["ipFamilyPolicy"] = json!("SingleStack");
    spec["internalTrafficPolicy"] = json!("Cluster");
    spec["sessionAffinity"] = json!("None");
    spec["ports"][0]["protocol"] = json!("TCP");
    if drifted {
        spec["ports"][0]["port"] = json!(8081);
    }
    live["status"] = json!({"loadBalancer": {}});
    live
}

fn desired_config_map(i: usize) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("app-{i}-config"), "namespace": format!("team-{}", i % 40)},
        "data": {"LOG_LEVEL": "info", "FEATURE_FLAGS": "search,checkout",
            "app.properties": "server.port=8080\ncache.ttl=300\n"}
    })
}

fn live_config_map(i: usize, drifted: bool) -> Value {
    let mut live = desired_config_map(i);
    live["metadata"]["uid"] = json!(format!("8c3f{i:08}-0000-4000-8000-000000000000"));
    live["metadata"]["resourceVersion"] = json!(format!("{}", 300_000 + i));
    live["metadata"]["creationTimestamp"] = json!("2026-03-01T10:00:00Z");
    if drifted {
        live["data"]["LOG_LEVEL"] = json!("debug");
    }
    live
}

/// The input as a source would receive it: one JSON document per object.
struct Input {
    desired: Vec<String>,
    live: Vec<String>,
}

fn input() -> Input {
    let mut desired = Vec::with_capacity(RESOURCES);
    let mut live = Vec::with_capacity(RESOURCES);
    for i in 0..RESOURCES {
        let drifted = i % DRIFT_EVERY == 0;
        let (d, l) = match i % 3 {
            0 => (desired_deployment(i), live_deployment(i, drifted)),
            1 => (desired_service(i), live_service(i, drifted)),
            _ => (desired_config_map(i), live_config_map(i, drifted)),
        };
        desired.push(d.to_string());
        live.push(l.to_string());
    }
    Input { desired, live }
}

fn parse(texts: &[String]) -> Vec<Value> {
    texts
        .iter()
        .map(|t| serde_json::from_str(t).expect("generated JSON parses"))
        .collect()
}

fn resources(values: Vec<Value>) -> Vec<Resource> {
    values
        .into_iter()
        .map(|v| Resource::from_object(v, None).expect("generated objects are valid"))
        .collect()
}

fn run_analysis(desired: Vec<Resource>, live: Vec<Resource>) -> usize {
    let outcome = analyze(
        DesiredSnapshot {
            resources: desired,
            revision: Some("0123456789abcdef".to_owned()),
            render: None,
        },
        LiveSnapshot::complete(live),
        StoredRecords::new(),
        &DetectionSettings::default(),
        chrono::Utc::now(),
    )
    .expect("no duplicates in generated input");
    outcome.summary.drifted
}

fn benches(c: &mut Criterion) {
    let input = input();
    // Sanity: the generated drift is found, and only it.
    let drifted = run_analysis(
        resources(parse(&input.desired)),
        resources(parse(&input.live)),
    );
    assert_eq!(drifted, RESOURCES / DRIFT_EVERY, "generated drift count");

    let mut group = c.benchmark_group("10k_pairs_1pct_drift");
    group.throughput(Throughput::Elements(RESOURCES as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("parse_json_only", |b| {
        b.iter(|| {
            black_box(parse(&input.desired));
            black_box(parse(&input.live));
        });
    });
    group.bench_function("parse_and_analyze", |b| {
        b.iter(|| {
            let desired = resources(parse(&input.desired));
            let live = resources(parse(&input.live));
            black_box(run_analysis(desired, live))
        });
    });
    let parsed_desired = resources(parse(&input.desired));
    let parsed_live = resources(parse(&input.live));
    group.bench_function("analyze_parsed", |b| {
        b.iter_batched(
            || (parsed_desired.clone(), parsed_live.clone()),
            |(desired, live)| black_box(run_analysis(desired, live)),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(analysis, benches);
criterion_main!(analysis);
