//! Many clusters, on real parts on 127.0.0.1 (kmock API servers, nx-27017 as MongoDB):
//!
//! - mode A: one `driftguard serve` analysing two clusters, each with its own live source
//!   and watch; when one cluster's API server goes away, its records stay as they were,
//!   the other cluster is still analysed, and `/ready` and `/api/v1/clusters` name the
//!   cluster that is down;
//! - mode B: one agent per cluster writing into a shared MongoDB, and a hub with detection
//!   off serving both; an agent never writes or resolves the other cluster's records;
//! - failover: two replicas of one cluster's agent elect a leader with a Lease held by
//!   the API server; only the leader analyses; when it is killed the standby takes over,
//!   and every lifecycle event is stored exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use driftguard_test_support::http;
use driftguard_test_support::kube::KmockServer;
use driftguard_test_support::mongo::{shared, unique_database_name};
use driftguard_test_support::service::ServiceProcess;
use serde_json::{Value, json};

const ID: &str = "ConfigMap:shop:settings";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_driftguard"))
}

/// The ConfigMap as Git declares it.
fn desired_config_map(mode: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  mode: {mode}\n"
    )
}

/// A cluster whose ConfigMap holds `mode`.
fn cluster(mode: &str) -> KmockServer {
    KmockServer::start(&json!({"objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "shop"},
         "data": {"mode": mode}}
    ]}))
}

/// Sets the live ConfigMap's `mode`, as `kubectl edit` would.
fn edit_live(cluster: &KmockServer, mode: &str) {
    let address: SocketAddr = cluster.url().trim_start_matches("http://").parse().unwrap();
    let (status, body) = http::request(
        address,
        "PATCH",
        "/api/v1/namespaces/shop/configmaps/settings",
        Some((
            "application/merge-patch+json",
            &json!({"data": {"mode": mode}}).to_string(),
        )),
    );
    assert!(
        (200..300).contains(&status),
        "PATCH answered {status}: {body}"
    );
}

/// A folder holding the ConfigMap with `mode`.
fn folder(dir: &Path, name: &str, mode: &str) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("settings.yaml"), desired_config_map(mode)).unwrap();
    folder
}

fn write(dir: &Path, name: &str, config: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, config).unwrap();
    path
}

/// The common tail of every configuration here: one ConfigMap type, watch on, no
/// periodic analysis within a test's time.
const DETECTION: &str = "\
detection:
  interval: 1h
  periodic: true
  watch: true
  fingerprint_key: clusters test key
logging:
  level: info
  format: json
";

fn record_in(service: &ServiceProcess, cluster: &str) -> Value {
    let (status, record) = service.get(&format!("/api/v1/drift-records/{ID}?cluster={cluster}"));
    assert_eq!(status, 200, "{record}");
    record
}

fn events_in(service: &ServiceProcess, cluster: &str) -> Vec<String> {
    let (status, page) = service.get(&format!(
        "/api/v1/drift-records/{ID}/events?cluster={cluster}&limit=100"
    ));
    assert_eq!(status, 200, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn cluster_entry<'a>(clusters: &'a Value, name: &str) -> &'a Value {
    clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name} in {clusters}"))
}

fn metric(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// One process analysing `east` and `west` (the list form), each cluster with its own
/// application whose ConfigMap says `fast`, records in a SQLite file in `dir`.
fn two_clusters_config(dir: &Path, east: &KmockServer, west: &KmockServer) -> PathBuf {
    let config = format!(
        "\
database:
  path: {db}
sources:
  live: kubernetes
clusters:
  - name: east
    kubeconfig: {east}
  - name: west
    kubeconfig: {west}
kubernetes:
  namespaces: [shop]
  resource_types: [configmaps]
applications:
  - name: shop-east
    folder: {east_folder}
    cluster: east
  - name: shop-west
    folder: {west_folder}
    cluster: west
{DETECTION}",
        db = dir.join("driftguard.db").display(),
        east = east.kubeconfig().display(),
        west = west.kubeconfig().display(),
        east_folder = folder(dir, "east", "fast").display(),
        west_folder = folder(dir, "west", "fast").display(),
    );
    write(dir, "config.yaml", &config)
}

#[test]
fn one_process_analyses_two_clusters_and_a_cluster_that_is_down_only_marks_itself() {
    let dir = tempfile::tempdir().unwrap();
    let east = cluster("fast");
    let west = cluster("slow");
    let config = two_clusters_config(dir.path(), &east, &west);
    let mut driftguard = ServiceProcess::start(binary(), &config, &[]);
    driftguard.wait_for("both clusters analysed", |d| {
        d.get("/ready").1["status"] == "ready"
    });

    // Each cluster's record, under its own key: east in sync, west drifted.
    assert_eq!(record_in(&driftguard, "east")["drift_status"], "none");
    let west_record = record_in(&driftguard, "west");
    assert_eq!(west_record["drift_status"], "active", "{west_record}");
    assert_eq!(west_record["application"], "shop-west");
    let (status, ambiguous) = driftguard.get(&format!("/api/v1/drift-records/{ID}"));
    assert_eq!(status, 409, "{ambiguous}");
    assert_eq!(ambiguous["clusters"], json!(["east", "west"]));

    let (_, clusters) = driftguard.get("/api/v1/clusters");
    assert_eq!(clusters["count"], 2, "{clusters}");
    for name in ["east", "west"] {
        let entry = cluster_entry(&clusters, name);
        assert_eq!(entry["ready"], true, "{entry}");
        assert!(entry["leader"].is_string(), "{entry}");
        assert_eq!(entry["last_analysis"]["outcome"], "success", "{entry}");
    }
    let (_, applications) = driftguard.get("/api/v1/applications?cluster=west");
    assert_eq!(applications["count"], 1, "{applications}");
    assert_eq!(applications["applications"][0]["name"], "shop-west");
    assert_eq!(applications["applications"][0]["cluster"], "west");
    let metrics = driftguard.metrics();
    for name in ["east", "west"] {
        assert_eq!(
            metric(
                &metrics,
                &format!("driftguard_leader{{cluster=\"{name}\"}}")
            ),
            Some(1.0),
            "{metrics}"
        );
    }

    // West's API server goes away. Its records stay exactly as they were; east is still
    // analysed, and its watch still sees live edits.
    let west_before = record_in(&driftguard, "west");
    drop(west);
    driftguard.analyze();
    driftguard.wait_for("west reported down", |d| {
        let (status, ready) = d.get("/ready");
        status == 200
            && ready["status"] == "degraded"
            && ready["components"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["cluster"] == "west" && c["component"] == "live_source")
    });
    let (_, ready) = driftguard.get("/ready");
    assert!(
        !ready["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["cluster"] == "east"),
        "only west is failing: {ready}"
    );
    assert_eq!(record_in(&driftguard, "west"), west_before);
    let (_, clusters) = driftguard.get("/api/v1/clusters");
    assert_eq!(
        cluster_entry(&clusters, "west")["ready"],
        false,
        "{clusters}"
    );
    assert_eq!(
        cluster_entry(&clusters, "west")["last_analysis"]["outcome"],
        "failure"
    );
    assert_eq!(
        cluster_entry(&clusters, "east")["ready"],
        true,
        "{clusters}"
    );

    edit_live(&east, "turbo");
    let east_record = driftguard.wait_for_record(
        &format!("{ID}?cluster=east"),
        "the edit in east to be detected",
        |r| r["drift_status"] == "active",
    );
    assert_eq!(east_record["drifts"][0]["live"], "turbo", "{east_record}");
    assert_eq!(record_in(&driftguard, "west"), west_before);
    driftguard.terminate();
}

/// An agent's configuration: the single-cluster form, on the shared MongoDB.
fn agent_config(dir: &Path, name: &str, kube: &KmockServer, database: &str, mode: &str) -> PathBuf {
    let config = format!(
        "\
cluster:
  name: {name}
database:
  type: mongodb
  uri: \"{uri}\"
  name: {database}
sources:
  desired: folder
  folder: {folder}
  live: kubernetes
kubernetes:
  kubeconfig: {kubeconfig}
  namespaces: [shop]
  resource_types: [configmaps]
{DETECTION}",
        uri = shared().uri(),
        folder = folder(dir, name, mode).display(),
        kubeconfig = kube.kubeconfig().display(),
    );
    write(dir, &format!("{name}.yaml"), &config)
}

#[test]
fn agents_write_their_own_cluster_and_a_hub_serves_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let database = unique_database_name("clusters_hub");
    let east = cluster("fast");
    let west = cluster("fast");
    // The same resource in both clusters: east drifted, west in sync.
    edit_live(&east, "slow");
    let east_agent_config = agent_config(dir.path(), "east", &east, &database, "fast");
    let west_agent_config = agent_config(dir.path(), "west", &west, &database, "fast");
    let mut east_agent = ServiceProcess::start(binary(), &east_agent_config, &[]);
    east_agent.wait_for("east analysed", |d| d.get("/ready").1["status"] == "ready");
    let mut west_agent = ServiceProcess::start(binary(), &west_agent_config, &[]);
    west_agent.wait_for("west analysed", |d| d.get("/ready").1["status"] == "ready");

    // West's analyses see the id in sync in west; east's record is not west's to resolve.
    west_agent.analyze();
    west_agent.analyze();
    std::thread::sleep(Duration::from_millis(500));
    let east_record = record_in(&east_agent, "east");
    assert_eq!(east_record["drift_status"], "active", "{east_record}");
    assert_eq!(east_record["detection_count"], 1, "{east_record}");
    assert_eq!(events_in(&east_agent, "east"), ["drift_detected"]);
    assert_eq!(record_in(&west_agent, "west")["drift_status"], "none");
    assert!(events_in(&west_agent, "west").is_empty());

    let hub_config = format!(
        "\
database:
  type: mongodb
  uri: \"{uri}\"
  name: {database}
detection:
  enabled: false
  interval: 1s
logging:
  level: info
  format: json
",
        uri = shared().uri(),
    );
    let hub_config = write(dir.path(), "hub.yaml", &hub_config);
    let mut hub = ServiceProcess::start(binary(), &hub_config, &[]);
    hub.wait_for("the hub to see both clusters ready", |h| {
        let (status, ready) = h.get("/ready");
        status == 200
            && ready["status"] == "ready"
            && ready["clusters"].as_array().map(Vec::len) == Some(2)
    });
    let (_, clusters) = hub.get("/api/v1/clusters");
    assert_eq!(clusters["count"], 2, "{clusters}");
    let east_entry = cluster_entry(&clusters, "east");
    assert_eq!(east_entry["ready"], true);
    assert_eq!(east_entry["counts"]["active"], 1, "{clusters}");
    assert_eq!(east_entry["last_analysis"]["outcome"], "success");
    assert!(
        east_entry["leader"].as_str().is_some_and(|l| !l.is_empty()),
        "{east_entry}"
    );
    assert_eq!(cluster_entry(&clusters, "west")["counts"]["none"], 1);
    let (_, drifted) = hub.get("/api/v1/drift-records/active");
    assert_eq!(drifted["count"], 1, "{drifted}");
    assert_eq!(drifted["drift_records"][0]["cluster"], "east");
    let (_, applications) = hub.get("/api/v1/applications");
    assert_eq!(applications["count"], 2, "{applications}");
    let (status, refused) = http::request(hub.address(), "POST", "/api/v1/analyze", None);
    assert_eq!(status, 503, "{refused}");
    assert!(refused.contains("detection.enabled is false"), "{refused}");
    hub.wait_for("the hub's cluster metrics", |h| {
        let metrics = h.metrics();
        metric(&metrics, "driftguard_cluster_ready{cluster=\"east\"}") == Some(1.0)
            && metric(
                &metrics,
                "driftguard_active_drifts{cluster=\"east\",namespace=\"shop\",severity=\"Medium\"}",
            ) == Some(1.0)
    });

    // An edit in west reaches the hub through west's agent alone.
    edit_live(&west, "turbo");
    let seen = Instant::now();
    hub.wait_for_record(
        &format!("{ID}?cluster=west"),
        "west's drift at the hub",
        |r| r["drift_status"] == "active",
    );
    eprintln!("edit in west → record at the hub: {:?}", seen.elapsed());
    assert_eq!(record_in(&hub, "east")["detection_count"], 1);
    hub.terminate();
    east_agent.terminate();
    west_agent.terminate();
}

/// A replica's configuration: leader election through kmock's Leases, on the shared
/// MongoDB.
fn replica_config(dir: &Path, file: &str, kube: &KmockServer, database: &str) -> PathBuf {
    let config = format!(
        "\
cluster:
  name: prod
database:
  type: mongodb
  uri: \"{uri}\"
  name: {database}
leader_election:
  enabled: true
  lease_duration: 2s
  namespace: default
  kubeconfig: {kubeconfig}
sources:
  desired: folder
  folder: {folder}
  live: kubernetes
kubernetes:
  kubeconfig: {kubeconfig}
  namespaces: [shop]
  resource_types: [configmaps]
{detection}",
        // Periodic analyses every 2 s: a standby follows the leader's status that often.
        detection = DETECTION.replace("interval: 1h", "interval: 2s"),
        uri = shared().uri(),
        folder = dir.join("prod").display(),
        kubeconfig = kube.kubeconfig().display(),
    );
    write(dir, file, &config)
}

/// The identity leading cluster `prod`, as `service` sees it.
fn leader_seen_by(service: &ServiceProcess) -> Option<String> {
    let (_, clusters) = service.get("/api/v1/clusters");
    clusters["clusters"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == "prod")?["leader"]
        .as_str()
        .map(str::to_owned)
}

/// Whether `service` says it leads `prod`.
fn leads(service: &ServiceProcess) -> bool {
    service.get("/ready").1["clusters"][0]["leading"] == true
}

#[test]
fn a_standby_takes_over_when_the_leader_dies_and_no_event_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let database = unique_database_name("clusters_failover");
    let kube = cluster("fast");
    folder(dir.path(), "prod", "fast");
    let first = replica_config(dir.path(), "a.yaml", &kube, &database);
    let second = replica_config(dir.path(), "b.yaml", &kube, &database);
    let mut a = ServiceProcess::start(binary(), &first, &[]);
    let mut b = ServiceProcess::start(binary(), &second, &[]);
    a.wait_for("a leader", |a| leads(a) || leader_seen_by(a).is_some());
    b.wait_for("one replica to lead", |b| leads(b) || leads(&a));
    let (mut leader, mut standby) = if leads(&a) { (a, b) } else { (b, a) };
    assert!(!leads(&standby), "two leaders");
    leader.wait_for("the leader's first analysis", |l| {
        l.get("/ready").1["status"] == "ready"
    });
    let leader_id = leader_seen_by(&leader).expect("the leader names itself");
    standby.wait_for("the standby to name the leader", |s| {
        leader_seen_by(s).as_deref() == Some(leader_id.as_str())
    });
    // Only the leader analyses: the standby refuses, naming it, and is still ready.
    let (status, refused) = http::request(standby.address(), "POST", "/api/v1/analyze", None);
    assert_eq!(status, 503, "{refused}");
    assert!(refused.contains(&leader_id), "{refused}");
    let (status, ready) = standby.get("/ready");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(record_in(&standby, "prod")["drift_status"], "none");
    standby.wait_for("the standby's gauges", |s| {
        let metrics = s.metrics();
        metric(&metrics, "driftguard_leader{cluster=\"prod\"}") == Some(0.0)
            && metric(&metrics, "driftguard_cluster_ready{cluster=\"prod\"}") == Some(1.0)
    });

    // A drift, detected by the leader, seen through the standby.
    edit_live(&kube, "slow");
    standby.wait_for_record(&format!("{ID}?cluster=prod"), "the drift", |r| {
        r["drift_status"] == "active"
    });
    assert_eq!(events_in(&standby, "prod"), ["drift_detected"]);

    // The leader dies without releasing its Lease.
    let killed = Instant::now();
    drop(leader);
    standby.wait_for("the standby to take over", leads);
    let took = killed.elapsed();
    eprintln!("takeover after the leader was killed: {took:?}");
    assert!(
        took < Duration::from_secs(2) + Duration::from_millis(400) + Duration::from_secs(2),
        "took {took:?}: more than the lease duration plus one retry (and slack)"
    );
    standby.wait_for("the new leader's first analysis", |s| {
        s.get("/ready").1["status"] == "ready"
    });
    assert_ne!(
        leader_seen_by(&standby).as_deref(),
        Some(leader_id.as_str())
    );
    // Its first analysis found the drift already recorded: no second drift event.
    let record = record_in(&standby, "prod");
    assert_eq!(record["drift_status"], "active", "{record}");
    assert_eq!(events_in(&standby, "prod"), ["drift_detected"]);

    // The new leader resolves the drift: one resolution event.
    edit_live(&kube, "fast");
    standby.wait_for_record(&format!("{ID}?cluster=prod"), "the resolution", |r| {
        r["drift_status"] == "resolved"
    });
    standby.analyze();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        events_in(&standby, "prod"),
        ["drift_detected", "drift_resolved"]
    );
    standby.terminate();
}

#[test]
fn sqlite_with_leader_election_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.yaml",
        "leader_election:\n  enabled: true\nsources:\n  desired: folder\n  folder: .\n  live: dump\n  dump: .\n",
    );
    let output = std::process::Command::new(binary())
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("leader_election.enabled") && stderr.contains("database.type: mongodb"),
        "{stderr}"
    );
}

#[test]
fn check_compares_the_cluster_it_is_told_of_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let east = cluster("fast");
    let west = cluster("slow");
    let config = two_clusters_config(dir.path(), &east, &west);
    let check = |extra: &[&str]| {
        std::process::Command::new(binary())
            .args(["check", "--config"])
            .arg(&config)
            .args(["--output", "json"])
            .args(extra)
            .output()
            .unwrap()
    };
    let unsure = check(&[]);
    assert_eq!(unsure.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unsure.stderr);
    assert!(
        stderr.contains("--cluster") && stderr.contains("east, west"),
        "{stderr}"
    );

    let east_check = check(&["--cluster", "east"]);
    assert_eq!(
        east_check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&east_check.stderr)
    );
    let west_check = check(&["--cluster", "west"]);
    assert_eq!(
        west_check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&west_check.stderr)
    );
    let report: Value = serde_json::from_slice(&west_check.stdout).unwrap();
    let records = report["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{report}");
    assert_eq!(records[0]["cluster"], "west");
    assert_eq!(records[0]["application"], "shop-west");
    let unknown = check(&["--cluster", "north"]);
    assert_eq!(unknown.status.code(), Some(2));
}
