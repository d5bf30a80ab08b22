//! Paging through a resource's history with `cursor`, over HTTP, against the real
//! stores: SQLite in a temporary folder, and MongoDB (nx-27017 started for this test
//! binary, or the server in `DRIFTGUARD_TEST_MONGODB_URI`) in a fresh database.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use driftguard_core::{DEFAULT_APPLICATION, DriftEvent, DriftStore, DriftType, EventKind};
use driftguard_store::{MongoStore, SqliteStore};
use driftguard_test_support::mongo::{shared, unique_database_name};
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::fixtures;
use crate::harness::{Answer, Harness};

/// Generous: nx-27017 serves every test of the binary from one Python process.
const MONGO_TIMEOUT: Duration = Duration::from_secs(60);

const WEB: &str = "/api/v1/drift-records/Deployment:shop:web/events";

/// A real store under test, with what keeps it alive and what cleans it up.
struct RealStore {
    store: Arc<dyn DriftStore>,
    _dir: Option<tempfile::TempDir>,
    mongo_database: Option<String>,
}

impl RealStore {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = SqliteStore::open(dir.path().join("drift.db")).expect("open SQLite");
        Self {
            store: Arc::new(store),
            _dir: Some(dir),
            mongo_database: None,
        }
    }

    async fn mongo() -> Self {
        let name = unique_database_name("driftguard_event_pages");
        let store = MongoStore::connect(shared().uri(), &name, MONGO_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test MongoDB server: {e}"));
        Self {
            store: Arc::new(store),
            _dir: None,
            mongo_database: Some(name),
        }
    }

    /// Drops the MongoDB database of a passing test.
    async fn finish(self) {
        let Some(name) = self.mongo_database else {
            return;
        };
        let mut options = mongodb::options::ClientOptions::parse(shared().uri())
            .await
            .expect("the test server's URI parses");
        options.server_selection_timeout = Some(MONGO_TIMEOUT);
        let client = mongodb::Client::with_options(options).expect("client for clean-up");
        client
            .database(&name)
            .drop()
            .await
            .unwrap_or_else(|e| panic!("cannot drop the test database {name}: {e}"));
    }
}

/// A time with milliseconds, which every store keeps exactly.
fn time(millis: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-31T12:00:00.120Z")
        .expect("a valid time")
        .with_timezone(&Utc)
        + TimeDelta::milliseconds(millis)
}

fn event(resource: &str, at: DateTime<Utc>, n: usize) -> DriftEvent {
    DriftEvent {
        cluster: "default".to_owned(),
        resource_id: resource.parse().expect("a valid id"),
        application: DEFAULT_APPLICATION.to_owned(),
        kind: EventKind::DriftChanged,
        at,
        drift_types: vec![DriftType::Scaling],
        severity: None,
        git_revision: None,
        message: format!("event {n}"),
        key: String::new(),
    }
}

/// Saves web's history: one event a second before `time(0)`, five at `time(0)` (three in
/// one save, two in a later one, with api's events at the same time between them), and
/// two a second after. Returns web's event messages in the order they must be listed.
async fn save_history(store: &Arc<dyn DriftStore>) -> Vec<String> {
    let web = "Deployment:shop:web";
    let api = "Deployment:shop:api";
    let first = vec![
        event(web, time(0), 1),
        event(web, time(-1_000), 0),
        event(api, time(0), 100),
        event(web, time(0), 2),
        event(web, time(0), 3),
    ];
    let second = vec![
        event(web, time(1_000), 6),
        event(web, time(0), 4),
        event(api, time(0), 101),
        event(web, time(0), 5),
        event(web, time(1_000), 7),
    ];
    store.save(&[], &first).await.expect("first save");
    store.save(&[], &second).await.expect("second save");
    (0..8).map(|n| format!("event {n}")).collect()
}

/// The JSON of a successful answer.
fn page(answer: &Answer, path: &str) -> Value {
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    answer.json()
}

/// Follows `next` from `first_path` as a client would: every page's event messages.
/// Fails rather than loop when `next` stops advancing.
async fn follow(service: &Harness, first_path: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut path = first_path.to_owned();
    let mut cursors: Vec<String> = Vec::new();
    loop {
        let body = page(&service.get(&path).await, &path);
        assert_eq!(body["resource_id"], "Deployment:shop:web");
        let events = body["events"].as_array().expect("an events list");
        assert_eq!(body["count"], events.len());
        assert!(events.len() <= limit, "{path}: {body}");
        pages.push(
            events
                .iter()
                .map(|e| e["message"].as_str().expect("a message").to_owned())
                .collect(),
        );
        assert!(
            body.get("next").is_some(),
            "`next` is always present: {body}"
        );
        match &body["next"] {
            Value::Null => return pages,
            Value::String(cursor) => {
                assert!(!cursors.contains(cursor), "{cursor} came back twice");
                assert!(pages.len() <= 20, "paging does not end: {pages:?}");
                cursors.push(cursor.clone());
                path = format!("{first_path}&cursor={cursor}");
            }
            other => panic!("`next` is a string or null, not {other}"),
        }
    }
}

async fn pages_visit_every_event_once(store: RealStore) {
    let service = Harness::started_over(
        store.store.clone(),
        fixtures::desired(),
        fixtures::live_in_sync(),
    )
    .await;
    let expected = save_history(&store.store).await;

    // One at a time: eight pages of one event, five of them at the same instant, the
    // last page saying there is no next one.
    let pages = follow(&service, &format!("{WEB}?limit=1"), 1).await;
    assert_eq!(pages.len(), expected.len(), "{pages:?}");
    assert!(pages.iter().all(|p| p.len() == 1), "{pages:?}");
    assert_eq!(pages.concat(), expected);

    // Larger pages break inside the run of equal times, and meet the same events.
    for limit in [2, 3, 8, 9] {
        let pages = follow(&service, &format!("{WEB}?limit={limit}"), limit).await;
        assert_eq!(pages.concat(), expected, "limit {limit}");
        assert_eq!(pages.len(), expected.len().div_ceil(limit), "limit {limit}");
    }
    service.stop().await.unwrap();
    store.finish().await;
}

async fn since_still_filters(store: RealStore) {
    let service = Harness::started_over(
        store.store.clone(),
        fixtures::desired(),
        fixtures::live_in_sync(),
    )
    .await;
    let expected = save_history(&store.store).await;

    // `since` is inclusive and keeps filtering every page: web's events at and after
    // `time(0)`, all five sharing that time included.
    let since = "2025-01-31T12:00:00.120Z";
    let pages = follow(&service, &format!("{WEB}?since={since}&limit=2"), 2).await;
    assert_eq!(pages.concat(), expected[1..]);
    let later = follow(
        &service,
        &format!("{WEB}?since=2025-01-31T12:00:00.121Z&limit=1"),
        1,
    )
    .await;
    assert_eq!(later.concat(), expected[6..]);
    // With `until` too, and a time offset spelled with `%2B`.
    let window = follow(
        &service,
        &format!("{WEB}?since=2025-01-31T13:00:00.120%2B01:00&until=2025-01-31T12:00:01Z&limit=2"),
        2,
    )
    .await;
    assert_eq!(window.concat(), expected[1..6]);
    service.stop().await.unwrap();
    store.finish().await;
}

/// A cursor text holding `key` as the store key, in the documented layout.
fn cursor_with_key(key: &[u8]) -> String {
    let mut bytes = vec![1];
    bytes.extend_from_slice(&time(0).timestamp().to_be_bytes());
    bytes.extend_from_slice(&time(0).timestamp_subsec_nanos().to_be_bytes());
    bytes.extend_from_slice(key);
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn malformed_cursors_are_refused(store: RealStore) {
    let service = Harness::started_over(
        store.store.clone(),
        fixtures::desired(),
        fixtures::live_in_sync(),
    )
    .await;
    save_history(&store.store).await;
    let next = page(&service.get(&format!("{WEB}?limit=1")).await, WEB)["next"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let mut truncated = next.clone();
    truncated.truncate(next.len() / 2);
    for cursor in [
        "not-a-cursor".to_owned(),
        "%25%25%25".to_owned(),
        truncated,
        format!("{next}AAAA"),
        // Decodes, but holds a key neither store makes.
        cursor_with_key(&[1, 2, 3]),
    ] {
        let path = format!("{WEB}?limit=1&cursor={cursor}");
        let answer = service.get(&path).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(answer.content_type, "application/json", "{path}");
        let body = answer.json();
        let message = body["error"].as_str().expect("an error message");
        assert!(
            message.starts_with("invalid query parameter `cursor`"),
            "{path}: {message}"
        );
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    }
    // A refused cursor says nothing about the store's health.
    let ready = service.get("/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["status"], json!("ready"));
    service.stop().await.unwrap();
    store.finish().await;
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn pages_of_one_visit_events_sharing_a_time_once_each() {
        pages_visit_every_event_once(RealStore::sqlite()).await;
    }

    #[tokio::test]
    async fn since_filters_every_page() {
        since_still_filters(RealStore::sqlite()).await;
    }

    #[tokio::test]
    async fn a_malformed_cursor_is_a_400_with_a_json_error() {
        malformed_cursors_are_refused(RealStore::sqlite()).await;
    }
}

mod mongo {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_of_one_visit_events_sharing_a_time_once_each() {
        pages_visit_every_event_once(RealStore::mongo().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn since_filters_every_page() {
        since_still_filters(RealStore::mongo().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_malformed_cursor_is_a_400_with_a_json_error() {
        malformed_cursors_are_refused(RealStore::mongo().await).await;
    }
}
