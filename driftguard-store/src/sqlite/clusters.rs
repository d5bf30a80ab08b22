//! Schema migration 5: records keyed by `(cluster, resource_id)`, events and every
//! summary kept per cluster.
//!
//! SQLite cannot change a table's primary key, so `drift_records` and the summary tables
//! are rebuilt: each is copied into a new table with the `cluster` column, dropped, and
//! the copy renamed; its indexes are created again. Rows written before clusters
//! existed belong to cluster `default` ([`driftguard_core::DEFAULT_CLUSTER`]): a
//! single-cluster installation keeps reading them, and one that later sets
//! `cluster.name` to something else starts new records under that name. The event
//! triggers of migration 3 are replaced by ones that find their summary rows by
//! `(cluster, resource_id)`.

use crate::sqlite::summaries::recount;

/// The statements of migration 5, run in one transaction.
pub(crate) const MIGRATION: &str = concat!(
    "CREATE TABLE drift_records_keyed (
        cluster              TEXT NOT NULL,
        resource_id          TEXT NOT NULL,
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
        detection_count      INTEGER NOT NULL CHECK (detection_count >= 0),
        application          TEXT NOT NULL DEFAULT 'default',
        PRIMARY KEY (cluster, resource_id)
    ) STRICT;
    INSERT INTO drift_records_keyed (
        cluster, resource_id, api_version, kind, namespace, name, drift_detected,
        drift_status, severity, drift_types, drifts, desired_hash, live_hash,
        last_known_good_hash, git_revision, first_detected, last_detected, resolved_at,
        last_checked, resolution_message, detection_count, application)
    SELECT 'default', resource_id, api_version, kind, namespace, name, drift_detected,
        drift_status, severity, drift_types, drifts, desired_hash, live_hash,
        last_known_good_hash, git_revision, first_detected, last_detected, resolved_at,
        last_checked, resolution_message, detection_count, application
    FROM drift_records;
    DROP TABLE drift_records;
    ALTER TABLE drift_records_keyed RENAME TO drift_records;
    CREATE INDEX drift_records_by_id_parts ON drift_records (kind, namespace, name);
    CREATE INDEX drift_records_by_namespace ON drift_records (namespace, kind, name);
    CREATE INDEX drift_records_by_status ON drift_records (drift_status, kind, namespace, name);
    CREATE INDEX drift_records_by_detected
        ON drift_records (drift_detected, kind, namespace, name);
    CREATE INDEX drift_records_by_application
        ON drift_records (application, kind, namespace, name);
    CREATE INDEX drift_records_by_application_status
        ON drift_records (application, drift_status, drift_types);
    CREATE INDEX drift_records_resolved_at
        ON drift_records (resolved_at) WHERE drift_status = 'resolved';
    CREATE INDEX drift_records_by_resource ON drift_records (resource_id, cluster);
    CREATE INDEX drift_records_by_cluster ON drift_records (cluster, kind, namespace, name);
    CREATE INDEX drift_records_by_cluster_status
        ON drift_records (cluster, drift_status, drift_types);

    ALTER TABLE drift_events ADD COLUMN cluster TEXT NOT NULL DEFAULT 'default';
    DROP INDEX drift_events_by_resource;
    CREATE INDEX drift_events_by_resource ON drift_events (cluster, resource_id, at, seq);
    CREATE INDEX drift_events_by_cluster_time ON drift_events (cluster, at, seq);

    DROP TRIGGER drift_events_summarised_insert;
    DROP TRIGGER drift_events_summarised_delete;

    CREATE TABLE drift_record_counts_keyed (
        cluster TEXT NOT NULL,
        facet   TEXT NOT NULL
                CHECK (facet IN ('status', 'severity', 'type', 'namespace', 'application')),
        key     TEXT NOT NULL,
        count   INTEGER NOT NULL,
        PRIMARY KEY (cluster, facet, key)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO drift_record_counts_keyed (cluster, facet, key, count)
    SELECT 'default', facet, key, count FROM drift_record_counts;
    DROP TABLE drift_record_counts;
    ALTER TABLE drift_record_counts_keyed RENAME TO drift_record_counts;

    CREATE TABLE drift_resource_history_keyed (
        cluster           TEXT NOT NULL,
        resource_id       TEXT NOT NULL,
        detections        INTEGER NOT NULL,
        resolved_episodes INTEGER NOT NULL,
        resolve_millis    INTEGER NOT NULL,
        open_since        INTEGER,
        last_at           INTEGER,
        last_seq          INTEGER,
        stale             INTEGER NOT NULL CHECK (stale IN (0, 1)),
        PRIMARY KEY (cluster, resource_id)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO drift_resource_history_keyed
        (cluster, resource_id, detections, resolved_episodes, resolve_millis, open_since,
         last_at, last_seq, stale)
    SELECT 'default', resource_id, detections, resolved_episodes, resolve_millis, open_since,
           last_at, last_seq, stale
    FROM drift_resource_history;
    DROP TABLE drift_resource_history;
    ALTER TABLE drift_resource_history_keyed RENAME TO drift_resource_history;
    CREATE INDEX drift_resource_history_by_detections
        ON drift_resource_history (detections DESC, resource_id, cluster);
    CREATE INDEX drift_resource_history_by_cluster_detections
        ON drift_resource_history (cluster, detections DESC, resource_id);
    CREATE INDEX drift_resource_history_stale
        ON drift_resource_history (stale) WHERE stale = 1;

    CREATE TABLE drift_event_totals_keyed (
        cluster           TEXT PRIMARY KEY NOT NULL,
        events            INTEGER NOT NULL,
        resolved_episodes INTEGER NOT NULL,
        resolve_millis    INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    INSERT INTO drift_event_totals_keyed (cluster, events, resolved_episodes, resolve_millis)
    SELECT 'default', events, resolved_episodes, resolve_millis FROM drift_event_totals;
    DROP TABLE drift_event_totals;
    ALTER TABLE drift_event_totals_keyed RENAME TO drift_event_totals;

    CREATE TRIGGER drift_events_summarised_insert AFTER INSERT ON drift_events BEGIN
        INSERT INTO drift_event_totals (cluster, events, resolved_episodes, resolve_millis)
        VALUES (NEW.cluster, 1, 0, 0)
        ON CONFLICT (cluster) DO UPDATE SET events = events + 1;
        INSERT INTO drift_resource_history
            (cluster, resource_id, detections, resolved_episodes, resolve_millis, stale)
        VALUES (NEW.cluster, NEW.resource_id, NEW.kind = 'drift_detected', 0, 0, 0)
        ON CONFLICT (cluster, resource_id)
        DO UPDATE SET detections = detections + excluded.detections;
        -- The usual case: the newest detection or resolution of its resource.
        UPDATE drift_resource_history
        SET resolved_episodes = resolved_episodes
                + (NEW.kind = 'drift_resolved' AND open_since IS NOT NULL),
            resolve_millis = resolve_millis
                + CASE WHEN NEW.kind = 'drift_resolved' AND open_since IS NOT NULL
                       THEN (NEW.at - open_since) / 1000000 ELSE 0 END,
            open_since = CASE WHEN NEW.kind = 'drift_resolved' THEN NULL
                              ELSE COALESCE(open_since, NEW.at) END,
            last_at = NEW.at,
            last_seq = NEW.seq
        WHERE cluster = NEW.cluster AND resource_id = NEW.resource_id
          AND NEW.kind IN ('drift_detected', 'drift_resolved')
          AND stale = 0
          AND (last_at IS NULL OR (NEW.at, NEW.seq) > (last_at, last_seq));
        -- An event older than the newest, or a resource with deleted events: recount.
        ",
    recount!(
        "cluster = NEW.cluster AND resource_id = NEW.resource_id
          AND NEW.kind IN ('drift_detected', 'drift_resolved')
          AND (stale = 1 OR (last_at IS NOT NULL AND (NEW.at, NEW.seq) < (last_at, last_seq)))",
        "cluster = NEW.cluster AND resource_id = NEW.resource_id"
    ),
    "
    END;
    CREATE TRIGGER drift_events_summarised_delete AFTER DELETE ON drift_events BEGIN
        UPDATE drift_event_totals SET events = events - 1 WHERE cluster = OLD.cluster;
        -- Episodes are recounted once per resource after the deleting statement
        -- (`RECOUNT_STALE`), not once per deleted row.
        UPDATE drift_resource_history
        SET detections = detections - (OLD.kind = 'drift_detected'), stale = 1
        WHERE cluster = OLD.cluster AND resource_id = OLD.resource_id
          AND OLD.kind IN ('drift_detected', 'drift_resolved');
    END;

    CREATE TRIGGER drift_resource_history_totalled_insert
    AFTER INSERT ON drift_resource_history BEGIN
        UPDATE drift_event_totals
        SET resolved_episodes = resolved_episodes + NEW.resolved_episodes,
            resolve_millis = resolve_millis + NEW.resolve_millis
        WHERE cluster = NEW.cluster;
    END;
    CREATE TRIGGER drift_resource_history_totalled_update
    AFTER UPDATE OF resolved_episodes, resolve_millis ON drift_resource_history BEGIN
        UPDATE drift_event_totals
        SET resolved_episodes = resolved_episodes + NEW.resolved_episodes - OLD.resolved_episodes,
            resolve_millis = resolve_millis + NEW.resolve_millis - OLD.resolve_millis
        WHERE cluster = NEW.cluster;
    END;
    CREATE TRIGGER drift_resource_history_totalled_delete
    AFTER DELETE ON drift_resource_history BEGIN
        UPDATE drift_event_totals
        SET resolved_episodes = resolved_episodes - OLD.resolved_episodes,
            resolve_millis = resolve_millis - OLD.resolve_millis
        WHERE cluster = OLD.cluster;
    END;"
);
