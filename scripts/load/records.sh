#!/usr/bin/env bash
# Record listings at size, on SQLite or on MongoDB (nx-27017): N generated resources (one
# in a hundred drifted) analysed once by `driftguard serve` (folder and dump sources,
# detection.interval 1h, so only the first full analysis runs), then, from one client over
# one keep-alive connection, REQUESTS sequential requests (after 20 to warm up) to each of
#
#   GET /api/v1/drift-records                     (the default page, 100 records, `total`)
#   GET /api/v1/drift-records?limit=100           (the same page, limit given)
#   GET /api/v1/drift-records?limit=1000
#   GET /api/v1/drift-records?offset=100          (the second page)
#   GET /api/v1/drift-records?offset=N/2          (a page in the middle)
#   GET /api/v1/drift-records?drift_detected=true
#   GET /api/v1/drift-records?severity=High        (none: generate.py's drifts are Medium)
#   GET /api/v1/drift-records?severity=Medium      (the drifted ones)
#   GET /api/v1/drift-records?namespace=team-7
#   GET /api/v1/drift-records?sort=-last_detected
#   GET /api/v1/drift-records?cluster=default
#   GET /api/v1/drift-records/active
#
# (URLS="path ..." replaces the list). Each path stops early, once 20 are done, after
# BUDGET seconds (default 60; nx-27017 takes seconds for some). Prints, per path, p50, p90,
# p99 and max in ms, the answer's size, count and total, the load average and whether a
# compiler ran meanwhile (scripts/load/latency.py); the first analysis's duration; and the
# serve process's VmRSS and VmHWM (MIMALLOC_PURGE_DELAY=0, as the image sets it) after the
# first analysis and after the requests, also per resource; the store's file sizes.
#
#   scripts/load/records.sh [N] [sqlite|mongodb] [REQUESTS]    (defaults: 100000, sqlite, 300)
#   DRIFTGUARD_BIN=path/to/driftguard scripts/load/records.sh ...   (that binary, no build)
#   KEEP_DB=/tmp/records.db scripts/load/records.sh ...  (a copy of the SQLite file: the
#       store's, or nx-27017's for mongodb; for EXPLAIN QUERY PLAN afterwards)
#   JSON=/tmp/records.json scripts/load/records.sh ...   (the figures as JSON too)
#
# mongodb needs target/test-venv (scripts/test.sh creates it) or DRIFTGUARD_TEST_PYTHON
# naming a Python with nx-27017; the service gets server.write_timeout 10m and
# database.connect_timeout 2m, as in scripts/load/clusters.sh (nx-27017 answers one
# command at a time, and counts over 100,000 records in Python). Needs python3 and curl.
# Generated data, the store and logs live in a temporary folder under /tmp, deleted at the
# end with the processes this script started. 100,000 on SQLite takes 1 to 2 minutes; on
# nx-27017 about 20 (each listing that needs a `total` takes ~4 s there: the count).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-100000}"
store="${2:-sqlite}"
requests="${3:-300}"
budget="${BUDGET:-60}"
[[ "$store" == sqlite || "$store" == mongodb ]] || { echo "store: sqlite or mongodb, not $store"; exit 2; }

if [[ "$store" == mongodb ]]; then
    python="${DRIFTGUARD_TEST_PYTHON:-$root/target/test-venv/bin/python}"
    "$python" -c 'import nx_27017' 2>/dev/null ||
        { echo "no nx-27017 in $python: run scripts/test.sh --no-run, or set DRIFTGUARD_TEST_PYTHON"; exit 1; }
fi

work="$(mktemp -d /tmp/driftguard-records.XXXXXX)"
stop() { [[ -z "${1:-}" ]] || { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }; }
cleanup() {
    stop "${server:-}"
    { exec 3>&-; } 2>/dev/null || true   # nx-27017 exits when its standard input closes
    stop "${nx:-}"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/load/lib.sh
source "$root/scripts/load/lib.sh"
use_driftguard

echo "==> generating $count desired/live pairs (1% drifted)"
python3 "$root/scripts/load/generate.py" "$work/data" "$count" 100

port=$(free_port)
write_config "$port" 1h

if [[ "$store" == mongodb ]]; then
    mongo_port=$(free_port)
    mkfifo "$work/nx.stdin"
    "$python" "$root/test-support/servers/nx_27017_server.py" --port "$mongo_port" \
        --data-dir "$work/nx" < "$work/nx.stdin" > "$work/nx.log" 2>&1 &
    nx=$!
    exec 3> "$work/nx.stdin"
    for _ in $(seq 1 600); do
        (echo > "/dev/tcp/127.0.0.1/$mongo_port") 2>/dev/null && break
        kill -0 "$nx" || { cat "$work/nx.log"; exit 1; }
        sleep 0.1
    done
    echo "==> nx-27017 on 127.0.0.1:$mongo_port"
    # The SQLite `database:` of write_config, replaced.
    python3 - "$work/config.yaml" "$mongo_port" <<'PY'
import re, sys
path, port = sys.argv[1], sys.argv[2]
text = open(path).read()
text = text.replace("server:\n", "server:\n  write_timeout: 10m\n", 1)
text = re.sub(r"database:\n  path: .*\n",
              f'database:\n  type: mongodb\n  uri: "mongodb://127.0.0.1:{port}"\n'
              f"  name: records\n  connect_timeout: 2m\n", text)
open(path, "w").write(text)
PY
fi
"$driftguard" config validate --config "$work/config.yaml" > /dev/null

MIMALLOC_PURGE_DELAY=0 "$driftguard" serve --config "$work/config.yaml" > "$work/driftguard.log" 2>&1 &
server=$!
echo "==> first analysis of $count resources ($store)"
began=$(date +%s.%N)
for _ in $(seq 1 7200); do
    [[ "$(full_analyses "$port")" -ge 1 ]] && break
    kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
    sleep 0.25
done
[[ "$(full_analyses "$port")" -ge 1 ]] || { echo "no analysis finished"; exit 1; }
ended=$(date +%s.%N)
memory() { awk '/VmRSS|VmHWM/ {v[$1] = $2} END {printf "VmRSS %.1f MB (%.2f KiB per resource), VmHWM %.1f MB (%.2f KiB per resource)", v["VmRSS:"] / 1024, v["VmRSS:"] / n, v["VmHWM:"] / 1024, v["VmHWM:"] / n}' n="$count" "/proc/$server/status"; }
analysis=$(curl -fsS "http://127.0.0.1:$port/metrics" |
    awk '/^driftguard_sync_duration_seconds_sum\{/ && /mode="full"/ && /outcome="success"/ {s += $2} END {printf "%.1f", s}')
python3 -c "print('    done {:.1f} s after start (the analysis itself: $analysis s)'.format($ended - $began))"
echo "    after the first analysis: $(memory)"

stored=$(curl -fsS --max-time 900 "http://127.0.0.1:$port/api/v1/statistics" |
    python3 -c 'import json,sys; s = json.load(sys.stdin)["statistics"]; print(s["total_resources"], s["drifted_resources"])')
echo "    stored: ${stored% *} records, ${stored#* } drifted (GET /api/v1/statistics)"
[[ "${stored% *}" -eq "$count" ]] || { echo "expected $count records"; exit 1; }

if [[ -n "${URLS:-}" ]]; then
    read -r -a paths <<< "$URLS"
else
    paths=(
        "/api/v1/drift-records"
        "/api/v1/drift-records?limit=100"
        "/api/v1/drift-records?limit=1000"
        "/api/v1/drift-records?offset=100"
        "/api/v1/drift-records?offset=$((count / 2))"
        "/api/v1/drift-records?drift_detected=true"
        "/api/v1/drift-records?severity=High"
        "/api/v1/drift-records?severity=Medium"
        "/api/v1/drift-records?namespace=team-7"
        "/api/v1/drift-records?sort=-last_detected"
        "/api/v1/drift-records?cluster=default"
        "/api/v1/drift-records/active"
    )
fi
echo "==> $requests sequential requests per path (after 20 to warm up; at most ${budget} s each once 20 are done), ms"
python3 "$root/scripts/load/latency.py" "$port" "${paths[@]}" --requests "$requests" \
    --budget "$budget" ${JSON:+--json "$JSON"}
echo "    after the requests: $(memory)"
if [[ "$store" == sqlite ]]; then
    files=("$work"/drift.db*)
else
    files=("$work"/nx/records.db*)
fi
echo "    store files: $(du -k "${files[@]}" | awk '{printf "%s%s %.1f MB", sep, $2, $1 / 1024; sep = ", "}' | sed "s|$work/||g")"

if [[ -n "${KEEP_DB:-}" ]]; then
    file="$work/drift.db"
    [[ "$store" == mongodb ]] && file="$work/nx/records.db"
    # SQLite's online backup: a consistent copy, WAL included, while the service runs.
    python3 -c 'import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=60)
dst = sqlite3.connect(sys.argv[2]); src.backup(dst); dst.close()' "$file" "$KEEP_DB"
    echo "==> the store's SQLite file copied to $KEEP_DB ($(du -h "$KEEP_DB" | cut -f1))"
fi
