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
trap 'if [[ -n "${server:-}" ]]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

cargo build --release -q -p driftguard-bin --manifest-path "$root/Cargo.toml"
python3 "$root/scripts/load/generate.py" "$work/data" "$count" 100

# shellcheck source=scripts/load/lib.sh
source "$root/scripts/load/lib.sh"
port=$(free_port)
write_config "$port" 1h

rss() { awk '/VmRSS/ {print $2, $3}' "/proc/$server/status"; }

MIMALLOC_PURGE_DELAY=0 "$root/target/release/driftguard" serve --config "$work/config.yaml" \
    > "$work/driftguard.log" 2>&1 &
server=$!
for _ in $(seq 1 1200); do
    [[ "$(full_analyses "$port")" -ge 1 ]] && break
    kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
    sleep 0.25
done
echo "$count resources, after the first analysis: $(rss)"
for _ in $(seq 1 "$analyses"); do
    target=$(($(full_analyses "$port") + 1))
    curl -fsS -X POST "http://127.0.0.1:$port/api/v1/analyze" >/dev/null
    while [[ "$(full_analyses "$port")" -lt "$target" ]]; do
        kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
        sleep 0.25
    done
done
echo "$count resources, after $analyses more analyses: $(rss)"
echo "$count resources, peak: $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")"
