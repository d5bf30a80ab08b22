#!/usr/bin/env bash
# Statistics and listings at size: a SQLite store with N records (default 100,000; one in
# ten drifted) from a first analysis of generated pairs, plus EVENTS events (default
# 1,000,000) added by driftguard-store's fill_events example; then `driftguard serve` on
# that store and REQUESTS sequential requests (default 2,000, one client, keep-alive)
# each to GET /api/v1/statistics and GET /api/v1/drift-records (the default page),
# printing p50/p90/p99/max. Also times, for comparison, the whole-table queries that
# statistics would need without the summaries (mean time to resolve over every event,
# most drifted resources).
#
#   scripts/load/statistics.sh [N] [EVENTS] [REQUESTS]
#
# Needs python3 and curl. Takes a few minutes (the fill and two analyses of N resources).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-100000}"
events="${2:-1000000}"
requests="${3:-2000}"
work="$(mktemp -d)"
trap 'if [[ -n "${server:-}" ]]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

echo "==> building driftguard and fill_events (release)"
cargo build --release -q -p driftguard-bin --manifest-path "$root/Cargo.toml"
cargo build --release -q -p driftguard-store --example fill_events --manifest-path "$root/Cargo.toml"

echo "==> generating $count desired/live pairs (10% drifted)"
python3 "$root/scripts/load/generate.py" "$work/data" "$count" 10

# shellcheck source=scripts/load/lib.sh
source "$root/scripts/load/lib.sh"
port=$(free_port)
write_config "$port" 1h

start_server() {
    "$root/target/release/driftguard" serve --config "$work/config.yaml" >> "$work/driftguard.log" 2>&1 &
    server=$!
    for _ in $(seq 1 2400); do
        [[ "$(full_analyses "$port")" -ge 1 ]] && return 0
        kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
        sleep 0.25
    done
    echo "no analysis finished"; exit 1
}

echo "==> first analysis: $count records"
start_server
kill -TERM "$server"; wait "$server" || true

echo "==> adding $events events"
"$root/target/release/examples/fill_events" "$work/drift.db" "$events"
ls -l "$work/drift.db"*

echo "==> the whole-table queries statistics would otherwise run"
python3 - "$work/drift.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
queries = {
    "record breakdowns (status, severity, type, namespace, application)": """
        SELECT (SELECT COUNT(*) FROM (SELECT drift_status, COUNT(*) FROM drift_records
                                      GROUP BY drift_status)),
               (SELECT COUNT(*) FROM (SELECT severity, COUNT(*) FROM drift_records
                    WHERE drift_detected = 1 AND severity IS NOT NULL GROUP BY severity)),
               (SELECT COUNT(*) FROM (SELECT t.value, COUNT(*) FROM drift_records AS r,
                    json_each(r.drift_types) AS t WHERE r.drift_detected = 1 GROUP BY t.value)),
               (SELECT COUNT(*) FROM (SELECT COALESCE(namespace, ''), COUNT(*)
                    FROM drift_records WHERE drift_detected = 1
                    GROUP BY COALESCE(namespace, ''))),
               (SELECT COUNT(*) FROM (SELECT application, COUNT(*) FROM drift_records
                    WHERE drift_detected = 1 GROUP BY application))""",
    "COUNT(*) of events": "SELECT COUNT(*) FROM drift_events",
    "most drifted (group by over events)": """
        SELECT resource_id, COUNT(*) AS n FROM drift_events WHERE kind = 'drift_detected'
        GROUP BY resource_id ORDER BY n DESC, resource_id LIMIT 10""",
    "mean time to resolve (window over events)": """
        WITH marked AS (SELECT resource_id, at, seq,
                 CASE kind WHEN 'drift_resolved' THEN 1 ELSE 0 END AS r
             FROM drift_events WHERE kind IN ('drift_detected', 'drift_resolved')),
        numbered AS (SELECT resource_id, at, r,
                 SUM(r) OVER (PARTITION BY resource_id ORDER BY at, seq
                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - r AS e
             FROM marked),
        episodes AS (SELECT MIN(CASE WHEN r = 0 THEN at END) AS d,
                            MIN(CASE WHEN r = 1 THEN at END) AS s
             FROM numbered GROUP BY resource_id, e)
        SELECT COALESCE(SUM((s - d) / 1000000), 0), COUNT(*) FROM episodes
        WHERE d IS NOT NULL AND s IS NOT NULL""",
}
for name, sql in queries.items():
    began = time.perf_counter()
    db.execute(sql).fetchall()
    print(f"    {name}: {(time.perf_counter() - began) * 1000:.0f} ms")
PY

echo "==> driftguard serve on the filled store"
start_server
stats=$(curl -fsS "http://127.0.0.1:$port/api/v1/statistics")
python3 - "$stats" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["statistics"]
print("    {} records, {} events, {} drifted, mean time to resolve {:.0f} s".format(
    s["total_resources"], s["total_events"], s["drifted_resources"],
    s["mean_time_to_resolve_seconds"] or 0))
PY

python3 - "$port" "$requests" <<'PY'
import http.client, sys, time
port, requests = int(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port)
for path in ["/api/v1/statistics", "/api/v1/drift-records"]:
    for _ in range(20):  # warm up
        connection.request("GET", path); connection.getresponse().read()
    latencies = []
    for _ in range(requests):
        began = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        latencies.append((time.perf_counter() - began) * 1000)
        if response.status != 200:
            sys.exit(f"{path}: HTTP {response.status}")
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"==> GET {path} ({len(body)} bytes), {requests} requests: "
          f"p50 {pick(0.50):.2f} ms, p90 {pick(0.90):.2f} ms, p99 {pick(0.99):.2f} ms, "
          f"max {latencies[-1]:.2f} ms")
PY
echo "==> driftguard resident memory: $(awk '/VmRSS/ {print $2, $3}' /proc/$server/status)"

echo "==> pruning: restart with retention.events 30d (about half the events are older)"
kill -TERM "$server"; wait "$server" || true
du -k "$work/drift.db" | awk '{printf "    database file before: %d MB\n", $1 / 1024}'
began=$(date +%s.%N)
DRIFTGUARD__LOGGING__LEVEL=info DRIFTGUARD__RETENTION__EVENTS=30d \
    "$root/target/release/driftguard" serve --config "$work/config.yaml" > "$work/prune.log" 2>&1 &
server=$!
for _ in $(seq 1 2400); do
    grep -q "pruned what retention no longer keeps" "$work/prune.log" && break
    kill -0 "$server" || { cat "$work/prune.log"; exit 1; }
    sleep 0.1
done
ended=$(date +%s.%N)
grep "pruned what retention no longer keeps" "$work/prune.log" | python3 -c '
import json, sys
line = json.loads(sys.stdin.readline())
fields = line.get("fields", line)
print("    pruned {} events and {} records".format(fields["events"], fields["records"]))'
python3 -c "print('    from start to the prune logged: {:.1f} s'.format($ended - $began))"
du -k "$work/drift.db" | awk '{printf "    database file after: %d MB\n", $1 / 1024}'
