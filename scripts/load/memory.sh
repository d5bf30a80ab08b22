#!/usr/bin/env bash
# Resident memory of `driftguard serve` over N generated resources: folder and dump sources,
# SQLite, full analyses triggered one after another through the API. Prints VmRSS after the
# first analysis and after ANALYSES more, between analyses, with the allocator returning
# freed memory at once, and the peak (VmHWM).
#
#   scripts/load/memory.sh [N] [ANALYSES]      (defaults: 10000, 3)
#
# Needs python3 and curl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-10000}"
analyses="${2:-3}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -q -p driftguard-bin --manifest-path "$root/Cargo.toml"
python3 "$root/scripts/load/generate.py" "$work/data" "$count" 100

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/config.yaml" <<YAML
server:
  host: 127.0.0.1
  port: $port
logging:
  level: warn
database:
  path: $work/drift.db
sources:
  desired: folder
  folder: $work/data/desired
  live: dump
  dump: $work/data/live
detection:
  interval: 1h
  watch: false
  fingerprint_key: memory test
YAML

full_analyses() {
    curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null |
        awk '/^driftguard_analyses_total\{mode="full",outcome="success"\}/ {print int($2)}'
}
rss() { awk '/VmRSS/ {print $2, $3}' "/proc/$server/status"; }

MIMALLOC_PURGE_DELAY=0 "$root/target/release/driftguard" serve --config "$work/config.yaml" \
    > "$work/driftguard.log" 2>&1 &
server=$!
for _ in $(seq 1 1200); do
    [[ "$(full_analyses)" -ge 1 ]] && break
    kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
    sleep 0.25
done
echo "$count resources, after the first analysis: $(rss)"
for _ in $(seq 1 "$analyses"); do
    target=$(($(full_analyses) + 1))
    curl -fsS -X POST "http://127.0.0.1:$port/api/v1/analyze" >/dev/null
    while [[ "$(full_analyses)" -lt "$target" ]]; do
        kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
        sleep 0.25
    done
done
echo "$count resources, after $analyses more analyses: $(rss)"
echo "$count resources, peak: $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")"
