#!/usr/bin/env bash
# Load on the REST API while analyses run: 10,000 records in SQLite, a full analysis every
# 5 s, and wrk against GET /api/v1/drift-records. Fails when any request errors.
#
#   scripts/load/api.sh [DURATION] [CONNECTIONS]      (defaults: 30s, 16)
#
# Needs wrk (Debian package `wrk`; installed when missing) and python3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
duration="${1:-30s}"
connections="${2:-16}"
work="$(mktemp -d)"
trap 'if [[ -n "${server:-}" ]]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

if ! command -v wrk >/dev/null; then
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends wrk
fi

echo "==> building driftguard (release)"
cargo build --release -q -p driftguard-bin --manifest-path "$root/Cargo.toml"

echo "==> generating 10,000 desired/live pairs (1% drifted)"
python3 "$root/scripts/load/generate.py" "$work/data" 10000 100

# shellcheck source=scripts/load/lib.sh
source "$root/scripts/load/lib.sh"
port=$(free_port)
write_config "$port" 5s

"$root/target/release/driftguard" serve --config "$work/config.yaml" > "$work/driftguard.log" 2>&1 &
server=$!
echo "==> waiting for the first analysis"
for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then break; fi
    kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
    sleep 0.5
done
count=$(curl -fsS "http://127.0.0.1:$port/api/v1/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["statistics"]["total_resources"])')
echo "    $count records stored; driftguard resident memory: $(awk '/VmRSS/ {print $2, $3}' /proc/$server/status)"
[[ "$count" -eq 10000 ]] || { echo "expected 10000 records"; exit 1; }

failed=0
for path in "/api/v1/drift-records" "/api/v1/drift-records?limit=1000" "/api/v1/drift-records?namespace=team-7&drift_detected=true" "/api/v1/drift-records/active"; do
    before=$(full_analyses "$port")
    echo "==> wrk -t2 -c$connections -d$duration --latency '$path'"
    wrk -t2 -c"$connections" -d"$duration" --latency "http://127.0.0.1:$port$path" | tee "$work/wrk.txt"
    after=$(full_analyses "$port")
    echo "    full analyses completed during the run: $((after - before))"
    if grep -qE "Non-2xx|Socket errors" "$work/wrk.txt"; then
        echo "!! errors during the run"
        failed=1
    fi
done
echo "==> driftguard resident memory after the runs: $(awk '/VmRSS/ {print $2, $3}' /proc/$server/status)"
exit "$failed"
