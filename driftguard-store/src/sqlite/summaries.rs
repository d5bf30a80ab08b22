//! Summaries that statistics read instead of scanning records and events, kept in the
//! same transaction as the writes they summarise.
//!
//! Every summary is kept per cluster (schema migration 5, [`crate::sqlite::clusters`]):
//! statistics of one cluster read its rows, statistics of all clusters add them up.
//!
//! - `drift_record_counts (cluster, facet, key, count)`: records per `status`, and drifted records
//!   per `severity`, `type`, `namespace` and `application`: the breakdowns of
//!   `driftguard_core::stats::compute`. The store's own writes keep them
//!   ([`crate::sqlite::counts`]): a save subtracts what each replaced row counted for and
//!   adds what the new one counts for, a prune subtracts what it deleted. (Not triggers:
//!   any trigger on `drift_records` makes SQLite's upsert of every record about 40 %
//!   slower, on every analysis, while the counts change for a few records at most.)
//! - `drift_resource_history`: per resource (and cluster), its `drift_detected` events, and its resolved
//!   episodes with their summed detection-to-resolution time, kept by triggers on
//!   `drift_events` (a few events per analysis). An event that is its resource's newest
//!   detection or resolution (the usual case) updates the episodes in place from the open
//!   episode's start (`open_since`) and the newest event's position (`last_at`,
//!   `last_seq`). An older one (events saved out of time order) recounts that resource's
//!   episodes from its own events, through the `(cluster, resource_id, at, seq)` index, exactly as
//!   the whole-table definition counts them. Deleting events marks the resource `stale`;
//!   the deleting code recounts stale resources once per statement ([`RECOUNT_STALE`]),
//!   and the resource's next event recounts it in any case.
//! - `drift_event_totals`: one row per cluster with the number of events and the sums of the
//!   episode columns, kept by triggers on the history table.
//!
//! Statistics then read a few small rows and the top of one index, at any size of store.
//! Trigger bodies cannot hold `WITH`, hence the nested sub-selects.

/// The summary of a resource's episodes, recounted from its events: `(resolved
/// episodes, summed milliseconds, start of the open episode, (at, seq) of its last
/// detection or resolution, 0)`, for the resource's events selected by `$events` (a
/// condition on `drift_events`, such as `resource_id = NEW.resource_id`).
///
/// Each `drift_resolved` event pairs with the earliest `drift_detected` event of the
/// same resource since its previous resolution. A running count of resolutions numbers
/// the episodes; a detection belongs to the episode of the resolutions before it, a
/// resolution closes its own. Only the last episode can lack a resolution: it is the
/// open one.
macro_rules! recounted_episodes {
    ($events:literal) => {
        concat!(
            "SELECT COUNT(CASE WHEN detected IS NOT NULL AND resolved IS NOT NULL THEN 1 END),
                    COALESCE(SUM(CASE WHEN detected IS NOT NULL AND resolved IS NOT NULL
                                      THEN (resolved - detected) / 1000000 END), 0),
                    MAX(CASE WHEN resolved IS NULL THEN detected END),
                    (SELECT at FROM drift_events
                     WHERE ",
            $events,
            "
                       AND kind IN ('drift_detected', 'drift_resolved')
                     ORDER BY at DESC, seq DESC LIMIT 1),
                    (SELECT seq FROM drift_events
                     WHERE ",
            $events,
            "
                       AND kind IN ('drift_detected', 'drift_resolved')
                     ORDER BY at DESC, seq DESC LIMIT 1),
                    0
             FROM (
                 SELECT MIN(CASE WHEN is_resolution = 0 THEN at END) AS detected,
                        MIN(CASE WHEN is_resolution = 1 THEN at END) AS resolved
                 FROM (
                     SELECT at, is_resolution,
                            SUM(is_resolution) OVER (
                                ORDER BY at, seq
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                            ) - is_resolution AS episode
                     FROM (
                         SELECT at, seq,
                                CASE kind WHEN 'drift_resolved' THEN 1 ELSE 0 END
                                    AS is_resolution
                         FROM drift_events
                         WHERE ",
            $events,
            "
                           AND kind IN ('drift_detected', 'drift_resolved')
                     )
                 )
                 GROUP BY episode
             )"
        )
    };
}

/// Sets the episode columns of the history rows `$which` (a condition) from their
/// resources' events (selected by `$events`, see [`recounted_episodes`]).
macro_rules! recount {
    ($which:literal, $events:literal) => {
        concat!(
            "UPDATE drift_resource_history
             SET (resolved_episodes, resolve_millis, open_since, last_at, last_seq, stale) = (",
            $crate::sqlite::summaries::recounted_episodes!($events),
            ")
             WHERE ",
            $which,
            ";"
        )
    };
}

pub(crate) use {recount, recounted_episodes};

/// Schema migration 3: the summary tables, filled from the rows the file holds, the
/// triggers that keep the event summaries, and the partial index pruning reads resolved
/// records by.
pub(crate) const MIGRATION: &str = concat!(
    "CREATE TABLE drift_record_counts (
        facet TEXT NOT NULL
              CHECK (facet IN ('status', 'severity', 'type', 'namespace', 'application')),
        key   TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (facet, key)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE drift_resource_history (
        resource_id       TEXT PRIMARY KEY NOT NULL,
        detections        INTEGER NOT NULL,
        resolved_episodes INTEGER NOT NULL,
        resolve_millis    INTEGER NOT NULL,
        open_since        INTEGER,
        last_at           INTEGER,
        last_seq          INTEGER,
        stale             INTEGER NOT NULL CHECK (stale IN (0, 1))
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX drift_resource_history_by_detections
        ON drift_resource_history (detections DESC, resource_id);
    CREATE INDEX drift_resource_history_stale
        ON drift_resource_history (stale) WHERE stale = 1;

    CREATE TABLE drift_event_totals (
        id                INTEGER PRIMARY KEY CHECK (id = 1),
        events            INTEGER NOT NULL,
        resolved_episodes INTEGER NOT NULL,
        resolve_millis    INTEGER NOT NULL
    ) STRICT;

    CREATE INDEX drift_records_resolved_at
        ON drift_records (resolved_at) WHERE drift_status = 'resolved';

    INSERT INTO drift_record_counts (facet, key, count)
    SELECT facet, key, COUNT(*) FROM (
        SELECT 'status' AS facet, drift_status AS key FROM drift_records
        UNION ALL SELECT 'severity', severity FROM drift_records
            WHERE drift_detected = 1 AND severity IS NOT NULL
        UNION ALL SELECT 'namespace', COALESCE(namespace, '') FROM drift_records
            WHERE drift_detected = 1
        UNION ALL SELECT 'application', application FROM drift_records
            WHERE drift_detected = 1
        UNION ALL SELECT 'type', t.value FROM drift_records AS r, json_each(r.drift_types) AS t
            WHERE r.drift_detected = 1
    ) GROUP BY facet, key;

    INSERT INTO drift_resource_history
        (resource_id, detections, resolved_episodes, resolve_millis, stale)
    SELECT resource_id, SUM(kind = 'drift_detected'), 0, 0, 1
    FROM drift_events GROUP BY resource_id;
    ",
    recount!(
        "stale = 1",
        "resource_id = drift_resource_history.resource_id"
    ),
    "

    INSERT INTO drift_event_totals (id, events, resolved_episodes, resolve_millis)
    VALUES (
        1,
        (SELECT COUNT(*) FROM drift_events),
        (SELECT COALESCE(SUM(resolved_episodes), 0) FROM drift_resource_history),
        (SELECT COALESCE(SUM(resolve_millis), 0) FROM drift_resource_history)
    );

    CREATE TRIGGER drift_events_summarised_insert AFTER INSERT ON drift_events BEGIN
        UPDATE drift_event_totals SET events = events + 1;
        INSERT INTO drift_resource_history
            (resource_id, detections, resolved_episodes, resolve_millis, stale)
        VALUES (NEW.resource_id, NEW.kind = 'drift_detected', 0, 0, 0)
        ON CONFLICT (resource_id) DO UPDATE SET detections = detections + excluded.detections;
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
        WHERE resource_id = NEW.resource_id
          AND NEW.kind IN ('drift_detected', 'drift_resolved')
          AND stale = 0
          AND (last_at IS NULL OR (NEW.at, NEW.seq) > (last_at, last_seq));
        -- An event older than the newest, or a resource with deleted events: recount.
        ",
    recount!(
        "resource_id = NEW.resource_id
          AND NEW.kind IN ('drift_detected', 'drift_resolved')
          AND (stale = 1 OR (last_at IS NOT NULL AND (NEW.at, NEW.seq) < (last_at, last_seq)))",
        "resource_id = NEW.resource_id"
    ),
    "
    END;
    CREATE TRIGGER drift_events_summarised_delete AFTER DELETE ON drift_events BEGIN
        UPDATE drift_event_totals SET events = events - 1;
        -- Episodes are recounted once per resource after the deleting statement
        -- (`RECOUNT_STALE`), not once per deleted row.
        UPDATE drift_resource_history
        SET detections = detections - (OLD.kind = 'drift_detected'), stale = 1
        WHERE resource_id = OLD.resource_id
          AND OLD.kind IN ('drift_detected', 'drift_resolved');
    END;

    CREATE TRIGGER drift_resource_history_totalled_insert
    AFTER INSERT ON drift_resource_history BEGIN
        UPDATE drift_event_totals
        SET resolved_episodes = resolved_episodes + NEW.resolved_episodes,
            resolve_millis = resolve_millis + NEW.resolve_millis;
    END;
    CREATE TRIGGER drift_resource_history_totalled_update
    AFTER UPDATE OF resolved_episodes, resolve_millis ON drift_resource_history BEGIN
        UPDATE drift_event_totals
        SET resolved_episodes = resolved_episodes + NEW.resolved_episodes - OLD.resolved_episodes,
            resolve_millis = resolve_millis + NEW.resolve_millis - OLD.resolve_millis;
    END;
    CREATE TRIGGER drift_resource_history_totalled_delete
    AFTER DELETE ON drift_resource_history BEGIN
        UPDATE drift_event_totals
        SET resolved_episodes = resolved_episodes - OLD.resolved_episodes,
            resolve_millis = resolve_millis - OLD.resolve_millis;
    END;"
);

/// The counts of every breakdown per cluster: `(cluster, facet, key, count)`, zero
/// counts left out; of cluster `?1` only, or of every cluster when it is null.
pub(crate) const RECORD_COUNTS: &str = "SELECT cluster, facet, key, count FROM drift_record_counts
     WHERE count > 0 AND (?1 IS NULL OR cluster = ?1)";

/// `(events, resolved episodes, summed milliseconds)` of cluster `?1`, or of every
/// cluster when it is null.
pub(crate) const EVENT_TOTALS: &str = "SELECT COALESCE(SUM(events), 0),
            COALESCE(SUM(resolved_episodes), 0), COALESCE(SUM(resolve_millis), 0)
     FROM drift_event_totals WHERE ?1 IS NULL OR cluster = ?1";

/// The resources with the most `drift_detected` events in any cluster, most first, ties
/// by id then cluster; read from the top of the `(detections DESC, resource_id,
/// cluster)` index. `?1` is the limit.
pub(crate) const MOST_DRIFTED: &str = "SELECT cluster, resource_id, detections
     FROM drift_resource_history
     WHERE detections > 0 ORDER BY detections DESC, resource_id, cluster LIMIT ?1";

/// The resources of cluster `?2` with the most `drift_detected` events, most first, ties
/// by id; read from the top of the `(cluster, detections DESC, resource_id)` index. `?1`
/// is the limit.
pub(crate) const MOST_DRIFTED_IN_CLUSTER: &str = "SELECT cluster, resource_id, detections
     FROM drift_resource_history
     WHERE cluster = ?2 AND detections > 0 ORDER BY detections DESC, resource_id LIMIT ?1";

/// Recounts the episodes of the resources whose events were deleted.
pub(crate) const RECOUNT_STALE: &str = recount!(
    "stale = 1",
    "cluster = drift_resource_history.cluster
       AND resource_id = drift_resource_history.resource_id"
);

/// Forgets the resources that no longer have any event (after pruning), so the history
/// table does not keep a row for every resource ever seen.
pub(crate) const FORGET_SILENT_RESOURCES: &str = "DELETE FROM drift_resource_history
     WHERE detections = 0 AND resolved_episodes = 0
       AND NOT EXISTS (
           SELECT 1 FROM drift_events AS e
           WHERE e.cluster = drift_resource_history.cluster
             AND e.resource_id = drift_resource_history.resource_id
       )";
