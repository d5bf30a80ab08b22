//! A SQLite file written before applications and clusters existed (schema version 1)
//! opens with this build: it is migrated in place through every migration, and what it
//! held reads back in the default application and the default cluster, answering every
//! query as records saved now do (status documents and event keys included).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::stats::StatusCounts;
use driftguard_core::{
    AnalysisNote, AnalysisResult, ApplicationStatusDocument, ClusterStatusDocument,
    DEFAULT_APPLICATION, DEFAULT_CLUSTER, DriftEvent, DriftRecord, DriftStatus, DriftType,
    EventKind, ReadStatus, ResourceId, Severity,
};
use driftguard_store::SqliteStore;
use rusqlite::Connection;

/// The schema of version 1 as files hold it, kept here as written then: the test must
/// not follow later edits of the migrations.
const SCHEMA_V1: &str = "
    CREATE TABLE drift_records (
        resource_id          TEXT PRIMARY KEY NOT NULL,
        api_version          TEXT NOT NULL,
        kind                 TEXT NOT NULL,
        namespace            TEXT,
        name                 TEXT NOT NULL,
        drift_detected       INTEGER NOT NULL CHECK (drift_detected IN (0, 1)),
        drift_status         TEXT NOT NULL CHECK (drift_status IN ('none', 'active', 'resolved')),
        severity             TEXT,
        drift_types          TEXT NOT NULL,
        drifts               TEXT NOT NULL,
        desired_hash         TEXT NOT NULL,
        live_hash            TEXT,
        last_known_good_hash TEXT,
        git_revision         TEXT,
        first_detected       INTEGER,
        last_detected        INTEGER,
        resolved_at          INTEGER,
        last_checked         INTEGER NOT NULL,
        resolution_message   TEXT,
        detection_count      INTEGER NOT NULL CHECK (detection_count >= 0)
    ) STRICT;
    CREATE INDEX drift_records_by_id_parts ON drift_records (kind, namespace, name);
    CREATE INDEX drift_records_by_namespace ON drift_records (namespace, kind, name);
    CREATE INDEX drift_records_by_status ON drift_records (drift_status, kind, namespace, name);
    CREATE INDEX drift_records_by_detected ON drift_records (drift_detected, kind, namespace, name);

    CREATE TABLE drift_events (
        seq          INTEGER PRIMARY KEY,
        resource_id  TEXT NOT NULL,
        kind         TEXT NOT NULL
                     CHECK (kind IN ('drift_detected', 'drift_changed', 'drift_resolved')),
        at           INTEGER NOT NULL,
        drift_types  TEXT NOT NULL,
        severity     TEXT,
        git_revision TEXT,
        message      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX drift_events_by_resource ON drift_events (resource_id, at, seq);
    CREATE INDEX drift_events_by_time ON drift_events (at, seq);
    CREATE INDEX drift_events_by_kind ON drift_events (kind, resource_id);
    PRAGMA user_version = 1;";

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::minutes(minute)
}

fn nanos(time: DateTime<Utc>) -> i64 {
    time.timestamp_nanos_opt().expect("a storable time")
}

/// A version-1 file holding one active record (its Service missing from the cluster)
/// and its drift event, written with version 1's columns.
fn write_version_1_file(path: &Path) {
    let connection = Connection::open(path).expect("create the file");
    connection
        .execute_batch(SCHEMA_V1)
        .expect("version 1 schema");
    connection
        .execute(
            "INSERT INTO drift_records (resource_id, api_version, kind, namespace, name,
                 drift_detected, drift_status, severity, drift_types, drifts, desired_hash,
                 live_hash, last_known_good_hash, git_revision, first_detected, last_detected,
                 resolved_at, last_checked, resolution_message, detection_count)
             VALUES ('Service:shop:web', 'v1', 'Service', 'shop', 'web', 1, 'active', 'High',
                 '[\"Missing\"]',
                 '[{\"path\":\"\",\"drift_type\":\"Missing\",\"severity\":\"High\",\
                   \"desired\":{\"kind\":\"Service\"},\"live\":null,\"manager\":null}]',
                 'd1', NULL, 'l0', 'c0ffee', ?1, ?2, NULL, ?2, NULL, 2)",
            [nanos(at(1)), nanos(at(2))],
        )
        .expect("a version 1 record");
    connection
        .execute(
            "INSERT INTO drift_events (resource_id, kind, at, drift_types, severity,
                 git_revision, message)
             VALUES ('Service:shop:web', 'drift_detected', ?1, '[\"Missing\"]', 'High',
                 'c0ffee', 'Service:shop:web is missing from the cluster')",
            [nanos(at(1))],
        )
        .expect("a version 1 event");
}

fn expected_record() -> DriftRecord {
    DriftRecord {
        cluster: "default".to_owned(),
        resource_id: "Service:shop:web".parse().expect("valid id"),
        api_version: "v1".to_owned(),
        kind: "Service".to_owned(),
        namespace: Some("shop".to_owned()),
        name: "web".to_owned(),
        application: DEFAULT_APPLICATION.to_owned(),
        drift_detected: true,
        drift_status: DriftStatus::Active,
        severity: Some(Severity::High),
        drift_types: vec![DriftType::Missing],
        drifts: vec![driftguard_core::DriftDetail {
            path: String::new(),
            drift_type: DriftType::Missing,
            severity: Severity::High,
            desired: Some(serde_json::json!({"kind": "Service"})),
            live: None,
            manager: None,
            hand_edit: false,
            unowned: false,
        }],
        desired_hash: "d1".to_owned(),
        live_hash: None,
        last_known_good_hash: Some("l0".to_owned()),
        git_revision: Some("c0ffee".to_owned()),
        first_detected: Some(at(1)),
        last_detected: Some(at(2)),
        resolved_at: None,
        last_checked: at(2),
        resolution_message: None,
        detection_count: 2,
    }
}

fn expected_event() -> DriftEvent {
    DriftEvent {
        cluster: "default".to_owned(),
        resource_id: "Service:shop:web".parse().expect("valid id"),
        application: DEFAULT_APPLICATION.to_owned(),
        kind: EventKind::DriftDetected,
        at: at(1),
        drift_types: vec![DriftType::Missing],
        severity: Some(Severity::High),
        git_revision: Some("c0ffee".to_owned()),
        message: "Service:shop:web is missing from the cluster".to_owned(),
        key: String::new(),
    }
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .expect("open")
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version")
}

#[tokio::test]
async fn a_version_1_file_reads_back_in_the_default_application() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    write_version_1_file(&path);
    assert_eq!(user_version(&path), 1);

    let store = SqliteStore::open(&path).expect("open and migrate a version 1 file");
    assert_eq!(user_version(&path), SqliteStore::schema_version());

    let id: ResourceId = "Service:shop:web".parse().expect("valid id");
    assert_eq!(
        store.get("default", &id).await.expect("get"),
        Some(expected_record())
    );
    assert_eq!(
        store
            .events(&EventFilter::default())
            .await
            .expect("events")
            .events,
        vec![expected_event()]
    );
    let in_application = |application: &str| RecordFilter {
        application: Some(application.to_owned()),
        ..RecordFilter::default()
    };
    assert_eq!(
        store
            .list(&in_application(DEFAULT_APPLICATION))
            .await
            .expect("list"),
        vec![expected_record()]
    );
    assert!(
        store
            .list(&in_application("shop-frontend"))
            .await
            .expect("list")
            .is_empty()
    );
    let statistics = store.statistics(None).await.expect("statistics");
    assert_eq!(
        statistics.by_application,
        BTreeMap::from([(DEFAULT_APPLICATION.to_owned(), 1)])
    );
    assert_eq!(
        store.application_counts().await.expect("counts"),
        BTreeMap::from([(
            (DEFAULT_CLUSTER.to_owned(), DEFAULT_APPLICATION.to_owned()),
            StatusCounts {
                none: 0,
                active: 1,
                resolved: 0,
                missing: 1,
            }
        )])
    );
}

#[tokio::test]
async fn a_migrated_file_stores_applications_and_opens_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    write_version_1_file(&path);
    let store = SqliteStore::open(&path).expect("open and migrate");

    let mut moved = expected_record();
    moved.application = "shop-frontend".to_owned();
    let mut event = expected_event();
    event.application = "shop-frontend".to_owned();
    event.at = at(3);
    event.kind = EventKind::DriftChanged;
    store
        .save(std::slice::from_ref(&moved), std::slice::from_ref(&event))
        .await
        .expect("save after the migration");
    drop(store);

    let store = SqliteStore::open(&path).expect("reopen: nothing left to migrate");
    assert_eq!(user_version(&path), SqliteStore::schema_version());
    assert_eq!(
        store.list(&RecordFilter::default()).await.expect("list"),
        vec![moved]
    );
    let applications: Vec<String> = store
        .events(&EventFilter::default())
        .await
        .expect("events")
        .events
        .into_iter()
        .map(|e| e.application)
        .collect();
    assert_eq!(applications, [DEFAULT_APPLICATION, "shop-frontend"]);
}

/// A file of an earlier version, with history, gets the statistics summaries filled from
/// what it holds and incremental auto-vacuum (one `VACUUM`), and prunes like a new one.
#[tokio::test]
async fn an_earlier_file_gets_summaries_and_incremental_vacuum() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    write_version_1_file(&path);
    // More history, written with version 1's columns, saved out of time order: the
    // resolution, then a detection before it, then a later detection still open.
    let mut events = vec![expected_event()];
    {
        let connection = Connection::open(&path).expect("open");
        for (minute, kind) in [
            (9, EventKind::DriftResolved),
            (4, EventKind::DriftDetected),
            (12, EventKind::DriftDetected),
        ] {
            connection
                .execute(
                    "INSERT INTO drift_events (resource_id, kind, at, drift_types, severity,
                         git_revision, message)
                     VALUES ('Service:shop:web', ?1, ?2, '[\"Missing\"]', 'High', 'c0ffee',
                         'history')",
                    (kind.as_str(), nanos(at(minute))),
                )
                .expect("a version 1 event");
            events.push(DriftEvent {
                kind,
                at: at(minute),
                message: "history".to_owned(),
                ..expected_event()
            });
        }
    }
    let auto_vacuum = |path: &Path| -> i64 {
        Connection::open(path)
            .expect("open")
            .pragma_query_value(None, "auto_vacuum", |row| row.get(0))
            .expect("auto_vacuum")
    };
    assert_eq!(auto_vacuum(&path), 0, "written without auto-vacuum");

    let store = SqliteStore::open(&path).expect("open and migrate");
    assert_eq!(user_version(&path), SqliteStore::schema_version());
    assert_eq!(auto_vacuum(&path), 2, "incremental auto-vacuum");
    let expected = driftguard_core::stats::compute(&[expected_record()], &events);
    assert_eq!(expected.mean_time_to_resolve_seconds, Some(8.0 * 60.0));
    assert_eq!(store.statistics(None).await.expect("statistics"), expected);

    // The summaries go on from there: a later resolution closes the open episode.
    let resolution = DriftEvent {
        kind: EventKind::DriftResolved,
        at: at(20),
        ..expected_event()
    };
    store
        .save(&[], std::slice::from_ref(&resolution))
        .await
        .expect("save");
    events.push(resolution);
    assert_eq!(
        store.statistics(None).await.expect("statistics"),
        driftguard_core::stats::compute(&[expected_record()], &events)
    );

    // And pruning the first episode away counts only what is left.
    let counts = store.prune(at(10), at(0)).await.expect("prune");
    assert_eq!(counts.events, 3);
    let kept: Vec<DriftEvent> = events.into_iter().filter(|e| e.at >= at(10)).collect();
    assert_eq!(
        store.statistics(None).await.expect("statistics"),
        driftguard_core::stats::compute(&[expected_record()], &kept)
    );
}

/// A file written before clusters existed (here version 1, so every migration runs,
/// the cluster keys last) holds cluster `default`: its records and events read back
/// there, statistics of that cluster are those of the whole file, and a record of the
/// same id in another cluster is a second record beside it.
#[tokio::test]
async fn an_earlier_file_reads_back_in_the_default_cluster() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    write_version_1_file(&path);
    let store = SqliteStore::open(&path).expect("open and migrate");
    assert_eq!(user_version(&path), SqliteStore::schema_version());

    let id: ResourceId = "Service:shop:web".parse().expect("valid id");
    let migrated = expected_record();
    assert_eq!(migrated.cluster, DEFAULT_CLUSTER);
    assert_eq!(
        store.lookup(&id).await.expect("lookup"),
        vec![migrated.clone()]
    );
    let in_default = EventFilter {
        cluster: Some(DEFAULT_CLUSTER.to_owned()),
        ..EventFilter::default()
    };
    assert_eq!(
        store.events(&in_default).await.expect("events").events,
        vec![expected_event()]
    );
    let all = store.statistics(None).await.expect("statistics");
    assert_eq!(
        store
            .statistics(Some(DEFAULT_CLUSTER))
            .await
            .expect("statistics"),
        all
    );
    assert_eq!(
        all.by_cluster,
        BTreeMap::from([(DEFAULT_CLUSTER.to_owned(), 1)])
    );

    let mut east = migrated.clone();
    east.cluster = "east".to_owned();
    east.drift_status = DriftStatus::Resolved;
    east.drift_detected = false;
    east.severity = None;
    east.drift_types = Vec::new();
    east.drifts = Vec::new();
    east.resolved_at = Some(at(5));
    let mut east_event = expected_event();
    east_event.cluster = "east".to_owned();
    east_event.kind = EventKind::DriftResolved;
    east_event.at = at(5);
    store
        .save(
            std::slice::from_ref(&east),
            std::slice::from_ref(&east_event),
        )
        .await
        .expect("save in another cluster");
    assert_eq!(
        store.get(DEFAULT_CLUSTER, &id).await.expect("get"),
        Some(migrated.clone())
    );
    assert_eq!(
        store.lookup(&id).await.expect("lookup"),
        vec![migrated.clone(), east.clone()],
        "by cluster name"
    );
    assert_eq!(
        store
            .statistics(Some(DEFAULT_CLUSTER))
            .await
            .expect("statistics"),
        all,
        "the default cluster's statistics did not move"
    );
    assert_eq!(
        store.statistics(Some("east")).await.expect("statistics"),
        driftguard_core::stats::compute(&[east], &[east_event])
    );
}

/// A version-1 file migrated through every migration (the status documents, the event
/// keys and the listing indexes last) publishes and reads back status documents, counts
/// records per `(cluster, application)`, keeps its events without a key, stores a keyed
/// transition once, also after reopening, and pages and filters by severity through
/// the indexes a new file has.
#[tokio::test]
async fn a_migrated_file_holds_statuses_and_stores_each_transition_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    write_version_1_file(&path);
    let store = SqliteStore::open(&path).expect("open and migrate");
    assert_eq!(user_version(&path), SqliteStore::schema_version());
    assert!(
        SqliteStore::schema_version() >= 8,
        "status documents, event keys and the listing indexes"
    );

    let status = ClusterStatusDocument {
        cluster: DEFAULT_CLUSTER.to_owned(),
        leader: "driftguard-0".to_owned(),
        last_analysis: Some(AnalysisNote {
            at: at(3),
            outcome: AnalysisResult::Success,
        }),
        failing: Vec::new(),
        resources: 1,
        updated_at: at(3),
        expires_at: at(5),
        applications: vec![ApplicationStatusDocument {
            cluster: DEFAULT_CLUSTER.to_owned(),
            name: DEFAULT_APPLICATION.to_owned(),
            source: "/srv/manifests".to_owned(),
            namespace: None,
            revision: None,
            status: ReadStatus::Ok,
            error: None,
            render_seconds: None,
            checked_at: Some(at(3)),
        }],
    };
    store.publish_status(&status).await.expect("publish");

    let mut east = expected_record();
    east.cluster = "east".to_owned();
    let keyed = DriftEvent {
        cluster: "east".to_owned(),
        at: at(4),
        key: "transition-1".to_owned(),
        ..expected_event()
    };
    for _ in 0..2 {
        store
            .save(std::slice::from_ref(&east), std::slice::from_ref(&keyed))
            .await
            .expect("save");
    }
    drop(store);

    let store = SqliteStore::open(&path).expect("reopen: nothing left to migrate");
    assert_eq!(
        store.cluster_statuses().await.expect("statuses"),
        vec![status]
    );
    let missing = StatusCounts {
        none: 0,
        active: 1,
        resolved: 0,
        missing: 1,
    };
    assert_eq!(
        store.application_counts().await.expect("counts"),
        BTreeMap::from([
            (
                (DEFAULT_CLUSTER.to_owned(), DEFAULT_APPLICATION.to_owned()),
                missing
            ),
            (("east".to_owned(), DEFAULT_APPLICATION.to_owned()), missing),
        ])
    );
    // The event without a key saved again is a second event, as before keys existed.
    store
        .save(&[], &[expected_event(), keyed.clone()])
        .await
        .expect("save");
    assert_eq!(
        store
            .events(&EventFilter::default())
            .await
            .expect("events")
            .events,
        vec![expected_event(), expected_event(), keyed]
    );

    // Pages in id order, the cluster last, at any offset; severity lists and totals.
    let page = |cluster: Option<&str>, offset| RecordFilter {
        cluster: cluster.map(str::to_owned),
        limit: Some(1),
        offset,
        ..RecordFilter::default()
    };
    let clusters_of = |records: Vec<DriftRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.cluster).collect()
    };
    assert_eq!(
        clusters_of(store.list(&page(None, 1)).await.expect("list")),
        ["east"]
    );
    assert_eq!(
        clusters_of(store.list(&page(Some("east"), 0)).await.expect("list")),
        ["east"]
    );
    let high = |cluster: Option<&str>| RecordFilter {
        severities: vec![Severity::High],
        ..page(cluster, 0)
    };
    assert_eq!(
        clusters_of(store.list(&high(Some("east"))).await.expect("list")),
        ["east"]
    );
    assert_eq!(store.count(&high(None)).await.expect("count"), 2);
    assert_eq!(store.count(&high(Some("east"))).await.expect("count"), 1);
    let medium = RecordFilter {
        severities: vec![Severity::Medium],
        ..RecordFilter::default()
    };
    assert_eq!(store.count(&medium).await.expect("count"), 0);
    drop(store);
    assert_listing_indexes(&path);
}

/// The columns of index `name`, in order.
fn index_columns(connection: &Connection, name: &str) -> Vec<String> {
    let mut statement = connection
        .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
        .expect("index info");
    statement
        .query_map([name], |row| row.get(0))
        .expect("index columns")
        .collect::<Result<_, _>>()
        .expect("index columns")
}

/// A migrated file's record indexes hold the listing's whole order (its pages need no
/// sort at any offset) and the severities of drifting records, as a new file's do.
fn assert_listing_indexes(path: &Path) {
    let fresh_dir = tempfile::tempdir().expect("temp dir");
    let fresh = fresh_dir.path().join("fresh.db");
    drop(SqliteStore::open(&fresh).expect("a new file"));
    let index_sql = |path: &Path| -> Vec<(String, String)> {
        let connection = Connection::open(path).expect("open");
        let mut statement = connection
            .prepare(
                "SELECT name, sql FROM sqlite_schema
                 WHERE type = 'index' AND tbl_name = 'drift_records' AND sql IS NOT NULL
                 ORDER BY name",
            )
            .expect("indexes");
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("indexes")
            .collect::<Result<_, _>>()
            .expect("indexes")
    };
    assert_eq!(index_sql(path), index_sql(&fresh));

    let connection = Connection::open(path).expect("open");
    assert_eq!(
        index_columns(&connection, "drift_records_by_id_parts"),
        ["kind", "namespace", "name", "resource_id", "cluster"]
    );
    assert_eq!(
        index_columns(&connection, "drift_records_by_cluster"),
        ["cluster", "kind", "namespace", "name", "resource_id"]
    );
    assert_eq!(
        index_columns(&connection, "drift_records_by_severity"),
        ["severity", "cluster", "kind", "namespace", "name"]
    );
    let partial: i64 = connection
        .query_row(
            "SELECT partial FROM pragma_index_list('drift_records')
             WHERE name = 'drift_records_by_severity'",
            [],
            |row| row.get(0),
        )
        .expect("the severity index");
    assert_eq!(partial, 1, "only records with a severity");
    let plan = |sql: &str| -> String {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        statement
            .query_map([], |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<Vec<_>, _>>()
            .expect("plan")
            .join("\n")
    };
    for sql in [
        "SELECT * FROM drift_records
         ORDER BY kind, namespace, name, resource_id, cluster LIMIT 100 OFFSET 5000",
        "SELECT * FROM drift_records WHERE cluster = 'east'
         ORDER BY kind, namespace, name, resource_id, cluster LIMIT 100 OFFSET 5000",
    ] {
        let plan = plan(sql);
        assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
    }
    let plan = plan("SELECT COUNT(*) FROM drift_records WHERE severity IN ('High', 'Medium')");
    assert!(
        plan.contains("USING COVERING INDEX drift_records_by_severity"),
        "{plan}"
    );
}
