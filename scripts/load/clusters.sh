#!/usr/bin/env bash
# Many clusters on one MongoDB: one agent (`driftguard serve`, detection on, cluster.name cK)
# per simulated cluster, all writing into one nx-27017 server (the MongoDB wire-protocol
# test server over SQLite), and a hub (detection.enabled: false) serving them all.
#
# Each cluster is a desired folder and a live dump of RESOURCES objects from
# scripts/load/generate.py (one in a hundred drifted). Steps of 1, 5, 10 and 20 clusters (up
# to MAX_CLUSTERS, and MAX_CLUSTERS itself); each step starts the agents it adds one after
# another (each waits for the one before to be ready, so first analyses do not share the two
# cores), then, at the hub (started after the first step), with one client over keep-alive:
#
#   - REQUESTS sequential GET /api/v1/drift-records?cluster=cK&limit=100 (K in turn), and up
#     to REQUESTS each of GET /api/v1/statistics, /api/v1/statistics?cluster=cK and
#     /api/v1/clusters, each endpoint stopping after BUDGET seconds once 5 are done
#     (statistics and clusters read every record on each request): p50, p99;
#   - EDITS times: one in-sync ConfigMap of a cluster's dump rewritten so that it drifts,
#     POST /api/v1/analyze to that agent, and the hub polled every 5 ms
#     (GET /api/v1/drift-records/{id}?cluster=cK) until the record is active; and that
#     analysis's duration (driftguard_sync_duration_seconds) as the baseline;
#   - every agent's VmHWM and VmRSS after its first analysis (MIMALLOC_PURGE_DELAY=0, as the
#     image sets it), and its first analysis's duration;
#   - all agents triggered at once: the time until the last analysis ends (the write load of
#     one detection.interval with periodic analyses);
#   - the store: documents, nx-27017's SQLite file (a proxy for the size of the data and
#     indexes), table and index sizes (SQLite dbstat).
#
# Prints a table per step and the ratios of the largest step to one cluster.
#
#   scripts/load/clusters.sh [MAX_CLUSTERS] [RESOURCES] [REQUESTS]    (defaults: 20, 5000, 300)
#   BUDGET=60 EDITS=3 scripts/load/clusters.sh ...
#   DRIFTGUARD_BIN=path/to/driftguard scripts/load/clusters.sh ...   (that binary, no build)
#
# The hub gets server.write_timeout 10m and hub and agents database.connect_timeout 2m:
# nx-27017 answers one command at a time and takes 40 s and more for statistics over
# 100,000 records (see clusters.py). 20 x 5,000 takes about 22 minutes on 2 cores.
#
# Needs python3, and target/test-venv (scripts/test.sh creates it) or DRIFTGUARD_TEST_PYTHON
# naming a Python with nx-27017. Generated data, the store and logs live in a temporary
# folder under /tmp, deleted at the end (with every process this script started).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
max_clusters="${1:-20}"
resources="${2:-5000}"
requests="${3:-300}"
budget="${BUDGET:-60}"
edits="${EDITS:-3}"
python="${DRIFTGUARD_TEST_PYTHON:-$root/target/test-venv/bin/python}"
"$python" -c 'import nx_27017' 2>/dev/null ||
    { echo "no nx-27017 in $python: run scripts/test.sh --no-run, or set DRIFTGUARD_TEST_PYTHON"; exit 1; }

work="$(mktemp -d /tmp/driftguard-clusters.XXXXXX)"
cleanup() {
    if [[ -n "${runner:-}" ]]; then kill "$runner" 2>/dev/null || true; wait "$runner" 2>/dev/null || true; fi
    # Whatever the runner started and could not end itself (it writes their ids here).
    if [[ -f "$work/pids" ]]; then
        while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$work/pids"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/load/lib.sh
source "$root/scripts/load/lib.sh"
use_driftguard

python3 "$root/scripts/load/clusters.py" \
    --driftguard "$driftguard" \
    --python "$python" \
    --nx-server "$root/test-support/servers/nx_27017_server.py" \
    --generate "$root/scripts/load/generate.py" \
    --work "$work" \
    --max-clusters "$max_clusters" --resources "$resources" --requests "$requests" \
    --budget "$budget" --edits "$edits" &
runner=$!
status=0
wait "$runner" || status=$?
runner=
exit "$status"
